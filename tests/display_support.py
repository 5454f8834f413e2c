"""What the display tests share: an HTML reader (the builders are in factories.py)."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

from venice_nb.display import grid as display_sweep
from venice_nb.display import html as display
from venice_nb.result import SweepResult


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
