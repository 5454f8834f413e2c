"""Pictures for the local server's toolbox routes: each one shows what the operation did.

Deterministic (same input, same bytes) and stamped "LOCAL PREVIEW" like the generated pictures:
an upscale is bigger and visibly sharper (Lanczos, then an unsharp mask), an edit pulls its input
toward the instruction's palette (the one a generation of that prompt would use), a multi-edit
lays its extra inputs over the base as tiles, and a background removal leaves real alpha (opacity
from each pixel's distance to the border colour).
"""

from __future__ import annotations

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


def upscale(img: Image.Image, width: int, height: int, creativity: float) -> Image.Image:
    """Lanczos to ``width`` x ``height``, then an unsharp mask; ``creativity`` (0-0.02) strengthens
    it (more added texture), the way the live upscaler adds more detail at higher values."""
    big = (
        img.resize((width, height), Image.Resampling.LANCZOS)
        if img.mode in ("RGB", "RGBA")
        else None
    )
    has_alpha = "A" in img.getbands() or "transparency" in img.info
    if big is None:
        big = img.convert("RGBA" if has_alpha else "RGB").resize(
            (width, height), Image.Resampling.LANCZOS
        )
    percent = 250 + round(min(max(creativity, 0.0), 0.02) * 10_000)
    out = big.convert("RGB").filter(
        ImageFilter.UnsharpMask(radius=1.5, percent=percent, threshold=0)
    )
    if has_alpha:
        out.putalpha(big.getchannel("A"))
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
    base = ImageOps.fit(img.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
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
        tile = ImageOps.fit(extra.convert("RGB"), (tile_w, tile_h), Image.Resampling.LANCZOS)
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
