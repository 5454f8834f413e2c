"""retry.py: the retry policy's arithmetic, the reset header in all three units, Retry-After,
and which statuses are tried again."""

from __future__ import annotations

import email.utils
import time

import pytest

from venice_nb.retry import (
    RetryEvent,
    RetryPolicy,
    delay,
    parse_retry_after,
    seconds_until_reset,
    server_delay,
    should_retry,
)

NOW = 1_800_000_000.0  # a fixed "now" (2027) so the arithmetic is exact


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (str(int(NOW + 30)), 30.0),  # epoch seconds
        (str(int((NOW + 30) * 1000)), 30.0),  # epoch milliseconds
        ("30", 30.0),  # seconds from now
        ("2.5", 2.5),
        (" 45 ", 45.0),
        (str(int(NOW - 100)), 0.0),  # a reset in the past: no wait
        (str(int((NOW - 5) * 1000)), 0.0),
        ("0", 0.0),
    ],
)
def test_seconds_until_reset_in_every_unit(value: str, expected: float) -> None:
    assert seconds_until_reset(value, now=NOW) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, "", "soon", "nan-ish"])
def test_seconds_until_reset_unreadable(value: str | None) -> None:
    assert seconds_until_reset(value, now=NOW) is None


def test_seconds_until_reset_uses_the_clock_by_default() -> None:
    assert 9 < seconds_until_reset(str(int(time.time()) + 10)) <= 10  # type: ignore[operator]
    assert 9 < seconds_until_reset(str(int(time.time() * 1000) + 10_000)) <= 10  # type: ignore[operator]


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-4") == 0.0
    date = email.utils.formatdate(NOW + 20, usegmt=True)
    assert parse_retry_after(date, now=NOW) == pytest.approx(20.0)
    assert parse_retry_after("tomorrow") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("inf") is None


def test_server_delay_prefers_retry_after_and_reads_reset_only_on_429() -> None:
    reset = {"x-ratelimit-reset-requests": "7"}
    assert server_delay(429, {"Retry-After": "2", **reset}) == 2.0
    assert server_delay(429, reset) == 7.0
    assert server_delay(503, reset) is None  # a quota header says nothing about capacity
    assert server_delay(503, {"Retry-After": "4"}) == 4.0
    assert server_delay(500, {}) is None


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(backoff_factor=0.5, backoff_max_s=3.0, jitter_s=0.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    jittery = RetryPolicy(backoff_factor=1.0, jitter_s=0.5)
    values = {round(jittery.backoff(1), 6) for _ in range(50)}
    assert all(1.0 <= v <= 1.5 for v in values) and len(values) > 1


def test_policy_refuses_statuses_that_burn_the_error_budget() -> None:
    with pytest.raises(ValueError, match="error budget"):
        RetryPolicy(statuses=frozenset({429, 400}))
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        *[(status, True) for status in (429, 500, 502, 503, 504)],
        *[(status, False) for status in (400, 401, 402, 404, 413, 422, 501)],
    ],
)
def test_should_retry_only_what_may_pass_on_a_second_try(status: int, expected: bool) -> None:
    assert should_retry(status, {"Retry-After": "1"}) is expected


def test_should_retry_follows_the_policy_statuses() -> None:
    only_429 = RetryPolicy(statuses=frozenset({429}))
    assert should_retry(429, {}, policy=only_429)
    assert not should_retry(503, {}, policy=only_429)


def test_delay_is_at_least_what_the_server_asked_else_backoff() -> None:
    policy = RetryPolicy(backoff_factor=0.5, jitter_s=0.25)
    asked = delay(1, {"Retry-After": "4"}, status=503, policy=policy)
    assert 4.0 <= asked <= 4.25
    reset = delay(3, {"x-ratelimit-reset-requests": "6"}, status=429, policy=policy)
    assert 6.0 <= reset <= 6.25
    # a 503's quota header says nothing about capacity, and a dropped connection has no headers
    assert 0.5 <= delay(1, {"x-ratelimit-reset-requests": "6"}, status=503, policy=policy) <= 0.75
    assert 2.0 <= delay(3, None, policy=policy) <= 2.25


def test_retry_event_describes_itself() -> None:
    event = RetryEvent(2, 4, 3.04, 429, "HTTP 429: Rate limit exceeded")
    assert event.describe() == "HTTP 429: Rate limit exceeded; retrying in 3.0 s (2/4)"
