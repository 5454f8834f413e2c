"""What image bytes are, from their first bytes only: the format (magic bytes), the size and the
transparency (header), and whether they are whole (end markers). No decoding: the client and the
display ask here before Pillow, which decodes a WebP's first frame just to say its size."""

from __future__ import annotations


def sniff_format(data: bytes | bytearray | memoryview) -> str | None:
    """'png', 'jpeg' or 'webp' from the magic bytes, None for anything else."""
    head = bytes(data[:12])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def header_size(data: bytes | bytearray | memoryview, fmt: str) -> tuple[int, int] | None:
    """(width, height) read from the header bytes, or None when they are not the usual shape
    (the caller then asks Pillow). Opening a WebP with Pillow decodes its first frame (~7 ms for
    1024x1024), so the display and the panel ask here first."""
    head = bytes(data[:32])
    if fmt == "png" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if fmt == "webp" and len(head) >= 30:
        chunk = head[12:16]
        if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
            w, h = int.from_bytes(head[26:28], "little"), int.from_bytes(head[28:30], "little")
            return w & 0x3FFF, h & 0x3FFF
        if chunk == b"VP8L" and head[20] == 0x2F:
            bits = int.from_bytes(head[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            w, h = int.from_bytes(head[24:27], "little"), int.from_bytes(head[27:30], "little")
            return w + 1, h + 1
        return None
    if fmt == "jpeg":
        return _jpeg_size(data)
    return None


def header_alpha(data: bytes | bytearray | memoryview, fmt: str) -> bool | None:
    """Whether the picture carries transparency, from its header: a PNG's colour type or a tRNS
    chunk before the pixels, a WebP's alpha flag (VP8X) or hint (VP8L). None when the header is
    not the usual shape (the caller asks Pillow, which decodes a WebP's first frame to say)."""
    if fmt == "jpeg":
        return False
    head = bytes(data[:32])
    if fmt == "webp" and len(head) >= 25:
        chunk = head[12:16]
        if chunk == b"VP8 ":
            return False
        if chunk == b"VP8L" and head[20] == 0x2F:
            return bool(int.from_bytes(head[21:25], "little") >> 28 & 1)
        if chunk == b"VP8X":
            return bool(head[20] & 0x10)
        return None
    if fmt == "png" and head[12:16] == b"IHDR" and len(head) >= 26:
        if head[25] in (4, 6):  # grey + alpha, RGBA
            return True
        pos, n = 8, len(data)
        while pos + 8 <= n:  # chunks until the first IDAT: a tRNS makes a colour transparent
            kind = bytes(data[pos + 4 : pos + 8])
            if kind == b"tRNS":
                return True
            if kind in (b"IDAT", b"IEND"):
                return False
            pos += 12 + int.from_bytes(bytes(data[pos : pos + 4]), "big")
        return None
    return None


def _jpeg_size(data: bytes | bytearray | memoryview) -> tuple[int, int] | None:
    """The frame size from the first SOF marker, walking the segments before it."""
    pos, n = 2, len(data)
    while pos + 9 < n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # no length
            pos += 2
            continue
        length = int.from_bytes(bytes(data[pos + 2 : pos + 4]), "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h = int.from_bytes(bytes(data[pos + 5 : pos + 7]), "big")
            w = int.from_bytes(bytes(data[pos + 7 : pos + 9]), "big")
            return (w, h) if w and h else None
        if length < 2:
            return None
        pos += 2 + length
    return None


def image_problem(data: bytes | bytearray | memoryview, fmt: str) -> str | None:
    """Why ``data`` (already sniffed as ``fmt``) is not a whole image, or None when it looks whole.

    Structural checks only, no decoding (the client stays free of PIL): a PNG ends with its IEND
    chunk, a WebP's RIFF size fits the bytes, a JPEG has its end-of-image marker near the end.
    A body cut short in transit (truncated base64 that still decodes, a dropped stream) fails these.
    """
    n = len(data)
    if fmt == "png":
        if n < 8 + 25 + 12 or bytes(data[-12:])[4:8] != b"IEND":
            return "the PNG has no IEND chunk at its end (cut short)"
    elif fmt == "webp":
        riff_size = int.from_bytes(bytes(data[4:8]), "little")
        if n < 20 or riff_size + 8 > n:
            return f"the WebP declares {riff_size + 8:,} bytes but has {n:,} (cut short)"
    elif fmt == "jpeg":
        tail = bytes(data[-4096:]) if n > 4096 else bytes(data[2:])
        if b"\xff\xd9" not in tail:
            return "the JPEG has no end-of-image marker (cut short)"
    return None
