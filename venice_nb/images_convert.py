"""Pictures as notebooks hold them, made into what the endpoints take with the picture intact.

The toolbox endpoints take 8-bit PNG, JPEG or WebP. A notebook holds more: 16-bit greyscale
(microscopy, depth maps, medical scans: Pillow's ``I;16``/``I``), float images (``F``), CMYK
print files, numpy arrays (uint8 0..255 or float 0..1; HxW, HxWx3, HxWx4) and ``BytesIO``
buffers. A plain ``convert("RGB")`` clips 16-bit values at 255 and sends a white picture that is
paid for; here every mode is *scaled* into 8 bits, or refused in one line before anything is sent.

numpy is not a dependency: arrays are recognised by ``__array_interface__`` and handled through
their own methods (``min``, ``max``, ``astype``) and Pillow's ``Image.fromarray``.
"""

from __future__ import annotations

import io
from typing import Any

from .errors import ValidationError

KEEP = ("RGB", "RGBA", "L", "LA", "P")  # PNG holds these as they are
# Modes with a lossless 8-bit twin Pillow converts to directly.
DIRECT = {
    "1": "L",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "HSV": "RGB",
    "RGBX": "RGB",
    "RGBa": "RGBA",
    "La": "LA",
    "PA": "RGBA",
}
HIGH_DEPTH = ("I", "F")  # every I;16 variant is read as I first
ARRAY_SHAPES = "HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA)"


def eight_bit(image: Any, label: str) -> tuple[Any, str | None]:
    """(a PIL image in a mode PNG holds at 8 bits per channel, what was done or None)."""
    mode = image.mode
    if mode in KEEP:
        return image, None
    if mode in DIRECT:
        return image.convert(DIRECT[mode]), None
    if mode.startswith("I;16") or mode in HIGH_DEPTH:
        return _scaled_grey(image, label)
    try:
        if mode == "LAB":  # Pillow's convert() reads L*a*b* as if it were RGBA
            from PIL import ImageCms

            lab, srgb = ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(image, lab, srgb, outputMode="RGB"), "L*a*b* to sRGB"
        return image.convert("RGBA" if mode.endswith("A") else "RGB"), None
    except (ValueError, OSError, ImportError) as exc:  # ImageCms.PyCMSError is an OSError
        raise ValidationError(
            f"{label} is a {mode} image, which cannot be converted to RGB here "
            f"({_reason(exc)}); convert it to RGB yourself first (e.g. image.convert('RGB'))",
            field="image",
        ) from None


def _scaled_grey(image: Any, label: str) -> tuple[Any, str]:
    """16/32-bit integer or float greyscale as 8-bit L, scaled by its nominal range: 0..65535
    for 16-bit, 0..1 for floats that fit it, else the values' own range (never clipped)."""
    wide = image.convert("F")  # exact for 16-bit integers and floats alike
    low, high = wide.getextrema()
    if low != low or high != high:  # NaN
        raise ValidationError(f"{label} holds NaN values; replace them first", field="image")
    if image.mode == "F" and low >= 0 and high <= 1:
        low, high, what = 0.0, 1.0, "float 0..1"
    elif low >= 0 and high <= 255 and image.mode == "F":
        low, high, what = 0.0, 255.0, "float 0..255"
    elif low >= 0 and high <= 65535 and image.mode != "F":
        low, high, what = 0.0, 65535.0, "16-bit"
    else:
        what = f"values {low:g}..{high:g}"
    span = (high - low) or 1.0
    scaled = wide.point(lambda v: (v - low) * (255.0 / span))
    return scaled.convert("L"), f"{what} greyscale scaled to 8 bits"


def is_array(value: Any) -> bool:
    """numpy arrays and anything else exposing ``__array_interface__`` (without importing numpy)."""
    return hasattr(value, "__array_interface__") and not hasattr(value, "save")


def array_image(value: Any, label: str) -> Any:
    """A PIL image from an array: uint8 as is, bool as 0/255, float in 0..1 scaled to 0..255,
    16-bit integers scaled from 0..65535; anything else refused in one line."""
    import PIL.Image

    interface = value.__array_interface__
    shape = tuple(interface.get("shape", ()))
    typestr = str(interface.get("typestr", ""))
    kind, size = typestr[1:2], int(typestr[2:] or 0)
    if len(shape) == 3 and shape[2] == 1 and hasattr(value, "reshape"):
        value, shape = value.reshape(shape[:2]), shape[:2]
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] in (3, 4))):
        raise ValidationError(
            f"{label} is an array of shape {shape}; pass {ARRAY_SHAPES}", field="image"
        )
    if 0 in shape:
        raise ValidationError(f"{label} is an empty array (shape {shape})", field="image")
    if kind not in ("u", "i", "f", "b"):
        raise ValidationError(
            f"{label} is an array of {typestr!r} values; pass uint8 (0..255) or float (0..1)",
            field="image",
        )
    if (kind, size) != ("u", 1):
        value = _as_uint8(value, label, kind, size)
    try:
        return PIL.Image.fromarray(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{label} (an array of shape {shape}, {typestr}) cannot be read as a picture "
            f"({_reason(exc)}); pass a uint8 array of {ARRAY_SHAPES}",
            field="image",
        ) from None


def _as_uint8(value: Any, label: str, kind: str, size: int) -> Any:
    """uint8 values through the array's own methods (numpy's API, duck-typed)."""
    if not all(hasattr(value, name) for name in ("min", "max", "astype")):
        return value  # not numpy-like: Pillow decides
    if kind == "b":
        return value.astype("uint8") * 255
    low, high = float(value.min()), float(value.max())
    if low != low or high != high:
        raise ValidationError(f"{label} holds NaN values; replace them first", field="image")
    if kind == "f":
        if low < 0 or high > 1:
            raise ValidationError(
                f"{label} is a float array with values {low:g}..{high:g}; float pictures must be "
                "in 0..1 (divide by the maximum), or pass uint8 0..255 (array.astype('uint8'))",
                field="image",
            )
        return (value * 255 + 0.5).astype("uint8")
    if low < 0:
        raise ValidationError(
            f"{label} is an integer array with negative values ({low:g}..{high:g}); pictures "
            "are uint8 0..255 or uint16 0..65535",
            field="image",
        )
    if high <= 255:
        return value.astype("uint8")
    if high <= 65535:
        return (value // 257).astype("uint8")  # 16-bit range to 8 bits, like I;16 images
    raise ValidationError(
        f"{label} is an integer array with values up to {high:g}; pictures are uint8 0..255 or "
        "uint16 0..65535 (scale it first)",
        field="image",
    )


def needs_reencoding(data: bytes, fmt: str) -> str | None:
    """Why bytes of an accepted format are still re-encoded (they hold a picture the endpoints
    may misread): a 16-bit PNG, a CMYK/YCCK JPEG (print files, often shown inverted). None when
    they go as they are. Header bytes only."""
    if fmt == "png" and len(data) > 24 and data[24] == 16:  # IHDR bit depth
        return "16-bit PNG"
    if fmt == "jpeg" and _jpeg_components(data) == 4:
        return "CMYK JPEG"
    return None


def _jpeg_components(data: bytes) -> int | None:
    """The component count of the first SOF segment (4: CMYK or YCCK)."""
    pos, n = 2, len(data)
    while pos + 10 < n and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 1 if marker == 0xFF else 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return data[pos + 9]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            return None
        pos += 2 + length
    return None


def stream_bytes(stream: Any, label: str, limit: int) -> bytes:
    """The whole content of a binary stream (``BytesIO``, ``open(path, 'rb')``), read without
    moving it when it can seek, so the same stream can be passed again."""
    getvalue = getattr(stream, "getvalue", None)
    try:
        if isinstance(stream, io.TextIOBase):  # open(path) without "b": reading would decode
            data = ""
        elif callable(getvalue):
            data = getvalue()
        else:
            seekable = callable(getattr(stream, "seekable", None)) and stream.seekable()
            where = stream.tell() if seekable else 0
            if seekable:
                stream.seek(0)
            data = stream.read(limit + 1)
            if seekable:
                stream.seek(where)
    except UnicodeDecodeError:  # a text stream of another kind, decoding image bytes
        data = ""
    if isinstance(data, str):
        raise ValidationError(
            f"{label} is a text stream; open the file in binary mode (open(path, 'rb')) or pass "
            "io.BytesIO(data)",
            field="image",
        )
    if len(data) > limit:
        raise ValidationError(
            f"{label} holds more than {limit // 1_000_000} MB; images sent to Venice must be "
            "smaller. Downscale or re-encode it first",
            field="image",
        )
    return bytes(data)


def stream_label(stream: Any) -> str:
    name = getattr(stream, "name", None)
    return str(name) if isinstance(name, str) else type(stream).__name__


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
