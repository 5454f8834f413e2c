"""ratelimit.py: the RateGate every worker of a client shares (the retry arithmetic it uses is
tested in test_retry.py)."""

from __future__ import annotations

import threading
import time

import pytest

from venice_nb.ratelimit import RateGate


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
