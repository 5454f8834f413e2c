"""The local server's model catalogue and style list, built from the real ``GET /models`` rows.

``data/venice-models-2026-08-20.json`` is a verbatim copy of the live keyless answer for
``type=image|inpaint|upscale`` (38 + 21 + 1 rows); ``data/local-models.json`` adds what the rows do not
say but the service does (which models use steps, honour a negative prompt or ignore the seed), the flags
live rows carry that the snapshot stripped (``supportsStyleReferences`` …, ``model_sets``), the edit
models the 2026-09 spec added, a few edge-case rows the snapshot lacks (offline, Pro/beta; served only
when a server asks for them, so nobody meets a fake id by accident) and retired ids. Serving the real rows keeps the
local server from flattering a client that only works with the docs' examples.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

SNAPSHOT = "venice-models-2026-08-20.json"
LOCAL = "local-models.json"
RESOLUTION_LONG_SIDE = {"1K": 1024, "2K": 2048, "4K": 4096}
DEFAULT_MODEL = "z-image-turbo"
MODEL_KINDS = ("image", "inpaint", "upscale")


def _load(name: str) -> Any:
    return json.loads((resources.files(__package__) / "data" / name).read_text("utf-8"))


@dataclass(frozen=True)
class Model:
    """One catalogue row (as served) plus how the service treats the fields it does not describe."""

    row: dict[str, Any]
    cfg_scale: float = 5.0
    uses_steps: bool = False
    honours_negative: bool = False
    ignores_seed: bool = False
    rejects_width_height: bool = False
    only_on_route: str | None = None  # e.g. bria-bg-remover belongs to /image/background-remove
    edge: bool = False  # a local edge-case row (offline, Pro/beta): served only when asked for

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def type(self) -> str:
        return self.row["type"]

    @property
    def spec(self) -> dict[str, Any]:
        return self.row["model_spec"]

    @property
    def constraints(self) -> dict[str, Any]:
        return self.spec.get("constraints") or {}

    @property
    def prompt_limit(self) -> int:
        return int(self.constraints.get("promptCharacterLimit", 1500))

    @property
    def aspect_ratios(self) -> list[str]:
        return list(self.constraints.get("aspectRatios") or [])

    @property
    def default_aspect_ratio(self) -> str | None:
        return self.constraints.get("defaultAspectRatio")

    @property
    def resolutions(self) -> list[str]:
        return list(self.constraints.get("resolutions") or [])

    @property
    def qualities(self) -> list[str]:
        return list(self.constraints.get("qualities") or [])

    @property
    def steps_default(self) -> int:
        return int((self.constraints.get("steps") or {}).get("default", 20))

    @property
    def steps_max(self) -> int:
        return int((self.constraints.get("steps") or {}).get("max", 50))

    @property
    def is_pixel(self) -> bool:
        """Pixel models size by width/height; the rest by aspect ratio (and maybe tier)."""
        return not self.aspect_ratios

    @property
    def deprecation(self) -> dict[str, Any] | None:
        return self.spec.get("deprecation")

    @property
    def supports_web_search(self) -> bool:
        return bool(self.spec.get("supportsWebSearch"))

    @property
    def max_style_references(self) -> int:
        """Style references are offered where the row has ``maxStyleReferences`` (or the flag)."""
        limit = self.constraints.get("maxStyleReferences")
        if limit is None and self.spec.get("supportsStyleReferences"):
            limit = 3
        return int(limit or 0)

    @property
    def offline(self) -> bool:
        return self.spec.get("offline") is True

    @property
    def pro_only(self) -> bool:
        """Beta rows answer 401 "only available to Pro users" without beta access."""
        return self.spec.get("beta") is True

    def canonical_resolution(self, value: str | None) -> str | None:
        """Match a resolution case-insensitively ("1k" -> "1K"); None if unsupported."""
        if value is None:
            return self.constraints.get("defaultResolution")
        for res in self.resolutions:
            if res.lower() == value.lower():
                return res
        return None

    def dimensions(
        self, width: int, height: int, aspect_ratio: str | None, resolution: str | None
    ) -> tuple[int, int]:
        """Output size: pixel models take width/height; ratio models derive it from ratio + tier.

        ``auto`` (flux-2-max's default) means "from the input image"; text-to-image has none, so
        it renders square [GUESS].
        """
        if self.is_pixel:
            return width, height
        ratio = aspect_ratio if aspect_ratio in self.aspect_ratios else None
        ratio = ratio or self.default_aspect_ratio or "1:1"
        if ratio == "auto":
            ratio = "1:1"
        rw, rh = (float(x) for x in ratio.split(":"))
        long_side = RESOLUTION_LONG_SIDE.get((resolution or "1K").upper(), 1024)
        w: float
        h: float
        if rw >= rh:
            w, h = long_side, long_side * rh / rw
        else:
            w, h = long_side * rw / rh, long_side
        return max(16, round(w / 16) * 16), max(16, round(h / 16) * 16)

    def price(self, resolution: str | None, quality: str | None) -> tuple[float, float]:
        """(usd, diem) per image, from the quality table, the tier table or the flat price."""
        pricing = self.spec.get("pricing", {})
        tier = resolution or self.constraints.get("defaultResolution") or "1K"
        q = quality or self.constraints.get("defaultQuality")
        entry = None
        if q and tier in pricing.get("quality", {}):
            entry = pricing["quality"][tier].get(q)
        if entry is None and tier in pricing.get("resolutions", {}):
            entry = pricing["resolutions"][tier]
        if entry is None:
            entry = (
                pricing.get("generation") or pricing.get("inpaint") or {"usd": 0.01, "diem": 0.01}
            )
        return float(entry["usd"]), float(entry["diem"])


@dataclass(frozen=True)
class Retired:
    """An id the service no longer lists: remapped (200), 404 naming a replacement, or 410."""

    id: str
    answer: str  # "remap" | "404" | "410"
    replacement: str | None
    removed_at: str


def _row(raw: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    row = {**copy.deepcopy(raw), **local["row_fields"]}
    spec = row["model_spec"]
    for key, value in local["spec_fields"].items():
        spec.setdefault(key, copy.deepcopy(value))
    spec.update(copy.deepcopy(local["spec_overlays"].get(row["id"], {})))
    constraints = spec.get("constraints", {})  # the upscaler row has none, and gets none
    constraints.update(copy.deepcopy(local["constraint_overlays"].get(row["id"], {})))
    # The flags clients gate on (venice-api.md 0b.18), derived where the snapshot has the data.
    spec.setdefault("supportsStyleReferences", bool(constraints.get("maxStyleReferences")))
    spec.setdefault(
        "supportsStyleReferenceStrength", constraints.get("supportsStyleReferenceStrength") is True
    )
    if row["type"] == "image" and "upscale" not in spec["pricing"]:
        spec["pricing"]["upscale"] = copy.deepcopy(_upscale_prices())
    order = ("id", "type", "object", "owned_by", "created", "model_spec")
    return {k: row[k] for k in order if k in row} | {k: v for k, v in row.items() if k not in order}


def _upscale_prices() -> dict[str, Any]:
    rows = _load(SNAPSHOT)["data"]
    return next(r["model_spec"]["pricing"]["upscale"] for r in rows if r["type"] == "upscale")


@lru_cache(maxsize=1)
def _catalogue() -> tuple[Model, ...]:
    local = _load(LOCAL)
    how = local["behaviour"]
    cfg = how["cfg_scale"]
    edge_ids = {r["id"] for r in local["extra_rows"]}
    raws = list(_load(SNAPSHOT)["data"]) + local["added_rows"] + local["extra_rows"]
    models = []
    for raw in raws:
        mid = raw["id"]
        models.append(
            Model(
                edge=mid in edge_ids,
                row=_row(raw, local),
                cfg_scale=float(cfg.get(mid, cfg["_default"])),
                uses_steps=mid in how["uses_steps"],
                honours_negative=mid in how["honours_negative_prompt"],
                ignores_seed=mid in how["ignores_seed"],
                rejects_width_height=mid in how["rejects_width_height"],
                only_on_route=how["not_for_generate"].get(mid),
            )
        )
    return tuple(models)


@lru_cache(maxsize=1)
def _retired() -> dict[str, Retired]:
    return {
        mid: Retired(mid, str(v["answer"]), v.get("replacement"), v["removedAt"])
        for mid, v in _load(LOCAL)["retired"].items()
    }


def models(kind: str = "image", *, edge: bool = True) -> list[Model]:
    """The models of one type (``image``, ``inpaint``, ``upscale``; ``all`` for every row);
    without ``edge`` the local edge-case rows are left out."""
    return [m for m in _catalogue() if (kind == "all" or m.type == kind) and (edge or not m.edge)]


def model_rows(kind: str = "image", *, edge: bool = True) -> list[dict[str, Any]]:
    """Rows exactly as ``GET /models?type=<kind>`` serves them (deep copies, safe to mutate)."""
    return [copy.deepcopy(m.row) for m in models(kind, edge=edge)]


def get_model(model_id: str, kind: str = "image", *, edge: bool = True) -> Model | None:
    for m in _catalogue():
        if m.id == model_id and (kind == "all" or m.type == kind) and (edge or not m.edge):
            return m
    return None


def retired(model_id: str) -> Retired | None:
    return _retired().get(model_id)


def suggest(name: str, choices: list[str]) -> str | None:
    """Closest entry for "did you mean" hints (case-insensitive), or None."""
    lowered = {c.lower(): c for c in choices}
    hit = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
    return lowered[hit[0]] if hit else None


@lru_cache(maxsize=1)
def _styles() -> tuple[str, ...]:
    return tuple(_load("styles.json"))


def styles() -> list[str]:
    """The style preset names, case-sensitive, in the order the API lists them."""
    return list(_styles())
