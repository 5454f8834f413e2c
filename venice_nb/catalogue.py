"""Typed model specs parsed from ``GET /models?type=image``.

The catalogue is what validation checks a request against (sizing mode, ranges, prompt limit) and
where prices come from. Parsing is defensive: the live catalogue drifts (pricing may be missing,
resolution tokens change case), so unknown or absent fields degrade to ``None``, never to a crash.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ValidationError
from .fuzzy import did_you_mean

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


# What the live service does with fields its catalogue rows do not describe (venice-api.md §0.3-0.6).
# Matched on lower-case ids: a prefix ending in "-" names a family, anything else an exact id.
# Small tuples, looked up per row when a catalogue is parsed (nothing is built at import).
STEP_MODELS = ("venice-sd35", "lustify-", "wai-illustrious", "chroma")
NEGATIVE_PROMPT_MODELS = (
    "venice-sd35", "lustify-", "wai-illustrious", "qwen-image-2", "qwen-image-2-pro",
    "qwen-image-3", "qwen-image-3-pro", "wan-2-7-",
)  # fmt: skip
SEED_IGNORING_MODELS = (
    "gpt-image-", "luma-", "recraft-", "imagineart-", "seedream-v5-pro", "nano-banana-pro",
    "grok-imagine-",
)  # fmt: skip
WIDTH_HEIGHT_REJECTED = ("qwen-image", "qwen-image-3", "qwen-image-3-pro")  # 400, not ignored
WEB_SEARCH_MODELS = ("nano-banana-2", "nano-banana-pro")  # when a row carries no flag
BACKGROUND_REMOVAL_MODELS = ("bria-bg-remover",)
QUALITY_ORDER = ("low", "medium", "high")
ENHANCE_PROMPT_PRICE = 0.04  # per request whose prompt enhance_prompt rewrote (USD; DIEM 1:1)
PLACEHOLDER_STEPS = (20, 50)  # {default 20, max 50} on rows that ignore steps

Operation = Literal["generate", "edit", "upscale", "background-removal"]
OPERATION_OF_TYPE: dict[str, str] = {"image": "generate", "inpaint": "edit", "upscale": "upscale"}


def in_family(model_id: str, names: Iterable[str]) -> bool:
    """Whether ``model_id`` is one of ``names`` (exact ids, or families ending in "-")."""
    low = model_id.lower()
    return any(low.startswith(n) if n.endswith("-") else low == n for n in names)


def _usd_or_none(entry: Any, currency: str) -> float | None:
    value = entry.get(currency) if isinstance(entry, Mapping) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def _money(value: float, unit: str = "$") -> str:
    if unit != "$":
        return f"{value:.4f}".rstrip("0").rstrip(".") + f" {unit}"
    if value < 0.01 or round(value, 2) != round(value, 4):
        return "$" + f"{value:.4f}".rstrip("0").rstrip(".")
    return f"${value:.2f}"


@dataclass(frozen=True)
class Pricing:
    """Price per image in one currency: flat, per resolution tier, or per tier and quality.

    Tier names are kept as the catalogue spells them ("1K") and matched case-insensitively.
    ``flat`` is ``generation`` (or ``inpaint`` on edit rows); ``per_input_image`` is what a
    multi-edit adds per image beyond ``included_input_images``; ``by_scale`` is upscale prices.
    """

    flat: float | None = None
    by_resolution: Mapping[str, float] = field(default_factory=dict)
    by_quality: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    currency: str = "usd"
    # Edit models (``type=inpaint``): images beyond ``inputs_included`` cost ``per_extra_input``.
    inputs_included: int | None = None
    per_extra_input: float | None = None
    # The upscaler: price per scale factor ("2x", "4x").
    by_scale: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None, currency: str = "usd") -> Pricing:
        raw = _map(raw)

        def price(entry: Any) -> float | None:
            return _usd_or_none(entry, currency)

        flat = price(raw.get("generation"))
        if flat is None:
            flat = price(raw.get("inpaint"))
        by_res = {
            str(k).strip(): v
            for k, v in ((k, price(e)) for k, e in _map(raw.get("resolutions")).items())
            if v is not None
        }
        by_quality: dict[str, dict[str, float]] = {}
        for tier, table in _map(raw.get("quality")).items():
            if isinstance(table, Mapping):
                prices = {
                    str(q).lower(): p for q, e in table.items() if (p := price(e)) is not None
                }
                kept = {q: prices[q] for q in QUALITY_ORDER if q in prices}
                kept.update({q: p for q, p in prices.items() if q not in kept})
                by_quality[str(tier).strip()] = kept
        inputs = _map(raw.get("inputImages"))
        by_scale = {
            str(k).lower(): v
            for k, v in ((k, price(e)) for k, e in _map(raw.get("upscale")).items())
            if v is not None
        }
        return cls(
            flat=flat,
            by_resolution=by_res,
            by_quality=by_quality,
            currency=currency,
            inputs_included=_int_or(inputs.get("included"), None),
            per_extra_input=price(inputs.get("additional")),
            by_scale=by_scale,
        )

    @staticmethod
    def _tier(table: Mapping[str, Any], resolution: str | None) -> str | None:
        if not resolution:
            return None
        wanted = _upper(resolution)
        return next((t for t in table if _upper(t) == wanted), None)

    def per_image(self, resolution: str | None = None, quality: str | None = None) -> float | None:
        """The price of one image, or None when the catalogue does not say."""
        tier = self._tier(self.by_quality, resolution)
        if quality and tier is not None:
            price = self.by_quality[tier].get(quality.lower())
            if price is not None:
                return price
        tier = self._tier(self.by_resolution, resolution)
        if tier is not None:
            return self.by_resolution[tier]
        if self.flat is not None:
            return self.flat
        if self.by_resolution:
            return min(self.by_resolution.values())
        return None

    def extra_inputs(self, images: int) -> float:
        """What a multi-edit's input images beyond the ones the edit price includes add."""
        if not self.per_extra_input:
            return 0.0
        included = 1 if self.inputs_included is None else self.inputs_included
        return max(0, images - included) * self.per_extra_input

    @property
    def unit(self) -> str:
        return "$" if self.currency == "usd" else self.currency.upper()

    def describe(self) -> str:
        """Prices as a person reads them: '1K $0.02/$0.07/$0.26 (low/medium/high), ...'."""
        unit = self.unit
        if self.by_scale and self.flat is None and not self.by_resolution:  # the upscaler
            return ", ".join(f"{k} {_money(v, unit)}" for k, v in self.by_scale.items())
        if self.by_quality:
            parts: list[str] = []
            names: tuple[str, ...] = ()
            for tier, table in self.by_quality.items():
                names = tuple(table)
                parts.append(f"{tier} " + "/".join(_money(p, unit) for p in table.values()))
            return ", ".join(parts) + f" ({'/'.join(names)})"
        if self.by_resolution:
            return ", ".join(f"{t} {_money(p, unit)}" for t, p in self.by_resolution.items())
        if self.flat is not None:
            return _money(self.flat, unit)
        return "n/a"


@dataclass(frozen=True)
class Deprecation:
    date: str | None = None
    replacement: str | None = None
    auto_remap: bool = False
    removes_at: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    """What one model accepts and costs, and what the live service does with each field.

    ``operation`` says which endpoint the row belongs to: ``generate`` (``/image/generate``),
    ``edit`` (type ``inpaint``), ``upscale`` or ``background-removal`` (``bria-bg-remover`` is
    listed under ``type=image`` but is not a generation model). The ``uses_steps``,
    ``ignores_seed``, ``honours_negative_prompt``, ``rejects_width_height`` and
    ``supports_web_search`` facts come from the live behaviour (venice-api.md §0), since most rows
    carry placeholder constraints for fields the model ignores.
    """

    id: str
    name: str
    type: str = "image"
    operation: str = "generate"
    prompt_limit: int = 1500
    width_height_divisor: int = 1
    max_size: int = 1280
    steps_default: int | None = None
    steps_max: int | None = None
    uses_steps: bool = False
    ignores_seed: bool = False
    honours_negative_prompt: bool = True
    rejects_width_height: bool = False
    aspect_ratios: tuple[str, ...] = ()
    default_aspect_ratio: str | None = None
    resolutions: tuple[str, ...] = ()
    default_resolution: str | None = None
    qualities: tuple[str, ...] = ()
    default_quality: str | None = None
    supports_web_search: bool = False
    traits: tuple[str, ...] = ()
    offline: bool = False
    beta: bool = False
    deprecation: Deprecation | None = None
    pricing: Pricing = field(default_factory=Pricing)
    pricing_diem: Pricing = field(default_factory=lambda: Pricing(currency="diem"))
    supports_style_references: bool = False
    max_style_references: int | None = None
    supports_style_reference_strength: bool = False
    supports_optimize_prompt_thinking: bool = False
    max_input_images: int | None = None
    combine_images: bool | None = None

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> ModelSpec:
        """One row of ``GET /models?type=image|inpaint|upscale``; odd fields fall back to defaults."""
        model_id = str(row["id"])
        spec = _map(row.get("model_spec"))
        cons = _map(spec.get("constraints"))
        steps = _map(cons.get("steps"))
        dep = spec.get("deprecation")
        row_type = _text(row.get("type")) or "image"
        operation = OPERATION_OF_TYPE.get(row_type, row_type)
        if in_family(model_id, BACKGROUND_REMOVAL_MODELS):
            operation = "background-removal"
        steps_default = _int_or(steps.get("default"), None)
        steps_max = _int_or(steps.get("max"), None)
        aspect_ratios = _strings(cons.get("aspectRatios"))
        max_refs = _int_or(cons.get("maxStyleReferences"), None)
        web = spec.get("supportsWebSearch")
        refs = spec.get("supportsStyleReferences")
        return cls(
            id=model_id,
            name=_text(spec.get("name")) or model_id,
            type=row_type,
            operation=operation,
            prompt_limit=_int_or(cons.get("promptCharacterLimit"), 1500) or 1500,
            width_height_divisor=max(1, _int_or(cons.get("widthHeightDivisor"), 1) or 1),
            steps_default=steps_default,
            steps_max=steps_max,
            uses_steps=operation == "generate"
            and steps_max is not None
            and (
                in_family(model_id, STEP_MODELS)
                or (  # an unknown pixel model with real (non-placeholder) step bounds
                    not aspect_ratios
                    and (steps_default, steps_max) != PLACEHOLDER_STEPS
                    and steps_default != steps_max
                )
            ),
            ignores_seed=in_family(model_id, SEED_IGNORING_MODELS),
            honours_negative_prompt=in_family(model_id, NEGATIVE_PROMPT_MODELS),
            rejects_width_height=in_family(model_id, WIDTH_HEIGHT_REJECTED),
            aspect_ratios=aspect_ratios,
            default_aspect_ratio=_text(cons.get("defaultAspectRatio")),
            resolutions=_strings(cons.get("resolutions")),
            default_resolution=_text(cons.get("defaultResolution")),
            qualities=tuple(q.lower() for q in _strings(cons.get("qualities"))),
            default_quality=(_text(cons.get("defaultQuality")) or "").lower() or None,
            supports_web_search=(
                web if isinstance(web, bool) else in_family(model_id, WEB_SEARCH_MODELS)
            ),
            traits=_strings(spec.get("traits")),
            offline=spec.get("offline") is True,
            beta=spec.get("beta") is True or spec.get("betaModel") is True,
            deprecation=(
                Deprecation(
                    _text(dep.get("date")) or _text(dep.get("removesAt")),
                    _text(dep.get("replacementModelId")),
                    dep.get("autoRemap") is True,
                    _text(dep.get("removesAt")),
                )
                if isinstance(dep, Mapping)
                else None
            ),
            pricing=Pricing.from_json(spec.get("pricing")),
            pricing_diem=Pricing.from_json(spec.get("pricing"), "diem"),
            supports_style_references=refs is True or (refs is None and bool(max_refs)),
            max_style_references=max_refs,
            supports_style_reference_strength=cons.get("supportsStyleReferenceStrength") is True,
            supports_optimize_prompt_thinking=spec.get("supportsOptimizePromptThinking") is True,
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
    def is_generation_model(self) -> bool:
        return self.operation == "generate"

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

    def price(
        self, resolution: str | None = None, quality: str | None = None, currency: str = "usd"
    ) -> float | None:
        """One image's price in ``currency`` ("usd" or "diem"), None when unpriced."""
        table = self.pricing_diem if currency == "diem" else self.pricing
        return table.per_image(
            resolution or self.default_resolution, quality or self.default_quality
        )

    def cost(
        self,
        images: int,
        resolution: str | None = None,
        quality: str | None = None,
        *,
        currency: str = "usd",
        enhanced: bool = False,
    ) -> float | None:
        """The cost of ``images`` images at this size and quality (one formula for the estimate
        before a request and the cost of its result), None when the catalogue has no price.
        ``enhanced``: an enhance_prompt rewrite was applied (or may be), $0.04 once."""
        price = self.price(resolution, quality, currency)
        if price is None:
            return None
        return round(price * images + (ENHANCE_PROMPT_PRICE if enhanced else 0.0), 6)

    def ignored_fields(self) -> list[str]:
        """The request options this model takes but does nothing with, for ``%venice models``."""
        out = []
        if not self.uses_steps:
            out.append("steps")
        if self.ignores_seed:
            out.append("seed")
        if not self.honours_negative_prompt:
            out.append("negative prompt")
        if not self.supports_web_search:
            out.append("web search")
        return out

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


class Catalogue(Mapping[str, ModelSpec]):
    """The models a server lists, by id, in the server's order: every parsed row.

    ``generation_models()`` are the ones ``/image/generate`` takes (what the panel and
    ``%venice models`` offer, what ``require`` accepts); ``for_operation`` gives the edit,
    upscale and background-removal rows. ``fetched_at`` (``time.monotonic()``) lets the client
    refresh the catalogue after a while rather than keep it for the kernel's life.
    """

    def __init__(self, specs: Iterable[ModelSpec], fetched_at: float | None = None) -> None:
        self._specs = {s.id: s for s in specs}
        self.fetched_at = time.monotonic() if fetched_at is None else fetched_at

    @classmethod
    def from_json(cls, body: Any) -> Catalogue:
        rows = body.get("data") if isinstance(body, Mapping) else body
        if not isinstance(rows, list):
            raise ValueError("models response has no 'data' list")
        specs = []
        for row in rows:
            if not isinstance(row, Mapping) or not isinstance(row.get("id"), str):
                continue
            # A row without constraints cannot be checked; the upscaler's needs none.
            if not _map(row.get("model_spec")).get("constraints") and row.get("type") != "upscale":
                continue
            try:
                specs.append(ModelSpec.from_json(row))
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # one odd row must not hide the rest of the catalogue
        return cls(specs)

    def age_s(self) -> float:
        return time.monotonic() - self.fetched_at

    def generation_models(self) -> dict[str, ModelSpec]:
        """The rows ``/image/generate`` takes, in the server's order."""
        return {k: s for k, s in self._specs.items() if s.is_generation_model}

    def for_operation(self, operation: str) -> list[ModelSpec]:
        """The rows that belong to ``operation`` ("edit", "upscale", "background-removal")."""
        return [s for s in self._specs.values() if s.operation == operation]

    def __getitem__(self, model_id: str) -> ModelSpec:
        return self._specs[model_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def require(self, model_id: str) -> ModelSpec:
        """The generation spec, or a ValidationError that explains or suggests the closest ids."""
        spec = self._specs.get(model_id)
        generation = self.generation_models()
        # A toolbox catalogue (type=inpaint or upscale) holds no generation rows: any row is fine.
        if spec is not None and (spec.is_generation_model or not generation):
            return spec
        if spec is not None:
            raise ValidationError(
                f"{model_id!r} is not an image generation model: it is Venice's "
                f"{spec.operation.replace('-', ' ')} model",
                field="model",
                hint=OTHER_OPERATION_HINT.get(spec.operation, "List them with %venice models."),
            )
        offered = generation or self._specs
        hint = did_you_mean(model_id, offered)
        known = ", ".join(offered)
        raise ValidationError(
            f"model {model_id!r} not found; " + (hint or f"available: {known}"),
            field="model",
            hint="" if hint else "List them with %venice models.",
        )

    @property
    def default_id(self) -> str | None:
        generation = self.generation_models()
        for spec in generation.values():
            if "default" in spec.traits:
                return spec.id
        return next(iter(generation), None)

    def __repr__(self) -> str:
        ids = self.generation_models()
        return f"<Catalogue of {len(ids)} image models: {', '.join(ids)}>"


OTHER_OPERATION_HINT = {
    "background-removal": "Use it through background removal (%venice remove-background IMAGE); "
    "pick a generation model from %venice models.",
    "edit": "Use it to edit an image (%%venice edit -i IMAGE); pick a generation model from "
    "%venice models.",
    "upscale": "Use it through %venice upscale IMAGE; pick a generation model from %venice models.",
}
