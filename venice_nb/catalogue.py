"""Typed model specs parsed from ``GET /models?type=image``.

The catalogue is what validation checks a request against (sizing mode, ranges, prompt limit) and
where prices come from. Parsing is defensive: the live catalogue drifts (pricing may be missing,
resolution tokens change case), so unknown or absent fields degrade to ``None``, never to a crash.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ValidationError

SizingMode = Literal["pixels", "aspect_ratio", "resolution", "quality"]

SIZING_LABELS: dict[str, str] = {
    "pixels": "width x height",
    "aspect_ratio": "aspect ratio",
    "resolution": "aspect ratio + resolution",
    "quality": "aspect ratio + resolution + quality",
}


def _upper(token: str) -> str:
    return str(token).strip().upper()


def _map(value: Any) -> Mapping[str, Any]:
    """A mapping from the catalogue, or an empty one when the field has another shape."""
    return value if isinstance(value, Mapping) else {}


def _int_or(value: Any, default: int | None) -> int | None:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)) and value == int(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return default


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else ()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Pricing:
    """USD per image: flat, per resolution tier, or per tier and quality."""

    flat: float | None = None
    by_resolution: Mapping[str, float] = field(default_factory=dict)
    by_quality: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # Edit models (``type=inpaint``): images beyond ``inputs_included`` cost ``per_extra_input``.
    inputs_included: int | None = None
    per_extra_input: float | None = None
    # The upscaler: USD per scale factor ("2x", "4x").
    by_scale: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Pricing:
        raw = _map(raw)

        def usd(entry: Any) -> float | None:
            value = entry.get("usd") if isinstance(entry, Mapping) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                return float(value)
            return None

        # Generation rows price under "generation", edit rows (type=inpaint) under "inpaint".
        flat = usd(raw.get("generation"))
        if flat is None:
            flat = usd(raw.get("inpaint"))
        inputs = _map(raw.get("inputImages"))
        by_scale = {
            str(k).lower(): v
            for k, v in ((k, usd(e)) for k, e in _map(raw.get("upscale")).items())
            if v is not None
        }
        by_res = {
            _upper(k): v
            for k, v in ((k, usd(e)) for k, e in _map(raw.get("resolutions")).items())
            if v is not None
        }
        by_quality: dict[str, dict[str, float]] = {}
        for tier, table in _map(raw.get("quality")).items():
            if isinstance(table, Mapping):
                prices = {str(q).lower(): usd(e) for q, e in table.items()}
                by_quality[_upper(tier)] = {q: p for q, p in prices.items() if p is not None}
        return cls(
            flat=flat,
            by_resolution=by_res,
            by_quality=by_quality,
            inputs_included=_int_or(inputs.get("included"), None),
            per_extra_input=usd(inputs.get("additional")),
            by_scale=by_scale,
        )

    def per_image(self, resolution: str | None = None, quality: str | None = None) -> float | None:
        """The price of one image, or None when the catalogue does not say."""
        tier = _upper(resolution) if resolution else None
        if quality and tier and tier in self.by_quality:
            price = self.by_quality[tier].get(quality.lower())
            if price is not None:
                return price
        if tier and tier in self.by_resolution:
            return self.by_resolution[tier]
        if self.flat is not None:
            return self.flat
        if self.by_resolution:
            return min(self.by_resolution.values())
        return None

    def extra_inputs(self, images: int) -> float:
        """USD added by a multi-edit's input images beyond the ones the edit price includes."""
        if not self.per_extra_input:
            return 0.0
        included = 1 if self.inputs_included is None else self.inputs_included
        return max(0, images - included) * self.per_extra_input

    def describe(self) -> str:
        if self.by_scale:  # the upscaler
            return ", ".join(f"{k} ${v:.2f}" for k, v in self.by_scale.items())
        if self.by_quality:
            parts = []
            for tier, table in self.by_quality.items():
                cells = "/".join(
                    f"${table[q]:.2f}" for q in ("low", "medium", "high") if q in table
                )
                parts.append(f"{tier} {cells}")
            return ", ".join(parts) + " (low/med/high)"
        if self.by_resolution:
            return ", ".join(f"{t} ${p:.2f}" for t, p in self.by_resolution.items())
        if self.flat is not None:
            return (
                f"${self.flat:.3f}".rstrip("0").rstrip(".")
                if self.flat < 0.01
                else f"${self.flat:.2f}"
            )
        return "n/a"


@dataclass(frozen=True)
class Deprecation:
    date: str | None = None
    replacement: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    """What one image model accepts and costs."""

    id: str
    name: str
    prompt_limit: int = 1500
    width_height_divisor: int = 1
    max_size: int = 1280
    steps_default: int | None = None
    steps_max: int | None = None
    aspect_ratios: tuple[str, ...] = ()
    default_aspect_ratio: str | None = None
    resolutions: tuple[str, ...] = ()
    default_resolution: str | None = None
    qualities: tuple[str, ...] = ()
    default_quality: str | None = None
    supports_web_search: bool = False
    traits: tuple[str, ...] = ()
    offline: bool = False
    deprecation: Deprecation | None = None
    pricing: Pricing = field(default_factory=Pricing)
    supports_style_references: bool = False
    max_style_references: int | None = None
    supports_optimize_prompt_thinking: bool = False
    # "image", "inpaint" (edit models) or "upscale": which endpoint the row belongs to.
    type: str = "image"
    max_input_images: int | None = None
    combine_images: bool | None = None

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> ModelSpec:
        """One row of ``GET /models?type=image``; odd or missing fields fall back to defaults."""
        spec = _map(row.get("model_spec"))
        cons = _map(spec.get("constraints"))
        steps = _map(cons.get("steps"))
        dep = spec.get("deprecation")
        return cls(
            id=str(row["id"]),
            name=_text(spec.get("name")) or str(row["id"]),
            prompt_limit=_int_or(cons.get("promptCharacterLimit"), 1500) or 1500,
            width_height_divisor=max(1, _int_or(cons.get("widthHeightDivisor"), 1) or 1),
            steps_default=_int_or(steps.get("default"), None),
            steps_max=_int_or(steps.get("max"), None),
            aspect_ratios=_strings(cons.get("aspectRatios")),
            default_aspect_ratio=_text(cons.get("defaultAspectRatio")),
            resolutions=_strings(cons.get("resolutions")),
            default_resolution=_text(cons.get("defaultResolution")),
            qualities=tuple(q.lower() for q in _strings(cons.get("qualities"))),
            default_quality=(_text(cons.get("defaultQuality")) or "").lower() or None,
            supports_web_search=spec.get("supportsWebSearch") is True,
            traits=_strings(spec.get("traits")),
            offline=spec.get("offline") is True,
            deprecation=(
                Deprecation(
                    _text(dep.get("date")) or _text(dep.get("removesAt")),
                    _text(dep.get("replacementModelId")),
                )
                if isinstance(dep, Mapping)
                else None
            ),
            pricing=Pricing.from_json(spec.get("pricing")),
            supports_style_references=spec.get("supportsStyleReferences") is True,
            max_style_references=_int_or(cons.get("maxStyleReferences"), None),
            supports_optimize_prompt_thinking=spec.get("supportsOptimizePromptThinking") is True,
            type=_text(row.get("type")) or "image",
            max_input_images=_int_or(cons.get("maxInputImages"), None),
            combine_images=(
                cons["combineImages"] if isinstance(cons.get("combineImages"), bool) else None
            ),
        )

    @property
    def sizing(self) -> SizingMode:
        if self.qualities:
            return "quality"
        if self.resolutions:
            return "resolution"
        if self.aspect_ratios:
            return "aspect_ratio"
        return "pixels"

    @property
    def uses_steps(self) -> bool:
        """Only a few models honour ``steps``; the rest accept and ignore it."""
        return self.steps_max is not None and self.steps_default != self.steps_max

    def has_resolution(self, value: str) -> bool:
        return self.canonical_resolution(value) is not None

    def canonical_resolution(self, value: str) -> str | None:
        """The model's own spelling of a resolution token ("2k" -> "2K"), None if not offered."""
        wanted = _upper(value)
        return next((r for r in self.resolutions if _upper(r) == wanted), None)

    @property
    def input_image_limit(self) -> int:
        """How many images a multi-edit takes: ``maxInputImages``, 3 when absent, 1 where the
        model does not combine images (venice-api.md section 6)."""
        if self.combine_images is False:
            return 1
        return self.max_input_images or 3

    @property
    def is_deprecated(self) -> bool:
        return self.deprecation is not None

    def price(self, resolution: str | None = None, quality: str | None = None) -> float | None:
        return self.pricing.per_image(
            resolution or self.default_resolution, quality or self.default_quality
        )

    def cost(
        self, images: int, resolution: str | None = None, quality: str | None = None
    ) -> float | None:
        """USD for ``images`` images at this size and quality (one formula for the estimate
        before a request and the cost of its result), None when the catalogue has no price."""
        price = self.price(resolution, quality)
        return None if price is None else round(price * images, 6)

    def sizes_label(self) -> str:
        """What sizes the model takes, for ``%venice models`` and hints."""
        if self.sizing == "pixels":
            return f"width/height <= {self.max_size}, multiple of {self.width_height_divisor}"
        text = ", ".join(self.aspect_ratios)
        if self.resolutions:
            text += " @ " + "/".join(self.resolutions)
        if self.qualities:
            text += " x " + "/".join(self.qualities)
        return text


def closest(word: str, options: Iterable[str], n: int = 3) -> list[str]:
    """Spelling suggestions, case-insensitively, best first."""
    options = list(options)
    lowered = {o.lower(): o for o in options}
    if word.lower() in lowered:  # only the case differs: that is the answer
        return [lowered[word.lower()]]
    scored = sorted(((_likeness(word, o), o) for o in lowered), reverse=True)
    if not scored or scored[0][0] < 0.6:
        return []
    # Only the near-best: 'qwen-image2' suggests 'qwen-image-2', not also 'z-image-turbo'.
    best = scored[0][0]
    return [lowered[o] for r, o in scored[:n] if r >= 0.6 and r >= best - 0.08]


def _likeness(word: str, option: str) -> float:
    """Similarity ignoring leading dashes (they made '--colour' look like '--model'); a typed
    prefix of an option ('--cfg' of '--cfg-scale') counts as a strong match."""
    a, b = word.lower().lstrip("-"), option.lstrip("-")
    score = difflib.SequenceMatcher(None, a, b).ratio()
    if len(a) >= 2 and b.startswith(a):
        score = max(score, 0.8)
    return score


def did_you_mean(word: str, options: Iterable[str]) -> str:
    hits = closest(word, options)
    if not hits:
        return ""
    return "did you mean " + " or ".join(repr(h) for h in hits) + "?"


class Catalogue(Mapping[str, ModelSpec]):
    """The image models a server offers, by id, in the server's order."""

    def __init__(self, specs: Iterable[ModelSpec]) -> None:
        self._specs = {s.id: s for s in specs}

    @classmethod
    def from_json(cls, body: Any) -> Catalogue:
        rows = body.get("data") if isinstance(body, Mapping) else body
        if not isinstance(rows, list):
            raise ValueError("models response has no 'data' list")
        specs = []
        for row in rows:
            # bria-bg-remover and friends are listed as image models but take no constraints.
            if not isinstance(row, Mapping) or not isinstance(row.get("id"), str):
                continue
            # The upscaler row has no constraints but is a real endpoint's model.
            if not _map(row.get("model_spec")).get("constraints") and row.get("type") != "upscale":
                continue
            try:
                specs.append(ModelSpec.from_json(row))
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # one odd row must not hide the rest of the catalogue
        return cls(specs)

    def __getitem__(self, model_id: str) -> ModelSpec:
        return self._specs[model_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def require(self, model_id: str) -> ModelSpec:
        """The spec, or a ValidationError that suggests the closest ids."""
        try:
            return self._specs[model_id]
        except KeyError:
            hint = did_you_mean(model_id, self._specs)
            known = ", ".join(self._specs)
            raise ValidationError(
                f"model {model_id!r} not found; " + (hint or f"available: {known}"),
                field="model",
                hint="" if hint else "List them with %venice models.",
            ) from None

    @property
    def default_id(self) -> str | None:
        for spec in self._specs.values():
            if "default" in spec.traits:
                return spec.id
        return next(iter(self._specs), None)

    def __repr__(self) -> str:
        return f"<Catalogue of {len(self)} image models: {', '.join(self._specs)}>"
