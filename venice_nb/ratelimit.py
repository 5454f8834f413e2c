"""The rate gate shared by every thread that uses one client.

The retry loop lives in the client rather than in urllib3's adapter, because a notebook needs what
adapter-level retries cannot give: a callback per retry ("retrying in 3 s (2/4)"), the Venice
rate-limit reset header (in whichever unit the server used), a bound on the total wait, and one
pause shared by all sweep workers after a 429 instead of each of them hammering the server. The
decisions (``should_retry``, ``delay``, ``RetryPolicy``) live in ``retry.py`` and are importable
from here too; this module holds ``RateGate``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping

from .retry import (
    BUDGET_RESET_HEADER,
    DEFAULT_POLICY,
    LIMIT_HEADER,
    REMAINING_HEADER,
    REORDER_S,
    RESET_HEADER,
    RETRY_STATUSES,
    RetryCallback,
    RetryEvent,
    RetryPolicy,
    delay,
    error_budget_reset,
    parse_retry_after,
    reset_seconds,
    seconds_until_reset,
    server_delay,
    should_retry,
)

__all__ = [  # the retry decisions stay importable from here for existing callers
    "BUDGET_RESET_HEADER", "DEFAULT_POLICY", "LIMIT_HEADER", "REMAINING_HEADER", "RESET_HEADER",
    "RETRY_STATUSES", "RateGate", "RetryCallback", "RetryEvent", "RetryPolicy", "Ticket", "delay",
    "error_budget_reset", "parse_retry_after", "seconds_until_reset", "server_delay",
    "should_retry",
]  # fmt: skip


class Ticket:
    """One request let through by ``RateGate.take``: its order, its model and when it went."""

    __slots__ = ("in_flight_before", "model", "sent_at", "seq")

    def __init__(self, model: str, seq: int, sent_at: float, in_flight_before: int = 0) -> None:
        self.model, self.seq, self.sent_at = model, seq, sent_at
        self.in_flight_before = in_flight_before  # these may reach the server after this one

    def __repr__(self) -> str:
        return f"Ticket(model={self.model!r}, seq={self.seq})"


class _Budget:
    """What one model's request limit looks like from here (all times ``time.monotonic``)."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.tokens: int | None = None  # requests left now, as far as we know (None: unknown)
        self.hold_until = 0.0  # the budget is spent: nothing goes before this
        self.window_s: float | None = None  # the limit's window, learned when first spent
        self.readings: deque[float] = deque(maxlen=8)  # its latest estimates; the largest wins
        self.seq = 0  # tickets given
        self.freshest = 0  # the ticket whose answer last set ``tokens``
        self.in_flight = 0
        self.slack_factor = 1.0  # doubled by each 429 met while pacing (the send times vary more)
        # (seq, sent_at), in order; and each answered request's round trip
        self.sends: deque[tuple[int, float]] = deque(maxlen=4096)
        self.round_trips: dict[int, float] = {}
        self.fastest = float("inf")


class RateGate:
    """One per client, shared by every worker: the request limit as a ceiling, never a wall.

    ``take`` lets a request go or says how long to wait; ``finish`` hands back what the answer
    said. Per model (the limits are per model), the gate counts the requests it let through
    against ``x-ratelimit-remaining-requests`` (adjusted for those sent after the answered one),
    and when the budget is spent holds every worker until ``x-ratelimit-reset-requests``. That
    moment teaches it the limit's window (reset time minus the send time of the oldest request
    in it); from then on it keeps at most ``limit`` requests in any window, releasing each slot
    when its request leaves the window, so a sweep larger than the budget runs at the limit's
    pace with no 429. A 429 anyway (another client on the key) still pauses everyone
    (``pause``). ``pacing=False`` is the earlier behaviour (pause only when an answer says 0
    remain, or after a 429), kept for the benchmark's baseline.
    """

    def __init__(self, *, pacing: bool = True, max_pause_s: float = 60.0) -> None:
        self.pacing = pacing
        self.max_pause_s = max_pause_s
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self._budgets: dict[str, _Budget] = {}
        self._lock_reason: str | None = None
        self.limit: int | None = None  # the last answer's headers, for display
        self.remaining: int | None = None

    def pause(self, seconds: float) -> None:
        """Hold every request, of every model, ``seconds`` from now (a 429 asked for it)."""
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + max(0.0, seconds))

    def lock_out(self, seconds: float, reason: str) -> None:
        """Hold every worker for ``seconds`` (the error budget's reset) and remember why, so a
        call that cannot wait that long stops without sending instead of burning the budget."""
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + max(0.0, seconds))
            self._lock_reason = reason

    def lock_reason(self) -> str | None:
        """Why the gate is locked out, while it is; None otherwise."""
        with self._lock:
            if self._resume_at <= time.monotonic():
                self._lock_reason = None
            return self._lock_reason

    def wait_s(self) -> float:
        with self._lock:
            return max(0.0, self._resume_at - time.monotonic())

    @staticmethod
    def margin(window_s: float) -> float:
        """Slack after a slot's computed release: the send-to-arrival time varies a little."""
        return 0.2 + 0.02 * window_s

    def take(self, model: str | None = None) -> tuple[Ticket | None, float]:
        """``(ticket, 0)``: send now; ``(None, seconds)``: ask again after waiting that long."""
        with self._lock:
            now = time.monotonic()
            if self._resume_at > now:
                return None, self._resume_at - now
            key = model or ""
            b = self._budgets.setdefault(key, _Budget())
            if self.pacing:
                wait = self._budget_wait(b, now)
                if wait > 0:
                    return None, wait
            b.seq += 1
            # Requests sent just before this one may still reach the server after it.
            close = sum(1 for q, t in b.sends if now - t < REORDER_S and q not in b.round_trips)
            ticket = Ticket(key, b.seq, now, close)
            b.in_flight += 1
            if b.tokens is not None:
                b.tokens -= 1
            b.sends.append((b.seq, now))
            return ticket, 0.0

    def _budget_wait(self, b: _Budget, now: float) -> float:
        if b.hold_until > now:
            return b.hold_until - now
        if b.window_s is not None and b.limit:
            horizon = b.window_s + self.margin(b.window_s) * b.slack_factor
            while b.sends and b.sends[0][1] <= now - horizon - self._late(b, b.sends[0][0]):
                b.round_trips.pop(b.sends.popleft()[0], None)
            if len(b.sends) < b.limit:
                return 0.0
            seq, sent = b.sends[-b.limit]
            return max(0.001, sent + horizon + self._late(b, seq) - now)
        if b.tokens is not None and b.tokens <= 0 and b.in_flight > 0:
            return 0.02  # spent as far as we know; the answers in flight will say more
        return 0.0

    @staticmethod
    def _late(b: _Budget, seq: int) -> float:
        """How much later than the fastest this request may have been counted: a slow round
        trip (a new connection, a busy machine) is mostly a slow way to the server, so its slot
        is released that much later."""
        rtt = b.round_trips.get(seq)
        return 0.0 if rtt is None else max(0.0, rtt - b.fastest)

    def finish(
        self, ticket: Ticket | None, headers: Mapping[str, str] | None, status: int | None = None
    ) -> None:
        """After an attempt: ``headers`` of the answer (None when there was none). A 429 was not
        counted by the server, so its ticket leaves the count; its pause comes from ``pause``."""
        if ticket is None:
            return
        with self._lock:
            b = self._budgets.setdefault(ticket.model, _Budget())
            b.in_flight = max(0, b.in_flight - 1)
            if headers is not None and self.pacing:
                rtt = time.monotonic() - ticket.sent_at
                if len(b.round_trips) >= 4096:  # only those still in a window matter
                    b.round_trips.clear()
                b.round_trips[ticket.seq] = rtt
                b.fastest = min(b.fastest, rtt)
            if status == 429:
                b.sends = deque(((q, t) for q, t in b.sends if q != ticket.seq), maxlen=4096)
                if b.window_s is not None:
                    b.slack_factor = min(b.slack_factor * 2, 8.0)
                return
            if headers is None:
                return
            limit, remaining = (
                _int_header(headers, LIMIT_HEADER),
                _int_header(headers, REMAINING_HEADER),
            )
            if limit is not None:
                b.limit = self.limit = limit
            if remaining is None:
                return
            self.remaining = remaining
            if not self.pacing:
                self._legacy_hold(remaining, headers)
                return
            if ticket.seq >= b.freshest:  # answers overtake each other: the newest request counts
                b.freshest = ticket.seq
                # Not in this answer's count, perhaps: those sent after it, and those still on
                # their way when it was sent.
                later = b.seq - ticket.seq + ticket.in_flight_before
                b.tokens = remaining - later
            if remaining > 0:
                return  # if that leaves none, ``take`` waits for the answers in flight
            # The count was full when this request arrived: nothing frees before the reset
            # (which may have passed already while the answer was on its way).
            reset_at = _reset_at(headers.get(RESET_HEADER), self.max_pause_s)
            if reset_at is None:
                return
            b.hold_until = max(b.hold_until, reset_at)
            b.tokens = None  # after the reset: what the window allows (or the next answer says)
            # The oldest request in the server's count is the one whose leaving is the reset:
            # ``limit - remaining`` requests were counted up to and including this one.
            if b.limit and b.sends:
                # Answers can overtake each other, so the count may point before our first
                # request: then our earliest send stands in (a longer window, never shorter).
                oldest = ticket.seq - (b.limit - remaining) + 1
                sent = next((t for q, t in b.sends if q >= oldest), b.sends[0][1])
                if reset_at > sent:
                    # Each reading is the window plus that request's way to the server's count;
                    # the largest recent one covers how much that way varies.
                    b.readings.append(reset_at - sent)
                    b.window_s = max(b.readings)

    def _legacy_hold(self, remaining: int, headers: Mapping[str, str]) -> None:
        if remaining == 0:
            reset = seconds_until_reset(headers.get(RESET_HEADER))
            if reset:
                self._resume_at = max(
                    self._resume_at, time.monotonic() + min(reset, self.max_pause_s)
                )

    def observe(self, headers: Mapping[str, str], max_pause_s: float = 60.0) -> None:
        """Read the request budget from an answer with no ticket; when it is spent, pause all."""
        limit, remaining = (
            _int_header(headers, LIMIT_HEADER),
            _int_header(headers, REMAINING_HEADER),
        )
        if limit is not None:
            self.limit = limit
        if remaining is None:
            return
        self.remaining = remaining
        if remaining == 0:
            reset = seconds_until_reset(headers.get(RESET_HEADER))
            if reset:
                self.pause(min(reset, max_pause_s))


def _reset_at(value: str | None, max_pause_s: float) -> float | None:
    """The reset header as a ``time.monotonic`` moment, possibly past (epoch units), or None."""
    seconds = reset_seconds(value)
    return None if seconds is None else time.monotonic() + min(seconds, max_pause_s)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None
