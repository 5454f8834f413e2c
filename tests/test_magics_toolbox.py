"""The toolbox through a real InteractiveShell against a LocalServer: ``%%venice edit``,
``%venice upscale``, ``%venice remove-background``, ``--style-ref``, ``%venice models --type``,
sweeps, the cache, costs, lineage in the output and saved files, and refusals with zero requests."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from magics_harness import KEY, assert_no_key, cell, config, fresh_shell, line, posts, seen, texts
from PIL import Image

from venice_nb.result import GenerationResult, SweepResult
from venice_nb.session import get_session


@pytest.fixture(autouse=True)
def fresh(ip, server):
    with fresh_shell(ip, server):
        yield


@pytest.fixture
def shot(ip, server):
    """A fresh 1024x1024 generation bound to ``shot`` (its request is not counted)."""
    result, _ = cell(ip, "-m z-image-turbo -s 11 -o shot", "a red fox in the snow")
    server.reset_counters()
    return result


# ---- edit -------------------------------------------------------------------------------------


def test_edit_cell_sends_the_image_and_shows_lineage(ip, server, shot) -> None:
    result, cap = cell(ip, "edit -i shot -m qwen-image-2-edit --aspect-ratio 16:9 -o night",
                       "make it night")  # fmt: skip
    assert isinstance(result, GenerationResult) and ip.user_ns["night"] is result
    body = server.received[-1].body
    assert posts(server) == ["/image/edit"]
    assert body["model"] == "qwen-image-2-edit" and body["prompt"] == "make it night"
    assert base64.b64decode(body["image"]) == shot.image.data and body["aspect_ratio"] == "16:9"
    assert result.lineage.sources[0].origin is shot.image
    html = result._repr_mimebundle_()[0]["text/html"]
    assert "Edit of shot (1024x1024) by qwen-image-2-edit" in html
    meta = result._repr_mimebundle_()[1]["venice_nb"]
    assert meta["lineage"]["sources"][0]["source"]["prompt"] == "a red fox in the snow"
    assert_no_key(seen(cap), json.dumps(meta))


def test_several_images_make_a_multi_edit_with_modelId(ip, server, shot) -> None:
    ip.user_ns["logo"] = shot.image
    result, _ = cell(ip, "edit -i shot -i logo -m flux-2-max-edit", "put the logo on the wall")
    body = server.received[-1].body
    assert posts(server) == ["/image/multi-edit"]
    assert body["modelId"] == "flux-2-max-edit" and "model" not in body
    assert len(body["images"]) == 2
    assert result.lineage.operation == "multi-edit"
    assert result.lineage.source_labels() == ["shot", "logo"]


def test_a_quality_edit_goes_through_multi_edit(ip, server, shot) -> None:
    cell(ip, "edit -i shot[0] -m gpt-image-2-edit -q low -r 1k --yes", "add a moon")
    body = server.received[-1].body
    assert posts(server) == ["/image/multi-edit"]
    assert (body["quality"], body["resolution"], body["modelId"]) == (
        "low",
        "1K",
        "gpt-image-2-edit",
    )


def test_edit_sweeps_over_models_and_instructions(ip, server, shot) -> None:
    sweep, _ = cell(ip, "edit -i shot -m firered-image-edit,qwen-image-2-edit",
                    "make it night\n---\nmake it autumn")  # fmt: skip
    assert isinstance(sweep, SweepResult) and len(sweep) == 4 and not sweep.errors
    sent = sorted(
        (r.body["model"], r.body["prompt"]) for r in server.received if r.method == "POST"
    )
    assert sent == sorted(
        (m, p)
        for m in ("firered-image-edit", "qwen-image-2-edit")
        for p in ("make it night", "make it autumn")
    )
    assert (sweep.rows, sweep.cols) == ("model", "prompt")


def test_edit_multipart_on_request(ip, server, shot) -> None:
    cell(ip, "edit -i shot --multipart", "make it night")
    assert server.received[-1].content_type.startswith("multipart/form-data")


# ---- upscale and background removal ----------------------------------------------------------


def test_upscale_line_costs_caches_and_says_when_4x_is_reduced(ip, server, shot) -> None:
    config(ip, cache_enabled=True)
    result, _ = line(ip, "upscale shot --scale 2 -o big")
    assert posts(server) == ["/image/upscale"] and server.received[-1].body["scale"] == 2
    assert result.image.size == (2048, 2048) and result.cost_usd == 0.02
    again, cap2 = line(ip, "upscale shot --scale 2")
    assert again.cached and again.lineage.operation == "upscale"
    assert posts(server) == ["/image/upscale"]  # the second one was served by the cache
    assert any("cached" in t for t in texts(cap2))
    ip.user_ns["wide"] = Image.new("RGB", (1536, 1024), "navy")
    with pytest.raises(UsageError, match="cost about"):  # (4x is priced before anything is sent)
        config(ip, cost_limit_usd=0.05)
        line(ip, "upscale wide --scale 4")
    assert posts(server) == ["/image/upscale"]


def test_upscale_4x_note_comes_before_the_request(ip, server) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1536, 1024), "navy").save(buf, format="PNG")
    ip.user_ns["wide_png"] = buf.getvalue()
    server.latency = 0.0
    from venice_nb import toolbox_magic

    plan = toolbox_magic.plan(
        "upscale", ["wide_png", "--scale", "4"], "", ip.user_ns, get_session()
    )
    assert plan.notes and "reduces it to about 3.27x" in plan.notes[0]
    assert posts(server) == []


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_upscale_sweep_over_scale(ip, server, shot) -> None:
    sweep, _ = line(ip, "upscale shot[0] --scale 2,4 --yes")
    assert isinstance(sweep, SweepResult) and [c.params for c in sweep] == [
        {"scale": 2},
        {"scale": 4},
    ]


def test_remove_background_gives_alpha_on_a_checkerboard(ip, server, shot, tmp_path: Path) -> None:
    result, cap = line(ip, f"remove-background shot --save {tmp_path} --compare")
    assert posts(server) == ["/image/background-remove"]
    assert "model" not in server.received[-1].body
    assert result.image.to_pil().mode == "RGBA" and result.cost_usd == 0.03
    html = result._repr_mimebundle_()[0]["text/html"]
    assert "repeating-conic-gradient" in html
    assert any("Comparison" in t for t in texts(cap))  # the before/after view was shown
    (png,) = tmp_path.glob("*.png")
    sidecar = json.loads(png.with_suffix(".json").read_text())
    assert sidecar["lineage"]["operation"] == "remove-background"
    assert sidecar["lineage"]["sources"][0]["source"]["seed"] == 11
    assert KEY not in png.read_bytes().decode("latin-1")


# ---- refusals: one line, nothing sent ---------------------------------------------------------


@pytest.mark.parametrize(
    ("magic", "body", "message"),
    [
        ("edit -i nothing_here", "x", "not a result in this notebook nor an existing file"),
        ("edit -i shot[3]", "x", r"'shot\[3\]' is out of range: shot has 1 image"),
        ("edit -i shot", "", "the edit instruction is empty"),
        (
            "edit -i shot -m firered-image-edit --aspect-ratio 5:4",
            "x",
            "firered-image-edit does not offer aspect ratio '5:4'",
        ),
        ("edit -i shot --aspect-ratio wide", "x", "--aspect-ratio must be auto or a ratio"),
        ("edit -i shot -m grok-imagine-edit -r 4K", "x", "does not offer resolution '4K'"),
        ("edit -i shot -i shot -i shot -i shot", "x", "takes at most 3 input images, got 4"),
        ("edit -i shot -m luma-uni-1-edit -i shot", "x", "luma-uni-1-edit does not combine images"),
        ("edit -i shot -m no-such-edit", "x", "model 'no-such-edit' not found"),
        ("edit -i shot --colour red", "x", "unknown option '--colour'"),
        ("edit", "x", "needs an input image"),
        ("upscale shot --scale 3", "", "--scale must be 2 or 4"),
        ("upscale https://example.com/a.png", "", "takes only image bytes"),
        ("upscale shot", "a body", "takes no cell body"),
        ("remove-background shot shot", "", "takes one image, got 2"),
    ],
)
def test_refusals_are_one_line_and_send_nothing(ip, server, shot, magic, body, message) -> None:
    with pytest.raises(UsageError, match=message):
        if body:
            cell(ip, magic, body)
        else:  # IPython refuses an empty cell body itself; the line form reaches us
            line(ip, magic)
    assert posts(server) == []


def test_a_tiny_or_svg_input_is_refused_before_sending(ip, server, shot, tmp_path: Path) -> None:
    ip.user_ns["tiny"] = Image.new("RGB", (100, 100))
    with pytest.raises(UsageError, match="needs at least 65,536"):
        line(ip, "upscale tiny")
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"></svg>')
    with pytest.raises(UsageError, match="is an SVG"):
        cell(ip, f"edit -i {svg}", "x")
    assert posts(server) == []


def test_content_policy_422_is_one_line(ip, server, shot) -> None:
    from venice_nb.magics import VeniceRunError

    with pytest.raises(VeniceRunError, match="refused this edit under its content policy"):
        cell(ip, "edit -i shot", "violation-test please")


# ---- generation with style references, and the model lists -----------------------------------


def test_style_ref_options_build_style_references(ip, shot) -> None:
    from venice_nb import toolbox_magic

    refs = toolbox_magic.style_references(["shot", "shot[0]"], [0.6], ip.user_ns)
    assert [r["strength"] for r in refs] == [0.6, 0.6]
    assert refs[0]["image"].startswith("data:image/")
    with pytest.raises(UsageError, match="give one strength for all, or one per reference"):
        toolbox_magic.style_references(["shot"] * 3, [0.5, 0.6], ip.user_ns)
    with pytest.raises(UsageError, match="--style-ref-strength needs a --style-ref"):
        toolbox_magic.style_references(None, [0.5], ip.user_ns)
    with pytest.raises(UsageError, match="does not take --style-references"):
        cell(ip, "-m z-image-turbo --style-ref shot", "a castle")


def test_models_by_type(ip, server) -> None:
    _, cap = line(ip, "models --type edit")
    text = "\n".join(texts(cap))
    assert "flux-2-max-edit" in text and "up to 6 images" in text
    _, cap = line(ip, "models --type upscale")
    assert "2x $0.02, 4x $0.08" in "\n".join(texts(cap))
    with pytest.raises(UsageError, match="unknown model type 'edits'; did you mean 'edit'"):
        line(ip, "models --type edits")


def test_style_references_reach_a_model_that_takes_them(ip, server, shot) -> None:
    result, _ = cell(
        ip, "-m krea-v2-medium --style-ref shot --style-ref-strength 0.6 -s 3 -o styled", "a castle"
    )
    (ref,) = server.received[-1].body["style_references"]
    assert ref["strength"] == 0.6
    assert base64.b64decode(ref["image"].split(",", 1)[1]) == shot.image.data
    prov = result.provenance()["request"]["style_references"][0]
    assert "sha256" in prov["image"] and len(prov["image"]) < 200  # described, not embedded


SCHEMAS = {
    "/image/edit": "EditImageRequest",
    "/image/multi-edit": "MultiEditImageRequest",
    "/image/upscale": "UpscaleImageRequest",
    "/image/background-remove": "BackgroundRemoveImageRequest",
    "/image/generate": "GenerateImageRequest",
}


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_every_body_the_magic_sent_conforms_to_the_spec(ip, server, shot, spec_validator) -> None:
    ip.user_ns["logo"] = shot.image
    cell(ip, "edit -i shot -m nano-banana-pro-edit -r 2K --aspect-ratio auto -f png --enhance-prompt"
         " --no-safe-mode --no-prompt-thinking", "make it night")  # fmt: skip
    cell(ip, "edit -i shot -i logo -m gpt-image-2-edit -q medium --yes", "combine")
    line(ip, "upscale shot --scale 4 --creativity 0.02 --yes")
    line(ip, "remove-background shot")
    cell(ip, "-m krea-v2-medium --style-ref shot --style-ref-strength 0.6 -s 3", "a castle")
    bodies = [
        (r.path.rsplit("/api/v1", 1)[-1], r.body) for r in server.received if r.method == "POST"
    ]
    assert [p for p, _ in bodies] == list(SCHEMAS)  # edit, multi-edit, upscale, bg, generate
    for path, body in bodies:
        spec_validator(body, SCHEMAS[path])


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_downscale_makes_a_too_large_input_fit_instead_of_refusing(ip, server) -> None:
    ip.user_ns["huge"] = Image.new("RGB", (2400, 2000), "olive")
    with pytest.raises(UsageError, match="even 2x would pass"):
        line(ip, "upscale huge")
    result, _ = line(ip, "upscale huge --downscale")
    assert posts(server) == ["/image/upscale"]
    assert result.lineage.sources[0].pixels <= 4_194_304
    assert "downscaled from 2400x2000" in result.lineage.source_labels()[0]


# ---- one check per cell -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("magic", "body", "kind"),
    [
        ("edit -i shot -m qwen-image-2-edit --no-cache", "make it night", "EditRequest"),
        ("upscale -i shot --scale 2 --no-cache", "", "UpscaleRequest"),
    ],
)
def test_a_toolbox_cell_checks_its_request_once(ip, server, shot, monkeypatch, magic, body, kind):
    """The surface checks the request; preflight, the session and the client carry the mark
    (``validated``) instead of checking it again (it was four times)."""
    import venice_nb.operations as operations

    cls = getattr(operations, kind)
    calls = []
    original = cls.check_schema

    def counted(self):
        calls.append(self)
        return original(self)

    monkeypatch.setattr(cls, "check_schema", counted)
    if body:
        cell(ip, magic, body)
    else:
        line(ip, magic)
    assert len(calls) == 1 and len(posts(server)) == 1
