"""Mutable per-server state: counters, request log, balance, rate window. All thread-safe."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .faults import FaultQueue, reset_header

DEFAULT_REPORTED_LIMIT = 1000
RECEIVED_KEEP = 1000


@dataclass(frozen=True)
class ReceivedRequest:
    """What a test may inspect about a request. Deliberately holds no headers and no key."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    content_type: str | None
    has_auth: bool
    time: float = field(default_factory=time.time)

    def __getitem__(self, key: str) -> Any:  # record["body"] works as well as record.body
        return getattr(self, key)


@dataclass
class RateDecision:
    allowed: bool
    headers: dict[str, str]
    retry_after: int = 0


class RateWindow:
    """Sliding window (60 s unless ``window_s`` says) over generate requests; enforced only when
    ``rpm`` (requests per window) is set. Benchmarks scale the minute down, e.g. 12 per 10 s."""

    def __init__(self, rpm: int | None, reset_unit: str, window_s: float = 60.0) -> None:
        self.rpm = rpm
        self.reset_unit = reset_unit
        self.window_s = float(window_s)
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def hit(self) -> RateDecision:
        now = time.time()
        with self._lock:
            while self._hits and self._hits[0] <= now - self.window_s:
                self._hits.popleft()
            limit = self.rpm if self.rpm is not None else DEFAULT_REPORTED_LIMIT
            allowed = self.rpm is None or len(self._hits) < self.rpm
            if allowed:
                self._hits.append(now)
            remaining = max(0, limit - len(self._hits))
            reset_in = (self._hits[0] + self.window_s - now) if self._hits else self.window_s
        headers = {
            "x-ratelimit-limit-requests": str(limit),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": reset_header(reset_in, self.reset_unit, now),
        }
        retry = max(1, math.ceil(reset_in)) if not allowed else 0
        return RateDecision(allowed, headers, retry)

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()


class ErrorBudget:
    """The service's failed-attempts budget: more than ``limit`` failed 4xx (429 excluded) within
    ``window`` seconds per key and model locks that pair out until the oldest failure ages out.

    Keys are held as digests, never as text.
    """

    def __init__(self, limit: int = 50, window: float = 30.0) -> None:
        self.limit = limit
        self.window = float(window)
        self._fails: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _bucket(key: str, model: str) -> tuple[str, str]:
        return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16], model

    def _window(self, bucket: tuple[str, str], now: float) -> deque[float]:
        fails = self._fails.setdefault(bucket, deque())
        while fails and fails[0] <= now - self.window:
            fails.popleft()
        return fails

    def status(self, key: str, model: str) -> tuple[bool, dict[str, str]]:
        """(locked out?, x-ratelimit-remaining / x-ratelimit-resets headers)."""
        now = time.time()
        with self._lock:
            fails = self._window(self._bucket(key, model), now)
            locked = len(fails) > self.limit
            resets = (fails[0] + self.window) if fails else now
        return locked, self._headers(len(fails), resets)

    def fail(self, key: str, model: str) -> dict[str, str]:
        """Count one failed attempt; the headers after it."""
        now = time.time()
        with self._lock:
            fails = self._window(self._bucket(key, model), now)
            fails.append(now)
            return self._headers(len(fails), fails[0] + self.window)

    def _headers(self, used: int, resets: float) -> dict[str, str]:
        return {
            "x-ratelimit-remaining": str(max(0, self.limit - used)),
            "x-ratelimit-resets": str(math.ceil(resets * 1000)),
        }

    def clear(self) -> None:
        with self._lock:
            self._fails.clear()


class Ledger:
    """The account's balances, kept in micro-units so repeated $0.01 charges never drift.

    An account with DIEM is billed in DIEM (venice-api.md 0.10), otherwise in USD; the catalogue's
    prices carry both. Both balances go out in the headers as they were before the request.
    """

    def __init__(self, usd: float, diem: float = 0.0) -> None:
        self._micro = round(usd * 1_000_000)
        self._diem_micro = round(diem * 1_000_000)
        self.currency = "diem" if diem > 0 else "usd"
        self._lock = threading.Lock()

    @property
    def usd(self) -> float:
        return self._micro / 1_000_000

    @usd.setter
    def usd(self, value: float) -> None:
        with self._lock:
            self._micro = round(value * 1_000_000)

    @property
    def diem(self) -> float:
        return self._diem_micro / 1_000_000

    @diem.setter
    def diem(self, value: float) -> None:
        with self._lock:
            self._diem_micro = round(value * 1_000_000)
            self.currency = "diem" if value > 0 else "usd"

    def snapshot(self) -> tuple[str, str]:
        """Header strings for the balance before a request."""
        with self._lock:
            return _money(self._micro), _money(self._diem_micro)

    def reserve(self, amount: float) -> bool:
        """Take ``amount`` (USD, or DIEM on a DIEM account) if covered; False, nothing taken,
        otherwise."""
        cost = round(amount * 1_000_000)
        with self._lock:
            if self.currency == "diem":
                if cost > self._diem_micro:
                    return False
                self._diem_micro -= cost
                return True
            if cost > self._micro:
                return False
            self._micro -= cost
            return True

    def refund(self, amount: float) -> None:
        with self._lock:
            if self.currency == "diem":
                self._diem_micro += round(amount * 1_000_000)
            else:
                self._micro += round(amount * 1_000_000)


def _money(micro: int) -> str:
    text = f"{micro / 1_000_000:.6f}".rstrip("0")
    return text + "0" * max(0, 2 - len(text.split(".")[1]))


class ServerState:
    """Everything the handler threads share for one server instance."""

    def __init__(
        self,
        *,
        auth: bool,
        api_keys: Iterable[str] | None,
        balance_usd: float,
        latency: float,
        rate_limit_rpm: int | None,
        reset_unit: str,
        styles_shape: str,
        rate_window_s: float = 60.0,
        timing: str = "cumulative",
        pro: bool = False,
        error_budget: int = 50,
        balance_diem: float = 0.0,
    ) -> None:
        self.auth = auth
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.ledger = Ledger(balance_usd, balance_diem)
        self.latency = float(latency)
        self.rate = RateWindow(rate_limit_rpm, reset_unit, rate_window_s)
        self.budget = ErrorBudget(error_budget)
        self.styles_shape = styles_shape
        self.timing = timing
        self.pro = pro
        self.edge_models = False  # serve the local edge-case rows (offline, Pro/beta)
        self.faults = FaultQueue()
        self.stopping = threading.Event()
        self.log_requests = False
        self._lock = threading.Lock()
        self.request_count = 0
        self.generate_count = 0
        self.received: list[ReceivedRequest] = []

    def record(self, rec: ReceivedRequest, generate: bool) -> None:
        with self._lock:
            self.request_count += 1
            if generate:
                self.generate_count += 1
            self.received.append(rec)
            if len(self.received) > RECEIVED_KEEP:
                del self.received[: len(self.received) - RECEIVED_KEEP]

    def reset_counters(self) -> None:
        with self._lock:
            self.request_count = 0
            self.generate_count = 0
            self.received.clear()

    def sleep(self, seconds: float) -> None:
        """Bounded sleep that ends early when the server stops."""
        if seconds > 0:
            self.stopping.wait(seconds)

    def api_key(self, authorization: str | None) -> str | None:
        """The bearer key sent, or None when no usable Authorization header came (the 402 case)."""
        scheme, _, key = (authorization or "").strip().partition(" ")
        key = key.strip()
        return key if scheme.lower() == "bearer" and key else None

    def key_ok(self, authorization: str | None) -> bool:
        """Whether the Authorization header carries an accepted bearer key."""
        if not self.auth:
            return True
        key = self.api_key(authorization)
        return key is not None and (self.api_keys is None or key in self.api_keys)
