"""The one request model shared by the magic, the panel and the Python API.

``GenerateRequest`` mirrors ``GenerateImageRequest`` of the OpenAPI spec field for field. It checks
itself in two steps, both before anything is sent: ``check()`` for what the spec alone says (types,
ranges, contradictions) and ``check_against(spec, styles)`` for what the chosen model and the styles
list say. ``to_json()`` is the only place a request body is built: it drops unset keys, so no null
and no unknown key ever reaches the strict server.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, ClassVar, Generic, TypeVar

from ..catalogue import ModelSpec
from ..errors import ValidationError
from ..fuzzy import did_you_mean
from .request import Validated

FORMATS = ("webp", "png", "jpeg")
QUALITIES = ("low", "medium", "high")
SEED_LIMIT = 999_999_999
MAX_PIXELS = 1280
MAX_VARIANTS = 4

# Flag names as the magic spells them, for messages that tell the user what to change.
FLAG = {
    "negative_prompt": "--negative",
    "aspect_ratio": "--aspect-ratio",
    "cfg_scale": "--cfg-scale",
    "style_preset": "--style",
    "return_binary": "--binary",
    "enable_web_search": "--web-search",
    "hide_watermark": "--hide-watermark",
    "embed_exif_metadata": "--embed-exif",
    "lora_strength": "--lora-strength",
    "enhance_prompt": "--enhance-prompt",
    "safe_mode": "--no-safe-mode",
    "disable_prompt_optimization_thinking": "--no-prompt-thinking",
}


def flag(name: str) -> str:
    return FLAG.get(name, "--" + name.replace("_", "-"))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ratio_value(text: str) -> float | None:
    try:
        w, h = (float(part) for part in text.split(":"))
        return math.log(w / h) if w > 0 and h > 0 else None
    except ValueError:
        return None


def _describe_reference(ref: dict[str, Any]) -> dict[str, Any]:
    from ..redact import redact_text

    image = ref.get("image")
    if isinstance(image, str) and image.lower().startswith(("http://", "https://")):
        image = redact_text(image)
    if isinstance(image, str) and not image.lower().startswith(("http://", "https://")):
        import hashlib

        head = image.split(",", 1)[0] if image.startswith("data:") else "base64"
        digest = hashlib.sha256(image.encode()).hexdigest()[:16]
        image = f"{head}, {len(image):,} characters, sha256 {digest}"
    return dict(ref, image=image)


def size_distance(a: str, b: str) -> int:
    (aw, ah), (bw, bh) = ((int(v) for v in x.split("x")) for x in (a, b))
    return abs(aw - bw) + abs(ah - bh)


def nearest_ratio(text: str, offered: Sequence[str]) -> str | None:
    """The offered ratio closest in shape ('16:10' -> '16:9'), not in spelling."""
    wanted = _ratio_value(text)
    if wanted is None:
        return None
    scored = [(abs(v - wanted), r) for r in offered if (v := _ratio_value(r)) is not None]
    return min(scored)[1] if scored else None


def prompt_units(text: str) -> int:
    """The length the service counts: UTF-16 code units (its validator is JavaScript), so an
    emoji or any character outside the Basic Multilingual Plane counts twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True)
class GenerateRequest(Validated):
    """A request for ``POST /image/generate``. Unset (None) fields are not sent."""

    operation: ClassVar[str] = "generate"
    model: str
    prompt: str
    negative_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    quality: str | None = None
    format: str | None = None
    variants: int | None = None
    seed: int | None = None
    cfg_scale: float | None = None
    steps: int | None = None
    style_preset: str | None = None
    safe_mode: bool | None = None
    return_binary: bool | None = None
    enable_web_search: bool | None = None
    hide_watermark: bool | None = None
    embed_exif_metadata: bool | None = None
    lora_strength: int | None = None
    enhance_prompt: bool | None = None
    disable_prompt_optimization_thinking: bool | None = None
    style_references: tuple[dict[str, Any], ...] | None = None  # [{"image": ..., "strength"?}]

    def __post_init__(self) -> None:
        # Enum-like tokens are compared case-insensitively (venice-api.md gotcha 13); send them in
        # the API's spelling. Resolution case follows the model (see ``check_against``).
        for name in ("format", "quality"):
            value = getattr(self, name)
            if isinstance(value, str) and value != value.strip().lower():
                object.__setattr__(self, name, value.strip().lower())
        if isinstance(self.style_references, list):  # keep the frozen request immutable
            object.__setattr__(self, "style_references", tuple(self.style_references))

    # ---- building -------------------------------------------------------------------------

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def with_(self, **changes: Any) -> GenerateRequest:
        """A copy with some fields changed (sweeps and the panel build requests this way)."""
        unknown = set(changes) - set(self.field_names())
        if unknown:
            name = sorted(unknown)[0]
            hint = did_you_mean(name, self.field_names())
            raise ValidationError(f"unknown request field {name!r}" + (f"; {hint}" if hint else ""))
        return replace(self, **changes)

    def __repr__(self) -> str:
        from ..redact import dataclass_repr

        return dataclass_repr(self)

    def to_json(self) -> dict[str, Any]:
        """The body as sent: unset keys dropped, never a null; a style reference's "name" (how
        the cell named it, for the reproduce line) stays home."""
        body = {k: v for k, v in asdict(self).items() if v is not None}
        if self.style_references:
            body["style_references"] = tuple(
                {k: v for k, v in ref.items() if k != "name"} for ref in self.style_references
            )
        return body

    def provenance_json(self) -> dict[str, Any]:
        """The body for provenance, sidecars and output metadata: style reference images that
        travel inline (data URIs of up to 8 MB) are described by size and SHA-256, not copied."""
        body = self.to_json()
        if self.style_references:
            body["style_references"] = [_describe_reference(r) for r in self.style_references]
        return body

    @property
    def image_count(self) -> int:
        return self.variants or 1

    # ---- validation -----------------------------------------------------------------------

    def check(self) -> GenerateRequest:
        """Types, ranges and contradictions the spec states for every model. Returns self."""
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValidationError(
                "no model given; pass -m MODEL (see %venice models)", field="model"
            )
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValidationError(
                "the prompt is empty; write it in the cell body under %%venice", field="prompt"
            )
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or not 0 < value <= MAX_PIXELS):
                raise ValidationError(
                    f"{flag(name)} must be a whole number from 1 to {MAX_PIXELS}, got {value!r}",
                    field=name,
                )
        if self.cfg_scale is not None and not _is_number(self.cfg_scale):
            raise ValidationError(
                f"--cfg-scale takes a number above 0 and at most 20 (e.g. 7.5), "
                f"got {self.cfg_scale!r}",
                field="cfg_scale",
            )
        if self.cfg_scale is not None and not 0 < self.cfg_scale <= 20:
            raise ValidationError(
                f"--cfg-scale must be above 0 and at most 20, got {self.cfg_scale!r}",
                field="cfg_scale",
            )
        if self.seed is not None and (not _is_int(self.seed) or abs(self.seed) > SEED_LIMIT):
            raise ValidationError(
                f"--seed must be a whole number from -{SEED_LIMIT:,} to {SEED_LIMIT:,}, "
                f"got {self.seed!r}",
                field="seed",
            )
        if self.variants is not None and not _is_int(self.variants):
            raise ValidationError(
                f"--variants takes a whole number from 1 to {MAX_VARIANTS}, got {self.variants!r}",
                field="variants",
            )
        if self.variants is not None and not 1 <= self.variants <= MAX_VARIANTS:
            raise ValidationError(
                f"--variants must be 1 to {MAX_VARIANTS}, got {self.variants!r}; "
                "for more images sweep seeds, e.g. --seed 1:8",
                field="variants",
            )
        if self.return_binary and self.image_count > 1:
            raise ValidationError(
                "--binary returns a single image; drop --binary or use --variants 1",
                field="variants",
            )
        if self.steps is not None and (not _is_int(self.steps) or self.steps < 1):
            raise ValidationError(
                f"--steps must be a whole number >= 1, got {self.steps!r}", field="steps"
            )
        if self.lora_strength is not None and (
            not _is_int(self.lora_strength) or not 0 <= self.lora_strength <= 100
        ):
            raise ValidationError(
                f"--lora-strength must be 0 to 100, got {self.lora_strength!r}",
                field="lora_strength",
            )
        if self.format is not None and self.format not in FORMATS:
            hint = did_you_mean(str(self.format), FORMATS)
            raise ValidationError(
                f"--format must be one of {', '.join(FORMATS)}, got {self.format!r}"
                + (f"; {hint}" if hint else ""),
                field="format",
            )
        if self.quality is not None and self.quality not in QUALITIES:
            raise ValidationError(
                f"--quality must be one of {', '.join(QUALITIES)}, got {self.quality!r}",
                field="quality",
            )
        for name in ("aspect_ratio", "resolution", "style_preset", "negative_prompt"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{flag(name)} must be text, got {value!r}", field=name)
        self._check_style_references()
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "bool | None" and value is not None and not isinstance(value, bool):
                raise ValidationError(
                    f"{flag(f.name)} must be True or False, got {value!r}", field=f.name
                )
        return self

    def _check_style_references(self) -> None:
        refs = self.style_references
        if refs is None:
            return
        where = flag("style_references")
        if not isinstance(refs, (tuple, list)) or not refs:
            raise ValidationError(
                f"{where} must be a list of {{'image': ..., 'strength': ...}}",
                field="style_references",
            )
        for i, ref in enumerate(refs, 1):
            if not isinstance(ref, dict) or set(ref) - {"image", "strength", "name"}:
                raise ValidationError(
                    f"{where} entry {i} must be a dict with 'image' and optional 'strength'",
                    field="style_references",
                )
            if not isinstance(ref.get("image"), str) or not ref["image"].strip():
                raise ValidationError(
                    f"{where} entry {i} needs an 'image' (a URL or base64 text)",
                    field="style_references",
                )
            strength = ref.get("strength")
            if strength is not None and (not _is_number(strength) or not 0.1 <= strength <= 1):
                raise ValidationError(
                    f"{where} entry {i}: strength must be 0.1 to 1, got {strength!r}",
                    field="style_references",
                )

    def check_against(
        self, spec: ModelSpec, styles: Sequence[str] | None = None
    ) -> GenerateRequest:
        """The request to send to ``spec``'s model (see ``review``); raises for a refusal."""
        return self.review(spec, styles).request

    def review(
        self, spec: ModelSpec, styles: Sequence[str] | None = None
    ) -> Review[GenerateRequest]:
        """What the chosen model and the styles list make of this request, before it is sent.

        Refuses (ValidationError) only what the live service refuses. A field the model ignores
        (steps, negative prompt, seed where seeds do nothing, width/height on a ratio model,
        resolution/quality/aspect ratio where the model has none, web search) is dropped from
        the request and named in one warning line each, so it is never paid for and never swept.
        Reviewing the returned request again drops nothing more (idempotent). The request is
        marked ``validated`` (when the style, if any, was checked too) so the session and the
        client send it without checking it again.
        """
        self.check()
        if not spec.is_generation_model:
            raise ValidationError(
                f"{spec.id!r} is not an image generation model (it belongs to "
                f"{spec.operation.replace('-', ' ')}); pick one from %venice models",
                field="model",
            )
        ignored: dict[str, str] = {}

        def ignore(name: str, why: str) -> None:
            ignored[name] = why

        for name in ("prompt", "negative_prompt"):
            text = getattr(self, name)
            units = prompt_units(text) if text is not None else 0
            if units > spec.prompt_limit:
                counted = (
                    " (emoji and other astral characters count twice)" if units > len(text) else ""
                )
                raise ValidationError(
                    f"the {name.replace('_', ' ')} has {units:,} characters{counted}; {spec.id} "
                    f"takes at most {spec.prompt_limit:,}. Shorten it or pick a model with a "
                    "higher limit",
                    field=name,
                )
        if spec.sizing == "pixels":
            for name in ("aspect_ratio", "resolution", "quality"):
                if getattr(self, name) is not None:
                    ignore(
                        name,
                        f"{spec.id} is sized in pixels and ignores {flag(name)}; use -W/-H "
                        f"(multiples of {spec.width_height_divisor}, up to {spec.max_size})",
                    )
        else:
            for name in ("width", "height"):
                if getattr(self, name) is None:
                    continue
                if spec.rejects_width_height:  # the three qwen-image models answer 400
                    raise ValidationError(
                        f"{spec.id} refuses {flag(name)}: it is sized by aspect ratio; use "
                        f"--aspect-ratio ({', '.join(spec.aspect_ratios)})",
                        field=name,
                    )
                ignore(
                    name,
                    f"{spec.id} is sized by aspect ratio and ignores {flag(name)}; use "
                    f"--aspect-ratio ({', '.join(spec.aspect_ratios)})",
                )
            if self.aspect_ratio is not None and self.aspect_ratio not in spec.aspect_ratios:
                near = nearest_ratio(self.aspect_ratio, spec.aspect_ratios)
                hint = f"; the nearest is {near!r}" if near else ""
                ignore(
                    "aspect_ratio",
                    f"{spec.id} does not offer aspect ratio {self.aspect_ratio!r} (offered: "
                    f"{', '.join(spec.aspect_ratios)}{hint}) and would use its default "
                    f"{spec.default_aspect_ratio or spec.aspect_ratios[0]}",
                )
            if self.resolution is not None and not spec.has_resolution(self.resolution):
                if spec.resolutions:  # a listed model answers 400
                    raise ValidationError(
                        f"{spec.id} does not offer resolution {self.resolution!r} "
                        f"(offered: {', '.join(spec.resolutions)})",
                        field="resolution",
                    )
                ignore("resolution", f"{spec.id} has no resolution tiers and ignores --resolution")
            if self.quality is not None and self.quality not in spec.qualities:
                if spec.qualities:
                    raise ValidationError(
                        f"{spec.id} does not take --quality {self.quality!r} "
                        f"(offered: {', '.join(spec.qualities)})",
                        field="quality",
                    )
                ignore("quality", f"{spec.id} has no quality levels and ignores --quality")
        if spec.sizing == "pixels":
            # Not checked by the service, but an off-grid size is a paid surprise: refused here.
            divisor = spec.width_height_divisor
            for name in ("width", "height"):
                value = getattr(self, name)
                if value is not None and divisor > 1 and value % divisor:
                    lower = max(divisor, value - value % divisor)
                    upper = min(lower + divisor, MAX_PIXELS - MAX_PIXELS % divisor)
                    raise ValidationError(
                        f"{flag(name)} {value} is not a multiple of {divisor} for {spec.id}; "
                        f"try {lower} or {upper}",
                        field=name,
                    )
        if self.steps is not None:
            if not spec.uses_steps:
                ignore("steps", f"{spec.id} ignores --steps (its step count is fixed)")
            elif spec.steps_max is not None and self.steps > spec.steps_max:
                raise ValidationError(
                    f"--steps {self.steps} is above {spec.id}'s maximum of {spec.steps_max}",
                    field="steps",
                )
        if self.negative_prompt is not None and not spec.honours_negative_prompt:
            ignore("negative_prompt", f"{spec.id} ignores the negative prompt")
        if self.seed is not None and spec.ignores_seed:
            ignore("seed", f"{spec.id} ignores --seed: every run is a new image")
        if self.enable_web_search and not spec.supports_web_search:
            ignore("enable_web_search", f"{spec.id} does not search the web; --web-search ignored")
        if self.style_references and not spec.supports_style_references:
            raise ValidationError(
                f"{spec.id} does not take {flag('style_references')}; pick a model that supports "
                "style references",
                field="style_references",
            )
        limit = spec.max_style_references
        if self.style_references and limit is not None and len(self.style_references) > limit:
            raise ValidationError(
                f"{spec.id} takes at most {limit} style references, got "
                f"{len(self.style_references)}",
                field="style_references",
            )
        if self.style_preset is not None and styles is not None and self.style_preset not in styles:
            hint = did_you_mean(self.style_preset, styles)
            raise ValidationError(
                f"style {self.style_preset!r} not found; "
                + (hint or "list the styles with %venice styles"),
                field="style_preset",
            )
        unset: dict[str, Any] = dict.fromkeys(ignored)
        refs = self.style_references or ()
        if any("strength" in ref for ref in refs) and not spec.supports_style_reference_strength:
            # Only the strengths go: the references themselves are used.
            unset["style_references"] = tuple({k: v for k, v in r.items() if k != "strength"}
                                              for r in refs)  # fmt: skip
            ignored["style_reference_strength"] = f"{spec.id} ignores --style-ref-strength"
        cleaned = replace(self, **unset) if unset else self
        warnings = tuple(f"{why}: not sent" for why in ignored.values())
        canonical = cleaned.canonical_for(spec)
        if self.style_preset is None or styles is not None:
            canonical.mark_validated()
        return Review(canonical, warnings, dict(ignored))

    def canonical_for(self, spec: ModelSpec) -> GenerateRequest:
        """This request with tokens spelled as ``spec`` spells them (resolution case)."""
        if self.resolution is not None:
            canonical = spec.canonical_resolution(self.resolution)
            if canonical is not None and canonical != self.resolution:
                return replace(self, resolution=canonical)
        return self

    def size_label(self) -> str:
        """The size asked for, as the status line and the panel show it: ``1024×768`` (an unset
        side is the API's 1024), else aspect ratio, resolution and quality; '' for the default."""
        if self.width or self.height:
            return f"{self.width or 1024}\u00d7{self.height or 1024}"
        return " ".join(p for p in (self.aspect_ratio, self.resolution, self.quality) if p)

    def estimated_cost(self, spec: ModelSpec) -> float | None:
        """USD for this request from the catalogue's prices, None when unpriced; with
        ``enhance_prompt`` the $0.04 of a rewrite is counted (charged only when one is applied)."""
        return spec.cost(
            self.image_count, self.resolution, self.quality, enhanced=bool(self.enhance_prompt)
        )


EXAMPLE = "GenerateRequest(model='z-image-turbo', prompt='a lighthouse at dusk')"


def request_from(
    value: Any, where: str, default_model: Callable[[], str] | None = None
) -> GenerateRequest:
    """``value`` as a GenerateRequest for the public entry point ``where``.

    A plain prompt string is accepted where a default model can be found (``default_model``);
    anything else that is not a request is a TypeError naming what was expected and how to build
    it, instead of an AttributeError from deep inside.
    """
    if isinstance(value, GenerateRequest):
        return value
    if isinstance(value, str) and default_model is not None:
        return GenerateRequest(model=default_model(), prompt=value)
    wanted = "a GenerateRequest" + (" or a prompt string" if default_model is not None else "")
    how = f"build one with {EXAMPLE}"
    if isinstance(value, dict):
        how = "build one from a dict with GenerateRequest(**fields)"
    raise TypeError(f"{where} expects {wanted}, got {type(value).__name__}; {how}")


_Q = TypeVar("_Q")


@dataclass(frozen=True)
class Review(Generic[_Q]):
    """A request checked against its model: what to send, and what was left out and why.

    ``warnings`` are one line each, for the magic and the panel to show once; ``ignored`` maps
    each dropped field to its reason (a sweep over one of them is refused).
    """

    request: _Q  # a GenerateRequest; a toolbox request for the session's toolbox review
    warnings: tuple[str, ...] = ()
    ignored: dict[str, str] = field(default_factory=dict)
