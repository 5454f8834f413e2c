"""Search bytes, files and folders for a secret, including where it would hide when encoded.

A key would not always be written verbatim: in a notebook an image is base64 inside JSON (a data URI
in HTML, an ``image/png`` bundle, a widget buffer), and inside an image a PNG ``zTXt``/``iTXt``
chunk may be compressed and EXIF sits in its own directory. So every piece searched is also
expanded: JSON strings are walked, base64 payloads decoded, images opened with Pillow and their
text chunks and EXIF tags read out, and each result searched again (a few levels deep).

Needles are the secret, every 12-character piece of its random part (a partly masked key still
fails) and its base64 forms at the three byte alignments.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA_URI = re.compile(rb"data:[\w/+.-]+;base64,([A-Za-z0-9+/=\s\\n]{16,})")
B64_STRING = re.compile(r"[A-Za-z0-9+/=\s]{64,}")
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"GIF8")
MAX_DEPTH = 4
WINDOW = 12


def needles_for(secret: str, random_part: str | None = None) -> list[bytes]:
    """The byte strings whose presence means ``secret`` leaked."""
    found = {secret.encode()}
    part = random_part or secret
    found.update(part[i : i + WINDOW].encode() for i in range(max(1, len(part) - WINDOW + 1)))
    for pad in range(3):  # base64 of the secret at each alignment, edge characters dropped
        encoded = base64.b64encode(b"\0" * pad + secret.encode()).decode()
        found.add(encoded[4 if pad else 0 : -4].encode())
    found.add(secret.encode("utf-16-le"))
    return sorted(found, key=len, reverse=True)


@dataclass
class Scan:
    """Accumulates what was searched (``places``) and where a needle was found (``hits``)."""

    needles: list[bytes]
    places: list[str] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)
    pieces: int = 0  # every buffer searched, decoded ones included

    # ---- entry points ------------------------------------------------------------------------

    def text(self, place: str, data: str | bytes) -> None:
        """Search one named thing (a stream, a repr, a record)."""
        self.places.append(place)
        self._search(place, data.encode("utf-8", "replace") if isinstance(data, str) else data, 0)

    def file(self, path: Path, label: str | None = None) -> None:
        self.text(label or str(path), path.read_bytes())

    def tree(self, root: Path) -> int:
        """Every regular file below ``root``; returns how many."""
        count = 0
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                self.file(path, str(path.relative_to(root)))
                count += 1
        return count

    # ---- search and expansion ----------------------------------------------------------------

    def _search(self, place: str, data: bytes, depth: int) -> None:
        self.pieces += 1
        for needle in self.needles:
            if needle in data:
                self.hits.append(f"{place}: {needle[:24]!r}")
                break
        if depth >= MAX_DEPTH:
            return
        for label, inner in self._expand(data):
            self._search(f"{place} > {label}", inner, depth + 1)

    def _expand(self, data: bytes) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        if data.startswith(IMAGE_MAGIC):
            meta = image_metadata(data)
            if meta:
                out.append(("image metadata", meta))
            return out
        stripped = data.lstrip()[:1]
        if stripped in (b"{", b"["):
            try:
                parsed = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                parsed = None
            if parsed is not None:
                for i, payload in enumerate(_json_payloads(parsed)):
                    out.append((f"json base64 #{i}", payload))
                return out
        for i, match in enumerate(DATA_URI.finditer(data)):
            payload = _b64(match.group(1).replace(b"\\n", b""))
            if payload:
                out.append((f"data URI #{i}", payload))
        return out


def _b64(text: bytes | str) -> bytes | None:
    if isinstance(text, str):
        text = text.encode("ascii", "ignore")
    text = re.sub(rb"\s", b"", text)
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _json_payloads(parsed: Any) -> list[bytes]:
    """Decoded base64 found in a JSON document: data URIs in any string, bare base64 strings
    (``image/png`` bundles, widget buffers), and whole multi-line strings joined (nbformat)."""
    payloads: list[bytes] = []
    for text in _strings(parsed):
        raw = text.encode("utf-8", "replace")
        for match in DATA_URI.finditer(raw):
            decoded = _b64(match.group(1))
            if decoded:
                payloads.append(decoded)
        if B64_STRING.fullmatch(text):
            decoded = _b64(text)
            if decoded:
                payloads.append(decoded)
    for node in _lists_of_strings(parsed):  # nbformat may split long text into lines
        joined = "".join(node)
        if B64_STRING.fullmatch(joined):
            decoded = _b64(joined)
            if decoded:
                payloads.append(decoded)
        else:
            payloads.extend(_b64(m.group(1)) or b"" for m in DATA_URI.finditer(joined.encode()))
    return [p for p in payloads if p]


def _lists_of_strings(node: Any) -> list[list[str]]:
    found: list[list[str]] = []
    if isinstance(node, list):
        if len(node) > 1 and all(isinstance(x, str) for x in node):
            found.append(node)
        for item in node:
            found.extend(_lists_of_strings(item))
    elif isinstance(node, dict):
        for value in node.values():
            found.extend(_lists_of_strings(value))
    return found


def image_metadata(data: bytes) -> bytes:
    """Every text an image carries, as Pillow reads it: ``info`` (PNG tEXt/zTXt/iTXt decompressed,
    comments, XMP) and all EXIF tags including the Exif and GPS sub-directories."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            parts: list[str] = [repr(im.info)]
            exif = im.getexif()
            parts.append(repr(dict(exif)))
            for ifd in (0x8769, 0x8825, 0xA005):
                with contextlib.suppress(Exception):  # a malformed sub-directory: skip it
                    parts.append(repr(dict(exif.get_ifd(ifd))))
            text = getattr(im, "text", None)  # PNG text chunks, decompressed
            if text:
                parts.append(repr(dict(text)))
    except Exception:
        return b""
    joined = "\n".join(parts)
    # reprs escape bytes (b'ASCII\x00...'); search both the repr and its unescaped form
    return joined.encode("utf-8", "replace") + b"\n" + _unescape(joined)


def _unescape(text: str) -> bytes:
    try:
        return (
            text.encode("latin-1", "replace").decode("unicode_escape").encode("latin-1", "replace")
        )
    except (UnicodeDecodeError, ValueError):
        return b""
