"""How a call reaches the server in a real environment: proxies and a dead server.

University and corporate machines set ``HTTP_PROXY``/``http_proxy`` (often with ``NO_PROXY`` left at
``localhost`` only). Loopback addresses never go through a proxy: the embedded preview server lives
in this very process, and a proxy elsewhere cannot reach it. For any other URL, requests' own rules
(``get_environ_proxies``, ``select_proxy``) decide, and ``proxy_for`` names the proxy and the
variable that set it, without credentials, so a failure through a proxy says so.

``CircuitBreaker``: after a few failed connections in a row to one server, stop sending for a short
while and fail at once, so a sweep against a dead server ends in bounded time whatever its size.
Every worker of a sweep shares the client, hence its breaker. The breaker protects one *round*
(a sweep: ``in_round``); a new round (a new cell, a panel click, a lone Python call) always tries
once, so a server restarted on the same port is used again at once.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import redact_url


def is_loopback(url: str) -> bool:
    """True for ``localhost``, ``*.localhost``, 127.0.0.0/8 and ``::1`` (no DNS lookup)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Proxy:
    """The proxy a URL goes through: shown without credentials, and the variable that set it."""

    url: str
    variable: str

    def describe(self) -> str:
        return f"through the proxy {self.url} (set by ${self.variable})"


def proxy_for(url: str) -> Proxy | None:
    """The environment's proxy for ``url`` as requests would pick it (None: direct)."""
    if is_loopback(url):
        return None
    from requests.utils import get_environ_proxies, select_proxy

    chosen = select_proxy(url, get_environ_proxies(url))
    if not chosen:
        return None
    scheme = urlsplit(url).scheme.lower()
    names = [f"{scheme}_proxy", "all_proxy"]
    # urllib (and so requests) lets the lowercase variable win over the uppercase one.
    candidates = [n for name in names for n in (name, name.upper())]
    variable = next((n for n in candidates if os.environ.get(n, "").strip() == chosen), None)
    return Proxy(redact_url(chosen), variable or f"{scheme.upper()}_PROXY")


_ROUND = threading.local()


@contextmanager
def in_round(token: object) -> Iterator[None]:
    """Calls made inside (on this thread) belong to the round ``token``: a sweep's workers share
    one, so the breaker stops the rest of a sweep once the server is found down."""
    previous = getattr(_ROUND, "token", None)
    _ROUND.token = token
    try:
        yield
    finally:
        _ROUND.token = previous


def current_round() -> object:
    """The round of the calling thread; a call outside any round is a round of its own."""
    token = getattr(_ROUND, "token", None)
    return token if token is not None else object()


class CircuitBreaker:
    """Opens after ``threshold`` failed connections in a row; while open, calls of the same round
    fail at once.

    A call of another round (a new cell, click or Python call), or any call after ``cooldown_s``,
    is let through (half-open); one more failure reopens it, any answer from the server (whatever
    its status) closes it. Thread-safe.
    """

    def __init__(self, threshold: int = 3, cooldown_s: float = 5.0) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._failures = 0
        self._opened_at: float | None = None
        self._opened_in: object = None
        self._reason = ""
        self._lock = threading.Lock()

    def blocked(self, round_token: object = None) -> str | None:
        """Why no call of ``round_token`` may be sent now, or None to go ahead."""
        with self._lock:
            if self._opened_at is None:
                return None
            left = self._opened_at + self.cooldown_s - time.monotonic()
            if left <= 0 or (round_token is not None and round_token is not self._opened_in):
                # half-open: let this round try; one more failure reopens for it
                self._opened_at = None
                self._opened_in = round_token
                self._failures = self.threshold - 1
                return None
            return (
                f"the last {self._failures} connections failed ({self._reason}); "
                f"venice_nb stops sending to a server that is down and tries again after "
                f"{max(left, 1):.0f} s or in a new cell"
            )

    def failed(self, reason: str, round_token: object = None) -> None:
        with self._lock:
            self._failures += 1
            self._reason = reason
            if self._failures >= self.threshold and self._opened_at is None:
                self._opened_at = time.monotonic()
                self._opened_in = round_token

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._opened_in = None
