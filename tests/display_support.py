"""What the display tests share: images with real pixels, a sample sweep, and an HTML reader."""

from __future__ import annotations

import base64
import io
import random
import re
from html.parser import HTMLParser

from PIL import Image

from venice_nb.display import grid as display_sweep
from venice_nb.display import html as display
from venice_nb.errors import CapacityError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GeneratedImage, GenerationResult, SweepCell, SweepResult, Timing


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt.upper(), **kw)
    return buf.getvalue()


def noisy(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """Random pixels: compresses like a detailed photo would (no tiny flat-colour files)."""
    rnd = random.Random(seed)
    return Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))


def image(fmt: str = "webp", size=(64, 48), seed: int | None = 42, index: int = 0, **flags):
    data = encode(noisy(size, index + 1), fmt)
    return GeneratedImage.from_bytes(data, index=index, seed=seed, **flags)


def sample_sweep(fail_at=(2, 7.5)) -> SweepResult:
    """seed 1, 2 by cfg_scale 4, 7.5; the cell at ``fail_at`` failed with a CapacityError."""
    cells = []
    for seed in (1, 2):
        for cfg in (4.0, 7.5):
            params = {"seed": seed, "cfg_scale": cfg}
            if (seed, cfg) == fail_at:
                err = CapacityError("z-image-turbo is at capacity", status=503)
                cells.append(SweepCell(params, error=err))
                continue
            req = GenerateRequest(model="z-image-turbo", prompt="grid", seed=seed, cfg_scale=cfg)
            img = image("webp", (64, 64), seed=seed, index=0)
            timing = Timing(queue_ms=10.0, preprocessing_ms=5.0, inference_ms=300.0, wall_ms=400.0)
            cells.append(
                SweepCell(params, result=GenerationResult(req, [img], timing=timing, cost_usd=0.01))
            )
    return SweepResult(cells, rows="seed", cols="cfg_scale", wall_ms=450.0)


class Parsed(HTMLParser):
    """The parts of the output a person sees: images, text, and elements by class."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.imgs: list[dict[str, str]] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attrs))
        if tag == "img":
            self.imgs.append(attrs)

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    def by_class(self, cls: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if cls in a.get("class", "").split()]


def decode_src(src: str) -> tuple[str, bytes]:
    match = re.fullmatch(r"data:([a-z/]+);base64,([A-Za-z0-9+/=]+)", src)
    assert match, src[:80]
    return match.group(1), base64.b64decode(match.group(2), validate=True)


def html_of(obj, **kw) -> str:
    """The output's HTML; images at their preview size unless ``thumb_size`` is given."""
    kw.setdefault("thumb_size", 0)
    bundle = display_sweep.sweep_bundle if isinstance(obj, SweepResult) else display.result_bundle
    data, _ = bundle(obj, **kw)
    return data["text/html"]


def segment_widths(html: str) -> dict[str, float]:
    """The timing bar's segments and their widths in percent."""
    widths = {}
    for attrs in Parsed(html).tags:
        cls = attrs[1].get("class", "")
        if cls.startswith("venice-nb-seg-"):
            width = re.search(r"width:([\d.]+)%", attrs[1]["style"])
            widths[cls.removeprefix("venice-nb-seg-")] = float(width.group(1))
    return widths
