"""Reading response bodies: bounded in size, and light on memory for big image payloads.

A JSON response with four 2048x2048 PNGs is ~100 MB of base64. ``json.loads`` on it would hold the
body, a decoded copy of it and the parsed strings at once (about 4x the images). Instead the
``images`` array is cut out of the raw bytes and each entry is base64-decoded straight from a
memoryview; the small rest is parsed with ``json``. Anything unusual falls back to ``json.loads``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import requests

from .errors import InvalidResponseError

CHUNK = 1 << 20
IMAGES_KEY = re.compile(rb'"images"\s*:\s*\[')


def read_body(resp: requests.Response, max_bytes: int) -> bytearray:
    """The whole body, refused as soon as it is known to pass ``max_bytes``."""
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        resp.close()
        raise InvalidResponseError(
            f"the server announced a {int(declared):,}-byte response, over the "
            f"{max_bytes:,}-byte limit; refused without reading it"
        )
    buf = bytearray(int(declared)) if declared and declared.isdigit() else bytearray()
    view_len = 0
    for chunk in resp.iter_content(CHUNK):
        end = view_len + len(chunk)
        if end > max_bytes:
            resp.close()
            raise InvalidResponseError(f"the response passed the {max_bytes:,}-byte limit; refused")
        if end <= len(buf):
            buf[view_len:end] = chunk
        else:
            del buf[view_len:]
            buf += chunk
        view_len = end
    del buf[view_len:]
    return buf


def _b64(data: bytes | memoryview, where: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidResponseError(f"{where} is not valid base64 ({exc})") from None


def parse_images_json(body: bytearray, key: str = "images") -> tuple[dict[str, Any], list[bytes]]:
    """(the JSON object without its image strings, the decoded images) of a generate response."""
    fast = _cut_images(body) if key == "images" else None
    if fast is not None:
        return fast
    try:
        obj = json.loads(body)
    except ValueError:
        raise InvalidResponseError(
            f"the server's answer is not valid JSON ({len(body):,} bytes)"
        ) from None
    if not isinstance(obj, dict):
        raise InvalidResponseError("the server's answer is JSON but not an object")
    raw = obj.pop(key, None)
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise InvalidResponseError(f"the server's answer has no '{key}' list of base64 strings")
    return obj, [_b64(s.encode("ascii", "replace"), f"image {i + 1}") for i, s in enumerate(raw)]


def _cut_images(body: bytearray) -> tuple[dict[str, Any], list[bytes]] | None:
    match = IMAGES_KEY.search(body)
    if match is None:
        return None
    view = memoryview(body)
    spans: list[tuple[int, int]] = []
    pos = match.end()
    n = len(body)
    while True:
        while pos < n and body[pos] in b" \t\r\n,":
            pos += 1
        if pos >= n:
            return None
        if body[pos] == ord("]"):
            break
        if body[pos] != ord('"'):
            return None
        end = body.find(b'"', pos + 1)
        if end < 0 or body.find(b"\\", pos + 1, end) >= 0:
            return None  # escapes: let json handle it
        spans.append((pos + 1, end))
        pos = end + 1
    rest = bytes(body[: match.end() - 1]) + b"[]" + bytes(body[pos + 1 :])
    try:
        obj = json.loads(rest)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("images") != [] or not spans:
        return None  # the match was not the top-level array
    del obj["images"]
    images = [_b64(view[s:e], f"image {i + 1}") for i, (s, e) in enumerate(spans)]
    view.release()
    return obj, images
