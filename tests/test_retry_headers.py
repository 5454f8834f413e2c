"""retry_headers.py: the reset header in all three units, Retry-After as seconds or a date, and
the delay the server asked for."""

from __future__ import annotations

import email.utils
import time

import pytest

from venice_nb.retry_headers import parse_retry_after, seconds_until_reset, server_delay

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
