"""A sweep's persisted grid: axes labelled with the swept values, failed cells showing their error,
one timing summary, and metadata that stores what the cells share once."""

from __future__ import annotations

import json
import re

import pytest
from display_support import Parsed, decode_src, html_of, segment_widths
from factories import image, sample_sweep

from venice_nb.display.grid import sweep_bundle
from venice_nb.errors import RateLimitError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GenerationResult, SweepCell, SweepResult, Timing


def test_sweep_grid_labels_images_and_failed_cell():
    sweep = sample_sweep()
    data, meta = sweep_bundle(sweep, preview_size=512)
    assert set(data) == {"text/html", "text/plain"}
    html = data["text/html"]
    parsed = Parsed(html)
    assert len(parsed.imgs) == 3
    for img, cell in zip(parsed.imgs, [c for c in sweep.cells if c.ok], strict=True):
        assert decode_src(img["src"])[1] == cell.result.images[0].data
    # a CSS grid, not a table: a corner, the cfg labels, then per seed its label and two slots
    assert "<table" not in html and "<tr" not in html
    [grid] = parsed.by_class("venice-nb-grid")
    assert "display:grid" in grid["style"]
    # equal columns that shrink to the space there is (no fixed width that cuts a tile off),
    # each at most a tile wide
    assert "grid-template-columns:auto repeat(2, minmax(auto, 1fr))" in grid["style"]
    assert "max-width:320px" in grid["style"]
    labels = [
        m.replace("<wbr>", "")
        for m in re.findall(r'venice-nb-(?:col|row)-label"[^>]*>(.*?)</div>', html)
    ]
    assert labels == ["cfg_scale=4", "cfg_scale=7.5", "seed=1", "seed=2"]
    # column labels may break after "=" (a <wbr>), never inside a word; row labels stay whole
    assert re.findall(r"cfg_scale=<wbr>7\.5", html)
    for attrs in parsed.by_class("venice-nb-col-label"):
        assert "white-space:normal" in attrs["style"] and "text-align:center" in attrs["style"]
    for attrs in parsed.by_class("venice-nb-row-label"):
        assert "white-space:nowrap" in attrs["style"] and "text-align:center" in attrs["style"]
    slots = re.split(r'<div class="venice-nb-slot"', html)[1:]
    assert len(slots) == 4
    assert "<img" in slots[2] and "<img" not in slots[3]
    last = [slots[2], slots[3]]
    assert "z-image-turbo is at capacity" in Parsed(last[1]).all_text
    # the failed tile has the images' size, so the grid stays even
    assert len(parsed.by_class("venice-nb-failed")) == 1
    assert 'style="width:64px;max-width:100%;min-height:64px' in slots[3]
    # one timing summary: the sweep's own wall, the requests' sum, and the overlap
    assert len(parsed.by_class("venice-nb-timing")) == 1
    text = parsed.all_text
    # requests that ran at the same time are not added up: the bar is one request on average
    assert "450 ms wall \u00b7 4 cells; the bar: one request on average (400 ms)" in text
    assert "overlap" not in text and "summed" not in text
    widths = segment_widths(html)  # 10 ms queue, 5 preprocessing, 300 inference of 400
    assert widths["inference"] == pytest.approx(300 / 400 * 100, abs=0.006)
    assert widths["rest"] == pytest.approx((400 - 315) / 400 * 100, abs=0.006)
    assert "try again in a minute" in Parsed(last[1]).all_text  # the hint, under the message
    assert "3/4 ok" in text and "1 failed" in text and "cost $0.03" in text
    # metadata: each cell's params and provenance or error, no key
    prov = meta["venice_nb"]
    cells = prov["cells"]
    assert [c["params"] for c in cells] == [c.params for c in sweep.cells]
    assert cells[3]["error"].startswith("z-image-turbo is at capacity")
    assert prov["request"] == {"model": "z-image-turbo", "prompt": "grid"}  # shared, stored once
    for entry, cell in zip(cells, sweep.cells, strict=True):
        if cell.ok:  # each cell's full request is the shared part plus its params
            assert dict(prov["request"], **entry["params"]) == cell.result.request.to_json()
            assert "request_changes" not in entry
            assert entry["cost_usd"] == 0.01 and entry["timing_ms"]["inference_ms"] == 300.0
            assert "blurred" not in entry  # flags not raised are left out
    json.dumps(meta)


def test_sweep_cells_sharing_a_slot_are_labelled_and_all_cached_sweeps_say_so():
    cells = []
    for style in ("Anime", "Cinematic"):
        for seed in (1, 2):
            req = GenerateRequest(model="m", prompt="p", seed=seed, style_preset=style)
            res = GenerationResult(req, [image(seed=seed)], cached=True, timing=Timing(wall_ms=2.0))
            cells.append(SweepCell({"seed": seed, "style_preset": style}, result=res))
    sweep = SweepResult(cells, rows="seed", cols=None, wall_ms=9.0)
    parsed = Parsed(html_of(sweep, preview_size=512))
    text = parsed.all_text
    assert len(parsed.imgs) == 4
    assert "style_preset=Anime" in text and "style_preset=Cinematic" in text
    assert "9 ms wall (no request made) \u00b7 4 cells, 4 from the cache" in text
    assert "cost $0" in text and text.count("cached") == 4


def test_sweep_with_one_axis_and_extra_params():
    cells = []
    for seed in (1, 2, 3):
        req = GenerateRequest(model="m", prompt="p", seed=seed)
        cells.append(SweepCell({"seed": seed}, result=GenerationResult(req, [image(seed=seed)])))
    cells.append(SweepCell({"seed": 4}, error=RateLimitError("too many requests", retry_after=30)))
    html = html_of(SweepResult(cells, rows=None, cols="seed", wall_ms=10.0), preview_size=512)
    labels = re.findall(r'venice-nb-col-label"[^>]*>(.*?)</div>', html)
    assert labels == ["seed=<wbr>1", "seed=<wbr>2", "seed=<wbr>3", "seed=<wbr>4"]
    slots = re.split(r'<div class="venice-nb-slot"', html)[1:]
    assert [("<img" in slot) for slot in slots] == [True, True, True, False]
    assert "too many requests" in Parsed(slots[3]).all_text


def test_sweep_metadata_keeps_request_fields_that_params_do_not_explain():
    cells = []
    for i, (seed, model) in enumerate(((1, "a"), (2, "b"))):
        req = GenerateRequest(model=model, prompt="p", seed=seed)
        cells.append(SweepCell({"n": i}, result=GenerationResult(req, [image(seed=seed)])))
    prov = sweep_bundle(SweepResult(cells, cols="n"), preview_size=512)[1]["venice_nb"]
    assert prov["request"] == {"prompt": "p"}
    for entry, cell in zip(prov["cells"], cells, strict=True):
        assert dict(prov["request"], **entry["request_changes"]) == cell.result.request.to_json()


def test_a_sweeps_retry_waits_are_their_own_segment_not_network():
    req = GenerateRequest(model="z-image-turbo", prompt="a fox")
    live = {"queue_ms": 100.0, "preprocessing_ms": 620.0, "inference_ms": 600.0, "total_ms": 720.0}
    cells = [
        SweepCell({"seed": s}, GenerationResult(
            req.with_(seed=s), [image(seed=s)],
            timing=Timing(**live, wall_ms=2000.0, retry_wait_ms=1000.0 * (s - 1)),
        ))
        for s in (1, 2)
    ]  # fmt: skip
    html = sweep_bundle(SweepResult(cells, cols="seed", wall_ms=3000.0))[0]["text/html"]
    widths = segment_widths(html)
    assert widths["retry"] == pytest.approx(1000 / 4000 * 100, abs=0.01)
    assert widths["rest"] == pytest.approx((4000 - 1000 - 1440) / 4000 * 100, abs=0.01)
