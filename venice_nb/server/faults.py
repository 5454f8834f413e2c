"""Fault injection for client and reliability tests.

Faults are queued per server instance and consumed, one per request, by the next generate
requests (``/image/generate`` and ``/images/generations``). Three phases:

* pre:   the fault replaces the answer (429, overloaded, 5xx, html502, drop, malformed, huge_body);
* delay: the request waits, then is answered normally (stall);
* post:  the normal successful answer is rewritten (slow_body, no_images, bad_base64, not_image,
         wrong_content_type, evil_id, refused: the first ``images`` images left out and counted in
         ``content_policy_violation_count``, every one when ``images`` is not given). If the request itself fails (400, 401...), that error is
         sent and the fault is still used up.

Every sleep is bounded by ``MAX_SLEEP`` and interrupted when the server stops.
"""

from __future__ import annotations

import base64
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .responses import Response, dumps, json_response

MAX_SLEEP = 30.0
RESET_UNITS = ("epoch_s", "epoch_ms", "seconds")

PRE = frozenset(
    {"429", "overloaded", "500", "502", "503", "504", "html502", "drop", "malformed", "huge_body"}
)
DELAY = frozenset({"stall"})
POST = frozenset(
    {
        "slow_body",
        "no_images",
        "bad_base64",
        "not_image",
        "wrong_content_type",
        "evil_id",
        "refused",
    }
)
KINDS = PRE | DELAY | POST

_PARAMS: dict[str, set[str]] = {
    "429": {"retry_after", "reset", "reset_unit", "message"},
    "stall": {"seconds"},
    "slow_body": {"seconds", "chunks"},
    "huge_body": {"size"},
    "malformed": {"body"},
    "bad_base64": {"mode"},
    "evil_id": {"id"},
    "refused": {"images"},
}
OVERLOADED_MESSAGE = "The model is currently overloaded. Please try again later."
_ERROR_MESSAGES = {
    "429": "Rate limit exceeded",
    "overloaded": OVERLOADED_MESSAGE,
    "500": "Inference processing failed",
    "502": "Bad gateway: the upstream inference service did not answer",
    "503": "The model is at capacity. Please try again later.",
    "504": "Request timed out",
}
_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
NOT_IMAGE_BYTES = b"LOCAL PREVIEW fault 'not_image': these bytes are not an image.\n" * 8


@dataclass(frozen=True)
class Fault:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def phase(self) -> str:
        return "pre" if self.kind in PRE else "delay" if self.kind in DELAY else "post"


def _bounded(value: Any, default: float) -> float:
    seconds = default if value is None else float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite number >= 0, not {value!r}")
    return min(seconds, MAX_SLEEP)


class FaultQueue:
    """Thread-safe FIFO of pending faults; each entry is used by exactly one request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()

    def inject(self, kind: str, count: int = 1, **params: Any) -> None:
        kind = str(kind)
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(KINDS)}")
        if not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        allowed = _PARAMS.get(kind, set()) | {"message", "retry_after"}
        unknown = set(params) - allowed
        if unknown:
            raise ValueError(f"fault {kind!r} takes {sorted(allowed)}, not {sorted(unknown)}")
        if "seconds" in params:
            params["seconds"] = _bounded(params["seconds"], 0)
        if params.get("reset_unit", "epoch_s") not in RESET_UNITS:
            raise ValueError(f"reset_unit must be one of {RESET_UNITS}")
        if kind == "huge_body" and int(params.get("size", 1)) < 1:
            raise ValueError("size must be positive")
        with self._lock:
            self._queue.extend(Fault(kind, dict(params)) for _ in range(count))

    def pop(self) -> Fault | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)


def reset_header(seconds_from_now: float, unit: str, now: float | None = None) -> str:
    """``x-ratelimit-reset-requests`` in one of the units the wild has seen."""
    now = time.time() if now is None else now
    if unit == "epoch_ms":
        return str(math.ceil((now + seconds_from_now) * 1000))
    if unit == "seconds":
        return _number(max(0.0, seconds_from_now))
    return str(math.ceil(now + seconds_from_now))


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def delay_seconds(fault: Fault) -> float:
    return _bounded(fault.params.get("seconds"), 5.0)


def pre_response(fault: Fault, *, binary: bool, limit: int, reset_unit: str) -> Response:
    """The whole answer for a pre-phase fault."""
    p = fault.params
    kind = fault.kind
    headers: dict[str, str] = {}
    default_retry = {"429": 1, "overloaded": 30}.get(kind)  # live: overloaded says 30 s
    retry_after = p.get("retry_after", default_retry)
    if retry_after is not None:
        headers["Retry-After"] = _number(float(retry_after))
    if kind == "429":
        unit = p.get("reset_unit", reset_unit)
        reset = p.get("reset", p.get("retry_after") or 60)
        headers.update(
            {
                "x-ratelimit-limit-requests": str(limit),
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": reset_header(float(reset), unit),
            }
        )
    if kind in _ERROR_MESSAGES:
        status = 429 if kind == "overloaded" else int(kind)
        return json_response(status, {"error": p.get("message", _ERROR_MESSAGES[kind])}, headers)
    if kind == "html502":
        return Response(502, _HTML_502, "text/html", headers)
    if kind == "drop":
        return Response(0, drop=True)
    if kind == "malformed":
        body = p.get("body", b'{"id":"generate-image-malformed","images":["UklGRlYAAABXRUJQ')
        body = body.encode() if isinstance(body, str) else bytes(body)
        return Response(200, body, "application/json", headers)
    size = int(p.get("size", 300 * 1024 * 1024))
    ctype = "image/png" if binary else "application/json"
    return Response(
        200, _huge_stream(size, binary), ctype, headers, content_length=size, close=True
    )


def _huge_stream(size: int, binary: bool) -> Iterator[bytes]:
    """Exactly ``size`` bytes, produced on demand so the server never holds them."""
    head = b"\x89PNG\r\n\x1a\n" if binary else b'{"id":"generate-image-huge","images":["'
    head = head[:size]
    yield head
    left = size - len(head)
    chunk = (b"\x00" if binary else b"A") * 65536
    while left > 0:
        piece = chunk[: min(left, len(chunk))]
        left -= len(piece)
        yield piece


def _corrupt_b64(s: str, mode: str) -> str:
    if mode == "garbage":
        return "this is not base64!!"
    cut = max(4, (len(s) // 2) // 4 * 4)
    return s[: cut + 1]  # one char past a multiple of four: never decodable


def post_response(
    fault: Fault, resp: Response, payload: dict[str, Any] | None, image: bytes | None, openai: bool
) -> Response:
    """Rewrite a successful answer; ``payload`` is its JSON document (None in binary mode)."""
    p = fault.params
    kind = fault.kind
    if kind == "slow_body":
        resp.trickle_seconds = _bounded(p.get("seconds"), 2.0)
        resp.compressible = False
        return resp
    if kind == "wrong_content_type":
        return Response(200, image or b"", "text/plain", resp.headers)
    if payload is None:  # binary mode
        if kind == "not_image":
            return Response(200, NOT_IMAGE_BYTES, resp.content_type, resp.headers)
        return resp
    doc = dict(payload)
    key = "data" if openai else "images"
    if kind == "no_images":
        doc.pop(key, None)
    elif kind in ("bad_base64", "not_image"):
        good = base64.b64encode(NOT_IMAGE_BYTES).decode()
        if openai:
            field_name = "url" if "url" in doc[key][0] else "b64_json"
            prefix = doc[key][0][field_name].split(",", 1)[0] + "," if field_name == "url" else ""
            value = (
                good
                if kind == "not_image"
                else _corrupt_b64(doc[key][0][field_name], p.get("mode", "truncated"))
            )
            doc[key] = [{field_name: prefix + value}]
        else:
            doc[key] = [
                good if kind == "not_image" else _corrupt_b64(s, p.get("mode", "truncated"))
                for s in doc[key]
            ]
    elif kind == "evil_id":
        doc["id"] = str(p.get("id", "../../etc/passwd"))
    elif kind == "refused" and not openai:
        images = list(doc.get("images") or [])
        count = min(len(images), int(p.get("images", len(images))))
        doc["images"] = images[count:]
        doc["content_policy_violation_count"] = count
    return Response(
        200, dumps(doc), resp.content_type, resp.headers, compressible=resp.compressible
    )
