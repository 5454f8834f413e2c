"""Notebook previews: a smaller copy of an image, in the format it arrived in.

Only the notebook gets the preview; the result object and saved files keep the bytes as received.
This is the one place the display path decodes pixels, and it happens only for images larger than
the preview size. Pillow is imported here, lazily, so ``%load_ext venice_nb`` stays light.
"""

from __future__ import annotations

from io import BytesIO
from typing import TYPE_CHECKING

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
    out = BytesIO()
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
