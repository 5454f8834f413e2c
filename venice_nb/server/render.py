"""Deterministic procedural pictures for the local preview server.

Not a diffusion model: a little landscape whose palette comes from the prompt, whose composition
comes from seed + prompt, and whose treatment follows cfg_scale and style_preset, so that every
knob a user turns visibly does something. Every picture says "LOCAL PREVIEW" so that nobody
mistakes it for a real generation.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import json
import random
from dataclasses import dataclass, replace
from functools import lru_cache

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

WORK_LONG_SIDE = 1024  # art is drawn at most this big, then scaled; labels are drawn at full size

_TREATMENTS: dict[str, tuple[str, ...]] = {
    "posterize": (
        "Pop Art",
        "Comic Book",
        "Graffiti",
        "Flat Papercut",
        "Papercut Collage",
        "Stacked Papercut",
        "Thick Layered Papercut",
        "Kirigami",
        "Typography",
        "Advertising",
        "Collage",
        "Tribal",
    ),
    "pixelate": (
        "Pixel Art",
        "Retro Arcade",
        "Retro Game",
        "Minecraft",
        "Super Mario",
        "Pokemon",
        "Street Fighter",
        "Fighting Game",
        "Legend of Zelda",
        "RPG Fantasy Game",
        "Strategy Game",
        "GTA",
        "Lowpoly",
    ),
    "mono": ("Monochrome", "Film Noir", "Silhouette", "Horror"),
    "contour": ("Line Art", "Zentangle", "Cubist", "Architectural", "Stained Glass"),
    "soft": (
        "Watercolor",
        "Impressionist",
        "Dreamscape",
        "Fairy Tale",
        "Pointillism",
        "Long Exposure",
        "Tilt-Shift",
        "Surrealist",
    ),
    "sepia": (
        "Analog Film",
        "Renaissance",
        "Steampunk",
        "Gothic",
        "Nautical",
        "Grunge",
        "Dystopian",
        "Real Estate",
    ),
    "neon": (
        "Neon Punk",
        "Neon Noir",
        "Psychedelic",
        "Disco",
        "Space",
        "Alien",
        "HDR",
        "Techwear Fashion",
        "Hyperrealism",
    ),
    "emboss": (
        "Craft Clay",
        "3D Model",
        "Paper Mache",
        "Origami",
        "Paper Quilling",
        "Papercut Shadow Box",
        "Isometric Style",
        "Texture",
    ),
}
_STYLE_TREATMENT = {s: t for t, names in _TREATMENTS.items() for s in names}


@dataclass(frozen=True)
class RenderSpec:
    """Everything that influences the pixels (and nothing else, so equal specs give equal bytes)."""

    prompt: str
    seed: int
    width: int = 1024
    height: int = 1024
    format: str = "webp"
    model: str = "z-image-turbo"
    cfg_scale: float = 5.0
    negative_prompt: str | None = None
    style_preset: str | None = None
    blurred: bool = False
    violation: bool = False
    watermark: bool = False
    embed_exif: bool = False
    seed_ignored: bool = False  # the model ignores seeds: the caption must not claim one


def renderable(text: str) -> str:
    """``text`` with lone surrogates (valid in a JSON request) replaced by U+FFFD, for drawing."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()


def palette(prompt: str) -> list[tuple[int, int, int]]:
    """Five colours from the prompt's hash: same words, same mood."""
    h = _digest("palette", prompt.strip().lower())
    base = h[0] / 255
    offsets = (0.0, 0.08 + h[1] / 2550, 0.5, 0.42 + h[2] / 2550, 0.58)
    out = []
    for i, off in enumerate(offsets):
        sat = 0.35 + h[3 + i] / 425
        val = 0.35 + h[8 + i] / 400
        r, g, b = colorsys.hsv_to_rgb((base + off) % 1.0, min(sat, 0.95), min(val, 0.97))
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


def _shade(c: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(v * f))) for v in c)  # type: ignore[return-value]


def _nudge_hue(c: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    h, s, v = colorsys.rgb_to_hsv(*(x / 255 for x in c))
    r, g, b = colorsys.hsv_to_rgb((h + amount) % 1.0, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _art(spec: RenderSpec, w: int, h: int) -> Image.Image:
    """The scene at working size: sky gradient, glow, ridges, floating shapes."""
    pal = palette(spec.prompt)
    neg = spec.negative_prompt.strip() if spec.negative_prompt else ""
    if neg:  # subtle: a slight hue drift of the sky and one shape fewer
        drift = (_digest("neg", neg)[0] / 255 - 0.5) * 0.04
        pal[0], pal[1] = _nudge_hue(pal[0], drift), _nudge_hue(pal[1], drift)
    rng = random.Random(int.from_bytes(_digest("scene", spec.seed, spec.prompt, spec.model), "big"))

    top, bottom = pal[0], _shade(pal[1], 0.6)
    mask = Image.linear_gradient("L").resize((w, h))
    img = Image.composite(Image.new("RGB", (w, h), bottom), Image.new("RGB", (w, h), top), mask)

    # glow: drawn small, blurred, scaled up (cheap)
    gw, gh = max(1, w // 8), max(1, h // 8)
    glow = Image.new("L", (gw, gh), 0)
    cx, cy, r = rng.uniform(0.15, 0.85) * gw, rng.uniform(0.1, 0.45) * gh, rng.uniform(0.06, 0.14)
    rr = r * max(gw, gh)
    ImageDraw.Draw(glow).ellipse((cx - rr * 2, cy - rr * 2, cx + rr * 2, cy + rr * 2), fill=150)
    glow = glow.filter(ImageFilter.GaussianBlur(max(1.0, rr))).resize(
        (w, h), Image.Resampling.BILINEAR
    )
    img = Image.composite(Image.new("RGB", (w, h), pal[2]), img, glow)
    draw = ImageDraw.Draw(img)
    sx, sy, sr = cx * w / gw, cy * h / gh, rr * w / gw
    draw.ellipse((sx - sr, sy - sr, sx + sr, sy + sr), fill=_shade(pal[2], 1.15))

    # ridges, far to near
    layers = rng.randint(2, 4)
    for i in range(layers):
        base_y = h * (0.45 + 0.14 * i + rng.uniform(-0.04, 0.04))
        rough = h * (0.18 - 0.03 * i)
        pts, x, y = [], 0.0, base_y
        n = rng.randint(8, 18)
        for _ in range(n + 1):
            pts.append((x, y))
            x += w / n
            y = min(h, max(h * 0.2, base_y + rng.uniform(-rough, rough)))
        colour = _shade(pal[3 + i % 2], 0.9 - 0.18 * i)
        draw.polygon([*pts, (w, h), (0, h)], fill=colour)

    # floating shapes on one translucent layer
    overlay = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    odraw = ImageDraw.Draw(overlay)
    count = rng.randint(6, 14)
    skip = _digest("skip", neg)[1] % count if neg else -1
    for i in range(count):
        kind = rng.choice(("ellipse", "rect", "tri"))
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h * 0.8)
        size = rng.uniform(0.03, 0.16) * max(w, h)
        fill = (*pal[rng.randrange(5)], rng.randint(70, 170))
        if i == skip:
            continue
        if kind == "ellipse":
            odraw.ellipse((x0, y0, x0 + size, y0 + size * rng.uniform(0.5, 1.2)), fill=fill)
        elif kind == "rect":
            odraw.rectangle((x0, y0, x0 + size, y0 + size * rng.uniform(0.3, 1.0)), fill=fill)
        else:
            odraw.polygon([(x0, y0 + size), (x0 + size / 2, y0), (x0 + size, y0 + size)], fill=fill)
    img.paste(overlay, (0, 0), overlay)
    return img


def _treat(img: Image.Image, spec: RenderSpec) -> Image.Image:
    """cfg_scale -> contrast/saturation; style_preset -> a recognisable treatment."""
    factor = 0.45 + min(max(spec.cfg_scale, 0.0), 20.0) / 9.0
    img = ImageEnhance.Contrast(ImageEnhance.Color(img).enhance(factor)).enhance(0.6 + factor / 3)
    style = spec.style_preset
    if not style:
        return img
    treatment = _STYLE_TREATMENT.get(style)
    if treatment is None:
        names = sorted(_TREATMENTS)
        treatment = names[_digest("style", style)[0] % len(names)]
    w, h = img.size
    if treatment == "posterize":
        return ImageOps.posterize(ImageEnhance.Color(img).enhance(1.6), 2)
    if treatment == "pixelate":
        block = max(4, max(w, h) // 48)
        small = img.resize((max(1, w // block), max(1, h // block)), Image.Resampling.BILINEAR)
        return ImageOps.posterize(small, 4).resize((w, h), Image.Resampling.NEAREST)
    if treatment == "mono":
        return ImageOps.autocontrast(ImageOps.grayscale(img), cutoff=2).convert("RGB")
    if treatment == "contour":
        return img.filter(ImageFilter.CONTOUR)
    if treatment == "soft":
        return Image.blend(
            img.filter(ImageFilter.GaussianBlur(max(2, w // 150))),
            Image.new("RGB", img.size, (250, 246, 236)),
            0.18,
        )
    if treatment == "sepia":
        return ImageOps.colorize(ImageOps.grayscale(img), (40, 26, 13), (245, 222, 179))
    if treatment == "neon":
        return ImageEnhance.Color(ImageOps.autocontrast(img, cutoff=3)).enhance(2.4)
    return Image.blend(img, img.filter(ImageFilter.EMBOSS).convert("RGB"), 0.45)


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow built without FreeType
        return ImageFont.load_default()


def _fit(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[: max(0, int(len(text) * 0.85) if len(text) > 12 else len(text) - 1)]
    return text + "…"


def _label(img: Image.Image, spec: RenderSpec, note: str | None) -> None:
    """The honest caption: LOCAL PREVIEW, a prompt excerpt, the seed."""
    w, h = img.size
    big = max(8, min(w // 16, h // 12))
    small = max(7, int(big * 0.45))
    title = "LOCAL PREVIEW"
    room = w * 0.9
    if _font(big).getlength(title) > room:  # tiny images: shrink to fit, never drop the words
        big = max(6, int(big * room / _font(big).getlength(title)))
        small = max(6, int(big * 0.6))
    pad = max(1, big // 4)
    band = big + 2 * small + 4 * pad
    overlay = Image.new("RGBA", (w, band), (0, 0, 0, 150))
    img.paste(overlay, (0, h - band), overlay)
    draw = ImageDraw.Draw(img)
    y = h - band + pad
    draw.text((pad * 2, y), title, font=_font(big), fill=(255, 255, 255))
    excerpt = " ".join(spec.prompt.split())
    line2 = _fit(excerpt, _font(small), w - 4 * pad)
    draw.text((pad * 2, y + big + pad), line2, font=_font(small), fill=(230, 230, 230))
    line3 = f"{'seed ignored' if spec.seed_ignored else f'seed {spec.seed}'} · {spec.model}"
    if spec.style_preset:
        line3 += f" · {spec.style_preset}"
    if note:
        line3 += f" · {note}"
    line3 = _fit(line3, _font(small), w - 4 * pad)
    draw.text((pad * 2, y + big + small + 2 * pad), line3, font=_font(small), fill=(255, 214, 120))
    if spec.watermark and w >= 96:
        mark = _font(small)
        tw = mark.getlength("venice.ai")
        draw.text((w - tw - 2 * pad, pad), "venice.ai", font=mark, fill=(255, 255, 255))


def render_image(spec: RenderSpec) -> Image.Image:
    """The picture as a PIL image (RGB, exactly ``width`` x ``height``)."""
    w, h = spec.width, spec.height
    if spec.violation:
        img = Image.new("RGB", (w, h), (0, 0, 0))
        _label(img, replace(spec, watermark=False), "content violation placeholder")
        return img
    scale = min(1.0, WORK_LONG_SIDE / max(w, h))
    ww, wh = max(1, round(w * scale)), max(1, round(h * scale))
    art = _treat(_art(spec, ww, wh), spec)
    if spec.blurred:
        small = art.resize((max(1, ww // 16), max(1, wh // 16)), Image.Resampling.BILINEAR)
        art = small.filter(ImageFilter.GaussianBlur(2)).resize((ww, wh), Image.Resampling.BICUBIC)
    if (ww, wh) != (w, h):
        art = art.resize((w, h), Image.Resampling.BICUBIC)
    _label(art, spec, "blurred by safe mode" if spec.blurred else None)
    return art


def encode(img: Image.Image, fmt: str, exif: Image.Exif | None = None) -> bytes:
    """Encode quickly and deterministically (no timestamps) in the requested format."""
    buf = io.BytesIO()
    extra = {"exif": exif.tobytes()} if exif is not None else {}
    if fmt == "png":
        img.save(buf, "PNG", compress_level=1, **extra)
    elif fmt == "jpeg":
        img.save(buf, "JPEG", quality=90, **extra)
    else:
        img.save(buf, "WEBP", quality=82, method=0, **extra)
    return buf.getvalue()


def _exif(spec: RenderSpec) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = spec.prompt  # ImageDescription
    exif[0x0131] = "venice_nb local preview"  # Software
    meta = {
        "prompt": spec.prompt,
        "negative_prompt": spec.negative_prompt,
        "seed": spec.seed,
        "model": spec.model,
        "cfg_scale": spec.cfg_scale,
        "style_preset": spec.style_preset,
    }
    # UserComment keeps the full, lossless metadata (ImageDescription is ASCII-only)
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00" + json.dumps(meta).encode("ascii")
    return exif


def render(spec: RenderSpec) -> bytes:
    """Encoded image bytes for ``spec``; same spec, same bytes."""
    return encode(render_image(spec), spec.format, _exif(spec) if spec.embed_exif else None)
