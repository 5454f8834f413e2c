"""What the service's answer headers say about waiting: ``Retry-After`` (seconds or an HTTP date),
the request limit's reset header in whichever unit the server used, and the error budget's reset.

Pure functions and constants, no classes: ``errors.py`` (loaded at ``%load_ext``) reads them to
word a 429, and ``settings.py`` takes ``DEFAULT_MAX_RETRIES`` from here, so ``%load_ext`` does not
build ``retry.py``'s policy classes. ``retry.py`` decides with them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

DEFAULT_MAX_RETRIES = 4  # RetryPolicy's and the max_retries setting's default, declared once here
RESET_HEADER = "x-ratelimit-reset-requests"
REMAINING_HEADER = "x-ratelimit-remaining-requests"
LIMIT_HEADER = "x-ratelimit-limit-requests"
REORDER_S = 0.25  # requests sent closer together than this may reach the server in any order
# The error budget (failed 4xx per key and model): its 429 carries this reset (Unix ms), no
# Retry-After. Retrying before it only burns the budget further (venice-api.md §0.8).
BUDGET_RESET_HEADER = "x-ratelimit-resets"


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
