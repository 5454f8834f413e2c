"""The panel's background worker: one thread, one slot, the latest request wins.

A notebook panel must keep the kernel free while images are generated, must never pile up paid
requests when someone clicks Generate five times, and must never let an old answer overwrite a newer
one. So the worker holds at most one job in flight and one pending: a new ``submit`` replaces the
pending job, and every job carries a generation number; the listener is told whether a finished job
is still the latest (``Job.current``), and the panel drops it when it is not. No ipywidgets here:
the worker only calls back.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..operations.request import Request
from ..retry import RetryEvent

TICK_S = 0.5
IDLE_EXIT_S = 60.0  # an idle worker thread ends; the next submit starts a new one


@dataclass(eq=False)
class Job:
    """One request the worker was asked to make."""

    number: int
    request: Request
    not_before: float = 0.0  # monotonic time; a debounced job waits until then
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float | None = None
    done: threading.Event = field(default_factory=threading.Event)
    note: str = ""  # what the retries said, for the status line

    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started


class Listener(Protocol):
    """What the panel implements. Each call comes from a worker thread."""

    def job_started(self, job: Job) -> None: ...
    def job_tick(self, job: Job) -> None: ...
    def job_retry(self, job: Job, event: RetryEvent) -> None: ...
    def job_finished(self, job: Job, result: Any) -> None: ...
    def job_failed(self, job: Job, error: BaseException, trace: str) -> None: ...


Run = Callable[[Request, Callable[[RetryEvent], None], threading.Event], Any]


class Worker:
    """Runs ``run(request, on_retry, cancel)`` off the main thread, newest request first."""

    def __init__(
        self,
        run: Run,
        listener: Listener,
        name: str = "venice-panel",
        idle_exit_s: float = IDLE_EXIT_S,
    ) -> None:
        self._run = run
        self._name = name
        self._idle_exit_s = idle_exit_s
        self._listener = listener
        self._cond = threading.Condition()
        self._pending: Job | None = None
        self._active: Job | None = None
        self._latest = 0
        self._closed = False
        self.dropped = 0  # results that arrived stale and were not shown
        self.listener_errors: list[str] = []  # tracebacks of listener failures (never silent)
        # Started by the first submit and ended after a minute of idleness, so a panel that was
        # abandoned without close() (a re-run cell) does not keep a thread for the kernel's life.
        self._thread: threading.Thread | None = None

    # ---- used by the panel (main thread) -----------------------------------------------------

    def submit(self, request: Request, delay_s: float = 0.0) -> Job:
        """Queue ``request`` as the latest job, replacing any pending one; the active one is cancelled
        from retrying and its answer will be stale."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the panel is closed")
            self._latest += 1
            job = Job(self._latest, request, not_before=time.monotonic() + delay_s)
            if self._pending is not None:
                self._pending.cancel.set()
                self._pending.done.set()
            if self._active is not None:
                self._active.cancel.set()  # stops its retries; an answer in flight is dropped
            self._pending = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()
            return job

    def invalidate(self) -> None:
        """Make every queued or running job stale (the panel is showing something else now)."""
        with self._cond:
            self._latest += 1
            if self._pending is not None:
                self._pending.cancel.set()
                self._pending.done.set()
                self._pending = None
            if self._active is not None:
                self._active.cancel.set()
            self._cond.notify_all()

    def is_current(self, job: Job) -> bool:
        with self._cond:
            return job.number == self._latest

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._pending is not None or self._active is not None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is pending or running (for tests and scripts). False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending is not None or self._active is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self, timeout: float = 10.0) -> bool:
        """Cancel everything and stop the thread. True when the thread has ended."""
        with self._cond:
            self._closed = True
            self._latest += 1
            for job in (self._pending, self._active):
                if job is not None:
                    job.cancel.set()
            self._pending = None
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        return not self.alive

    @property
    def alive(self) -> bool:
        """Whether the worker has a thread right now (it has none before the first request,
        after a long idle spell, and after close())."""
        with self._cond:
            thread = self._thread
        return thread is not None and thread.is_alive()

    # ---- the thread ----------------------------------------------------------------------------

    def _next_job(self) -> Job | None:
        with self._cond:
            while not self._closed:
                job = self._pending
                if job is None:
                    if not self._cond.wait(self._idle_exit_s) and self._pending is None:
                        break  # idle for long: end; submit() starts a new thread
                    continue
                wait = job.not_before - time.monotonic()
                if wait > 0:  # debounce: a newer submit may replace it meanwhile
                    self._cond.wait(wait)
                    continue
                self._pending = None
                self._active = job
                return job
            self._thread = None
            return None

    def _loop(self) -> None:
        while (job := self._next_job()) is not None:
            try:
                self._work(job)
            finally:
                with self._cond:
                    self._active = None
                    job.done.set()
                    self._cond.notify_all()

    def _work(self, job: Job) -> None:
        job.started = time.monotonic()
        self._call(self._listener.job_started, job)
        ticker = threading.Thread(target=self._tick, args=(job,), name="venice-panel-timer")
        ticker.daemon = True
        ticker.start()
        try:
            result = self._run(
                job.request, lambda event: self._call(self._listener.job_retry, job, event),
                job.cancel,
            )  # fmt: skip
        except Exception as exc:  # every failure is reported to the panel, none is swallowed
            job.done.set()
            ticker.join()
            self._call(self._listener.job_failed, job, exc, traceback.format_exc())
            return
        job.done.set()
        ticker.join()
        if not self.is_current(job):
            self.dropped += 1
        self._call(self._listener.job_finished, job, result)

    def _tick(self, job: Job) -> None:
        while not job.done.wait(TICK_S):
            self._call(self._listener.job_tick, job)

    def _call(self, method: Callable[..., None], *args: Any) -> None:
        """Listener failures are kept (``listener_errors``), never allowed to kill the thread."""
        try:
            method(*args)
        except Exception:
            self.listener_errors.append(traceback.format_exc())
