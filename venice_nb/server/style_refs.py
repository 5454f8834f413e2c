"""Style references on ``/image/generate``, checked as the live service checks them.

Each reference is raw base64, a data URI or an http(s) URL, under 8 MB, not an SVG; a corrupt or
unreadable one is a 400 naming its index, one larger than 7680x4320 a 422 (the only 422 this route
gives, which is why a client must not explain it as a content-policy refusal). The local preview
fetches URLs only on loopback; other hosts are accepted unchecked, since it may not go online.
"""

from __future__ import annotations

import io
import urllib.parse
import warnings
from typing import Any

from PIL import Image

from .responses import ApiError
from .toolbox_inputs import image_bytes, is_loopback

MAX_REFERENCE_BYTES = 8 * 1024 * 1024
MAX_WIDTH, MAX_HEIGHT = 7680, 4320


def check(refs: list[dict[str, Any]]) -> None:
    """Raise the live answer for the first bad reference (400, or 422 when it is too large)."""
    for i, ref in enumerate(refs):
        value = str(ref.get("image", ""))
        where = f"style_references[{i}].image"
        url = value.strip().lower().startswith(("http://", "https://"))
        if url and not is_loopback(urllib.parse.urlsplit(value.strip()).hostname):
            continue
        data = image_bytes(value, where, allow_url=True)
        if len(data) >= MAX_REFERENCE_BYTES:
            raise ApiError(
                400, f"{where} is {len(data) / 1024 / 1024:.1f} MB; it must be under 8 MB"
            )
        if data.lstrip()[:5].lower() in (b"<?xml", b"<svg ") or b"<svg" in data[:512].lower():
            raise ApiError(400, f"{where} is an SVG; send a PNG, JPEG or WebP image")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                width, height = Image.open(io.BytesIO(data)).size
        except Image.DecompressionBombError:
            width, height = MAX_WIDTH + 1, MAX_HEIGHT + 1
        except (OSError, ValueError, SyntaxError):
            raise ApiError(400, f"{where} could not be read as an image") from None
        if width > MAX_WIDTH or height > MAX_HEIGHT:
            raise ApiError(
                422,
                f"{where} is {width}x{height}; style reference images may be at most "
                f"{MAX_WIDTH}x{MAX_HEIGHT}",
            )
