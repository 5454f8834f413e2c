"""One request at a time per cache key: a second identical request waits for the first's answer.

The cache makes a repeated seeded request free once its answer is stored; between sending and
storing, the same request sent again (a cell re-run right after Ctrl-C while its request is still
in flight, two panel clicks, a sweep beside a cell) would be paid twice. The session lets the first
sender go and the others wait for it, then read the cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import CancelledError

POLL_S = 0.1  # how often a waiter looks at its cancel event


class InFlight:
    """The cache keys being fetched now, each with the event its waiters wait on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, threading.Event] = {}

    @contextmanager
    def first(self, key: str, cancel: threading.Event | None = None) -> Iterator[None]:
        """Enter when no one else fetches ``key`` (after waiting for who does); the caller then
        reads the cache and sends only on a miss. Cancelling while waiting raises
        ``CancelledError``; nothing was sent."""
        while True:
            with self._lock:
                busy = self._keys.get(key)
                if busy is None:
                    mine = self._keys[key] = threading.Event()
                    break
            _wait(busy, cancel)
        try:
            yield
        finally:
            with self._lock:
                del self._keys[key]
            mine.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)


def _wait(busy: threading.Event, cancel: threading.Event | None) -> None:
    stopped: Callable[[], bool] = cancel.is_set if cancel is not None else lambda: False
    while not busy.wait(POLL_S):
        if stopped():
            raise CancelledError("cancelled while the same request was in flight")
