"""What a student's request costs: the catalogue's prices through the package's own formulas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from venice_nb.catalogue import Catalogue
from venice_nb.classroom.ledger import to_micro
from venice_nb.classroom.policy import Policy, Refusal, check
from venice_nb.classroom.pricing import price

DATA = Path(__file__).resolve().parents[1] / "venice_nb" / "server" / "data"


@pytest.fixture(scope="module")
def catalogues():
    rows = json.loads((DATA / "venice-models-2026-08-20.json").read_text())
    rows = rows.get("data", rows) if isinstance(rows, dict) else rows
    by_type: dict[str, list] = {"image": [], "inpaint": [], "upscale": []}
    for row in rows:
        by_type.setdefault(row.get("type", "image"), []).append(row)
    return {kind: Catalogue.from_json({"data": r}) for kind, r in by_type.items()}


def priced(catalogues, route, body, policy=None):
    policy = policy or Policy(max_resolution="4K")
    out = check(policy, route, json.dumps(body).encode(), "application/json")
    return price(out, catalogues, policy)


def test_generate_prices_are_the_catalogues(catalogues):
    spec = catalogues["image"]["gpt-image-2"]
    got = priced(catalogues, "/image/generate",
                 {"model": "gpt-image-2", "prompt": "x", "variants": 2, "resolution": "2K",
                  "quality": "medium"})  # fmt: skip
    assert got.most == to_micro(spec.cost(2, "2K", "medium"))
    enhanced = priced(
        catalogues,
        "/image/generate",
        {"model": "z-image-turbo", "prompt": "x", "enhance_prompt": True},
    )
    assert enhanced.most == to_micro(0.05)  # reserved with the surcharge
    assert enhanced.settled(False) == to_micro(0.01) and enhanced.settled(True) == to_micro(0.05)


def test_toolbox_prices(catalogues):
    up = priced(catalogues, "/image/upscale", {"image": "aGk=", "scale": 4})
    assert up.most == to_micro(
        catalogues["upscale"][next(iter(catalogues["upscale"]))].pricing.by_scale["4x"]
    )
    cut = priced(catalogues, "/image/background-remove", {"image": "aGk="})
    assert cut.most == to_micro(0.03)


def test_a_default_resolution_above_the_limit_needs_an_explicit_one():
    rows = json.loads((DATA / "venice-models-2026-08-20.json").read_text())
    rows = rows.get("data", rows) if isinstance(rows, dict) else rows
    row = json.loads(json.dumps(next(r for r in rows if r["id"] == "nano-banana-2")))
    row["model_spec"]["constraints"]["defaultResolution"] = "4K"
    images = {"image": Catalogue.from_json({"data": [row]})}
    policy = Policy(max_resolution="2K")
    with pytest.raises(Refusal, match="nano-banana-2 renders at 4K by default, above this class's"):
        priced(images, "/image/generate", {"model": "nano-banana-2", "prompt": "x"}, policy)
    ok = priced(
        images,
        "/image/generate",
        {"model": "nano-banana-2", "prompt": "x", "resolution": "2K"},
        policy,
    )
    assert ok.most == to_micro(0.14)
