"""Contact sheets: a grid, sweep or batch as one picture (PNG/JPEG) or one self-contained HTML page.

For a slide, a handout or a class page: every image scaled into an equal tile with its label under
it and the title on top. The HTML page holds its thumbnails as JPEG data URIs, so it is one file
that opens anywhere, with nothing remote. Images are read one at a time (from bytes in memory or
from files on disk), so a sheet of a 500-image batch never holds more than one full image.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import ValidationError

# An item: a label and where its picture is (bytes, or a path to read when its tile is drawn);
# None: a request that failed, drawn as a "failed" tile so the sheet's grid keeps its place.
Item = tuple[str, "bytes | Path | Callable[[], bytes] | None"]
SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".html": "HTML", ".htm": "HTML"}


class _Failed(ValueError):
    pass


def _bytes(source: bytes | Path | Callable[[], bytes] | None) -> bytes:
    if source is None:
        raise _Failed("failed")
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, Path):
        return source.read_bytes()
    return source()


def write_contact_sheet(
    items: Iterable[Item],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    tile: int = 256,
    columns: int | None = None,
) -> Path:
    """Write the sheet to ``path``; its suffix picks the kind (.png, .jpg/.jpeg, .html).

    Refused in one line before anything is drawn: an unknown suffix, nothing to show.
    """
    target = Path(path).expanduser()
    kind = SUFFIXES.get(target.suffix.lower())
    if kind is None:
        raise ValidationError(
            f"contact sheet {str(path)!r}: the name must end in .png, .jpg or .html"
        )
    entries = list(items)
    if not entries:
        raise ValidationError("nothing to put on a contact sheet: no image has arrived yet")
    if not 32 <= tile <= 2048:
        raise ValidationError(f"tile must be 32 to 2048 pixels, got {tile}")
    cols = columns or min(len(entries), 6)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = (
        _html(entries, title, tile, cols).encode("utf-8")
        if kind == "HTML"
        else _picture(entries, title, tile, cols, kind)
    )
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def _thumbnail(data: bytes, tile: int) -> Any:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (tile, tile))
        im.thumbnail((tile, tile))
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            flat = Image.new("RGB", im.size, (255, 255, 255))
            flat.paste(im, mask=im.split()[-1])
            return flat
        return im.convert("RGB")


def _picture(entries: list[Item], title: str | None, tile: int, cols: int, kind: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    label_h, pad = 30, 8
    head = 28 if title else 0
    rows = -(-len(entries) // cols)
    width = pad + cols * (tile + pad)
    height = head + pad + rows * (tile + label_h + pad)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, 8), _fit(draw, font, title, width - 2 * pad), fill=(0, 0, 0), font=font)
    for n, (label, source) in enumerate(entries):
        x = pad + (n % cols) * (tile + pad)
        y = head + pad + (n // cols) * (tile + label_h + pad)
        try:
            thumb = _thumbnail(_bytes(source), tile)
        except (OSError, ValueError) as exc:
            word = "failed" if isinstance(exc, _Failed) else f"unreadable: {exc}"[:40]
            draw.rectangle((x, y, x + tile, y + tile), outline=(200, 0, 0))
            draw.text((x + 4, y + 4), word, fill=(200, 0, 0), font=font)
        else:
            sheet.paste(thumb, (x + (tile - thumb.width) // 2, y + (tile - thumb.height) // 2))
            thumb.close()
        for i, line in enumerate(_lines(draw, font, label, tile)):
            draw.text((x, y + tile + 3 + 12 * i), line, fill=(40, 40, 40), font=font)
    out = io.BytesIO()
    sheet.save(out, format=kind, **({"quality": 88} if kind == "JPEG" else {"optimize": True}))
    return out.getvalue()


def _fit(draw: Any, font: Any, text: str, width: int) -> str:
    while text and draw.textlength(text, font=font) > width:
        text = text[:-2] + "\u2026"
    return text


def _lines(draw: Any, font: Any, text: str, width: int) -> list[str]:
    """The label in at most two lines that fit the tile (the second cut with an ellipsis)."""
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    return [_fit(draw, font, ln, width) for ln in lines[:2]]


def _html(entries: list[Item], title: str | None, tile: int, cols: int) -> str:
    tiles = []
    for label, source in entries:
        try:
            thumb = _thumbnail(_bytes(source), tile)
        except (OSError, ValueError) as exc:
            word = "failed" if isinstance(exc, _Failed) else "unreadable"
            picture = f'<div style="color:#b00">{word}</div>'
        else:
            out = io.BytesIO()
            thumb.save(out, format="JPEG", quality=82)
            thumb.close()
            uri = "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
            picture = f'<img src="{uri}" alt="{html.escape(label)}">'
        tiles.append(f"<figure>{picture}<figcaption>{html.escape(label)}</figcaption></figure>")
    heading = f"<h1>{html.escape(title)}</h1>" if title else ""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title or 'contact sheet')}</title><style>"
        "body{font-family:sans-serif;margin:16px;background:#fff;color:#222}"
        "h1{font-size:18px}"
        f".sheet{{display:grid;grid-template-columns:repeat({cols},{tile}px);gap:10px}}"
        f"figure{{margin:0;width:{tile}px}}"
        f"img{{display:block;max-width:{tile}px;max-height:{tile}px;margin:auto}}"
        "figcaption{font-size:12px;text-align:center;overflow-wrap:anywhere}"
        f'</style></head><body>{heading}<div class="sheet">{"".join(tiles)}</div></body></html>\n'
    )


def sweep_items(sweep: Any) -> list[Item]:
    """A sweep's images, each labelled by its swept values (and its index among variants); a
    failed cell is a "failed" tile in its place, not dropped."""
    items: list[Item] = []
    for cell in sweep.cells:
        label = ", ".join(f"{k}={_shown(v)}" for k, v in cell.params.items())
        if cell.result is None:
            if getattr(cell, "error", None) is not None:
                reason = str(getattr(cell.error, "message", cell.error)).split("\n")[0][:60]
                items.append((f"{label or 'image'}: failed ({reason})", None))
            continue
        images = cell.result.images
        for image in images:
            tail = f" #{image.index + 1}" if len(images) > 1 else ""
            items.append(((label or "image") + tail, image.data))
    return items


def _shown(value: Any) -> str:
    """A swept value as a label: 4.0 -> '4', 7.5 -> '7.5' (as the grid labels it)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
