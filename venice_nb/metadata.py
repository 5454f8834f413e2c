"""Generation parameters embedded in saved image files, without re-encoding the pixels.

The record (already key-free: it comes from ``GenerationResult.provenance()``) is JSON:

* PNG: an ``iTXt`` chunk (UTF-8) with keyword ``venice_nb``, right after ``IHDR``;
* JPEG: an APP1 ``Exif`` segment whose ImageDescription holds the JSON (an existing Exif segment is
  kept and extended), built with Pillow's ``Image.Exif().tobytes()``;
* WebP: an ``EXIF`` chunk; a simple (``VP8 ``/``VP8L``) file is turned into the extended layout by
  adding a ``VP8X`` header chunk, as the container spec allows. The bitstream is copied unchanged.

Only container bytes are touched, so the decoded pixels stay bit-identical. Where embedding is not
possible (an odd file, JSON too large for one JPEG segment) the bytes come back unchanged: the
sidecar JSON always carries the same record.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

from .redact import redact_value

KEYWORD = b"venice_nb"
SOFTWARE = "venice_nb"
TAG_IMAGE_DESCRIPTION = 0x010E
TAG_SOFTWARE = 0x0131
EXIF_HEADER = b"Exif\x00\x00"
MAX_JPEG_SEGMENT = 65535 - 2  # the length field counts itself


def embed_metadata(data: bytes, fmt: str, info: dict[str, Any]) -> bytes:
    """``data`` with ``info`` embedded where the format allows; unchanged bytes otherwise."""
    info = redact_value(info)  # type: ignore[assignment]  # no URL credentials in a file
    try:
        if fmt == "png":
            return _embed_png(data, info)
        if fmt == "jpeg":
            return _embed_jpeg(data, info)
        if fmt == "webp":
            return _embed_webp(data, info)
    except (ValueError, struct.error, IndexError):
        pass  # an unusual container: keep the image as received, the sidecar has the record
    return data


def read_metadata(data: bytes) -> dict[str, Any] | None:
    """The record embedded by ``embed_metadata``, read back with Pillow (None when absent)."""
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(data)) as im:
        text = im.info.get(KEYWORD.decode())
        if text is None:
            exif = im.getexif()
            if exif.get(TAG_SOFTWARE) == SOFTWARE:
                text = exif.get(TAG_IMAGE_DESCRIPTION)
    if not isinstance(text, str):
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _json(info: dict[str, Any]) -> str:
    """ASCII JSON (non-ASCII escaped): fits EXIF's ASCII type and round-trips exactly."""
    return json.dumps(info, separators=(",", ":"), default=str, ensure_ascii=True)


# ---- PNG -----------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _embed_png(data: bytes, info: dict[str, Any]) -> bytes:
    if data[12:16] != b"IHDR":
        raise ValueError("no IHDR")
    ihdr_end = 8 + 12 + struct.unpack(">I", data[8:12])[0]
    text = json.dumps(info, separators=(",", ":"), default=str, ensure_ascii=False)
    # iTXt: keyword, NUL, compression flag + method, language tag NUL, translated keyword NUL.
    payload = KEYWORD + b"\0\0\0" + b"\0" + b"\0" + text.encode("utf-8")
    return data[:ihdr_end] + _png_chunk(b"iTXt", payload) + data[ihdr_end:]


# ---- EXIF (JPEG and WebP) ------------------------------------------------------------------------


def _exif_bytes(info: dict[str, Any], existing: bytes | None) -> bytes:
    """TIFF/EXIF bytes (with the ``Exif\\0\\0`` header) holding ``info``, merged into ``existing``."""
    from PIL import Image

    exif = Image.Exif()
    if existing:
        exif.load(existing)
    exif[TAG_IMAGE_DESCRIPTION] = _json(info)
    exif[TAG_SOFTWARE] = SOFTWARE
    out = exif.tobytes()
    return out if out.startswith(EXIF_HEADER) else EXIF_HEADER + out


def _embed_jpeg(data: bytes, info: dict[str, Any]) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ValueError("no SOI")
    pos, n = 2, len(data)
    insert_at = 2
    existing: tuple[int, int] | None = None
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            raise ValueError("not at a marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: headers are over
            break
        end = pos + 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if end > n or end < pos + 4:
            raise ValueError("segment runs past the file")
        if marker == 0xE1 and data[pos + 4 : pos + 10] == EXIF_HEADER and existing is None:
            existing = (pos, end)
        if marker == 0xE0 and insert_at == pos:  # JFIF/JFXX APP0 must stay first
            insert_at = end
        pos = end
    else:
        raise ValueError("no start of scan")
    if data[pos + 1] != 0xDA:
        raise ValueError("no image data")
    old = data[existing[0] + 4 : existing[1]] if existing else None
    payload = _exif_bytes(info, old)
    if len(payload) > MAX_JPEG_SEGMENT:
        raise ValueError("record too large for one APP1 segment")
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    if existing:
        return data[: existing[0]] + segment + data[existing[1] :]
    return data[:insert_at] + segment + data[insert_at:]


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    end = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    chunks, pos = [], 12
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        size = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if pos + 8 + size > end:
            raise ValueError("chunk runs past the file")
        chunks.append((kind, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return chunks


def _riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        kind + struct.pack("<I", len(p)) + p + (b"\0" if len(p) & 1 else b"") for kind, p in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _webp_canvas(kind: bytes, payload: bytes) -> tuple[int, int, bool]:
    """(width, height, has_alpha) from a simple WebP's bitstream header."""
    if kind == b"VP8 " and payload[3:6] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", payload[6:10])
        return w & 0x3FFF, h & 0x3FFF, False
    if kind == b"VP8L" and payload[:1] == b"\x2f":
        bits = struct.unpack("<I", payload[1:5])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise ValueError("unknown WebP bitstream")


def _embed_webp(data: bytes, info: dict[str, Any]) -> bytes:
    chunks = _riff_chunks(data)
    if not chunks:
        raise ValueError("empty WebP")
    if chunks[0][0] != b"VP8X":
        width, height, alpha = _webp_canvas(*chunks[0])
        flags = 0x10 if alpha else 0
        header = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", header + (height - 1).to_bytes(3, "little")))
    vp8x = bytearray(chunks[0][1])
    vp8x[0] |= 0x08  # EXIF present
    chunks[0] = (b"VP8X", bytes(vp8x))
    old = next((p for k, p in chunks if k == b"EXIF"), None)
    exif = _exif_bytes(info, old)
    exif = exif[len(EXIF_HEADER) :]  # the WebP EXIF chunk holds bare TIFF data
    chunks = [(k, p) for k, p in chunks if k != b"EXIF"]
    xmp = next((i for i, (k, _p) in enumerate(chunks) if k == b"XMP "), len(chunks))
    chunks.insert(xmp, (b"EXIF", exif))  # spec order: image data, EXIF, XMP
    return _riff(chunks)
