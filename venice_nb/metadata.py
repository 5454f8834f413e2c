"""Generation parameters embedded in saved image files, without re-encoding the pixels.

PNG gets an ``iTXt``-free, plain ``tEXt`` chunk before ``IEND``; other formats are returned
unchanged for now (the sidecar JSON always carries the same record).
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

KEYWORD = b"venice_nb"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def embed_metadata(data: bytes, fmt: str, info: dict[str, Any]) -> bytes:
    """``data`` with ``info`` (already key-free) embedded where the format allows."""
    if fmt == "png":
        end = data.rfind(b"IEND")
        if end >= 4:
            text = json.dumps(info, separators=(",", ":"), default=str).encode("latin-1", "replace")
            return data[: end - 4] + _png_chunk(b"tEXt", KEYWORD + b"\0" + text) + data[end - 4 :]
    return data
