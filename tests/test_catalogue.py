"""Model specs from ``GET /models?type=image``: sizing modes, constraints, prices, drift tolerance."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from shared_data import CATALOGUE_PATH

from venice_nb.catalogue import Catalogue, ModelSpec, Pricing
from venice_nb.errors import ValidationError

DATA = Path(__file__).resolve().parent / "data"
ROWS = json.loads((DATA / "docs-example-models.json").read_text())["models"]


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
    assert "(low/medium/high)" in gpt.pricing.describe()
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


def test_an_empty_catalogue_says_so() -> None:
    assert repr(Catalogue([])) == "<Catalogue of 0 image models: >"


# ---- the toolbox rows (type=inpaint and type=upscale) of the real catalogue -----------------

REAL = CATALOGUE_PATH


@pytest.fixture
def real() -> Catalogue:
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


# ---- every real row classified as the live service treats it ----------------------------------
# Which endpoint it belongs to, how it is sized, whether steps and seed do anything, whether the
# negative prompt is honoured and whether width/height are refused (venice-api.md §0).

SNAPSHOT = CATALOGUE_PATH

G, E, U, B = "generate", "edit", "upscale", "background-removal"
P, A, R, Q = "pixels", "aspect_ratio", "resolution", "quality"
# id: (operation, sizing, uses_steps, ignores_seed, honours_negative, rejects_width_height)
EXPECTED = {
    "wai-Illustrious": (G, P, True, False, True, False),
    "bria-bg-remover": (B, P, False, False, False, False),
    "chroma": (G, P, True, False, False, False),
    "flux-2-max": (G, A, False, False, False, False),
    "flux-2-pro": (G, A, False, False, False, False),
    "gpt-image-1-5": (G, A, False, True, False, False),
    "gpt-image-2": (G, Q, False, True, False, False),
    "grok-imagine-image": (G, R, False, True, False, False),
    "grok-imagine-image-2-0": (G, Q, False, True, False, False),
    "grok-imagine-image-quality": (G, R, False, True, False, False),
    "hunyuan-image-v3": (G, A, False, False, False, False),
    "ideogram-v4": (G, A, False, False, False, False),
    "imagineart-1.5-pro": (G, A, False, True, False, False),
    "krea-2-turbo": (G, R, False, False, False, False),
    "krea-v2-large": (G, A, False, False, False, False),
    "krea-v2-medium": (G, A, False, False, False, False),
    "luma-uni-1": (G, A, False, True, False, False),
    "luma-uni-1-max": (G, A, False, True, False, False),
    "lustify-sdxl": (G, P, True, False, True, False),
    "lustify-v7": (G, P, True, False, True, False),
    "lustify-v8": (G, P, True, False, True, False),
    "nano-banana-2": (G, R, False, False, False, False),
    "nano-banana-2-lite": (G, A, False, False, False, False),
    "nano-banana-pro": (G, R, False, True, False, False),
    "qwen-image": (G, A, False, False, False, True),
    "qwen-image-2": (G, A, False, False, True, False),
    "qwen-image-2-pro": (G, A, False, False, True, False),
    "qwen-image-3": (G, R, False, False, True, True),
    "qwen-image-3-pro": (G, R, False, False, True, True),
    "recraft-v4": (G, A, False, True, False, False),
    "recraft-v4-pro": (G, A, False, True, False, False),
    "seedream-v4": (G, A, False, False, False, False),
    "seedream-v5-lite": (G, A, False, False, False, False),
    "seedream-v5-pro": (G, R, False, True, False, False),
    "venice-sd35": (G, P, True, False, True, False),
    "wan-2-7-text-to-image": (G, A, False, False, True, False),
    "wan-2-7-pro-text-to-image": (G, A, False, False, True, False),
    "z-image-turbo": (G, P, False, False, False, False),
    "upscaler": (U, P, False, False, False, False),
}
EDIT_IDS = (
    "firered-image-edit", "flux-2-max-edit", "gpt-image-1-5-edit", "gpt-image-2-edit",
    "grok-imagine-edit", "grok-imagine-image-2-0-edit", "grok-imagine-quality-edit",
    "luma-uni-1-edit", "luma-uni-1-max-edit", "nano-banana-2-edit", "nano-banana-2-lite-edit",
    "nano-banana-pro-edit", "qwen-edit-uncensored", "qwen-image-2-edit", "qwen-image-2-pro-edit",
    "qwen-image-3-edit", "qwen-image-3-pro-edit", "seedream-v4-edit", "seedream-v5-lite-edit",
    "seedream-v5-pro-edit", "wan-2-7-pro-edit",
)  # fmt: skip


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return json.loads(SNAPSHOT.read_text("utf-8"))["data"]


@pytest.fixture(scope="module")
def live(rows: list[dict]) -> Catalogue:
    return Catalogue.from_json({"object": "list", "data": rows})


def test_all_sixty_rows_parse(rows: list[dict], live: Catalogue) -> None:
    assert len(rows) == 60
    assert {r["type"] for r in rows} == {"image", "inpaint", "upscale"}
    assert set(live) == {r["id"] for r in rows}
    kinds = [s.operation for s in live.values()]
    assert (kinds.count(G), kinds.count(E), kinds.count(U), kinds.count(B)) == (37, 21, 1, 1)
    assert len(live.generation_models()) == 37  # what /image/generate takes
    assert "bria-bg-remover" not in live.generation_models() and "upscaler" in live


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_each_image_and_upscale_row_is_classified(live: Catalogue, model_id: str) -> None:
    spec = live[model_id]
    got = (
        spec.operation, spec.sizing, spec.uses_steps, spec.ignores_seed,
        spec.honours_negative_prompt, spec.rejects_width_height,
    )  # fmt: skip
    assert got == EXPECTED[model_id]


@pytest.mark.parametrize("model_id", EDIT_IDS)
def test_each_inpaint_row_belongs_to_edit(live: Catalogue, model_id: str) -> None:
    spec = live[model_id]
    assert (spec.type, spec.operation, spec.uses_steps) == ("inpaint", "edit", False)
    assert model_id not in live.generation_models()
    assert spec.pricing.flat is not None and spec.pricing.flat > 0
    assert spec.aspect_ratios and spec.prompt_limit >= 1500


def test_placeholder_steps_are_not_uses(live: Catalogue) -> None:
    placeholders = [
        s.id
        for s in live.generation_models().values()
        if (s.steps_default, s.steps_max) == (20, 50)
    ]
    assert len(placeholders) == 32  # 30 that ignore steps + two lustify rows that use them
    assert [s for s in placeholders if live[s].uses_steps] == ["lustify-sdxl", "lustify-v7"]
    assert (live["chroma"].steps_default, live["chroma"].steps_max) == (10, 10)
    assert not live["z-image-turbo"].uses_steps  # 8/8: distilled, steps fixed


def test_bria_is_refused_as_a_generation_model_with_the_way_to_use_it(live: Catalogue) -> None:
    with pytest.raises(ValidationError, match="background removal") as info:
        live.require("bria-bg-remover")
    assert "remove-background" in info.value.one_line()
    with pytest.raises(ValidationError, match="edit"):
        live.require("qwen-image-2-edit")
    assert [s.id for s in live.for_operation(B)] == ["bria-bg-remover"]
    assert [s.id for s in live.for_operation(U)] == ["upscaler"]


def test_prices_per_tier_and_quality_with_the_true_names(live: Catalogue) -> None:
    gpt = live["gpt-image-2"]
    assert gpt.price("1K", "low") == pytest.approx(0.02)
    assert gpt.price("4k", "high") == pytest.approx(0.83)
    assert gpt.price() == pytest.approx(0.26)  # 1K, high
    grok = live["grok-imagine-image-2-0"]
    assert grok.qualities == ("low", "medium") and grok.default_quality == "medium"
    assert grok.price() == pytest.approx(0.07) and grok.price("2K", "low") == pytest.approx(0.07)
    assert grok.pricing.describe() == "1K $0.05/$0.07, 2K $0.07/$0.10 (low/medium)"
    assert live["wan-2-7-pro-text-to-image"].pricing.describe() == "$0.0938"
    assert live["nano-banana-pro"].price("2K", currency="diem") == pytest.approx(0.23)
    assert (
        live["nano-banana-pro"].pricing_diem.describe()
        == "1K 0.18 DIEM, 2K 0.23 DIEM, 4K 0.35 DIEM"
    )
    flux_edit = live["flux-2-max-edit"]
    assert flux_edit.pricing.flat == pytest.approx(0.12)
    assert flux_edit.pricing.inputs_included == 1
    assert flux_edit.pricing.per_extra_input == pytest.approx(0.0345)
    assert live["upscaler"].pricing.by_scale == {"2x": 0.02, "4x": 0.08}


def test_inputs_style_references_and_web_search(live: Catalogue) -> None:
    assert live["flux-2-max-edit"].max_input_images == 6
    assert live["luma-uni-1-edit"].combine_images is False
    refs = sorted(s.id for s in live.values() if s.supports_style_references)
    assert refs == ["krea-v2-large", "krea-v2-medium", "luma-uni-1", "luma-uni-1-max"]
    assert live["krea-v2-large"].max_style_references == 3
    assert live["krea-v2-large"].supports_style_reference_strength
    assert not live["luma-uni-1"].supports_style_reference_strength
    web = sorted(s.id for s in live.values() if s.supports_web_search)
    assert web == ["nano-banana-2", "nano-banana-pro"]
    assert live["flux-2-max"].default_aspect_ratio == "auto"
    assert live.default_id == "z-image-turbo"


def test_an_explicit_row_flag_wins_over_the_family_table() -> None:
    row = {
        "id": "nano-banana-2",
        "type": "image",
        "model_spec": {"supportsWebSearch": False, "constraints": {"promptCharacterLimit": 10}},
    }
    assert not ModelSpec.from_json(row).supports_web_search
    row["id"] = "brand-new-pixel-model"
    row["model_spec"]["constraints"]["steps"] = {"default": 28, "max": 40}
    assert ModelSpec.from_json(row).uses_steps  # real bounds on an unknown pixel model
    row["model_spec"]["constraints"]["aspectRatios"] = ["1:1"]
    assert not ModelSpec.from_json(row).uses_steps


def test_the_models_table_says_what_each_model_ignores(live: Catalogue) -> None:
    from venice_nb.display.html import models_table_html

    assert live["nano-banana-pro"].ignored_fields() == ["steps", "seed", "negative prompt"]
    assert live["venice-sd35"].ignored_fields() == ["web search"]
    html = models_table_html(live)
    assert "<th" in html and "ignores" in html and "bria-bg-remover" not in html
    assert html.count("<tr") == 38  # the header and the 37 generation models
