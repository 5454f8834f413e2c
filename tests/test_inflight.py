"""The same request in flight twice is sent once (inflight.py), unit and over real HTTP."""

from __future__ import annotations

import threading

import pytest
from factories import live_session

from venice_nb.errors import CancelledError
from venice_nb.inflight import InFlight
from venice_nb.operations.generate import GenerateRequest


def test_a_second_holder_of_a_key_waits_for_the_first_and_others_do_not() -> None:
    flights = InFlight()
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with flights.first("k"):
            order.append("first in")
            inside.set()
            threading.Event().wait(0.2)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    with flights.first("other"):  # another key does not wait
        order.append("other")
    with flights.first("k"):
        order.append("second in")
    thread.join(5)
    assert order == ["first in", "other", "first out", "second in"]
    assert len(flights) == 0


def test_a_waiter_cancelled_leaves_without_the_key() -> None:
    flights = InFlight()
    cancel = threading.Event()
    with flights.first("k"):
        cancel.set()
        with (
            pytest.raises(CancelledError, match="same request was in flight"),
            flights.first("k", cancel),
        ):
            pass  # pragma: no cover - never entered
    with flights.first("k"):  # released by its holder; the cancelled waiter took nothing
        pass


@pytest.mark.slow
def test_the_same_seeded_request_sent_twice_at_once_is_paid_once(local_server, tmp_path) -> None:
    session = live_session(local_server.base_url, tmp_path, "sk-inflight", cache_enabled=True,
                           cache_dir=str(tmp_path / "cache"))  # fmt: skip
    request = GenerateRequest(model="z-image-turbo", prompt="a kite", seed=77)
    session.generate(GenerateRequest(model="z-image-turbo", prompt="warm up", seed=1))
    local_server.reset_counters()
    local_server.latency = 0.5
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(session.generate(request))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert local_server.generate_count == 1  # one paid; the two others read its answer
    assert len(results) == 3 and sum(r.cached for r in results) == 2
    assert len({r.images[0].data for r in results}) == 1
