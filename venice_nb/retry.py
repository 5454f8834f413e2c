"""The retry decisions, as named functions the client's loop only calls (the shape of
openai-python's ``_should_retry`` / ``_calculate_retry_timeout``): ``should_retry`` (which
answers are worth another try) and ``delay`` (how long to wait first: what the server asked, else
backoff that is exponential, capped and jittered; urllib3's starts at 0 s for the first retry,
which hammers a struggling server). What the headers say is read in ``retry_headers.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .retry_headers import (
    BUDGET_RESET_HEADER,
    DEFAULT_MAX_RETRIES,
    LIMIT_HEADER,
    REMAINING_HEADER,
    REORDER_S,
    RESET_HEADER,
    error_budget_reset,
    parse_retry_after,
    reset_seconds,
    seconds_until_reset,
    server_delay,
)

__all__ = [
    "BUDGET_RESET_HEADER",
    "LIMIT_HEADER",
    "REMAINING_HEADER",
    "REORDER_S",
    "RESET_HEADER",
    "RETRY_STATUSES",
    "RetryCallback",
    "RetryEvent",
    "RetryPolicy",
    "delay",
    "error_budget_reset",
    "parse_retry_after",
    "reset_seconds",
    "seconds_until_reset",
    "server_delay",
    "should_retry",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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

    max_retries: int = DEFAULT_MAX_RETRIES
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
