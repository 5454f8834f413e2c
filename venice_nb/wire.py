"""Reading response bodies: bounded in size, and light on memory for big image payloads.

A JSON response with four 2048x2048 PNGs is ~100 MB of base64. ``json.loads`` on it would hold the
body, a decoded copy of it and the parsed strings at once (about 4x the images). Instead the
``images`` strings are base64-decoded in place in the body (``images_stream.ImagesStream``, which
the client runs while the body arrives) and only the small rest is parsed with ``json``. Anything
unusual falls back to ``json.loads`` on the body as it arrived.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

import requests

from .errors import InvalidResponseError
from .images_stream import ImagesStream, strict_b64decode

CHUNK = 1 << 20


class Watcher(Protocol):
    """Looks at the body as it fills (``ImagesStream`` decodes images in it on the way)."""

    def advance(self, buf: bytearray, filled: int) -> None: ...


def read_body(
    resp: requests.Response,
    max_bytes: int,
    deadline_s: float | None = None,
    *,
    watcher: Watcher | None = None,
) -> bytearray:
    """The whole body, refused as soon as it is known to pass ``max_bytes``.

    A read timeout bounds each wait for data, not the whole transfer: a server dripping one byte a
    second would never trip it. ``deadline_s`` bounds the whole transfer; the body is read with
    ``read1`` (one socket read per call) so the deadline is checked as bytes arrive. A ``watcher``
    is shown ``buf[:filled]`` after each read.
    """
    declared = resp.headers.get("Content-Length", "").strip()
    encoded = resp.headers.get("Content-Encoding", "identity").strip().lower() not in (
        "",
        "identity",
    )
    if declared.isdigit() and int(declared) > max_bytes:
        resp.close()
        raise InvalidResponseError(
            f"the server announced a {int(declared):,}-byte response, over the "
            f"{max_bytes:,}-byte limit; refused without reading it",
            hint="Raise max_response_bytes if such large images are expected.",
        )
    # Preallocate only what is declared (never more than the bound) to avoid regrowth copies.
    size_hint = int(declared) if declared.isdigit() and not encoded else 0
    buf = bytearray(size_hint)
    filled = 0
    started = time.monotonic()
    raw = resp.raw
    while True:
        chunk = _read1(raw)
        if not chunk:
            break
        end = filled + len(chunk)
        if end > max_bytes:
            resp.close()
            raise InvalidResponseError(
                f"the response passed the {max_bytes:,}-byte limit; refused",
                hint="Raise max_response_bytes if such large images are expected.",
            )
        if end <= len(buf):
            buf[filled:end] = chunk
        else:
            del buf[filled:]
            buf += chunk
        filled = end
        if watcher is not None:
            watcher.advance(buf, filled)
        if deadline_s is not None and time.monotonic() - started > deadline_s:
            resp.close()
            raise BodyTimeout(
                f"the response body was still arriving after {deadline_s:g} s "
                f"({filled:,} bytes so far); gave up"
            )
    del buf[filled:]
    if size_hint and filled < size_hint:
        raise InvalidResponseError(
            f"the response ended after {filled:,} of the {size_hint:,} announced bytes"
        )
    return buf


def _read1(raw: Any) -> bytes:
    """One socket read, with urllib3's errors turned into the ``requests`` ones (as iter_content)."""
    from urllib3 import exceptions as u3

    try:
        return raw.read1(CHUNK, decode_content=True)
    except u3.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(str(exc)) from None
    except u3.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(str(exc)) from None
    except u3.SSLError as exc:
        raise requests.exceptions.SSLError(str(exc)) from None
    except (u3.ProtocolError, OSError) as exc:
        raise requests.exceptions.ChunkedEncodingError(str(exc)) from None


class BodyTimeout(InvalidResponseError):
    """The body kept trickling past the transfer deadline (the client maps it to a timeout)."""


def decode_b64(data: str | bytes | memoryview, where: str) -> bytes:
    """Strict base64 (no whitespace or stray characters); InvalidResponseError naming ``where``."""
    if isinstance(data, str):
        try:
            data = data.encode("ascii")
        except UnicodeEncodeError:
            raise InvalidResponseError(f"{where} is not valid base64 (non-ASCII text)") from None
    try:
        return strict_b64decode(data)
    except ValueError as exc:  # binascii.Error is one
        reason = str(exc).split(":")[0]
        raise InvalidResponseError(
            f"{where} is not valid base64 ({reason}); the image data was cut short or garbled"
        ) from None


_INVALID = object()


def _loads(body: bytes | bytearray) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return _INVALID


def parse_images_json(body: bytearray, key: str = "images") -> tuple[dict[str, Any], list[bytes]]:
    """(the JSON object without its image strings, the decoded images) of a generate response.

    The images are decoded in place: ``body`` is consumed (the client drops it right after)."""
    if key == "images":  # the same in-place decoder that reads a body as it arrives
        stream = ImagesStream()
        stream.advance(body, len(body))
        body, fast = stream.finish(body)
        if fast is not None:
            return fast
    obj = _loads(body)
    if obj is _INVALID:  # raised outside the except: no JSONDecodeError (holding the body) chained
        raise InvalidResponseError(f"the server's answer is not valid JSON ({len(body):,} bytes)")
    if not isinstance(obj, dict):
        raise InvalidResponseError("the server's answer is JSON but not an object")
    raw = obj.pop(key, None)
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise InvalidResponseError(f"the server's answer has no '{key}' list of base64 strings")
    return obj, [decode_b64(s, f"image {i + 1}") for i, s in enumerate(raw)]
