"""What a route hands back to the HTTP layer: plain data, so faults can rewrite it before it is sent."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    """An answer waiting to be written.

    ``body`` may be an iterable of chunks (streamed lazily) when ``content_length`` declares the
    size up front; ``trickle_seconds`` spreads the body over time; ``drop`` closes the socket
    without answering at all.
    """

    status: int
    body: bytes | Iterable[bytes] = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    content_length: int | None = None
    trickle_seconds: float = 0.0
    drop: bool = False
    close: bool = False
    compressible: bool = False


def dumps(payload: Any) -> bytes:
    """Compact JSON, as the real API sends it. A lone surrogate (valid in a JSON request) is
    escaped as ``\\udXXX``, as JavaScript's JSON.stringify does, instead of failing to encode."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode("ascii")


def json_response(
    status: int, payload: Any, headers: dict[str, str] | None = None, *, compressible: bool = False
) -> Response:
    return Response(
        status,
        dumps(payload),
        "application/json; charset=utf-8",
        dict(headers or {}),
        compressible=compressible,
    )


class ApiError(Exception):
    """An error answer (status + Venice-shaped JSON body) raised from deep inside a route."""

    def __init__(
        self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = {"error": body} if isinstance(body, str) else body
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {self.body.get('error')}")

    def response(self) -> Response:
        return json_response(self.status, self.body, self.headers)
