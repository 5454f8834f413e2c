"""Retries over real HTTP: what is retried, how long the client waits, when it gives up, and how.

Waits are measured with time.monotonic() around the call to check the client waited *at least*
what the server asked (behaviour, not speed). Server-asked waits are 1 s; backoff is made tiny.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest
from fault_server import FaultServer, Reply

from venice_nb import errors as E
from venice_nb.client import VeniceClient
from venice_nb.operations.generate import GenerateRequest
from venice_nb.ratelimit import RetryEvent, RetryPolicy
from venice_nb.server import LocalServer

FAST = RetryPolicy(max_retries=3, backoff_factor=0.01, backoff_max_s=0.05, jitter_s=0.0)
REQ = GenerateRequest(model="z-image-turbo", prompt="a gondola", width=64, height=64)


def make(
    server: LocalServer | FaultServer, policy: RetryPolicy = FAST, **kw: object
) -> VeniceClient:
    return VeniceClient(
        "sk-retry-test-key", base_url=server.base_url, retry=policy, read_timeout=10, **kw
    )  # type: ignore[arg-type]


def timed(call: Callable[[], object]) -> tuple[object, float]:
    started = time.monotonic()
    out = call()
    return out, time.monotonic() - started


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_429_with_retry_after_waits_at_least_that(local_server: LocalServer) -> None:
    events: list[RetryEvent] = []
    local_server.inject("429", retry_after=1)
    result, elapsed = timed(lambda: make(local_server).generate(REQ, on_retry=events.append))
    assert result.images and result.retries == 1  # type: ignore[attr-defined]
    assert elapsed >= 1.0
    assert local_server.generate_count == 2
    [event] = events
    assert (event.attempt, event.max_retries, event.status) == (1, 3, 429)
    assert event.delay_s >= 1.0 and "Rate limit exceeded" in event.reason
    assert "retrying in 1." in event.describe() and "(1/3)" in event.describe()


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
@pytest.mark.parametrize("unit", ["epoch_s", "epoch_ms", "seconds"])
def test_429_without_retry_after_uses_the_reset_header(
    local_server: LocalServer, unit: str
) -> None:
    events: list[RetryEvent] = []
    local_server.inject("429", retry_after=None, reset=1, reset_unit=unit)
    result, elapsed = timed(lambda: make(local_server).generate(REQ, on_retry=events.append))
    assert result.images and local_server.generate_count == 2  # type: ignore[attr-defined]
    assert "Retry-After" not in str(events)
    # The reset is a moment 1 s after the server answered: the whole call waits until then. The
    # announced delay is that moment minus the client's clock when it read the answer, so on a
    # busy machine it can be a little under 1 s for the epoch units.
    assert elapsed >= 0.99
    assert 0.5 <= events[0].delay_s < 3  # read in the right unit: not 1000x, not an epoch


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "html502", "drop"])
def test_transient_failures_are_retried(local_server: LocalServer, kind: str) -> None:
    events: list[RetryEvent] = []
    local_server.inject(kind, count=2)
    result = make(local_server).generate(REQ, on_retry=events.append)
    assert result.images and result.retries == 2
    assert local_server.generate_count == 3
    assert [e.attempt for e in events] == [1, 2]
    expected_status = None if kind == "drop" else (502 if kind == "html502" else int(kind))
    assert {e.status for e in events} == {expected_status}


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_503_honours_retry_after(local_server: LocalServer) -> None:
    local_server.inject("503", retry_after=1)
    _, elapsed = timed(lambda: make(local_server).generate(REQ))
    assert elapsed >= 1.0 and local_server.generate_count == 2


@pytest.mark.parametrize(
    ("kind", "cls", "text"),
    [
        ("500", E.ServerError, "Inference processing failed"),
        ("502", E.ServerError, "Bad gateway"),
        ("503", E.CapacityError, "at capacity"),
        ("504", E.ServerError, "timed out"),
        ("html502", E.ServerError, "HTML page titled '502 Bad Gateway'"),
        ("drop", E.APIConnectionError, "failed or was dropped"),
        ("429", E.RateLimitError, "Rate limit exceeded"),
    ],
)
def test_gives_up_after_the_bound_with_the_right_error(
    local_server: LocalServer, kind: str, cls: type, text: str
) -> None:
    local_server.inject(kind, count=10, **({"retry_after": 0.05} if kind == "429" else {}))
    events: list[RetryEvent] = []
    with pytest.raises(cls) as info:
        make(local_server).generate(REQ, on_retry=events.append)
    assert type(info.value) is cls
    assert local_server.generate_count == FAST.max_retries + 1
    assert [e.attempt for e in events] == [1, 2, 3]
    line = info.value.one_line()
    assert text in line and "after 3 retries" in line and "\n" not in line
    if cls is E.RateLimitError:
        assert info.value.retry_after == pytest.approx(0.05)


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_the_total_wait_bound_is_honoured(local_server: LocalServer) -> None:
    policy = RetryPolicy(max_retries=5, max_total_wait_s=1.5, jitter_s=0.0)
    local_server.inject("429", count=5, retry_after=1)
    started = time.monotonic()
    with pytest.raises(E.RateLimitError) as info:
        make(local_server, policy).generate(REQ)
    assert time.monotonic() - started < 1.5 + 1.0  # the bound, plus the requests themselves
    assert local_server.generate_count == 2  # one wait of 1 s fits, a second would not
    assert "retry budget" in info.value.one_line() and info.value.retry_after == pytest.approx(1.0)


def test_a_long_retry_after_is_reported_not_slept(local_server: LocalServer) -> None:
    local_server.inject("429", retry_after=3600)
    started = time.monotonic()
    with pytest.raises(E.RateLimitError) as info:
        make(local_server).generate(REQ)
    assert time.monotonic() - started < 5 and local_server.generate_count == 1
    assert info.value.retry_after == pytest.approx(3600, abs=1)
    assert "Try again in 3600 s" in info.value.one_line()


def test_elapsed_stays_within_the_bound(local_server: LocalServer) -> None:
    policy = RetryPolicy(max_retries=10, max_total_wait_s=1.0, backoff_factor=0.2, jitter_s=0.0)
    local_server.inject("500", count=20)
    started = time.monotonic()
    with pytest.raises(E.ServerError):
        make(local_server, policy).generate(REQ)
    waited = time.monotonic() - started
    assert waited < 1.0 + 2.0  # the waits sum to <= 1 s; the margin covers the requests
    assert local_server.generate_count < 11


NEVER = [400, 401, 402, 403, 404, 413, 415, 422]


@pytest.mark.parametrize("status", NEVER)
def test_client_errors_are_never_retried(status: int) -> None:
    with FaultServer() as fs:
        fs.push(
            Reply(status, {"error": f"status {status}"}, headers={"Retry-After": "0"}), Reply(200)
        )
        with pytest.raises(E.APIError) as info:
            make(fs).generate(REQ)
        assert fs.count == 1 and info.value.status == status
        assert isinstance(info.value, E.STATUS_ERRORS[status])


def test_local_server_400_401_402_404_are_sent_once() -> None:
    cases = [
        (REQ.with_(style_preset="Nope"), {}, E.BadRequestError),
        (REQ.with_(model="no-such-model"), {}, E.NotFoundError),
        (REQ, {"api_keys": ["someone-else"]}, E.AuthenticationError),
        (REQ, {"balance_usd": 0.0}, E.InsufficientBalanceError),
    ]
    for request, server_kw, cls in cases:
        with LocalServer(**server_kw) as server:
            with pytest.raises(cls):
                make(server).generate(request)
            assert server.generate_count == 1, cls


def test_client_level_and_call_level_callbacks_both_hear(local_server: LocalServer) -> None:
    heard: list[tuple[str, int]] = []
    client = make(local_server, on_retry=lambda e: heard.append(("client", e.attempt)))
    local_server.inject("500", count=2)
    client.generate(REQ, on_retry=lambda e: heard.append(("call", e.attempt)))
    assert heard == [("call", 1), ("client", 1), ("call", 2), ("client", 2)]


def test_cancel_during_a_retry_wait(local_server: LocalServer) -> None:
    cancel = threading.Event()
    local_server.inject("429", retry_after=20)
    policy = RetryPolicy(max_total_wait_s=60)
    started = time.monotonic()
    with pytest.raises(E.CancelledError):
        make(local_server, policy).generate(REQ, cancel=cancel, on_retry=lambda e: cancel.set())
    assert time.monotonic() - started < 10  # not the 20 s the server asked for
    assert local_server.generate_count == 1


def test_an_already_cancelled_call_sends_nothing(local_server: LocalServer) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(E.CancelledError):
        make(local_server).generate(REQ, cancel=cancel)
    assert local_server.request_count == 0


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    client = VeniceClient(
        "sk-x-123456789012", base_url=f"http://127.0.0.1:{port}/api/v1", retry=FAST
    )
    events: list[RetryEvent] = []
    with pytest.raises(E.APIConnectionError) as info:
        client.generate(REQ, on_retry=events.append)
    assert len(events) == 3 and "connection refused" in info.value.one_line()
    assert f"127.0.0.1:{port}" in info.value.one_line()


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_gate_makes_concurrent_callers_pause_together() -> None:
    """One 429 (Retry-After 1) seen by one thread pauses every thread sharing the client."""
    with LocalServer(latency=0.1) as server:
        client = make(server, RetryPolicy(max_retries=3, jitter_s=0.0))
        server.inject("429", retry_after=1)
        paused_at: list[float] = []
        client.on_retry = lambda e: paused_at.append(time.time())
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                for _ in range(3):
                    client.generate(REQ)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        threads[0].start()  # its first request takes the 429...
        time.sleep(0.05)  # ...and the others are mid-request (0.1 s latency) when it comes back
        for t in threads[1:]:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors and len(paused_at) == 1
        resume = paused_at[0] + 1.0
        times = sorted(r.time for r in server.received if r.path.endswith("/image/generate"))
        assert len(times) == 4 * 3 + 1
        started_later = [t for t in times if t > paused_at[0]]
        assert started_later, "requests must continue after the pause"
        # Nothing reached the server between the 429 and the end of the pause.
        assert all(t >= resume - 0.02 for t in started_later), [
            round(t - resume, 3) for t in started_later
        ]
