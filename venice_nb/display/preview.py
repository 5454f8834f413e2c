"""Notebook previews: a smaller copy of an image, made once per image and size.

Only the notebook gets the preview; the result object and saved files keep the bytes as received.
This is the one place the display path decodes pixels, and it happens only for images larger than
the preview size. Pillow is imported here, lazily, so ``%load_ext venice_nb`` stays light.

``image_preview`` is what the display uses: the preview is cached on the ``GeneratedImage`` (a
second display, the grid, the panel reuse it), a JPEG is decoded at a reduced scale (``draft``),
whole factors shrink with ``reduce``, and a PNG's preview is a JPEG (a WebP when it has
transparency): a 4K photo's PNG preview took seconds to encode, the JPEG takes milliseconds.
"""

from __future__ import annotations

from io import BytesIO
from typing import TYPE_CHECKING

from ..image_format import header_size

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

# Encoder settings chosen for speed: a preview is looked at, not archived. WebP method 2 encodes
# about twice as fast as the default 4 for a few percent more bytes.
_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "webp": {"quality": 80, "method": 2},
    "jpeg": {"quality": 85},
    "png": {"compress_level": 6},
}


def preview_dimensions(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """``size`` scaled so its long side is ``max_side`` (unchanged when already that small)."""
    w, h = size
    long_side = max(w, h)
    if not max_side or max_side <= 0 or long_side <= max_side:
        return w, h
    scale = max_side / long_side
    return max(1, round(w * scale)), max(1, round(h * scale))


PREVIEW_FORMAT = {"png": "jpeg", "webp": "webp", "jpeg": "jpeg"}  # opaque images; alpha -> webp


class Preview:
    """A notebook preview: ``data`` in ``format`` at ``size`` (the original itself when small)."""

    __slots__ = ("data", "format", "size")

    def __init__(self, data: bytes, size: tuple[int, int], fmt: str) -> None:
        self.data, self.size, self.format = data, size, fmt

    @property
    def mime(self) -> str:
        return f"image/{self.format}"

    def __repr__(self) -> str:
        return f"<Preview {self.format} {self.size[0]}x{self.size[1]}, {len(self.data):,} B>"


def image_preview(image: object, max_side: int) -> Preview:
    """The preview of a ``GeneratedImage`` (anything with ``data`` and ``format``), made once per
    size and kept on the image. Raises what Pillow raises for unreadable pixels."""
    cache = vars(image).setdefault("previews", {})
    found = cache.get(max_side)
    if found is None:
        data, fmt = image.data, image.format  # type: ignore[attr-defined]
        found = cache[max_side] = make_preview(data, fmt, max_side)
    return found


def make_preview(data: bytes, fmt: str, max_side: int) -> Preview:
    """A preview of ``data`` with the long side at ``max_side``, decoded once, encoded fast."""
    known = header_size(data, fmt)
    if known is not None and preview_dimensions(known, max_side) == known:
        return Preview(data, known, fmt)  # small enough: not even opened
    from PIL import Image

    with Image.open(BytesIO(data)) as im:
        size = im.size
        target = preview_dimensions(size, max_side)
        if target == size:
            return Preview(data, size, fmt)
        if fmt == "jpeg":
            im.draft(im.mode, target)  # libjpeg decodes at a reduced scale: much less work
        image: Image.Image = im
        alpha = "transparency" in image.info or image.mode.endswith("A")
        out_fmt = "webp" if alpha else PREVIEW_FORMAT.get(fmt, "jpeg")
        wanted = ("RGBA",) if alpha else ("RGB", "L")
        if image.mode not in wanted:
            image = image.convert("RGBA" if alpha else "RGB")
        small = _shrink(image, target)
        # inside the with: a JPEG drafted to the exact target comes back as ``im`` itself, whose
        # file is closed once the block ends
        out = BytesIO()
        small.save(out, format=out_fmt.upper(), **_SAVE_OPTIONS[out_fmt])
    if out.tell() >= len(data):
        return Preview(data, size, fmt)  # no lighter preview: the browser scales the original
    return Preview(out.getvalue(), small.size, out_fmt)


def downscale(data: bytes, fmt: str, max_side: int) -> tuple[bytes, tuple[int, int]]:
    """(encoded preview in ``fmt``, its pixel size) with the long side at ``max_side``.

    Returns ``data`` itself when it is already small enough, or when the re-encoded preview would
    be heavier than the original (flat-colour PNGs can grow when resampling adds edge colours):
    the preview exists to keep the notebook light, so the caller then shows the original scaled
    down by the browser instead.
    """
    from PIL import Image

    with Image.open(BytesIO(data)) as im:
        size = im.size
        target = preview_dimensions(size, max_side)
        if target == size:
            return data, size
        if fmt == "jpeg":
            im.draft(im.mode, target)  # libjpeg decodes at a reduced scale: much less work
        image: Image.Image = im
        if image.mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
            has_alpha = "transparency" in image.info or image.mode.endswith("A")
            image = image.convert("RGBA" if has_alpha else "RGB")
        if fmt == "jpeg" and image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        small = _shrink(image, target)
        out = BytesIO()  # inside the with, as in make_preview
        small.save(out, format=fmt.upper(), **_SAVE_OPTIONS.get(fmt, {}))
    if out.tell() >= len(data):
        return data, size
    return out.getvalue(), small.size


def _shrink(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Box-reduce by the whole factor first (a 2x step costs ~1 ms for 1024 px), then resample the
    remainder with bicubic; an exact factor (1024 -> 512, the common case) needs no resampling."""
    from PIL import Image

    factor = min(image.width // target[0], image.height // target[1])
    if factor >= 2:
        image = image.reduce(factor)
    if image.size == target:
        return image
    return image.resize(target, Image.Resampling.BICUBIC)
