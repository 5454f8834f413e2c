"""Request checking that answers like the live API: its schemas (checked with ``zod``), then what
each model accepts, ignores or refuses; unknown, retired, Pro-only and offline models.

The zod helpers are re-exported here for the modules that imported them from this one.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

from . import catalogue
from .catalogue import Model
from .responses import ApiError
from .zod import Field as Field
from .zod import bound_issue
from .zod import check_object as check_object
from .zod import error_body as error_body
from .zod import invalid as invalid
from .zod import js_length as js_length
from .zod import parse_json as parse_json
from .zod import zod_issue as zod_issue

SEED_MAX = 999_999_999
_SYS_RANDOM = random.SystemRandom()

# --- schemas (from venice-openapi-image.yaml) ---------------------------------------------------

_INT = "integer"
# 1-128 printable ASCII characters (venice-api.md 0b.14), on generate and the toolbox routes.
ANON_USER_ID = Field("string", 1, max=128, pattern=r"[\x20-\x7E]+")
GENERATE_SCHEMA: dict[str, Field] = {
    "cfg_scale": Field("number", 0, False, 20),
    "embed_exif_metadata": Field("boolean"),
    "format": Field("enum", options=("jpeg", "png", "webp")),
    "height": Field(_INT, 0, False, 1280),
    "hide_watermark": Field("boolean"),
    "inpaint": Field("any", nullable=True),
    "lora_strength": Field(_INT, 0, True, 100),
    "model": Field("string", required=True),
    "negative_prompt": Field("string"),
    "prompt": Field("string", 1, required=True),
    "return_binary": Field("boolean"),
    "variants": Field(_INT, 1, True, 4),
    "safe_mode": Field("boolean"),
    "seed": Field(_INT, -SEED_MAX, True, SEED_MAX),
    "steps": Field(_INT),
    "style_preset": Field("string"),
    "aspect_ratio": Field("string"),
    "resolution": Field("string"),
    "quality": Field("enum", options=("low", "medium", "high")),
    "enable_web_search": Field("boolean"),
    "disable_prompt_optimization_thinking": Field("boolean"),
    "enhance_prompt": Field("boolean"),
    "width": Field(_INT, 0, False, 1280),
    "style_references": Field("refs"),
    "anon_user_id": ANON_USER_ID,
    "transparent_background": Field("boolean"),
}

OPENAI_SIZES = (
    "auto",
    "256x256",
    "512x512",
    "1024x1024",
    "1536x1024",
    "1024x1536",
    "1792x1024",
    "1024x1792",
)
OPENAI_SCHEMA: dict[str, Field] = {
    "background": Field("enum", options=("transparent", "opaque", "auto"), nullable=True),
    "model": Field("string"),
    "moderation": Field("enum", options=("low", "auto"), nullable=True),
    "n": Field(_INT, 1, True, 1, nullable=True),
    "output_compression": Field(_INT, 0, True, 100, nullable=True),
    "output_format": Field("enum", options=("jpeg", "png", "webp")),
    "prompt": Field("string", 1, max=1500, required=True),
    "quality": Field(
        "enum", options=("auto", "high", "medium", "low", "hd", "standard"), nullable=True
    ),
    "response_format": Field("enum", options=("b64_json", "url"), nullable=True),
    "size": Field("enum", options=OPENAI_SIZES, nullable=True),
    "style": Field("enum", options=("vivid", "natural"), nullable=True),
    "user": Field("string"),
}


@dataclass
class GenerateParams:
    """A validated request, defaults filled, ready to price and render."""

    model: Model
    prompt: str
    width: int
    height: int
    seed: int
    cfg_scale: float
    steps: int
    format: str = "webp"
    variants: int = 1
    return_binary: bool = False
    safe_mode: bool = True
    negative_prompt: str | None = None
    style_preset: str | None = None
    resolution: str | None = None
    quality: str | None = None
    hide_watermark: bool = False
    embed_exif_metadata: bool = False
    enhance_prompt: bool = False
    response_format: str = "b64_json"
    remapped_from: catalogue.Retired | None = None
    echo: dict[str, Any] = field(default_factory=dict)

    def variant_seed(self, i: int) -> int:
        """Only the first image uses the seed; the service draws the others at random."""
        return self.seed if i == 0 else _SYS_RANDOM.randint(-SEED_MAX, SEED_MAX)

    def render_seed(self, i: int) -> int:
        """The seed the picture is drawn from: on seed-ignoring models it is not the sent seed
        (the picture depends on the rest of the request only, as the service's would not on it)."""
        if i == 0 and self.model.ignores_seed:
            key = f"{self.model.id}\x1f{self.prompt}".encode("utf-8", "surrogatepass")
            digest = hashlib.sha256(key).digest()
            return int.from_bytes(digest[:4], "big") % SEED_MAX
        return self.variant_seed(i)


def _too_long(field_name: str, limit: int, model: Model) -> dict[str, Any]:
    message = f"{field_name} exceeds the {limit} character limit of model '{model.id}'"
    return bound_issue("max", "string", [field_name], message, limit)


def _custom(field_name: str, message: str) -> dict[str, Any]:
    return zod_issue("custom", [field_name], message)


def require_model(body: Any) -> None:
    """The router's check before the schema: no (or an empty) ``model`` is a plain 400."""
    if isinstance(body, dict) and body.get("model") in (None, ""):
        raise ApiError(400, "model is required")


def not_found(model_id: str) -> ApiError:
    return ApiError(404, f"Specified model not found: {model_id}")


def lookup_model(model_id: str, *, edge: bool = True) -> tuple[Model, catalogue.Retired | None]:
    """The model to run, and the retired id it stands in for when the service remapped it.

    Unknown ids are 404 "Specified model not found: <id>"; retired ids are remapped (200 with
    deprecation headers), answered 404 naming the replacement, or 410, as their entry says.
    Without ``edge`` the local edge-case rows are unknown ids too.
    """
    model = catalogue.get_model(model_id, edge=edge)
    if model is not None:
        return model, None
    gone = catalogue.retired(model_id)
    if gone is None:
        raise not_found(model_id)
    replacement = catalogue.get_model(gone.replacement) if gone.replacement else None
    if gone.answer == "remap" and replacement is not None:
        return replacement, gone
    if gone.answer == "410" or replacement is None:
        raise ApiError(
            410,
            f"The model {model_id} was retired on {gone.removed_at[:10]} and is no longer available.",
        )
    raise ApiError(
        404,
        f"Specified model not found: {model_id}. This model was retired on "
        f"{gone.removed_at[:10]}; use {replacement.id} instead.",
    )


def check_access(model: Model, pro: bool) -> None:
    """Pro/beta rows without Pro access are 401 (not a bad key); offline rows are 503."""
    if model.pro_only and not pro:
        raise ApiError(401, "This model is only available to Pro users")
    if model.offline:
        raise ApiError(503, f"The model {model.id} is currently offline. Please try again later.")


def validate_generate(body: Any, *, pro: bool = False, edge: bool = True) -> GenerateParams:
    """Check a ``POST /image/generate`` body: schema first, then the model's own constraints.

    Fields the model does not use are ignored as the service ignores them (steps on models that
    do not step, a negative prompt where it is dropped, width/height on ratio models, resolution or
    quality where the model has none, web search where unsupported, an unlisted aspect ratio);
    only what the service refuses is a 400.
    """
    require_model(body)
    issues = check_object(body, GENERATE_SCHEMA)
    if issues:
        raise invalid(issues)
    model, remapped_from = lookup_model(body["model"], edge=edge)
    check_access(model, pro)
    issues = _model_issues(model, body)
    if issues:
        raise invalid(issues)
    resolution = model.canonical_resolution(body.get("resolution")) if model.resolutions else None
    quality = (
        body.get("quality", model.constraints.get("defaultQuality")) if model.qualities else None
    )
    steps = int(body.get("steps", model.steps_default))
    p = _build(model, body, resolution, quality, steps)
    p.remapped_from = remapped_from
    return p


def _model_issues(model: Model, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The 400s that depend on the model: only where the live service answers 400."""
    issues: list[dict[str, Any]] = []
    if model.only_on_route:  # [GUESS] the status; the row is listed under type=image
        issues.append(
            _custom(
                "model",
                f"Model '{model.id}' does not generate images; use POST /api/v1{model.only_on_route}",
            )
        )
    names = ("prompt", "negative_prompt") if model.honours_negative else ("prompt",)
    for name in names:
        if js_length(body.get(name) or "") > model.prompt_limit:
            issues.append(_too_long(name, model.prompt_limit, model))
    if body.get("variants", 1) > 1 and body.get("return_binary"):
        issues.append(
            _custom("variants", "variants > 1 is only supported when return_binary is false")
        )
    if model.rejects_width_height:
        for name in ("width", "height"):
            if name in body:
                issues.append(
                    _custom(
                        name,
                        f"{name} is not supported by model '{model.id}'; use aspect_ratio"
                        + (" and resolution" if model.resolutions else ""),
                    )
                )
    style = body.get("style_preset")
    if style is not None and style not in catalogue.styles():
        hint = catalogue.suggest(style, catalogue.styles())
        tail = f" Did you mean '{hint}'?" if hint else ""
        issues.append(
            _custom(
                "style_preset",
                f"Invalid style preset '{style}'. See GET "
                f"/api/v1/image/styles for valid values.{tail}",
            )
        )
    if model.resolutions and model.canonical_resolution(body.get("resolution")) is None:
        issues.append(
            _custom(
                "resolution",
                f"Resolution '{body['resolution']}' is not supported by model '{model.id}'. "
                f"Supported: {', '.join(model.resolutions)}",
            )
        )
    quality = body.get("quality", model.constraints.get("defaultQuality"))
    if model.qualities and quality not in model.qualities:
        issues.append(
            _custom(
                "quality",
                f"Quality '{quality}' is not supported by model '{model.id}'. "
                f"Supported: {', '.join(model.qualities)}",
            )
        )
    steps = int(body.get("steps", model.steps_default))
    if model.uses_steps and not 1 <= steps <= model.steps_max:
        message = f"steps must be between 1 and {model.steps_max} for model '{model.id}'"
        side, limit = ("max", model.steps_max) if steps > 1 else ("min", 1)
        issues.append(bound_issue(side, "number", ["steps"], message, limit))
    refs = body.get("style_references") or []
    if refs and not model.max_style_references:
        issues.append(
            _custom("style_references", f"Model '{model.id}' does not support style_references")
        )
    elif len(refs) > model.max_style_references:
        limit = model.max_style_references
        issues.append(
            bound_issue(
                "max",
                "array",
                ["style_references"],
                f"Model '{model.id}' accepts at most {limit} style references",
                limit,
            )
        )
    issues += transparency_issues(model.row, body, body.get("format", "webp"))
    if body.get("inpaint") is not None:
        issues.append(
            _custom(
                "inpaint",
                "Inpainting was disabled on May 19th, 2025. Use POST /api/v1/image/edit instead.",
            )
        )
    return issues


def transparency_issues(
    row: dict[str, Any], body: dict[str, Any], output_format: str | None
) -> list[dict[str, Any]]:
    """``transparent_background`` only where the row's constraints allow it, and only with a
    format that has alpha (venice-api.md 0b.17); ``output_format`` None means the route's PNG."""
    if body.get("transparent_background") is not True:
        return []
    if not row["model_spec"].get("constraints", {}).get("supportsTransparentBackground"):
        message = f"Model '{row['id']}' does not support transparent_background"
        return [_custom("transparent_background", message)]
    if output_format not in (None, "png", "webp"):
        message = f"transparent_background needs png or webp output, not {output_format}"
        return [_custom("transparent_background", message)]
    return []


def _build(
    model: Model, body: dict[str, Any], resolution: str | None, quality: str | None, steps: int
) -> GenerateParams:
    seed = int(body["seed"]) if "seed" in body else _SYS_RANDOM.randint(-SEED_MAX, SEED_MAX)
    aspect = None
    if not model.is_pixel:
        aspect = body.get("aspect_ratio")
        aspect = aspect if aspect in model.aspect_ratios else model.default_aspect_ratio
    width, height = model.dimensions(
        int(body.get("width", 1024)), int(body.get("height", 1024)), aspect, resolution
    )
    cfg = float(body.get("cfg_scale", model.cfg_scale))
    negative = body.get("negative_prompt") if model.honours_negative else None
    p = GenerateParams(
        model=model,
        prompt=body["prompt"],
        width=width,
        height=height,
        seed=seed,
        cfg_scale=cfg,
        steps=steps,
        format=body.get("format", "webp"),
        variants=int(body.get("variants", 1)),
        return_binary=body.get("return_binary", False),
        safe_mode=body.get("safe_mode", True),
        negative_prompt=negative,
        style_preset=body.get("style_preset"),
        resolution=resolution,
        quality=quality,
        hide_watermark=body.get("hide_watermark", False),
        embed_exif_metadata=body.get("embed_exif_metadata", False),
        enhance_prompt=body.get("enhance_prompt", False),
    )
    # The echo is what was sent plus the seed used: what a replay needs. Derived width, height,
    # cfg and steps would make a replay a 400 on the models that refuse width/height (0b.21).
    echo = {k: v for k, v in body.items() if k != "style_references"}
    echo["seed"] = seed
    p.echo = echo
    return p


def validate_openai(body: Any, *, pro: bool = False, edge: bool = True) -> GenerateParams:
    """Check a ``POST /images/generations`` body and map it onto the native parameters."""
    require_model(body)
    issues = check_object(body, OPENAI_SCHEMA)
    if issues:
        raise invalid(issues)
    model, remapped_from = _openai_model(body["model"], edge)
    check_access(model, pro)
    if js_length(body["prompt"]) > model.prompt_limit:
        raise invalid([_too_long("prompt", model.prompt_limit, model)])
    size = body.get("size") or "auto"
    width, height = (1024, 1024) if size == "auto" else (int(x) for x in size.split("x"))
    if model.is_pixel:
        width, height = _fit_pixels(width, height, int(model.constraints["widthHeightDivisor"]))
    else:
        width, height = model.dimensions(width, height, None, None)
    quality = model.constraints.get("defaultQuality") if model.qualities else None
    return GenerateParams(
        model=model,
        prompt=body["prompt"],
        width=width,
        height=height,
        seed=_SYS_RANDOM.randint(-SEED_MAX, SEED_MAX),
        cfg_scale=model.cfg_scale,
        steps=model.steps_default,
        format=body.get("output_format", "png"),
        safe_mode=body.get("moderation") != "low",
        resolution=model.canonical_resolution(None) if model.resolutions else None,
        quality=quality,
        hide_watermark=True,
        response_format=body.get("response_format") or "b64_json",
        remapped_from=remapped_from,
    )


def _openai_model(model_id: str, edge: bool) -> tuple[Model, catalogue.Retired | None]:
    """Unknown ids (``dall-e-3``) fall back on the default image model; retired ones are
    answered as on the native route."""
    if catalogue.get_model(model_id, edge=edge) is None and catalogue.retired(model_id) is None:
        model = catalogue.get_model(catalogue.DEFAULT_MODEL)
        assert model is not None
        return model, None
    return lookup_model(model_id, edge=edge)


def _fit_pixels(width: int, height: int, divisor: int) -> tuple[int, int]:
    """OpenAI sizes above the 1280 px cap are scaled down to fit, keeping the ratio."""
    scale = min(1.0, 1280 / max(width, height))
    if scale == 1.0:
        return width, height
    d = max(1, divisor)
    return (max(d, math.floor(width * scale / d) * d), max(d, math.floor(height * scale / d) * d))


NSFW_RE = re.compile(r"\bnsfw\b", re.IGNORECASE)
VIOLATION_RE = re.compile(r"violation-test", re.IGNORECASE)
ADULT_VIOLATION_RE = re.compile(r"adult-violation-test", re.IGNORECASE)
ENHANCE_NOOP_RE = re.compile(r"enhance-noop-test", re.IGNORECASE)
REFUSE_ONE_RE = re.compile(r"refuse-one-test", re.IGNORECASE)
REFUSE_ALL_RE = re.compile(r"refuse-all-test", re.IGNORECASE)


@dataclass(frozen=True)
class Moderation:
    """Deterministic prompt triggers standing in for the real classifiers.

    ``violation-test`` blocks the image (x-venice-is-content-violation), ``adult-violation-test``
    blocks it as an adult-model violation (x-venice-is-adult-model-content-violation), ``nsfw``
    is blurred in safe mode. Blocked images are placeholders and are not charged.
    """

    blurred: bool
    violation: bool
    adult_violation: bool

    @property
    def blocked(self) -> bool:
        return self.violation or self.adult_violation


def moderation(params: GenerateParams) -> Moderation:
    adult = bool(ADULT_VIOLATION_RE.search(params.prompt))
    violation = not adult and bool(VIOLATION_RE.search(params.prompt))
    blurred = not (adult or violation) and params.safe_mode and bool(NSFW_RE.search(params.prompt))
    return Moderation(blurred, violation, adult)


def refused_variants(params: GenerateParams) -> int:
    """How many variants the provider refuses (left out of ``images``, counted in
    ``content_policy_violation_count``): ``refuse-one-test`` one, ``refuse-all-test`` every one."""
    if REFUSE_ALL_RE.search(params.prompt):
        return params.variants
    return 1 if REFUSE_ONE_RE.search(params.prompt) else 0


def enhanced_prompt(params: GenerateParams) -> str | None:
    """The rewrite ``enhance_prompt`` applies, or None when the service leaves the prompt as is
    (then nothing is charged and no header is sent); ``enhance-noop-test`` triggers that case."""
    if not params.enhance_prompt or ENHANCE_NOOP_RE.search(params.prompt):
        return None
    return f"{params.prompt}, richly detailed, balanced composition (local preview)"
