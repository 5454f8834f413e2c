"""The local server's model catalogue and style list.

Data lives in ``data/*.json`` so the rows can be compared by eye with real ``GET /models`` captures;
this module adds the behaviour the server needs (sizing, pricing, suggestions).
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

RESOLUTION_LONG_SIDE = {"1K": 1024, "2K": 2048, "4K": 4096}
DEFAULT_MODEL = "z-image-turbo"


def _load(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath("data", name).read_text("utf-8"))


@dataclass(frozen=True)
class Model:
    """One catalogue row plus the local-only hints that steer validation and rendering."""

    row: dict[str, Any]
    cfg_scale: float
    uses_steps: bool
    honours_negative: bool

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def spec(self) -> dict[str, Any]:
        return self.row["model_spec"]

    @property
    def constraints(self) -> dict[str, Any]:
        return self.spec["constraints"]

    @property
    def prompt_limit(self) -> int:
        return int(self.constraints["promptCharacterLimit"])

    @property
    def aspect_ratios(self) -> list[str]:
        return list(self.constraints.get("aspectRatios") or [])

    @property
    def resolutions(self) -> list[str]:
        return list(self.constraints.get("resolutions") or [])

    @property
    def qualities(self) -> list[str]:
        return list(self.constraints.get("qualities") or [])

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
        """Output size: pixel models take width/height; ratio models derive it from ratio + tier."""
        if self.is_pixel:
            return width, height
        ratio = aspect_ratio if aspect_ratio in self.aspect_ratios else None
        ratio = ratio or self.constraints.get("defaultAspectRatio") or "1:1"
        rw, rh = (float(x) for x in ratio.split(":"))
        long_side = RESOLUTION_LONG_SIDE.get((resolution or "1K").upper(), 1024)
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
            entry = pricing.get("generation", {"usd": 0.01, "diem": 0.01})
        return float(entry["usd"]), float(entry["diem"])


@lru_cache(maxsize=1)
def _catalogue() -> tuple[Model, ...]:
    data = _load("models.json")
    models = []
    for raw in data["models"]:
        local = raw.get("_local", {})
        row = {k: v for k, v in raw.items() if not k.startswith("_")}
        row["model_spec"]["pricing"]["upscale"] = copy.deepcopy(data["upscale"])
        models.append(
            Model(
                row=row,
                cfg_scale=float(local.get("cfg_scale", 5.0)),
                uses_steps=bool(local.get("uses_steps")),
                honours_negative=bool(local.get("negative_prompt")),
            )
        )
    return tuple(models)


def models() -> list[Model]:
    """All image models, catalogue order."""
    return list(_catalogue())


def model_rows() -> list[dict[str, Any]]:
    """Rows exactly as ``GET /models?type=image`` serves them (deep copies, safe to mutate)."""
    return [copy.deepcopy(m.row) for m in _catalogue()]


def get_model(model_id: str) -> Model | None:
    for m in _catalogue():
        if m.id == model_id:
            return m
    return None


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
