"""Images going in: anything a notebook user holds, turned into checked bytes or a URL.

The toolbox endpoints take an image the user already has: a result just made (``shot``,
``shot[2]``, a ``GeneratedImage``), a file, a URL, a PIL image or raw bytes. ``to_input`` turns
each into an ``InputImage`` (bytes with their sniffed format and pixel size, or a URL) without any
network access, and the ``check_*`` helpers refuse what the service would refuse (too few or too
many pixels, files over the size limit, SVG) with one line that says how to fix it. URLs are not
fetched: the service reads them itself, so their size is not known here.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .errors import ValidationError
from .images_stream import strict_b64decode
from .result import (
    MIME,
    GeneratedImage,
    GenerationResult,
    header_size,
    image_problem,
    sniff_format,
)

MB = 1_000_000  # the service says "MB"; decimal megabytes are the safe reading
MIN_PIXELS = 65_536  # 256x256
EDIT_MAX_PIXELS = 33_177_600  # 7680x4320
UPSCALE_MAX_OUTPUT_PIXELS = 16_777_216  # 4096x4096
STYLE_REF_MAX_PIXELS = 7680 * 4320
FILE_MAX_BYTES = 25 * MB
STYLE_REF_MAX_BYTES = 8 * MB
READ_MAX_BYTES = 200 * MB  # a file bigger than this is refused before it is read

ACCEPTED = "a result (shot or shot[i]), a GeneratedImage, a file path, an http(s) URL, a PIL image or bytes"


@dataclass(frozen=True)
class InputImage:
    """One image to send: ``data`` (with its format and size) or a ``url``, and where it came from.

    ``label`` is how the user named it ("shot[0]", "cat.png"); ``origin`` is the generated image it
    came from, when it did (lineage); ``converted_from`` names a format re-encoded to PNG here.
    """

    label: str
    data: bytes | None = field(default=None, repr=False)
    url: str | None = None
    format: str | None = None
    size: tuple[int, int] | None = None
    origin: GeneratedImage | None = field(default=None, repr=False, compare=False)
    origin_info: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    converted_from: str | None = None

    @property
    def is_url(self) -> bool:
        return self.url is not None

    @property
    def pixels(self) -> int | None:
        return self.size[0] * self.size[1] if self.size else None

    @property
    def nbytes(self) -> int:
        return len(self.data) if self.data is not None else 0

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data or (self.url or "").encode()).hexdigest()

    @property
    def mime(self) -> str:
        return MIME.get(self.format or "", "application/octet-stream")

    @property
    def filename(self) -> str:
        ext = {"jpeg": "jpg"}.get(self.format or "", self.format or "bin")
        return f"image.{ext}"

    def base64(self) -> str:
        """Raw base64 (no ``data:`` prefix), as the JSON bodies take it."""
        if self.data is None:
            raise ValueError("a URL input has no bytes")
        return base64.b64encode(self.data).decode("ascii")

    @property
    def base64_length(self) -> int:
        return 4 * math.ceil(self.nbytes / 3)

    def size_label(self) -> str:
        return f"{self.size[0]}x{self.size[1]}" if self.size else "size unknown"

    def describe(self) -> dict[str, Any]:
        """What lineage records about this input: never its bytes."""
        info: dict[str, Any] = {"label": self.label}
        if self.url is not None:
            info["url"] = self.url
        else:
            info.update(
                format=self.format,
                size=list(self.size) if self.size else None,
                bytes=self.nbytes,
                sha256=self.sha256,
            )
        if self.converted_from:
            info["converted_from"] = self.converted_from
        if self.origin_info:
            info["source"] = self.origin_info
        return info

    def __repr__(self) -> str:
        if self.url is not None:
            return f"<InputImage {self.label!r} url>"
        return (
            f"<InputImage {self.label!r} {self.format} {self.size_label()} {self.nbytes:,} bytes>"
        )


# ---- turning things into InputImages ---------------------------------------------------------


def to_input(value: Any, label: str | None = None, *, files: bool = True) -> InputImage:
    """An ``InputImage`` from anything a user may pass; a ValidationError (one line) otherwise.

    ``files=False`` (the request models in ``operations/``, which do no I/O) refuses a path
    instead of reading it: the surfaces read files, the requests only hold what was read."""
    if isinstance(value, InputImage):
        return value
    if not files and _is_path(value):
        raise ValidationError(
            f"a request holds images, not paths: read {str(value)!r} first with "
            "venice_nb.images_in.to_input(path), or pass the path to venice_nb.edit/upscale/"
            "remove_background, which read it",
            field="image",
        )
    if isinstance(value, GenerationResult):
        name = label or _result_label(value)
        if len(value.images) != 1:
            last = len(value.images) - 1
            raise ValidationError(
                f"{name} holds {len(value.images)} images; pick one with {name}[0]"
                + (f" ... {name}[{last}]" if last > 0 else ""),
                field="image",
            )
        return from_generated(value.images[0], name, _result_info(value, value.images[0]))
    if isinstance(value, GeneratedImage):
        return from_generated(value, label or _image_label(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return from_bytes(bytes(value), label or "bytes")
    if isinstance(value, os.PathLike):
        return from_path(Path(value), label)
    if isinstance(value, str):
        text = value.strip()
        if text.lower().startswith(("http://", "https://")):
            return InputImage(label=label or text, url=text)
        if text.lower().startswith("data:"):
            return from_bytes(_data_uri(text), label or "data URI")
        return from_path(Path(text).expanduser(), label)
    if _is_pil(value):
        return from_pil(value, label or "PIL image")
    raise ValidationError(
        f"cannot use {type(value).__name__} {label or ''} as an image; pass {ACCEPTED}".replace(
            "  ", " "
        ),
        field="image",
    )


def _is_path(value: Any) -> bool:
    """A file path (not a URL, not a data URI): what ``to_input`` would read from disk."""
    if isinstance(value, os.PathLike):
        return True
    return isinstance(value, str) and not value.strip().lower().startswith(
        ("http://", "https://", "data:")
    )


def from_generated(
    image: GeneratedImage, label: str, info: dict[str, Any] | None = None
) -> InputImage:
    checked = from_bytes(image.data, label)
    lineage = getattr(image, "lineage", None)
    if info is None:
        info = {"index": image.index, "seed": image.seed}
        if lineage is not None:
            info["operation"] = lineage.operation
    return InputImage(
        label=label,
        data=checked.data,
        format=checked.format,
        size=checked.size,
        origin=image,
        origin_info={k: v for k, v in info.items() if v is not None},
    )


def _result_label(result: GenerationResult) -> str:
    """A name for a result passed from Python without one: its model and seed, or its lineage."""
    lineage = result.lineage
    if lineage is not None:
        return f"the {lineage.title.lower()} of {', '.join(lineage.source_labels())}"
    number = result.seed if result.seed is not None else result.images[0].seed
    seed = f" seed {number}" if number is not None else ""
    return f"the {result.model or 'generated'}{seed} result"


def _image_label(image: GeneratedImage) -> str:
    if image.lineage is not None:
        return f"the {image.lineage.title.lower()} of {', '.join(image.lineage.source_labels())}"
    return f"image {image.index + 1}" + (f" (seed {image.seed})" if image.seed is not None else "")


def _result_info(result: GenerationResult, image: GeneratedImage) -> dict[str, Any]:
    request = result.request
    return {
        "route": result.route,
        "model": getattr(request, "model", None),
        "prompt": getattr(request, "prompt", None),
        "seed": image.seed,
        "id": result.id,
    }


def from_path(path: Path, label: str | None = None) -> InputImage:
    name = label or str(path)
    if not path.exists():
        raise ValidationError(
            f"{name!r} is not a result in this notebook nor an existing file",
            field="image",
            hint=f"Pass {ACCEPTED}.",
        )
    if not path.is_file():
        raise ValidationError(f"{name!r} is a directory, not an image file", field="image")
    size = path.stat().st_size
    if size > READ_MAX_BYTES:
        raise ValidationError(
            f"{name} has {size / MB:,.0f} MB; images sent to Venice must be under "
            f"{FILE_MAX_BYTES // MB} MB. Downscale or re-encode it (e.g. as JPEG) first",
            field="image",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {name}: {exc.strerror or exc}", field="image") from None
    return from_bytes(data, name)


def from_pil(image: Any, label: str = "PIL image") -> InputImage:
    """A PIL image, encoded losslessly as PNG (alpha kept)."""
    from io import BytesIO

    im = image
    if im.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        im = im.convert("RGBA" if "A" in im.mode else "RGB")
    buf = BytesIO()
    im.save(buf, format="PNG")
    return InputImage(label=label, data=buf.getvalue(), format="png", size=tuple(image.size))


def from_bytes(data: bytes, label: str = "bytes") -> InputImage:
    """Bytes checked to be a whole image; PNG, JPEG and WebP go as they are, other formats that
    Pillow reads (GIF, BMP, TIFF) are re-encoded to PNG. SVG and unreadable bytes are refused."""
    if not data:
        raise ValidationError(f"{label} is empty (0 bytes), not an image", field="image")
    if is_svg(data):
        raise ValidationError(
            f"{label} is an SVG; Venice takes PNG, JPEG or WebP. Render it to PNG first "
            "(e.g. with cairosvg or a browser)",
            field="image",
        )
    fmt = sniff_format(data)
    if fmt is not None:
        problem = image_problem(data, fmt)
        if problem:
            raise ValidationError(f"{label} is not a whole image: {problem}", field="image")
        return InputImage(
            label=label, data=bytes(data), format=fmt, size=_image_size(data, fmt, label)
        )
    return _reencoded(data, label)


def _image_size(data: bytes, fmt: str, label: str) -> tuple[int, int]:
    """From the header bytes, else from Pillow (a one-line ValidationError when it cannot)."""
    known = header_size(data, fmt)
    if known is not None:
        return known
    from io import BytesIO

    import PIL.Image

    try:
        with PIL.Image.open(BytesIO(data)) as im:
            return tuple(im.size)
    except Exception as exc:
        raise ValidationError(
            f"{label} cannot be read as an image ({type(exc).__name__})", field="image"
        ) from None


def _reencoded(data: bytes, label: str) -> InputImage:
    import warnings
    from io import BytesIO

    import PIL.Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with PIL.Image.open(BytesIO(data)) as im:
                original = (im.format or "unknown").lower()
                im.load()
                pil = im.copy()
    except Exception as exc:
        raise ValidationError(
            f"{label} is not an image Venice can take (PNG, JPEG or WebP); "
            f"Pillow could not read it either ({type(exc).__name__})",
            field="image",
        ) from None
    png = from_pil(pil, label)
    return InputImage(
        label=label, data=png.data, format="png", size=png.size, converted_from=original
    )


def is_svg(data: bytes) -> bool:
    head = bytes(data[:512]).lstrip().lower()
    return head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head)


def _data_uri(text: str) -> bytes:
    head, _, payload = text.partition(",")
    if ";base64" not in head.lower():
        raise ValidationError(
            "a data URI must be base64-encoded (data:image/png;base64,...)", field="image"
        )
    try:
        return strict_b64decode(payload.encode("ascii", "replace"))
    except ValueError:
        raise ValidationError("the data URI holds invalid base64", field="image") from None


def _is_pil(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "save")


# ---- checks ----------------------------------------------------------------------------------


def check_pixels(image: InputImage, operation: str, max_pixels: int | None = None) -> None:
    """At least 65,536 pixels (and at most ``max_pixels``); URLs are checked by the service."""
    pixels = image.pixels
    if pixels is None:
        return
    if pixels < MIN_PIXELS:
        raise ValidationError(
            f"{image.label} is {image.size_label()} ({pixels:,} pixels); {operation} needs at "
            f"least {MIN_PIXELS:,} (256x256). Use a larger image",
            field="image",
        )
    if max_pixels is not None and pixels > max_pixels:
        scale = math.sqrt(max_pixels / pixels)
        w, h = (max(1, int(side * scale)) for side in image.size or (0, 0))
        raise ValidationError(
            f"{image.label} is {image.size_label()} ({pixels:,} pixels); {operation} takes at "
            f"most {max_pixels:,}. Downscale it first, e.g. to {w}x{h}",
            field="image",
        )


def check_bytes(image: InputImage, limit: int, what: str) -> None:
    if image.nbytes > limit:
        raise ValidationError(
            f"{image.label} has {image.nbytes / MB:,.1f} MB; {what} must be under "
            f"{limit // MB} MB. Downscale it or re-encode it as JPEG/WebP first",
            field="image",
        )


def upscale_outcome(image: InputImage, scale: int) -> tuple[float, tuple[int, int] | None]:
    """(effective scale, output size) the service will produce: 4x is reduced on large inputs so
    the output stays within 16,777,216 pixels. Unknown for URLs: (scale, None)."""
    if image.size is None or image.pixels is None:
        return float(scale), None
    effective = float(scale)
    if image.pixels * scale * scale > UPSCALE_MAX_OUTPUT_PIXELS:
        effective = math.sqrt(UPSCALE_MAX_OUTPUT_PIXELS / image.pixels)
    w, h = image.size
    return effective, (int(w * effective), int(h * effective))


def style_reference(value: Any, label: str | None = None) -> InputImage:
    """A checked style reference: under 8 MB, not SVG, at most 7680x4320 pixels."""
    image = to_input(value, label)
    check_bytes(image, STYLE_REF_MAX_BYTES, "a style reference")
    if image.pixels is not None and image.pixels > STYLE_REF_MAX_PIXELS:
        raise ValidationError(
            f"{image.label} is {image.size_label()}; a style reference may be at most 7680x4320. "
            "Downscale it first",
            field="style_references",
        )
    return image


def style_reference_value(image: InputImage) -> str:
    """How a style reference travels in the generate JSON: its URL or a data URI."""
    return image.url if image.url is not None else f"data:{image.mime};base64,{image.base64()}"


def downscaled(image: InputImage, max_pixels: int, max_bytes: int = FILE_MAX_BYTES) -> InputImage:
    """``image`` made to fit (the user asked for it: ``--downscale``): resized to at most
    ``max_pixels`` and re-encoded (PNG, or JPEG when PNG stays over ``max_bytes``). An image that
    already fits, or a URL, is returned as it is; the label says what was done."""
    from io import BytesIO

    import PIL.Image

    if image.data is None or image.size is None:
        return image
    pixels = image.pixels or 0
    if pixels <= max_pixels and image.nbytes < max_bytes:
        return image
    scale = min(1.0, math.sqrt(max_pixels / pixels)) if pixels else 1.0
    w, h = (max(1, int(side * scale)) for side in image.size)
    with PIL.Image.open(BytesIO(image.data)) as im:
        im.load()
        small = im.resize((w, h), PIL.Image.Resampling.LANCZOS) if scale < 1 else im.copy()
    buf = BytesIO()
    small.save(buf, format="PNG")
    fmt = "png"
    if buf.tell() >= max_bytes:
        buf = BytesIO()
        small.convert("RGB").save(buf, format="JPEG", quality=90)
        fmt = "jpeg"
    return InputImage(
        label=f"{image.label} (downscaled from {image.size_label()} to {w}x{h})",
        data=buf.getvalue(),
        format=fmt,
        size=(w, h),
        origin=image.origin,
        origin_info=image.origin_info,
        converted_from=image.converted_from,
    )


def fit_for(operation: str, images: list[InputImage]) -> list[InputImage]:
    """Each image shrunk to what ``operation`` takes (``--downscale`` / ``downscale=True``): an
    upscale's input to what 2x can grow (4,194,304 pixels), any other to 33,177,600; under 25 MB."""
    limit = UPSCALE_MAX_OUTPUT_PIXELS // 4 if operation == "upscale" else EDIT_MAX_PIXELS
    return [downscaled(im, limit) for im in images]
