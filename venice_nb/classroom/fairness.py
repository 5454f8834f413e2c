"""A fair share of one key's rate limit: per-student queues served round-robin, paced by the
upstream's own rate-limit headers.

The whole class shares the teacher's key, so the gateway, not the students, decides who goes next:
each student has a bounded queue (full: a 429 with ``Retry-After``, nothing forwarded), and the
dispatcher takes one request from each student in turn. ``Pacer`` sends only while the upstream's
last word (``x-ratelimit-remaining-requests``, less what was sent since) leaves room; at zero it
waits for ``x-ratelimit-reset-requests`` and then probes with one request, so a 429 from the
upstream is never followed straight away by another.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

SAFETY_S = 0.05  # past the announced reset: clocks and rounding


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, TypeError, ValueError):
        return None


def reset_time(headers: Mapping[str, str], now: float) -> float | None:
    """When the upstream says the window frees a request (epoch seconds), from its headers."""
    for name in ("x-ratelimit-reset-requests", "x-ratelimit-resets"):
        value = _number(headers, name)
        if value is not None:
            if value > 1e11:  # epoch milliseconds (the live unit)
                return value / 1000.0
            if value > 1e8:  # epoch seconds
                return value
            return now + value  # seconds from now
    after = _number(headers, "retry-after")
    return now + after if after is not None else None


class Pacer:
    """How many requests the key may send now, as the upstream last reported it."""

    def __init__(self) -> None:
        self.remaining: int | None = None  # None: unknown, send one probe at a time
        self.reset_at = 0.0
        self.sent = 0  # tickets handed out
        self.in_flight = 0
        self.upstream_429s = 0

    def wait_s(self, now: float) -> float:
        """0 when a request may go now; else seconds until it may (inf: wait for an answer)."""
        if self.remaining is None:
            return 0.0 if self.in_flight == 0 else float("inf")
        if self.remaining > 0:
            return 0.0
        if now >= self.reset_at + SAFETY_S:
            self.remaining = None  # the window moved: probe
            return 0.0 if self.in_flight == 0 else float("inf")
        return self.reset_at + SAFETY_S - now

    def take(self) -> int:
        if self.remaining is not None:
            self.remaining -= 1
        self.in_flight += 1
        self.sent += 1
        return self.sent - 1

    def observe(self, ticket: int, status: int, headers: Mapping[str, str]) -> None:
        """Learn from an answer (or a dropped request: status 0, no headers).

        Requests sent at once may reach the upstream in any order, so an answer's
        ``remaining`` may not yet count the others still in flight: they are taken off it, and
        between probes the estimate only goes down. It goes up only through a probe sent alone
        after the announced reset, whose answer counts everything before it."""
        self.in_flight = max(0, self.in_flight - 1)
        now = time.time()
        reset = reset_time(headers, now)
        if status == 429:
            self.upstream_429s += 1
            self.remaining = 0
            self.reset_at = max(self.reset_at, reset or now + 1.0)
            return
        left = _number(headers, "x-ratelimit-remaining-requests")
        if left is None:
            if self.remaining is None and status:
                self.remaining = 4  # an upstream that says nothing: a few at a time
            return
        estimate = max(0, int(left) - self.in_flight)
        self.remaining = estimate if self.remaining is None else min(self.remaining, estimate)
        self.reset_at = max(self.reset_at, reset or now + 1.0)


class QueueFull(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__("queue full")
        self.retry_after_s = retry_after_s


@dataclass
class _Waiter:
    future: asyncio.Future[int]


class FairQueue:
    """Round-robin over students with work waiting; at most ``max_in_flight`` upstream at once."""

    def __init__(self, per_student: int = 8, max_in_flight: int = 16) -> None:
        self.per_student = per_student
        self.max_in_flight = max_in_flight
        self.pacer = Pacer()
        self._queues: dict[str, deque[_Waiter]] = {}
        self._ring: deque[str] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self.dispatched: dict[str, int] = {}

    def waiting(self, student: str) -> int:
        return len(self._queues.get(student, ()))

    async def turn(self, student: str, *, again: bool = False) -> int:
        """Wait for this student's turn; a ticket for ``done``. ``again``: a request the upstream
        turned away (429) goes back to the front of its student's queue, past the bound."""
        queue = self._queues.setdefault(student, deque())
        if not again and len(queue) >= self.per_student:
            raise QueueFull(self._retry_after())
        waiter = _Waiter(asyncio.get_running_loop().create_future())
        if again:
            queue.appendleft(waiter)
        else:
            queue.append(waiter)
        if student not in self._ring:
            self._ring.append(student)
        self._pump()
        try:
            return await waiter.future
        except asyncio.CancelledError:
            if waiter in queue:
                queue.remove(waiter)
            elif waiter.future.done() and not waiter.future.cancelled():
                self.done(waiter.future.result(), 0, {})  # granted, then abandoned
            raise

    def done(self, ticket: int, status: int, headers: Mapping[str, str]) -> None:
        self.pacer.observe(ticket, status, headers)
        self._pump()

    def _retry_after(self) -> float:
        wait = self.pacer.wait_s(time.time())
        return 1.0 if wait == float("inf") else max(1.0, wait)

    def _pump(self) -> None:
        while self._ring and self.pacer.in_flight < self.max_in_flight:
            wait = self.pacer.wait_s(time.time())
            if wait > 0:
                if wait != float("inf") and self._timer is None:
                    loop = asyncio.get_running_loop()
                    self._timer = loop.call_later(wait, self._wake)
                return
            student = self._ring.popleft()
            queue = self._queues[student]
            waiter = queue.popleft() if queue else None
            if queue:
                self._ring.append(student)
            if waiter is None or waiter.future.done():
                continue
            waiter.future.set_result(self.pacer.take())
            self.dispatched[student] = self.dispatched.get(student, 0) + 1

    def _wake(self) -> None:
        self._timer = None
        self._pump()
