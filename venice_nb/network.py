"""How a call reaches the server in a real environment: proxies and a dead server.

University and corporate machines set ``HTTP_PROXY``/``http_proxy`` (often with ``NO_PROXY`` left at
``localhost`` only). Loopback addresses never go through a proxy: the embedded preview server lives
in this very process, and a proxy elsewhere cannot reach it. For any other URL, requests' own rules
(``get_environ_proxies``, ``select_proxy``) decide, and ``proxy_for`` names the proxy and the
variable that set it, without credentials, so a failure through a proxy says so.

``CircuitBreaker``: after a few failed connections in a row to one server, stop sending for a short
while and fail at once, so a sweep against a dead server ends in bounded time whatever its size.
Every worker of a sweep shares the client, hence its breaker.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
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


class CircuitBreaker:
    """Opens after ``threshold`` failed connections in a row; while open, calls fail at once.

    After ``cooldown_s`` one more try is allowed through; any answer from the server (whatever its
    status) closes the breaker again. Thread-safe.
    """

    def __init__(self, threshold: int = 3, cooldown_s: float = 5.0) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._failures = 0
        self._opened_at: float | None = None
        self._reason = ""
        self._lock = threading.Lock()

    def blocked(self) -> str | None:
        """Why no call may be sent now, or None to go ahead."""
        with self._lock:
            if self._opened_at is None:
                return None
            left = self._opened_at + self.cooldown_s - time.monotonic()
            if left <= 0:  # half-open: let one try through; one more failure reopens
                self._opened_at = None
                self._failures = self.threshold - 1
                return None
            return (
                f"the last {self._failures} connections failed ({self._reason}); "
                f"venice_nb stops sending to a server that is down and tries again after "
                f"{max(left, 1):.0f} s"
            )

    def failed(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            self._reason = reason
            if self._failures >= self.threshold and self._opened_at is None:
                self._opened_at = time.monotonic()

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
