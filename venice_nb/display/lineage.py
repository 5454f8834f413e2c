"""Derived images in HTML: the line that says where one came from, the before/after view, and the
checkerboard behind transparent pixels.

The checkerboard is a CSS ``background`` on the ``<img>`` itself, so it survives in the saved
notebook (no stylesheet, no script) and shows through exactly where the PNG's alpha is.
"""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING, Any

from ..image_format import header_alpha
from ..redact import redact_text
from .preview import downscale

if TYPE_CHECKING:  # pragma: no cover
    from ..images_in import InputImage
    from ..result import GeneratedImage, GenerationResult

# The checkerboard, then a flat grey the sanitizer of untrusted notebooks keeps when it drops the
# gradient: transparent pixels never turn white there.
CHECKERBOARD = (
    "background:repeating-conic-gradient(rgba(128,128,128,0.35) 0% 25%, "
    "rgba(128,128,128,0.1) 0% 50%) 50% / 16px 16px;background-color:rgba(128,128,128,0.2)"
)
NOMATH = "mathjax_ignore tex2jax_ignore"
THUMB = 256


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def has_alpha(data: bytes, fmt: str) -> bool:
    """Whether a PNG or WebP carries transparency (read from its header; JPEG never does)."""
    if fmt not in ("png", "webp"):
        return False
    known = header_alpha(data, fmt)
    if known is not None:
        return known
    from io import BytesIO

    from PIL import Image

    try:
        with Image.open(BytesIO(data)) as im:
            return im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    except (OSError, ValueError, SyntaxError):
        return False


def backdrop(image: GeneratedImage) -> str:
    """Extra ``<img>`` CSS: a checkerboard behind transparent pictures, nothing otherwise."""
    return CHECKERBOARD if has_alpha(image.data, image.format) else ""


def lineage_line(result: GenerationResult) -> str:
    """'Upscale 4x of shot[0] (512x384)' with the service's notes, or '' for a generation."""
    lineage = result.lineage
    if lineage is None:
        return ""
    sources = ", ".join(
        f"{im.label} ({im.url})" if im.is_url else f"{im.label} ({im.size_label()})"
        for im in lineage.sources
    )
    text = f"\u21b3 {lineage.title} of {sources}"
    if lineage.operation == "upscale":
        text = f"\u21b3 {lineage.title} {lineage.params.get('scale', 2)}x of {sources}"
    served = lineage.model_id or lineage.params.get("model") or lineage.params.get("modelId")
    if served and lineage.operation in ("edit", "multi-edit"):
        text += f" by {served}"
    notes = "".join(f'<div style="opacity:0.75">{_e(n)}</div>' for n in lineage.notes)
    return f'<div class="venice-nb-lineage" style="margin-top:4px">{_e(text)}{notes}</div>'


def _thumb(data: bytes, mime: str, fmt: str, caption: str, limit: int) -> str:
    shown = data
    try:
        shown, size = downscale(data, fmt, limit)
        dims = f'width="{size[0]}" height="{size[1]}" '
    except (OSError, ValueError, SyntaxError):
        dims = ""
    src = f"data:{mime};base64,{base64.b64encode(shown).decode('ascii')}"
    style = "max-width:100%;height:auto" + (";" + CHECKERBOARD if has_alpha(data, fmt) else "")
    return (
        f'<figure style="flex:0 1 auto;min-width:0;margin:0 8px 8px 0;vertical-align:top">'
        f'<img src="{src}" {dims}alt="{_e(caption)}" style="{style}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _source_thumb(image: InputImage, limit: int) -> str:
    if image.data is None or image.format is None:
        return (
            '<figure style="display:inline-block;margin:0 8px 8px 0;vertical-align:top">'
            f"<figcaption>before: {_e(image.label)}<br>(a URL, read by the service)"
            "</figcaption></figure>"
        )
    caption = f"before: {image.label} \u00b7 {image.size_label()}"
    return _thumb(image.data, image.mime, image.format, caption, limit)


def compare_html(result: GenerationResult, size: int = THUMB * 2) -> str:
    """The source(s) and the derived image side by side, at the same preview size."""
    lineage = result.lineage
    if lineage is None:
        raise ValueError("this result was not derived from another image; nothing to compare")
    befores = "".join(_source_thumb(im, size) for im in lineage.sources)
    image = result.image
    try:
        w, h = image.size
        after_label = f"after: {lineage.title.lower()} \u00b7 {w}x{h}"
    except (OSError, ValueError, SyntaxError):
        after_label = f"after: {lineage.title.lower()}"
    after = _thumb(image.data, image.mime, image.format, after_label, size)
    # one row that never wraps: the pictures shrink together, so the arrow always sits between
    # them (it used to dangle at a line's end while "after" wrapped under "before")
    arrow = '<div style="flex:0 0 auto;font-size:24px;margin:0 4px">\u2192</div>'
    return (
        f'<div class="venice-nb-compare {NOMATH}" style="font-size:12px">'
        '<div style="display:flex;flex-wrap:nowrap;align-items:center;max-width:100%">'
        f"{befores}{arrow}{after}</div>{lineage_line(result)}</div>"
    )


class Comparison:
    """What ``result.compare()`` returns: the before/after view as a displayable object."""

    def __init__(self, result: GenerationResult, size: int = THUMB * 2) -> None:
        self.result = result
        self.size = size

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        lineage = self.result.lineage
        text = f"<Comparison {lineage.summary() if lineage else ''}>"
        meta = {"venice_nb": {"lineage": lineage.describe()}} if lineage else {}
        html = redact_text(compare_html(self.result, self.size))
        return {"text/html": html, "text/plain": redact_text(text)}, meta

    def __repr__(self) -> str:
        lineage = self.result.lineage
        return f"<Comparison {lineage.summary() if lineage else ''}>"
