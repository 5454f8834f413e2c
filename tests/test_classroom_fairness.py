"""The fair queue and the pacer: round-robin turns, a bound, and the upstream's own headers."""

from __future__ import annotations

import asyncio
import time

import pytest

from venice_nb.classroom.fairness import FairQueue, Pacer, QueueFull, reset_time


def test_reset_headers_in_every_unit():
    now = 1_800_000_000.0
    assert reset_time({"x-ratelimit-reset-requests": str(int((now + 2) * 1000))}, now) == now + 2
    assert reset_time({"x-ratelimit-reset-requests": str(now + 3)}, now) == now + 3
    assert reset_time({"retry-after": "30"}, now) == now + 30
    assert reset_time({}, now) is None


def test_the_pacer_never_counts_on_requests_still_in_flight():
    pacer = Pacer()
    assert pacer.wait_s(time.time()) == 0  # unknown: one probe
    probe = pacer.take()
    assert pacer.wait_s(time.time()) == float("inf")  # until the probe answers
    reset = str(int((time.time() + 5) * 1000))
    pacer.observe(
        probe, 200, {"x-ratelimit-remaining-requests": "3", "x-ratelimit-reset-requests": reset}
    )
    tickets = [pacer.take() for _ in range(3)]
    assert pacer.wait_s(time.time()) > 4
    # The last sent reached the upstream first: its "2 left" does not count the two in flight.
    pacer.observe(tickets[2], 200, {"x-ratelimit-remaining-requests": "2"})
    assert pacer.remaining == 0
    pacer.observe(tickets[0], 429, {"x-ratelimit-reset-requests": reset})
    assert pacer.remaining == 0 and pacer.upstream_429s == 1


def test_the_queue_serves_students_in_turn_and_is_bounded():
    async def scenario() -> list[str]:
        queue = FairQueue(per_student=2, max_in_flight=1)
        queue.pacer.remaining = 100
        order: list[str] = []

        async def one(name: str) -> None:
            ticket = await queue.turn(name)
            order.append(name)
            await asyncio.sleep(0)
            queue.done(ticket, 200, {"x-ratelimit-remaining-requests": "100"})

        tasks = [asyncio.create_task(one(n)) for n in ("eager", "eager", "eager", "amy", "bo")]
        await asyncio.sleep(0)  # each has asked: one eager in flight, the rest queued
        with pytest.raises(QueueFull):
            await queue.turn("eager")
        await asyncio.gather(*tasks)
        return order

    order = asyncio.run(scenario())
    assert order == ["eager", "eager", "amy", "bo", "eager"]  # one in flight, then in turn
