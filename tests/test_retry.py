"""retry.py: the retry policy's arithmetic and which statuses are tried again (the headers it
reads are tested in test_retry_headers.py)."""

from __future__ import annotations

import pytest

from venice_nb.retry import (
    RetryEvent,
    RetryPolicy,
    delay,
    should_retry,
)


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
