"""Retry policy and a rate gate shared by every thread that uses one client.

The retry loop lives in the client rather than in urllib3's adapter, because a notebook needs what
adapter-level retries cannot give: a callback per retry ("retrying in 3 s (2/4)"), the Venice
rate-limit reset header (in whichever unit the server used), a bound on the total wait, and one
pause shared by all sweep workers after a 429 instead of each of them hammering the server. This
module holds the decisions, as named functions the loop only calls (the shape of openai-python's
``_should_retry`` / ``_calculate_retry_timeout``): ``should_retry`` (which answers are worth
another try) and ``delay`` (how long to wait first: what the server asked, else backoff that is
exponential, capped and jittered; urllib3's starts at 0 s for the first retry, which hammers a
struggling server), with ``Retry-After`` parsing and the reset header in every unit.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RESET_HEADER = "x-ratelimit-reset-requests"
REMAINING_HEADER = "x-ratelimit-remaining-requests"
LIMIT_HEADER = "x-ratelimit-limit-requests"


@dataclass(frozen=True)
class RetryEvent:
    """Told to the caller before each wait, so a UI can say what is happening."""

    attempt: int  # the retry about to happen, 1-based
    max_retries: int
    delay_s: float
    status: int | None  # None for a connection error
    reason: str

    def describe(self) -> str:
        return (
            f"{self.reason}; retrying in {self.delay_s:.1f} s ({self.attempt}/{self.max_retries})"
        )


RetryCallback = Callable[[RetryEvent], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``max_total_wait_s`` bounds the sum of all waits of one call."""

    max_retries: int = 4
    backoff_factor: float = 0.5
    backoff_max_s: float = 30.0
    jitter_s: float = 0.25
    max_total_wait_s: float = 90.0
    statuses: frozenset[int] = RETRY_STATUSES

    def __post_init__(self) -> None:
        for name in ("max_retries", "backoff_factor", "backoff_max_s", "jitter_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"RetryPolicy.{name} must be a number >= 0, got {value!r}")
        if not isinstance(self.max_total_wait_s, (int, float)) or self.max_total_wait_s < 0:
            raise ValueError("RetryPolicy.max_total_wait_s must be a number >= 0")
        never = {400, 401, 402, 403, 404, 413, 415, 422} & set(self.statuses)
        if never:
            raise ValueError(f"retrying {sorted(never)} would burn the key's error budget")

    def backoff(self, attempt: int) -> float:
        """Seconds before retry ``attempt`` (1-based) when the server named no wait: exponential,
        capped at ``backoff_max_s``, plus up to ``jitter_s`` of random jitter."""
        base = self.backoff_factor * (2 ** max(0, attempt - 1))
        return min(self.backoff_max_s, base) + random.uniform(0, self.jitter_s)


def seconds_until_reset(value: str | None, now: float | None = None) -> float | None:
    """The rate-limit reset header in seconds from now, whatever unit the server used.

    Sources disagree (venice-api.md §5): epoch milliseconds, epoch seconds, or a duration.
    Values above 1e12 are epoch ms, above 1e9 epoch s, anything smaller is seconds from now.
    """
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    now = time.time() if now is None else now
    if number > 1e12:
        seconds = number / 1000.0 - now
    elif number > 1e9:
        seconds = number - now
    else:
        seconds = number
    return max(0.0, seconds)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        now = time.time() if now is None else now
        seconds = when.timestamp() - now
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def server_delay(status: int, headers: Mapping[str, str]) -> float | None:
    """How long the server asked us to wait: ``Retry-After`` on any status, else (429 only) the
    rate-limit reset header. None when it did not say."""
    seconds = parse_retry_after(headers.get("Retry-After"))
    if seconds is None and status == 429:
        seconds = seconds_until_reset(headers.get(RESET_HEADER))
    return seconds


DEFAULT_POLICY = RetryPolicy()


def should_retry(
    status: int, headers: Mapping[str, str], *, policy: RetryPolicy = DEFAULT_POLICY
) -> bool:
    """Whether an HTTP error answer is worth another try: the policy's statuses (429 and the
    transient 5xx), never one that burns the key's error budget. ``headers`` complete the
    openai-python shape; Venice sends no retry hint today, so the status decides."""
    del headers
    return status in policy.statuses


def delay(
    attempt: int,
    headers: Mapping[str, str] | None,
    *,
    status: int | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): what the server asked (``server_delay``)
    plus jitter, so never less than it asked; else the policy's backoff. A dropped connection
    (``status`` None, no headers) always backs off."""
    asked = server_delay(status, headers) if status is not None and headers is not None else None
    if asked is None:
        return policy.backoff(attempt)
    return asked + random.uniform(0, policy.jitter_s)


class RateGate:
    """One per client: a pause every worker honours, set by a 429 or by an empty request budget."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self.limit: int | None = None
        self.remaining: int | None = None

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + max(0.0, seconds))

    def wait_s(self) -> float:
        with self._lock:
            return max(0.0, self._resume_at - time.monotonic())

    def observe(self, headers: Mapping[str, str], max_pause_s: float = 60.0) -> None:
        """Read the per-model request budget; when it is spent, pause until it resets."""
        try:
            if headers.get(LIMIT_HEADER) is not None:
                self.limit = int(headers[LIMIT_HEADER])
            if headers.get(REMAINING_HEADER) is not None:
                self.remaining = int(headers[REMAINING_HEADER])
        except ValueError:
            return
        if self.remaining == 0:
            reset = seconds_until_reset(headers.get(RESET_HEADER))
            if reset:
                self.pause(min(reset, max_pause_s))
