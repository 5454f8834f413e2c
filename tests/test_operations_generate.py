"""GenerateRequest: validation before any request, and the exact body sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from venice_nb.catalogue import Catalogue
from venice_nb.errors import ValidationError
from venice_nb.operations.generate import GenerateRequest, flag

DATA = Path(__file__).resolve().parents[1] / "venice_nb" / "server" / "data"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    example = Path(__file__).resolve().parent / "data" / "docs-example-models.json"
    rows = json.loads(example.read_text())["models"]
    return Catalogue.from_json({"object": "list", "data": rows})


@pytest.fixture(scope="module")
def styles() -> list[str]:
    return json.loads((DATA / "styles.json").read_text())


def req(**kw: object) -> GenerateRequest:
    return GenerateRequest(**{"model": "z-image-turbo", "prompt": "a gondola", **kw})  # type: ignore[arg-type]


def test_to_json_drops_unset_fields_and_never_sends_null() -> None:
    body = req(seed=0, safe_mode=False, cfg_scale=4.5).to_json()
    assert body == {
        "model": "z-image-turbo",
        "prompt": "a gondola",
        "seed": 0,
        "safe_mode": False,
        "cfg_scale": 4.5,
    }
    assert None not in body.values()
    json.dumps(body)  # serialisable as is


def test_tokens_are_normalised_to_the_api_spelling() -> None:
    r = req(format="PNG", quality=" High ")
    assert (r.format, r.quality) == ("png", "high")
    assert r.to_json()["format"] == "png"


def test_with_changes_copies_and_rejects_unknown_fields() -> None:
    a = req()
    b = a.with_(seed=3)
    assert (a.seed, b.seed) == (None, 3)
    with pytest.raises(ValidationError, match="did you mean 'seed'"):
        a.with_(sed=3)


BAD = [
    ({"model": ""}, "model", "-m MODEL"),
    ({"prompt": "   "}, "prompt", "empty"),
    ({"prompt": 5}, "prompt", "empty"),
    ({"width": 0}, "width", "--width must be a whole number from 1 to 1280"),
    ({"width": 1281}, "width", "1280"),
    ({"height": 512.0}, "height", "--height"),
    ({"height": True}, "height", "--height"),
    ({"cfg_scale": 0}, "cfg_scale", "above 0"),
    ({"cfg_scale": 20.01}, "cfg_scale", "at most 20"),
    ({"cfg_scale": "7"}, "cfg_scale", "--cfg-scale"),
    ({"seed": 1_000_000_000}, "seed", "999,999,999"),
    ({"seed": -1_000_000_000}, "seed", "--seed"),
    ({"seed": 1.5}, "seed", "--seed"),
    ({"variants": 0}, "variants", "1 to 4"),
    ({"variants": 5}, "variants", "sweep seeds"),
    ({"variants": 2, "return_binary": True}, "variants", "--binary returns a single image"),
    ({"steps": 0}, "steps", "--steps"),
    ({"lora_strength": 101}, "lora_strength", "0 to 100"),
    ({"format": "gif"}, "format", "jpeg"),
    ({"format": "jpg"}, "format", "did you mean 'jpeg'"),
    ({"quality": "ultra"}, "quality", "low, medium, high"),
    ({"aspect_ratio": 1.5}, "aspect_ratio", "must be text"),
    ({"safe_mode": "no"}, "safe_mode", "--no-safe-mode must be True or False"),
    ({"return_binary": 1}, "return_binary", "--binary"),
    ({"disable_prompt_optimization_thinking": "x"}, "disable_prompt_optimization_thinking", "True"),
    ({"style_references": []}, "style_references", "list"),
    ({"style_references": [{"url": "x"}]}, "style_references", "'image'"),
    ({"style_references": [{"image": "x", "strength": 2}]}, "style_references", "0.1 to 1"),
]


@pytest.mark.parametrize(("changes", "field", "text"), BAD)
def test_check_refuses_bad_values_in_one_line(changes: dict, field: str, text: str) -> None:
    with pytest.raises(ValidationError) as info:
        req(**changes).check()
    assert info.value.field == field
    assert text in info.value.message
    assert "\n" not in info.value.one_line()


def test_every_option_together_passes_check() -> None:
    full = req(
        negative_prompt="blur",
        width=1024,
        height=768,
        format="webp",
        variants=4,
        seed=-999_999_999,
        cfg_scale=20,
        steps=8,
        style_preset="Anime",
        safe_mode=False,
        return_binary=False,
        enable_web_search=False,
        hide_watermark=True,
        embed_exif_metadata=True,
        lora_strength=0,
        enhance_prompt=False,
        disable_prompt_optimization_thinking=True,
        style_references=[{"image": "https://example.com/a.png", "strength": 0.5}],
    )
    assert full.check() is full
    body = full.to_json()
    assert set(body) == set(GenerateRequest.field_names()) - {
        "aspect_ratio",
        "resolution",
        "quality",
    }
    assert body["style_references"] == ({"image": "https://example.com/a.png", "strength": 0.5},)
    assert json.loads(json.dumps(body))["style_references"] == [
        {"image": "https://example.com/a.png", "strength": 0.5}
    ]


MODEL_BAD = [  # what the live service refuses (or a paid surprise): refused before sending
    ("z-image-turbo", {"width": 1001}, "width", "try 1000 or 1008"),
    ("venice-sd35", {"height": 1000}, "height", "multiple of 16"),
    ("venice-sd35", {"prompt": "x" * 1501}, "prompt", "at most 1,500"),
    ("venice-sd35", {"prompt": "\U0001f6f6" * 751}, "prompt", "1,502 characters (emoji"),
    ("venice-sd35", {"negative_prompt": "x" * 1501}, "negative_prompt", "negative prompt"),
    ("nano-banana-2", {"resolution": "8K"}, "resolution", "1K, 2K, 4K"),
    ("gpt-image-2", {"quality": "ultra"}, "quality", "low, medium, high"),
    ("venice-sd35", {"steps": 31}, "steps", "maximum of 30"),
    ("z-image-turbo", {"style_preset": "Anim"}, "style_preset", "did you mean 'Anime'"),
    ("z-image-turbo", {"style_preset": "zzzzqqq"}, "style_preset", "%venice styles"),
    (
        "z-image-turbo",
        {"style_references": [{"image": "https://x/y.png"}]},
        "style_references",
        "style references",
    ),
]


@pytest.mark.parametrize(("model", "changes", "field", "text"), MODEL_BAD)
def test_check_against_the_model(
    catalogue: Catalogue, styles: list[str], model: str, changes: dict, field: str, text: str
) -> None:
    with pytest.raises(ValidationError) as info:
        req(model=model, **changes).check_against(catalogue[model], styles)
    assert info.value.field == field
    assert text in info.value.one_line()


IGNORED = [  # what the live service ignores: left out of the body, one warning line each
    ("z-image-turbo", {"aspect_ratio": "16:9"}, "sized in pixels and ignores --aspect-ratio"),
    ("z-image-turbo", {"resolution": "2K"}, "ignores --resolution"),
    ("z-image-turbo", {"steps": 6}, "z-image-turbo ignores --steps"),
    ("z-image-turbo", {"negative_prompt": "blur"}, "ignores the negative prompt"),
    ("z-image-turbo", {"enable_web_search": True}, "does not search the web"),
    ("qwen-image-2", {"width": 1024}, "sized by aspect ratio and ignores --width"),
    ("qwen-image-2", {"aspect_ratio": "16:10"}, "the nearest is '3:2'"),
    ("qwen-image-2", {"resolution": "2K"}, "no resolution tiers"),
    ("nano-banana-2", {"quality": "low"}, "no quality levels"),
    ("nano-banana-2", {"steps": 60}, "nano-banana-2 ignores --steps"),
    ("gpt-image-2", {"seed": 42}, "gpt-image-2 ignores --seed"),
]


@pytest.mark.parametrize(("model", "changes", "text"), IGNORED)
def test_ignored_fields_are_dropped_with_one_warning(
    catalogue: Catalogue, model: str, changes: dict, text: str
) -> None:
    review = req(model=model, **changes).review(catalogue[model])
    (name,) = changes
    assert name not in review.request.to_json() and set(review.ignored) == {name}
    (warning,) = review.warnings
    assert text in warning and warning.endswith("not sent") and "\n" not in warning
    again = review.request.review(catalogue[model])
    assert again.warnings == () and again.request == review.request


def test_check_against_accepts_each_sizing_mode(catalogue: Catalogue, styles: list[str]) -> None:
    ok = [
        req(width=1280, height=720, style_preset="Cinematic"),
        req(model="venice-sd35", width=1024, height=1024, steps=30, negative_prompt="n"),
        req(model="qwen-image-2", aspect_ratio="21:9"),
        req(model="nano-banana-2", aspect_ratio="9:16", resolution="4K", enable_web_search=True),
        req(model="gpt-image-2", aspect_ratio="3:2", resolution="2K", quality="medium"),
        req(model="lustify-v7", width=832, height=1216),
    ]
    for r in ok:
        review = r.review(catalogue[r.model], styles)
        assert review.request == r and review.warnings == ()


def test_resolution_is_matched_case_insensitively_and_sent_in_the_models_spelling(
    catalogue: Catalogue,
) -> None:
    r = req(model="gpt-image-2", resolution="2k", quality="LOW")
    checked = r.check_against(catalogue["gpt-image-2"])
    assert checked.resolution == "2K" and checked.quality == "low"
    assert r.resolution == "2k"  # the original stays as it was (frozen)
    assert checked.to_json()["resolution"] == "2K"


def test_estimated_cost_per_mode(catalogue: Catalogue) -> None:
    assert req(variants=3).estimated_cost(catalogue["z-image-turbo"]) == pytest.approx(0.03)
    nb = catalogue["nano-banana-pro"]
    assert req(model=nb.id).estimated_cost(nb) == pytest.approx(0.18)  # default 1K
    assert req(model=nb.id, resolution="4k").estimated_cost(nb) == pytest.approx(0.35)
    gpt = catalogue["gpt-image-2"]
    assert req(model=gpt.id).estimated_cost(gpt) == pytest.approx(0.26)  # 1K high by default
    assert req(model=gpt.id, resolution="2K", quality="low", variants=2).estimated_cost(
        gpt
    ) == pytest.approx(0.06)


def test_flag_names_match_the_magic() -> None:
    assert flag("cfg_scale") == "--cfg-scale"
    assert flag("style_preset") == "--style"
    assert flag("width") == "--width"


def test_size_label() -> None:
    assert req(width=512, height=256).size_label() == "512\u00d7256"
    assert req(width=512).size_label() == "512\u00d71024"  # the API's default for the other side
    assert req(aspect_ratio="16:9", resolution="2K").size_label() == "16:9 2K"
    assert req().size_label() == ""
