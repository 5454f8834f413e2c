"""Pictures for the local server's toolbox routes: each one shows what the operation did.

Deterministic (same input, same bytes) and stamped "LOCAL PREVIEW" like the generated pictures:
an upscale is bigger and visibly sharper (Lanczos, then an unsharp mask), an edit pulls its input
toward the instruction's palette (the one a generation of that prompt would use), a multi-edit
lays its extra inputs over the base as tiles, and a background removal leaves real alpha (opacity
from each pixel's distance to the border colour).
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps, ImageStat

from .render import palette

EDIT_STRENGTH = 0.55  # how far an edit moves toward the instruction's palette (0 keeps the input)
MULTI_TILE_SHARE = 0.3  # the share of the width the extra inputs' tile column takes


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def stamp(img: Image.Image, note: str) -> Image.Image:
    """Write "LOCAL PREVIEW · note" on a dark band in the bottom-left corner (in place)."""
    w, h = img.size
    size = max(7, min(w // 28, h // 14, 28))
    font = _font(size)
    text = f"LOCAL PREVIEW · {note}"
    while len(text) > 14 and font.getlength(text) > w * 0.95:
        text = text[:-2].rstrip() + "…" if not text.endswith("…") else text[:-3] + "…"
    pad = max(1, size // 4)
    box = (0, h - size - 3 * pad, min(w, int(font.getlength(text)) + 4 * pad), h)
    band = Image.new("RGBA", (box[2] - box[0], box[3] - box[1]), (0, 0, 0, 170))
    if img.mode == "RGBA":
        img.alpha_composite(band, (box[0], box[1]))
    else:
        img.paste(band, (box[0], box[1]), band)
    ImageDraw.Draw(img).text((2 * pad, box[1] + pad), text, font=font, fill=(255, 255, 255))
    return img


def _seed(img: Image.Image, *parts: object) -> int:
    h = hashlib.sha256(img.tobytes()[:65536])
    h.update(repr((img.size, img.mode, parts)).encode())
    return int.from_bytes(h.digest()[:8], "big")


def upscale(img: Image.Image, width: int, height: int, creativity: float) -> Image.Image:
    """Lanczos to ``width`` x ``height``, sharpened; ``creativity`` (0-0.02) adds seeded grain."""
    mode = "RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB"
    out = img.convert(mode).resize((width, height), Image.LANCZOS)
    out = out.filter(ImageFilter.UnsharpMask(radius=1.5, percent=250, threshold=0))
    if creativity > 0:
        rng = random.Random(_seed(img, width, height, creativity))
        small = (max(1, width // 4), max(1, height // 4))
        noise = Image.frombytes("L", small, rng.randbytes(small[0] * small[1]))
        noise = noise.resize((width, height), Image.BICUBIC).convert(mode)
        grey = Image.new(mode, (width, height), (128,) * len(mode))
        detail = ImageChops.subtract(noise, grey, scale=1.0, offset=128)
        out = ImageChops.overlay(out, Image.blend(grey, detail, min(1.0, creativity * 15)))
        if mode == "RGBA":
            out.putalpha(img.convert("RGBA").resize((width, height), Image.LANCZOS).getchannel("A"))
    return stamp(out, f"upscale {width}x{height}")


def _toward_palette(img: Image.Image, prompt: str, strength: float) -> Image.Image:
    """Re-colour ``img`` with the prompt's palette by luminance, blended over the original."""
    pal = palette(prompt)
    dark = tuple(int(c * 0.35) for c in pal[1])
    tinted = ImageOps.colorize(ImageOps.grayscale(img), dark, pal[0], mid=pal[2])
    return Image.blend(img.convert("RGB"), tinted, strength)


def edit(
    img: Image.Image, prompt: str, width: int, height: int, note: str, blurred: bool = False
) -> Image.Image:
    """The input fitted to the output size and moved toward the instruction's palette."""
    out = _edited(img, prompt, width, height)
    if blurred:
        out = out.filter(ImageFilter.GaussianBlur(max(4, min(width, height) // 24)))
    return stamp(out, note)


def _edited(img: Image.Image, prompt: str, width: int, height: int) -> Image.Image:
    base = ImageOps.fit(img.convert("RGB"), (width, height), Image.LANCZOS)
    return _toward_palette(base, prompt, EDIT_STRENGTH)


def multi_edit(
    images: list[Image.Image], prompt: str, width: int, height: int, note: str
) -> Image.Image:
    """The base edited to full size; the other inputs as a column of tiles on its right side."""
    out = _edited(images[0], prompt, width, height)
    extras = images[1:]
    tile_w = max(1, int(width * MULTI_TILE_SHARE))
    tile_h = max(1, height // len(extras))
    for i, extra in enumerate(extras):
        tile = ImageOps.fit(extra.convert("RGB"), (tile_w, tile_h), Image.LANCZOS)
        tile = _toward_palette(tile, prompt, EDIT_STRENGTH / 3)
        out.paste(tile, (width - tile_w, i * tile_h))
    return stamp(out, note)


def border_colour(rgb: Image.Image) -> tuple[int, int, int]:
    """The median colour of the outermost pixels: the background, by this preview's definition."""
    w, h = rgb.size
    strips = [(0, 0, w, 1), (0, h - 1, w, h), (0, 0, 1, h), (w - 1, 0, w, h)]
    border = Image.new("RGB", (2 * w + 2 * h, 1))
    x = 0
    for box in strips:
        piece = rgb.crop(box)
        piece = piece if piece.size[1] == 1 else piece.rotate(90, expand=True)
        border.paste(piece, (x, 0))
        x += piece.size[0]
    median = ImageStat.Stat(border).median
    return int(median[0]), int(median[1]), int(median[2])


def remove_background(img: Image.Image) -> Image.Image:
    """RGBA: transparent where a pixel is close to the border colour, opaque where it is not."""
    rgb = img.convert("RGB")
    bg = Image.new("RGB", rgb.size, border_colour(rgb))
    diff = ImageChops.difference(rgb, bg)
    r, g, b = diff.split()
    distance = ImageChops.lighter(ImageChops.lighter(r, g), b)
    # 0..24 away from the background colour: gone; 56 and more: kept; a soft ramp between.
    alpha = distance.point(lambda d: 0 if d <= 24 else 255 if d >= 56 else (d - 24) * 8)
    alpha = alpha.filter(ImageFilter.MedianFilter(3))
    if "A" in img.getbands():
        alpha = ImageChops.darker(alpha, img.getchannel("A"))
    out = rgb.convert("RGBA")
    out.putalpha(alpha)
    return stamp(out, "background removed")
