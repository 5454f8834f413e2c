"""The local server's catalogue is the real ``GET /models`` answer, plus the edge cases it lacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from venice_nb.server import LocalServer, catalogue

DATA = Path(__file__).resolve().parents[1] / "venice_nb" / "server" / "data"
SNAPSHOT = json.loads((DATA / "venice-models-2026-08-20.json").read_text())["data"]
LOCAL_ROWS = ("local-offline-model", "local-pro-model")
ADDED_EDIT_IDS = ("gpt-image-2-5-flare-edit", "gpt-image-2-5-sunburst-edit", "muse-image-edit")
STYLE_REF_IDS = ("krea-v2-large", "krea-v2-medium", "luma-uni-1", "luma-uni-1-max")
FLAGS = (
    "supportsStyleReferences",
    "supportsStyleReferenceStrength",
    "supportsOptimizePromptThinking",
    "supportsWebSearch",
    "model_sets",
)


def test_counts_per_type(local_server: LocalServer) -> None:
    def get(kind: str) -> list[dict]:
        r = requests.get(f"{local_server.base_url}/models", params={"type": kind}, timeout=10)
        assert r.status_code == 200 and r.json()["type"] == kind
        return r.json()["data"]

    assert len(get("image")) == 38  # the local edge cases only when a server asks for them
    assert len(get("inpaint")) == 21 + len(ADDED_EDIT_IDS) and len(get("upscale")) == 1
    assert len(get("all")) == 60 + len(ADDED_EDIT_IDS)
    assert get("decision") == []  # a type the 2026-09 spec added (0b.16), no image rows
    local_server.edge_models = True
    assert len(get("image")) == 38 + len(LOCAL_ROWS)
    assert len(get("all")) == 60 + len(ADDED_EDIT_IDS) + len(LOCAL_ROWS)
    assert get("text") == [] and get("video") == []
    assert [r["id"] for r in get("upscale")] == ["upscaler"]
    assert "firered-image-edit" in {r["id"] for r in get("inpaint")}


def test_real_rows_served_as_captured(local_server: LocalServer) -> None:
    """Every snapshot row comes back with its constraints and prices untouched; only the keys the
    snapshot strips (object, owned_by, offline) and the documented overlays are added."""
    served = {
        r["id"]: r
        for r in requests.get(f"{local_server.base_url}/models?type=all", timeout=10).json()["data"]
    }
    for raw in SNAPSHOT:
        row = served[raw["id"]]
        assert (row["type"], row["created"]) == (raw["type"], raw["created"])
        assert (row["object"], row["owned_by"]) == ("model", "venice.ai")
        spec = row["model_spec"]
        assert spec["pricing"] == raw["model_spec"]["pricing"], raw["id"]
        constraints = dict(spec.get("constraints") or {})
        constraints.pop("supportsTransparentBackground", None)  # announced after the snapshot
        assert constraints == (raw["model_spec"].get("constraints") or {}), raw["id"]
        assert spec["offline"] is False
        added = set(spec) - set(raw["model_spec"]) - {"offline"}
        assert added <= {*FLAGS, "deprecation"}, (raw["id"], added)
        assert set(FLAGS) <= set(spec), raw["id"]  # every served row carries the live flags
    assert served["nano-banana-pro"]["model_spec"]["supportsWebSearch"] is True
    assert {
        i: served[i]["model_spec"]["supportsStyleReferences"] for i in STYLE_REF_IDS
    } == dict.fromkeys(STYLE_REF_IDS, True)
    assert sum(r["model_spec"]["supportsStyleReferences"] for r in served.values()) == 4
    for new in ADDED_EDIT_IDS:
        assert "4:3" in served[new]["model_spec"]["constraints"]["aspectRatios"]
    assert served["lustify-v7"]["model_spec"]["deprecation"]["replacementModelId"]


def test_rows_conform_to_the_spec(local_server: LocalServer, spec_validator) -> None:
    local_server.edge_models = True
    for kind in ("image", "inpaint", "upscale"):
        doc = requests.get(f"{local_server.base_url}/models?type={kind}", timeout=10).json()
        spec_validator(doc, spec_validator.response("/models", 200, method="get"))
        for row in doc["data"]:
            spec_validator(row, "ModelResponse")


def test_edge_cases_are_all_present() -> None:
    get = catalogue.get_model
    bria = get("bria-bg-remover")
    assert bria is not None and bria.only_on_route == "/image/background-remove"
    flux = get("flux-2-max")
    assert flux is not None and flux.default_aspect_ratio == "auto"
    assert flux.dimensions(1024, 1024, None, None) == (1024, 1024)  # "auto" no longer crashes
    assert flux.dimensions(1024, 1024, "16:9", None) == (1024, 576)
    grok = get("grok-imagine-image-2-0")
    assert grok is not None and grok.qualities == ["low", "medium"]
    krea = get("krea-v2-large")
    assert krea is not None and krea.max_style_references == 3
    assert get("z-image-turbo").max_style_references == 0  # type: ignore[union-attr]
    assert all(
        get(m).rejects_width_height for m in ("qwen-image", "qwen-image-3", "qwen-image-3-pro")
    )  # type: ignore[union-attr]
    assert not get("qwen-image-2").rejects_width_height  # type: ignore[union-attr]
    chroma = get("chroma")
    assert (
        chroma is not None
        and chroma.uses_steps
        and (chroma.steps_default, chroma.steps_max) == (10, 10)
    )
    assert get("local-offline-model").offline  # type: ignore[union-attr]
    assert get("local-pro-model").pro_only  # type: ignore[union-attr]
    assert get("firered-image-edit") is None  # not an image row
    assert get("firered-image-edit", kind="inpaint") is not None


def test_behaviour_lists_name_real_rows() -> None:
    """A typo in local-models.json would silently make a model behave like the default."""
    local = json.loads((DATA / "local-models.json").read_text())
    ids = {r["id"] for r in SNAPSHOT if r["type"] == "image"}
    how = local["behaviour"]
    for name in ("uses_steps", "honours_negative_prompt", "ignores_seed", "rejects_width_height"):
        assert set(how[name]) <= ids, name
    assert set(how["not_for_generate"]) <= ids and set(how["cfg_scale"]) - {"_default"} <= ids
    assert set(local["spec_overlays"]) <= ids
    assert not set(local["retired"]) & ids
    uses = {m.id for m in catalogue.models() if m.uses_steps}
    assert uses == {
        "venice-sd35",
        "lustify-sdxl",
        "lustify-v7",
        "lustify-v8",
        "wai-Illustrious",
        "chroma",
    }
    placeholders = {
        r["id"]
        for r in SNAPSHOT
        if r["type"] == "image"
        and r["model_spec"]["constraints"]["steps"] == {"default": 20, "max": 50}
    }
    assert len(placeholders - uses) == 31  # they carry steps 20/50 and ignore them
    assert placeholders & uses == {"lustify-sdxl", "lustify-v7"}  # lustify-v8 is 30/50


@pytest.mark.parametrize(
    ("model", "resolution", "quality", "usd"),
    [
        ("z-image-turbo", None, None, 0.01),
        ("gpt-image-2", None, None, 0.26),
        ("gpt-image-2", "4K", "low", 0.05),
        ("grok-imagine-image-2-0", "2K", None, 0.1),
        ("nano-banana-pro", "4K", None, 0.35),
        ("wan-2-7-pro-text-to-image", None, None, 0.09375),
        ("bria-bg-remover", None, None, 0.03),
    ],
)
def test_real_prices(model: str, resolution: str | None, quality: str | None, usd: float) -> None:
    m = catalogue.get_model(model)
    assert m is not None and m.price(resolution, quality)[0] == pytest.approx(usd)
