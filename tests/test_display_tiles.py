"""Seeds told truthfully and a reproduce cell that sends the same request: what the captions, the
download names and the ``%%venice`` line say for negative seeds and style references."""

from __future__ import annotations

import re

from display_support import Parsed
from factories import image, make_result

from venice_nb.display import html as display
from venice_nb.display.tiles import file_name, reproduce_cell, reproduce_notes
from venice_nb.operations.generate import GenerateRequest


def test_a_negative_seed_is_a_seed_in_caption_cell_and_file_name() -> None:
    asked = GenerateRequest(model="z-image-turbo", prompt="a fox", seed=-5)
    result = make_result(image(seed=-5), request=asked)
    html = display.result_html(result, preview_size=512)
    assert "seed -5" in Parsed(html).all_text and "not reproducible" not in html
    assert reproduce_cell(result.request, result.seed).splitlines()[0].endswith("-s -5")
    assert file_name(result, result.images[0]) == "z-image-turbo-seed-5.webp"


def test_a_seed_the_server_picked_negative_goes_into_the_cell() -> None:
    unseeded = GenerateRequest(model="z-image-turbo", prompt="a fox")
    result = make_result(image(seed=-123456), request=unseeded, seed=-123456)
    assert display.seed_label(result.images[0], result) == "seed -123456"
    assert "-s -123456" in reproduce_cell(result.request, result.seed)


def test_a_named_style_ref_is_an_option_and_notes_stay_outside_the_cell() -> None:
    data = "data:image/png;base64,iVBORw0KGgo="
    named = GenerateRequest(
        model="krea-v2-medium", prompt="a fox",
        style_references=({"image": data, "strength": 0.6, "name": "shot[0]"},),
    )  # fmt: skip
    assert "name" not in named.to_json()["style_references"][0]  # never sent
    cell = reproduce_cell(named).splitlines()
    assert cell[0].endswith("--style-ref 'shot[0]' --style-ref-strength 0.6")
    assert cell[1] == "a fox"  # the prompt follows the options: no comment line in between
    assert reproduce_notes(named) == []
    picked = GenerateRequest(
        model="krea-v2-medium", prompt="a fox", style_references=({"image": data},)
    )
    lines = reproduce_cell(picked).splitlines()
    assert lines[1] == "a fox" and not any(line.startswith("#") for line in lines)
    [note] = reproduce_notes(picked)
    assert "--style-ref" in note
    html = display.result_html(make_result(request=picked), preview_size=512)
    pre = html.split("<pre", 1)[1].split("</pre>", 1)[0]
    assert "style reference" not in pre and "venice-nb-reproduce-note" in html


def test_grid_downloads_get_names_that_tell_tiles_apart() -> None:
    from factories import sample_sweep

    html = display_grid_html(sample_sweep(fail_at=None))
    names = re.findall(r'download="([^"]+)"', html)
    assert len(names) == 4 and len(set(names)) == 4, names
    assert "z-image-turbo-seed-1-cfg_scale-7.5.webp" in names


def display_grid_html(sweep) -> str:
    from venice_nb.display.grid import sweep_html

    return sweep_html(sweep, preview_size=512)


def test_timing_printed_agrees_with_the_bar() -> None:
    from venice_nb.result import Timing

    # the live service's cumulative shape: preprocessing includes inference
    timing = Timing(queue_ms=10.0, preprocessing_ms=900.0, inference_ms=800.0, wall_ms=1000.0)
    text = str(timing)
    assert text.startswith("1.00 s wall: ")
    assert "preprocessing 100 ms" in text and "inference 800 ms" in text  # counted once
    assert "network & decoding 90 ms" in text
    bar = Parsed(display.timing_html(timing)).all_text
    for part in ("inference 800 ms", "preprocessing 100 ms", "network & decoding 90 ms"):
        assert part in bar


def test_images_compare_too_and_side_by_side() -> None:
    from venice_nb.images_in import to_input
    from venice_nb.lineage import Lineage

    source = to_input(image(seed=1), "shot[0]")
    after = image(seed=None)
    object.__setattr__(after, "lineage", Lineage("upscale", (source,), {"scale": 2}))
    html = after.compare()._repr_mimebundle_()[0]["text/html"]
    row = html.split('style="', 2)[2].split('"', 1)[0]
    assert "display:flex" in row and "flex-wrap:nowrap" in row  # never "after" under "before"
    assert html.index("before: shot[0]") < html.index("\u2192") < html.index("after:")


def test_the_magic_keeps_an_explicit_negative_seed(ip, server) -> None:
    """End to end: ``%%venice --seed -5`` is sent, captioned and reproduced as seed -5."""
    from magics_harness import cell, restored_traits, warm

    with restored_traits(ip):
        warm(ip, server)
        shot, _ = cell(ip, "-W 256 -H 256 --seed -5 --no-cache", "a fox")
    assert [r.body["seed"] for r in server.received if r.method == "POST"][-1] == -5
    html = ip.display_formatter.format(shot)[0]["text/html"]
    assert "seed -5" in Parsed(html).all_text and "not reproducible" not in html
    assert "-s -5" in html
