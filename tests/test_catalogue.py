"""Model specs from ``GET /models?type=image``: sizing modes, constraints, prices, drift tolerance."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from venice_nb.catalogue import Catalogue, ModelSpec, Pricing, closest, did_you_mean
from venice_nb.errors import ValidationError

DATA = Path(__file__).resolve().parents[1] / "venice_nb" / "server" / "data"
ROWS = json.loads((DATA / "models.json").read_text())["models"]


def envelope(rows: list) -> dict:
    return {"object": "list", "type": "image", "data": rows}


@pytest.fixture
def cat() -> Catalogue:
    return Catalogue.from_json(envelope(copy.deepcopy(ROWS)))


def test_every_sizing_mode_is_recognised(cat: Catalogue) -> None:
    modes = {spec.id: spec.sizing for spec in cat.values()}
    assert modes == {
        "z-image-turbo": "pixels",
        "venice-sd35": "pixels",
        "lustify-v7": "pixels",
        "qwen-image-2": "aspect_ratio",
        "nano-banana-2": "resolution",
        "nano-banana-pro": "resolution",
        "gpt-image-2": "quality",
    }
    assert cat.default_id == "z-image-turbo"
    assert next(iter(cat)) == "z-image-turbo"  # server order kept


def test_constraints_and_traits(cat: Catalogue) -> None:
    sd = cat["venice-sd35"]
    assert (sd.prompt_limit, sd.width_height_divisor, sd.steps_default, sd.steps_max) == (
        1500,
        16,
        25,
        30,
    )
    assert sd.uses_steps and not cat["z-image-turbo"].uses_steps
    assert cat["z-image-turbo"].traits == ("default", "fastest")
    gpt = cat["gpt-image-2"]
    assert gpt.aspect_ratios == ("1:1", "3:2", "16:9")
    assert (gpt.default_resolution, gpt.default_quality) == ("1K", "high")
    assert gpt.qualities == ("low", "medium", "high")
    assert cat["nano-banana-2"].supports_web_search and not gpt.supports_web_search
    assert "1:1" in cat["qwen-image-2"].sizes_label()
    assert "@ 1K/2K/4K x low/medium/high" in gpt.sizes_label()
    assert "multiple of 8" in cat["z-image-turbo"].sizes_label()


def test_deprecation(cat: Catalogue) -> None:
    dep = cat["lustify-v7"].deprecation
    assert (
        dep is not None
        and dep.date.startswith("2026-12-15")
        and dep.replacement == ("z-image-turbo")
    )
    assert cat["lustify-v7"].is_deprecated and not cat["z-image-turbo"].is_deprecated


def test_prices_per_image_per_resolution_per_quality(cat: Catalogue) -> None:
    assert cat["z-image-turbo"].price() == pytest.approx(0.01)
    assert cat["qwen-image-2"].price("4K", "low") == pytest.approx(0.05)  # flat ignores both
    nb = cat["nano-banana-pro"]
    assert [nb.price(r) for r in ("1K", "2K", "4K")] == pytest.approx([0.18, 0.23, 0.35])
    assert nb.price() == pytest.approx(0.18)  # default resolution
    assert nb.price("2k") == pytest.approx(0.23)  # case-insensitive tier
    gpt = cat["gpt-image-2"]
    assert gpt.price() == pytest.approx(0.26)  # 1K + default quality high
    assert gpt.price("4K", "low") == pytest.approx(0.05)
    assert gpt.price("2k", "MEDIUM") == pytest.approx(0.13)
    assert gpt.pricing.per_image("2K") == pytest.approx(0.51)  # tier price without quality
    assert "(low/med/high)" in gpt.pricing.describe()
    assert nb.pricing.describe() == "1K $0.18, 2K $0.23, 4K $0.35"
    assert cat["z-image-turbo"].pricing.describe() == "$0.01"


def test_cost_is_price_times_images_one_formula(cat: Catalogue) -> None:
    assert cat["nano-banana-pro"].cost(3, "2K") == pytest.approx(0.69)
    assert cat["z-image-turbo"].cost(4) == pytest.approx(0.04)
    odd = ModelSpec.from_json({"id": "odd", "model_spec": {"pricing": {}}})
    assert odd.cost(2) is None


def test_resolutions_compare_case_insensitively() -> None:
    row = copy.deepcopy(next(r for r in ROWS if r["id"] == "nano-banana-2"))
    row["model_spec"]["constraints"]["resolutions"] = ["1k", "2k"]  # seen live on grok-imagine
    spec = ModelSpec.from_json(row)
    assert spec.has_resolution("1K") and spec.has_resolution("2k") and not spec.has_resolution("4K")
    assert spec.canonical_resolution("2K") == "2k"
    assert spec.price("1k") == pytest.approx(0.10)  # pricing keys are upper-case


def test_missing_or_odd_pricing_degrades_to_none() -> None:
    assert Pricing.from_json(None).per_image() is None
    assert Pricing.from_json({"upscale": {"2x": {"usd": 0.02}}}).per_image() is None
    odd = Pricing.from_json({"generation": {"usd": "0.01"}, "resolutions": ["1K"], "quality": 3})
    assert odd.per_image("1K", "low") is None and odd.describe() == "n/a"
    only_tiers = Pricing.from_json({"resolutions": {"1K": {"usd": 0.1}, "2K": {"usd": 0.2}}})
    assert only_tiers.per_image() == pytest.approx(0.1)  # cheapest when the tier is unknown


def test_catalogue_drift_never_crashes() -> None:
    rows = copy.deepcopy(ROWS)
    rows[1]["model_spec"]["constraints"]["steps"] = 30  # not an object
    rows[2]["model_spec"]["constraints"]["promptCharacterLimit"] = "lots"
    rows[2]["model_spec"]["traits"] = "default"
    rows[3]["model_spec"]["pricing"] = None
    rows[4]["model_spec"]["deprecation"] = "soon"
    rows.append({"id": "bria-bg-remover", "model_spec": {"name": "BG"}})  # not a generator
    rows.append({"model_spec": {"constraints": {}}})  # no id
    rows.append("junk")
    cat = Catalogue.from_json(envelope(rows))
    assert len(cat) == 7 and "bria-bg-remover" not in cat
    assert cat["venice-sd35"].steps_max is None
    assert cat["qwen-image-2"].prompt_limit == 1500 and cat["qwen-image-2"].traits == ()
    assert cat["nano-banana-2"].price() is None
    assert cat["nano-banana-pro"].deprecation is None
    assert Catalogue.from_json(rows[:1]).default_id == "z-image-turbo"  # a bare list works too
    with pytest.raises(ValueError):
        Catalogue.from_json({"object": "list"})


def test_require_suggests_close_ids(cat: Catalogue) -> None:
    with pytest.raises(ValidationError, match="did you mean 'qwen-image-2'") as info:
        cat.require("qwen-image2")
    assert info.value.field == "model"
    with pytest.raises(ValidationError, match="available: z-image-turbo") as info:
        cat.require("dall-e-3")
    assert "%venice models" in info.value.one_line()
    assert cat.require("gpt-image-2").id == "gpt-image-2"


def test_spelling_helpers() -> None:
    assert closest("ANIME", ["Anime", "Analog Film"]) == ["Anime"]
    assert did_you_mean("xyzzy", ["Anime"]) == ""
    assert repr(Catalogue([])) == "<Catalogue of 0 image models: >"


# ---- the toolbox rows (type=inpaint and type=upscale) of the real catalogue -----------------

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "venice-models-2026-08-20.json"


@pytest.fixture
def real() -> Catalogue:
    if not REAL.exists():
        pytest.skip("the real catalogue snapshot is not beside the checkout")
    return Catalogue.from_json(json.loads(REAL.read_text()))


def test_edit_rows_carry_type_input_limits_and_prices(real: Catalogue) -> None:
    edit_ids = [s.id for s in real.values() if s.type == "inpaint"]
    assert len(edit_ids) == 21
    flux = real["flux-2-max-edit"]
    assert (flux.max_input_images, flux.combine_images, flux.input_image_limit) == (6, True, 6)
    assert flux.price() == 0.12
    assert flux.pricing.extra_inputs(1) == 0.0
    assert flux.pricing.extra_inputs(3) == pytest.approx(2 * 0.0345)
    assert real["firered-image-edit"].input_image_limit == 3  # absent: 3
    assert real["luma-uni-1-edit"].input_image_limit == 1  # combineImages: false
    grok = real["grok-imagine-edit"]  # included: 0, so every input image is extra
    assert grok.pricing.extra_inputs(1) == pytest.approx(0.0023)
    gpt = real["gpt-image-2-edit"]
    assert gpt.price("2K", "low") == 0.03 and gpt.price("4K") == 0.84
    assert real["nano-banana-pro-edit"].price("2K") == 0.23


def test_upscaler_row_is_kept_with_its_per_scale_prices(real: Catalogue) -> None:
    up = real["upscaler"]
    assert up.type == "upscale"
    assert dict(up.pricing.by_scale) == {"2x": 0.02, "4x": 0.08}
    assert real["z-image-turbo"].type == "image"
