"""The toolbox grammar without a server: image references, instructions, options, model types."""

from __future__ import annotations

import io

import pytest
from IPython.core.error import UsageError
from PIL import Image

from venice_nb import toolbox_magic as tm
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GeneratedImage, GenerationResult


def png(size=(320, 256)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "teal").save(buf, "PNG")
    return buf.getvalue()


def result(n: int = 1) -> GenerationResult:
    images = [GeneratedImage.from_bytes(png(), index=i, seed=i) for i in range(n)]
    return GenerationResult(request=GenerateRequest("z-image-turbo", "a boat"), images=images)


NS = {"shot": result(), "grid": result(3), "number": 5}


def test_references_resolve_to_results_images_paths_and_urls() -> None:
    assert tm.resolve_image("shot", NS) == (NS["shot"], "shot")
    value, label = tm.resolve_image("grid[2]", NS)
    assert value is NS["grid"].images[2] and label == "grid[2]"
    assert tm.resolve_image("grid[-1]", NS)[0] is NS["grid"].images[2]
    assert tm.resolve_image("photos/cat.png", NS) == ("photos/cat.png", "photos/cat.png")
    assert tm.resolve_image("https://e.com/a.png", NS)[0] == "https://e.com/a.png"
    with pytest.raises(
        UsageError,
        match=r"'grid\[3\]' is out of range: grid has 3 images \(grid\[0\] ... grid\[2\]\)",
    ):
        tm.resolve_image("grid[3]", NS)
    with pytest.raises(UsageError, match="no variable 'nope' in this notebook"):
        tm.resolve_image("nope[0]", NS)
    with pytest.raises(UsageError, match="'number' is a int; it has no images to index"):
        tm.resolve_image("number[0]", NS)


def test_input_images_turn_refusals_into_one_usage_line() -> None:
    (image,) = tm.input_images(["grid[1]"], NS)
    assert image.label == "grid[1]" and image.origin is NS["grid"].images[1]
    with pytest.raises(UsageError, match=r"grid holds 3 images; pick one with grid\[0\]"):
        tm.input_images(["grid"], NS)


def test_instructions_split_on_separator_lines_and_fill_names() -> None:
    body = "make it {season}\n---\n\nmake it night\n---\n"
    assert tm.instructions(body, {"season": "autumn"}) == ["make it autumn", "make it night"]
    assert tm.instructions("a --- b", {}) == ["a --- b"]
    with pytest.raises(UsageError, match="season"):
        tm.instructions("make it {season}", {})


def test_options_are_checked_per_operation() -> None:
    args, rest = tm.parse_options("upscale", ["shot", "--scale", "4", "--creativity", "0.02"])
    assert (args.scale, args.creativity, rest) == ("4", 0.02, ["shot"])
    with pytest.raises(
        UsageError, match="unknown option '--scael' for upscale; did you mean '--scale'"
    ):
        tm.parse_options("upscale", ["shot", "--scael", "4"])
    with pytest.raises(UsageError, match="unknown option '--scale' for remove-background"):
        tm.parse_options("remove-background", ["shot", "--scale", "4"])


def test_a_parser_built_once_keeps_nothing_from_the_last_cell() -> None:
    first, _ = tm.parse_options("edit", ["-i", "shot", "-i", "grid[1]", "-m", "qwen-image-2-edit"])
    second, _ = tm.parse_options("edit", ["-i", "other"])
    assert first.image == ["shot", "grid[1]"] and first.model == "qwen-image-2-edit"
    assert second.image == ["other"] and second.model is None
    assert tm.parse_options("upscale", ["shot"])[0].scale == "2"


def test_model_types() -> None:
    assert tm.models_type("--type edit") == "inpaint"
    assert tm.models_type("--type=upscale") == "upscale"
    with pytest.raises(UsageError, match=r"takes --type edit\|upscale\|image"):
        tm.models_type("edit")


def test_style_references_pair_strengths_and_refuse_svg(tmp_path) -> None:
    refs = tm.style_references(["shot", "https://e.com/s.png"], [0.3, 0.9], NS)
    assert [r["strength"] for r in refs] == [0.3, 0.9] and refs[1]["image"] == "https://e.com/s.png"
    assert "strength" not in tm.style_references(["shot"], None, NS)[0]
    svg = tmp_path / "a.svg"
    svg.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    with pytest.raises(UsageError, match="is an SVG"):
        tm.style_references([str(svg)], None, NS)
    request = GenerateRequest("krea-v2-medium", "x", style_references=refs)
    prov = request.provenance_json()["style_references"]
    assert prov[0]["image"].startswith("data:image/png;base64, ") and "sha256" in prov[0]["image"]
    assert prov[1]["image"] == "https://e.com/s.png" and len(str(prov)) < 400
