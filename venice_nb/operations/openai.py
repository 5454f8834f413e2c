"""The OpenAI-compatible route, ``POST /images/generations``: its request and its checks.

A native ``GenerateRequest`` maps onto it with ``OpenAIImageRequest.from_generate``, which refuses
what this route cannot carry; ``to_json()`` drops unset keys like the native body does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ValidationError
from .generate import FORMATS, GenerateRequest, Review, flag, prompt_units, size_distance
from .request import Validated

if TYPE_CHECKING:  # pragma: no cover
    from ..catalogue import Catalogue

OPENAI_SIZES = (
    "256x256",
    "512x512",
    "1024x1024",
    "1536x1024",
    "1024x1536",
    "1792x1024",
    "1024x1792",
)
OPENAI_PROMPT_LIMIT = 1500


@dataclass(frozen=True)
class OpenAIImageRequest(Validated):
    """A request for the OpenAI-compatible ``POST /images/generations``."""

    operation: ClassVar[str] = "openai"

    prompt: str
    model: str | None = None
    size: str | None = None
    output_format: str | None = None
    moderation: str | None = None
    response_format: str | None = None
    n: int | None = None

    # Native fields that this route cannot carry.
    UNSUPPORTED = (
        "negative_prompt", "aspect_ratio", "resolution", "quality", "seed", "cfg_scale", "steps",
        "style_preset", "enable_web_search", "hide_watermark", "embed_exif_metadata",
        "lora_strength", "enhance_prompt", "return_binary", "disable_prompt_optimization_thinking",
        "style_references",
    )  # fmt: skip

    @classmethod
    def from_generate(
        cls, req: GenerateRequest, response_format: str | None = None
    ) -> OpenAIImageRequest:
        """Map a native request onto this route, refusing what it cannot do.

        Width and height become ``size`` and are checked against this route's own list (which
        goes beyond the native 1280 px limit: 1024x1536, 1792x1024...).
        """
        replace(req, width=None, height=None).check()
        for name in cls.UNSUPPORTED:
            if getattr(req, name) not in (None, False):
                raise ValidationError(
                    f"--openai cannot send {flag(name)}; drop it, or drop --openai to use the "
                    "native route",
                    field=name,
                )
        if req.image_count > 1:
            raise ValidationError(
                "--openai makes one image per request; drop --variants or sweep --seed instead",
                field="variants",
            )
        if prompt_units(req.prompt) > OPENAI_PROMPT_LIMIT:
            raise ValidationError(
                f"the prompt has {prompt_units(req.prompt):,} characters; --openai takes at most "
                f"{OPENAI_PROMPT_LIMIT:,}. Shorten it or drop --openai",
                field="prompt",
            )
        size = None
        if req.width is not None or req.height is not None:
            size = f"{req.width or 1024}x{req.height or 1024}"
            if size not in OPENAI_SIZES:
                near = sorted(OPENAI_SIZES[1:], key=lambda o: size_distance(o, size))[:2]
                raise ValidationError(
                    f"--openai takes only the sizes {', '.join(OPENAI_SIZES)}; {size} is not one"
                    + (f" (nearest: {', '.join(near)})" if near else ""),
                    field="width",
                )
        return cls(
            prompt=req.prompt,
            model=req.model,
            size=size,
            output_format=req.format,
            moderation="low" if req.safe_mode is False else None,
            response_format=response_format,
        )

    def check(self) -> OpenAIImageRequest:
        """What the OpenAI-compatible route accepts (its schema is strict). Returns self."""
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValidationError("the prompt is empty", field="prompt")
        if prompt_units(self.prompt) > OPENAI_PROMPT_LIMIT:
            raise ValidationError(
                f"the prompt has {prompt_units(self.prompt):,} characters; --openai takes at most "
                f"{OPENAI_PROMPT_LIMIT:,}",
                field="prompt",
            )
        choices = {
            "size": ("auto", *OPENAI_SIZES),
            "output_format": FORMATS,
            "moderation": ("auto", "low"),
            "response_format": ("b64_json", "url"),
        }
        for name, options in choices.items():
            value = getattr(self, name)
            if value is not None and value not in options:
                raise ValidationError(
                    f"{name} must be one of {', '.join(options)}, got {value!r}", field=name
                )
        if self.model is not None and (not isinstance(self.model, str) or not self.model):
            raise ValidationError(f"model must be a model id, got {self.model!r}", field="model")
        if self.n is not None and self.n != 1:
            raise ValidationError("--openai makes one image per request (n=1)", field="n")
        return self

    @property
    def image_count(self) -> int:
        return self.n or 1

    def provenance_json(self) -> dict[str, Any]:
        """What provenance records: the body as sent (it carries no images)."""
        return self.to_json()

    def to_json(self) -> dict[str, Any]:
        body = {k: v for k, v in asdict(self).items() if v is not None}
        # The spec gives `model` a default, but the live route answers 400 "model is required"
        # without one (venice-api.md section 3); "default" is the spec's own value for it.
        body.setdefault("model", "default")
        return body


def review_openai(request: GenerateRequest, catalogue: Catalogue) -> Review[GenerateRequest]:
    """A native request checked for the OpenAI-compatible route against the catalogue.

    An id Venice does not list (``dall-e-3``) is sent with a note: the route falls back to the
    default image model for it rather than refusing. A size on a ratio-sized model is dropped
    with a warning: the service ignores it there.
    """
    warnings: list[str] = []
    ignored: dict[str, str] = {}
    spec = catalogue.get(request.model)
    if spec is not None:
        catalogue.require(request.model)  # an edit/background-removal row: explained refusal
    if spec is None:
        fallback = catalogue.default_id or "its default image model"
        warnings.append(
            f"{request.model!r} is not in Venice's catalogue; the OpenAI-compatible route "
            f"answers it with {fallback} (Venice's fallback), so that is what you get"
        )
    elif spec.sizing != "pixels" and (request.width is not None or request.height is not None):
        why = f"{spec.id} is sized by aspect ratio and ignores the OpenAI size (-W/-H)"
        ignored["width"] = ignored["height"] = why
        warnings.append(f"{why}: not sent")
        request = replace(request, width=None, height=None)
    OpenAIImageRequest.from_generate(request)  # refuses what the route cannot carry
    return Review(request, tuple(warnings), ignored)
