"""Retry policy arithmetic, the reset header in all three units, Retry-After, and the RateGate."""

from __future__ import annotations

import email.utils
import threading
import time

import pytest

from venice_nb.ratelimit import (
    RateGate,
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


def test_gate_pause_is_shared_and_never_shortened() -> None:
    gate = RateGate()
    assert gate.wait_s() == 0
    gate.pause(0.3)
    gate.pause(0.1)  # a shorter pause never shortens a longer one
    assert 0.2 < gate.wait_s() <= 0.3
    waits: list[float] = []
    threads = [threading.Thread(target=lambda: waits.append(gate.wait_s())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(waits) == 2 and all(0.2 < w <= 0.3 for w in waits)  # every thread sees the pause
    time.sleep(0.35)
    assert gate.wait_s() == 0


def test_gate_observes_an_empty_budget() -> None:
    gate = RateGate()
    gate.observe({"x-ratelimit-limit-requests": "20", "x-ratelimit-remaining-requests": "3"})
    assert (gate.limit, gate.remaining, gate.wait_s()) == (20, 3, 0)
    gate.observe({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2"})
    assert 1.5 < gate.wait_s() <= 2
    gate2 = RateGate()
    gate2.observe(
        {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "600"},
        max_pause_s=1,
    )
    assert gate2.wait_s() <= 1
    gate2.observe({"x-ratelimit-remaining-requests": "many"})  # ignored, no crash


# ---- pacing: the request limit as a ceiling ---------------------------------------------------


def _headers(limit: int, remaining: int, reset_s: float) -> dict[str, str]:
    return {
        "x-ratelimit-limit-requests": str(limit),
        "x-ratelimit-remaining-requests": str(remaining),
        "x-ratelimit-reset-requests": str(reset_s),  # seconds from now: exact in a unit test
    }


def test_gate_holds_every_worker_when_the_budget_is_spent_and_learns_the_window() -> None:
    gate = RateGate()
    first, wait = gate.take("m")
    second, _ = gate.take("m")
    assert first is not None and second is not None and wait == 0
    gate.finish(first, _headers(2, 2, 0.4), 200)
    # one request was sent after the first one: of the server's "2 left" one is already used
    assert gate.take("m")[0] is not None
    assert gate.take("m") == (None, pytest.approx(0.02))  # spent; the answers will say more
    gate.finish(second, _headers(3, 0, 0.4), 200)
    ticket, wait = gate.take("m")
    assert ticket is None and 0.3 < wait <= 0.4  # held until the reset, every worker alike
    assert gate.take("other-model")[0] is not None  # limits are per model
    time.sleep(wait + RateGate.margin(0.4) + 0.02)  # the reset, and the margin after it
    # the window (~0.4 s, learned) allows three requests, then waits for the oldest's slot
    assert all(gate.take("m")[0] is not None for _ in range(3))
    ticket, wait = gate.take("m")
    assert ticket is None and 0.3 < wait <= 0.45 + RateGate.margin(0.45)


def test_gate_without_pacing_keeps_the_earlier_behaviour() -> None:
    gate = RateGate(pacing=False)
    tickets = [gate.take("m")[0] for _ in range(3)]
    assert all(tickets)  # nothing counted: only an answer with 0 left pauses
    gate.finish(tickets[0], _headers(2, 0, 0.3), 200)
    assert 0.2 < gate.wait_s() <= 0.3


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_a_sweep_larger_than_the_budget_runs_at_the_limit_with_no_429() -> None:
    """12 requests from 4 threads against 4 per second: three windows, zero 429s, and no window
    of 1 s on the server ever saw more than 4 (the gate paced itself from the headers)."""
    from concurrent.futures import ThreadPoolExecutor

    from venice_nb.client import VeniceClient
    from venice_nb.operations import GenerateRequest
    from venice_nb.server import LocalServer

    window = 1.0
    with LocalServer(
        latency=0.1, rate_limit_rpm=4, rate_window_s=window, reset_unit="epoch_ms"
    ) as server:
        client = VeniceClient("sk-test-123456789012", base_url=server.base_url)
        requests_ = [
            GenerateRequest(prompt="a fox", model="z-image-turbo", width=256, height=256, seed=i)
            for i in range(1, 13)
        ]
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(client.generate, requests_))
        assert [r.retries for r in results] == [0] * 12
        assert server.generate_count == 12  # not one 429
        arrivals = sorted(r.time for r in server.received if r.path.endswith("/image/generate"))
    for i in range(len(arrivals) - 4):
        assert arrivals[i + 4] - arrivals[i] >= window, "five requests inside one window"
    assert arrivals[-1] - arrivals[0] >= 2 * window  # three windows, not a burst
