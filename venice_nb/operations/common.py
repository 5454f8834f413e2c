"""What the four toolbox endpoints share: the request body (JSON or multipart, chosen by size) and
the checks of the edit fields (prompt, aspect ratio, resolution, quality, output format).

The service takes JSON bodies up to 35 MB and multipart files under 25 MB. Base64 makes an image a
third bigger, so a body is sent as JSON while it fits and as multipart (the raw bytes) after that;
``transport`` forces one or the other. Nothing here does I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ..catalogue import ModelSpec
from ..errors import ValidationError
from ..fuzzy import did_you_mean
from ..images_in import FILE_MAX_BYTES, MB, InputImage, to_input
from ..redact import redact_url
from .request import Validated

JSON_MAX_BYTES = 35 * MB
TRANSPORTS = ("auto", "json", "multipart")
Transport = Literal["auto", "json", "multipart"]
# The ratios an edit model offers are its catalogue row's (4:3 arrived in 2026-09, 0b.16); without a
# row only the shape is checked here, and the server's row decides.
_RATIO = re.compile(r"auto|[1-9][0-9]?:[1-9][0-9]?")
OUTPUT_FORMATS = ("jpeg", "png", "webp")
QUALITIES = ("low", "medium", "high")
SPEC_PROMPT_MAX = 32_768
DEFAULT_EDIT_MODEL = "firered-image-edit"
_R = TypeVar("_R", bound="ToolboxRequest")


@dataclass(frozen=True)
class Body:
    """A request body as it will be sent. ``files`` are (field, filename, bytes, mime)."""

    kind: Literal["json", "multipart"]
    json: dict[str, Any] | None = field(default=None, repr=False)
    fields: dict[str, str] = field(default_factory=dict)
    files: tuple[tuple[str, str, bytes, str], ...] = field(default=(), repr=False)
    size: int = 0

    def requests_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``requests``: ``json=`` or ``data=`` + ``files=``."""
        if self.kind == "json":
            return {"json": self.json}
        return {
            "data": dict(self.fields),
            "files": [(name, (fname, data, mime)) for name, fname, data, mime in self.files],
        }

    def __repr__(self) -> str:
        return f"<Body {self.kind} ~{self.size:,} bytes, {len(self.files)} file(s)>"


def form_value(value: Any) -> str:
    """A multipart text field: booleans as the JSON words, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_size(fields_: Mapping[str, Any], images: Sequence[InputImage]) -> int:
    """The JSON body's size in bytes without building the base64 (quotes and commas included)."""
    small = len(json.dumps(dict(fields_)))
    return small + sum((len(im.url or "") if im.is_url else im.base64_length) + 16 for im in images)


def choose_transport(
    transport: str,
    images: Sequence[InputImage],
    json_bytes: int,
    endpoint: str,
    multipart_ok: bool = True,
) -> Literal["json", "multipart"]:
    """JSON while the body fits in 35 MB, else multipart with each file under 25 MB; refuses a
    body neither can carry, before anything is sent."""
    if transport not in TRANSPORTS:
        raise ValidationError(
            f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}",
            field="transport",
        )
    urls = [im for im in images if im.is_url]
    biggest = max((im.nbytes for im in images), default=0)
    if transport == "json" or (transport == "auto" and json_bytes <= JSON_MAX_BYTES):
        if json_bytes > JSON_MAX_BYTES:
            raise ValidationError(
                f"the {endpoint} JSON body would be {json_bytes / MB:,.1f} MB, over the "
                f"{JSON_MAX_BYTES // MB} MB limit; send it as multipart or use smaller images",
                field="image",
            )
        return "json"
    if not multipart_ok:
        raise ValidationError(
            f"the {endpoint} body would be {json_bytes / MB:,.1f} MB as JSON (limit "
            f"{JSON_MAX_BYTES // MB} MB) and this request cannot go as multipart; use a smaller image",
            field="image",
        )
    if urls:
        raise ValidationError(
            f"{urls[0].label} is a URL, and multipart bodies carry only files; pass the image's "
            "bytes, or let the body go as JSON",
            field="image",
        )
    if biggest >= FILE_MAX_BYTES:
        big = max(images, key=lambda im: im.nbytes)
        raise ValidationError(
            f"{big.label} has {big.nbytes / MB:,.1f} MB; files sent to {endpoint} must be under "
            f"{FILE_MAX_BYTES // MB} MB. Downscale it or re-encode it as JPEG/WebP first",
            field="image",
        )
    return "multipart"


# ---- the edit fields (edit and multi-edit) ---------------------------------------------------


def check_bool(value: Any, name: str) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, got {value!r}", field=name)


def check_prompt(prompt: Any, spec: ModelSpec | None = None) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValidationError(
            "the edit instruction is empty; write it in the cell body under %%venice edit "
            "(e.g. 'make it night')",
            field="prompt",
        )
    limit = min(spec.prompt_limit, SPEC_PROMPT_MAX) if spec is not None else SPEC_PROMPT_MAX
    if len(prompt) > limit:
        who = spec.id if spec is not None else "the edit endpoints"
        raise ValidationError(
            f"the instruction has {len(prompt):,} characters; {who} takes at most {limit:,}. "
            "Shorten it or pick a model with a higher limit",
            field="prompt",
        )


def normalise_format(value: str | None) -> str | None:
    if isinstance(value, str):
        value = value.strip().lower()
        return "jpeg" if value == "jpg" else value
    return value


def check_edit_fields(
    *,
    aspect_ratio: Any,
    resolution: Any,
    quality: Any,
    output_format: Any,
    flags: Mapping[str, Any],
) -> None:
    """What the request schemas say for every model."""
    if aspect_ratio is not None and (
        not isinstance(aspect_ratio, str) or not _RATIO.fullmatch(aspect_ratio)
    ):
        raise ValidationError(
            f"--aspect-ratio must be auto or a ratio such as 4:3, got {aspect_ratio!r}; "
            "%venice models --type edit lists what each model offers",
            field="aspect_ratio",
        )
    if resolution is not None and (
        not isinstance(resolution, str) or not 1 <= len(resolution) <= 10
    ):
        raise ValidationError(
            f"--resolution must be a tier such as 1K, 2K or 4K, got {resolution!r}",
            field="resolution",
        )
    if quality is not None and quality not in QUALITIES:
        raise ValidationError(
            f"--quality must be one of {', '.join(QUALITIES)}, got {quality!r}", field="quality"
        )
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise ValidationError(
            f"--format must be one of jpeg, png, webp, got {output_format!r}", field="output_format"
        )
    for name, value in flags.items():
        check_bool(value, name)


def check_edit_against(
    spec: ModelSpec, *, aspect_ratio: str | None, resolution: str | None, quality: str | None
) -> dict[str, Any]:
    """What the chosen edit model takes; returns the fields to change so the request is spelled
    as the model spells it ("2k" -> "2K"; "auto" dropped where the model does not list it, since
    omitting it means the same: follow the input)."""
    changes: dict[str, Any] = {}
    if spec.type not in ("inpaint", "image") or (spec.type == "image" and not spec.aspect_ratios):
        raise ValidationError(
            f"{spec.id} is not an edit model; list them with %venice models --type edit",
            field="model",
        )
    offered = spec.aspect_ratios
    if aspect_ratio is not None and offered and aspect_ratio not in offered:
        if aspect_ratio == "auto":
            changes["aspect_ratio"] = None
        else:
            raise ValidationError(
                f"{spec.id} does not offer aspect ratio {aspect_ratio!r}; pick one of "
                f"{', '.join(offered)} or leave it out to follow the input image",
                field="aspect_ratio",
            )
    if resolution is not None:
        canonical = spec.canonical_resolution(resolution)
        if canonical is None:
            have = ", ".join(spec.resolutions) if spec.resolutions else "none"
            raise ValidationError(
                f"{spec.id} does not offer resolution {resolution!r} (offered: {have})"
                + ("; drop --resolution" if not spec.resolutions else ""),
                field="resolution",
            )
        if canonical != resolution:
            changes["resolution"] = canonical
    if quality is not None and quality not in spec.qualities:
        have = ", ".join(spec.qualities) if spec.qualities else "none"
        raise ValidationError(
            f"{spec.id} does not take --quality {quality!r} (offered: {have})"
            + ("; drop --quality" if not spec.qualities else ""),
            field="quality",
        )
    return changes


def explain_refusal(operation: str, error: Any) -> Any:
    """A 422 from a toolbox endpoint, said as what it is: the content policy, or an image the
    service found too large. Returns the error to raise (same class, clearer words)."""
    body = getattr(error, "body", None)
    code = body.get("code") if isinstance(body, Mapping) else None
    if code == "IMAGE_TOO_LARGE":
        error.message = f"Venice found the input image too large for {operation}: {error.message}"
        error.hint = "Downscale the image (at most 33,177,600 pixels, under 25 MB) and try again."
    else:
        error.message = (
            f"Venice refused this {operation} under its content policy (HTTP 422): {error.message}"
        )
        error.hint = "Rephrase the instruction or use another image; a refusal is not charged."
    return error


def edit_price(
    spec: ModelSpec, resolution: str | None, quality: str | None, images: int
) -> float | None:
    """One edit's USD: the model's price at this tier and quality plus extra input images."""
    price = spec.price(resolution, quality)
    if price is None:
        return None
    return round(price + spec.pricing.extra_inputs(images), 6)


class ToolboxRequest(Validated):
    """Behaviour the four typed toolbox requests share (each is a frozen dataclass).

    A subclass sets ``operation`` and ``path`` and defines ``inputs``, ``fields_json()`` (the
    non-image fields as sent) and ``body()``.
    """

    operation: str = ""
    path: str = ""
    model: str | None = None  # edit models; upscale and background removal have none
    transport: str = "auto"
    # Every answer is cached by its input bytes and parameters, as a seeded generation is: an
    # upscale or a background removal gives the same picture again, and an edit (whose next
    # take may differ) is paid once; ``use_cache=False`` / ``--no-cache`` asks for a new take.
    cacheable = True

    @property
    def inputs(self) -> tuple[InputImage, ...]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def fields_json(self) -> dict[str, Any]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def body(self) -> Body:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def check_schema(self) -> Any:  # pragma: no cover - every subclass overrides
        """What the endpoint's schema alone says; returns self (the subclass)."""
        raise NotImplementedError

    def check(self: _R) -> _R:
        """``check_schema`` once per object: the surface, the catalogue check and the client all
        ask, and only the first asking runs it (a changed copy is a new object, checked anew)."""
        if not self.__dict__.get("_schema_checked"):
            self.check_schema()
            object.__setattr__(self, "_schema_checked", True)  # frozen: no field, never sent
        return self

    def check_against(self: _R, spec: ModelSpec) -> _R:  # pragma: no cover - overridden
        """What the chosen model takes; returns the request to send."""
        raise NotImplementedError

    def estimated_cost(self, spec: ModelSpec | None) -> float | None:  # pragma: no cover
        raise NotImplementedError

    @property
    def image_count(self) -> int:
        return 1  # every toolbox call returns one image

    def kind(self) -> Literal["json", "multipart"]:
        """How the body will travel: JSON while it fits in 35 MB, else multipart (or refused)."""
        size = json_size(self.fields_json(), self.inputs)
        return choose_transport(self.transport, self.inputs, size, self.path)

    def notes(self) -> list[str]:
        """What the service will do differently from what was asked; said before sending."""
        return []

    def with_(self, **changes: Any) -> Any:
        from dataclasses import fields, replace

        names = {f.name for f in fields(self)}  # type: ignore[arg-type]
        unknown = set(changes) - names
        if unknown:
            name = sorted(unknown)[0]
            hint = did_you_mean(name, names)
            raise ValidationError(f"unknown request field {name!r}" + (f"; {hint}" if hint else ""))
        return replace(self, **changes)  # type: ignore[type-var]

    def to_json(self) -> dict[str, Any]:
        """The JSON body (images as base64 or URLs), whatever transport ``body()`` would pick."""
        body: Body = self.with_(transport="json").body()
        assert body.json is not None
        return body.json

    def provenance_json(self) -> dict[str, Any]:
        """What provenance, sidecars and the cache record: the fields as sent and a description of
        each input (label, size, SHA-256), never the image bytes."""
        return dict(self.fields_json(), inputs=[im.describe() for im in self.inputs])

    def cache_json(self) -> dict[str, Any]:
        """The cache key's material: the fields and each input's bytes hash (not its label)."""
        return dict(
            self.fields_json(),
            operation=self.operation,
            inputs=[redact_url(im.url) if im.url else im.sha256 for im in self.inputs],
        )


class SingleImageRequest(ToolboxRequest):
    """What the one-image requests (edit, upscale, background removal) share. Each is a frozen
    dataclass whose ``image`` field takes an image already in memory (an ``InputImage``, a result,
    bytes, a PIL image, a URL); paths are read by the surfaces (``to_input``), not here.
    """

    image: InputImage

    def __post_init__(self) -> None:
        if not isinstance(self.image, InputImage):
            object.__setattr__(self, "image", to_input(self.image, files=False))

    @property
    def inputs(self) -> tuple[InputImage, ...]:
        return (self.image,)

    def image_part(self) -> tuple[str, str, bytes, str]:
        """The image as the multipart file part ``image``."""
        return ("image", self.image.filename, self.image.data or b"", self.image.mime)
