"""The retry decisions, as named functions the client's loop only calls (the shape of
openai-python's ``_should_retry`` / ``_calculate_retry_timeout``): ``should_retry`` (which
answers are worth another try) and ``delay`` (how long to wait first: what the server asked, else
backoff that is exponential, capped and jittered; urllib3's starts at 0 s for the first retry,
which hammers a struggling server), with ``Retry-After`` parsing and the reset header in every
unit. Light on purpose: the settings (read at ``%load_ext``) take ``RetryPolicy``'s default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RESET_HEADER = "x-ratelimit-reset-requests"
REMAINING_HEADER = "x-ratelimit-remaining-requests"
LIMIT_HEADER = "x-ratelimit-limit-requests"
REORDER_S = 0.25  # requests sent closer together than this may reach the server in any order
# The error budget (failed 4xx per key and model): its 429 carries this reset (Unix ms), no
# Retry-After. Retrying before it only burns the budget further (venice-api.md §0.8).
BUDGET_RESET_HEADER = "x-ratelimit-resets"


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
        import random  # stdlib, but not at %load_ext (settings imports this module)

        return min(self.backoff_max_s, base) + random.uniform(0, self.jitter_s)


def seconds_until_reset(value: str | None, now: float | None = None) -> float | None:
    """The rate-limit reset header in seconds from now, whatever unit the server used.

    Sources disagree (venice-api.md §5): epoch milliseconds, epoch seconds, or a duration.
    Values above 1e12 are epoch ms, above 1e9 epoch s, anything smaller is seconds from now.
    """
    seconds = reset_seconds(value, now)
    return None if seconds is None else max(0.0, seconds)


def reset_seconds(value: str | None, now: float | None = None) -> float | None:
    """The reset header in seconds from ``now`` in any unit: negative when an epoch moment has
    passed, a duration never below 0; None when absent or unreadable."""
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    now = time.time() if now is None else now
    if number > 1e12:
        return number / 1000.0 - now
    if number > 1e9:
        return number - now
    return max(0.0, number)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            import email.utils  # stdlib, but ~5 ms: only when a date is given

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


def error_budget_reset(
    status: int, headers: Mapping[str, str], now: float | None = None
) -> float | None:
    """When an error-budget 429 ends, as Unix seconds; None for any other answer.

    The error budget's 429 ("Too many failed attempts") carries ``x-ratelimit-resets`` and no
    ``Retry-After``; the overloaded 429 carries ``Retry-After: 30`` and is not this.
    """
    if status != 429 or parse_retry_after(headers.get("Retry-After")) is not None:
        return None
    left = seconds_until_reset(headers.get(BUDGET_RESET_HEADER), now)
    if left is None:
        return None
    return (time.time() if now is None else now) + left


def server_delay(status: int, headers: Mapping[str, str]) -> float | None:
    """How long the server asked us to wait: ``Retry-After`` on any status, else (429 only) the
    error budget's reset (``x-ratelimit-resets``), else the request limit's reset header. None
    when it did not say."""
    seconds = parse_retry_after(headers.get("Retry-After"))
    if seconds is None and status == 429:
        seconds = seconds_until_reset(headers.get(BUDGET_RESET_HEADER))
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
    import random

    return asked + random.uniform(0, policy.jitter_s)
