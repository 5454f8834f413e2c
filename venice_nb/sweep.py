"""Run many generations at once: a bounded pool, results in grid order, failures kept per cell.

A sweep (``--seed 1:12``) is the way to more images than the API's four variants. Its requests run
on ``settings.concurrency`` worker threads through ``session.generate``, so they share one client:
one connection pool and one rate gate that pauses every worker after a 429. Results land in the
cell of their request, whatever the completion order. A failed request becomes that cell's error
and the others go on. ``cancel`` stops everything: queued requests never start, running ones stop
at their next retry wait, and no callback fires afterwards.

The caller's thread only waits (``wait(timeout)``), so a notebook can tick a status line and take
a KeyboardInterrupt while the workers run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Literal

from .errors import NotSentError, VeniceError
from .jobs import Job, as_jobs
from .network import in_round
from .preflight import preflight
from .result import SweepCell, SweepResult
from .retry import RetryEvent

if TYPE_CHECKING:  # pragma: no cover
    from .result import GenerationResult
    from .session import VeniceSession

ProgressCallback = Callable[[int, int, SweepCell], None]


class GenerationCancelled(KeyboardInterrupt):
    """Ctrl-C while generating: stops Run All like any interrupt, shown as one line.

    ``partial`` holds what was already paid for and landed (a result, or the grid of the cells
    that finished): the magic binds it to ``-o``, and a Python caller of ``run_sweep`` reads it
    from the exception (``except KeyboardInterrupt as stop: grid = stop.partial``)."""

    partial: GenerationResult | SweepResult | None = None

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31mKeyboardInterrupt\x1b[0m: {self}"]


NOT_SENT = "not sent: the cell was interrupted before its request went out"


class SweepRunner:
    """Runs ``jobs`` concurrently; ``cells[i]`` always belongs to ``jobs[i]``.

    ``on_progress(done, total, cell)`` is called from a worker thread after each request, never
    after ``cancel`` is set; keep it quick and thread-safe.
    """

    def __init__(
        self,
        session: VeniceSession,
        jobs: list[Job],
        *,
        route: Literal["generate", "openai"] = "generate",
        use_cache: bool = True,
        concurrency: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.session = session
        self.jobs = as_jobs(jobs)
        self.route = route
        self.use_cache = use_cache
        self.concurrency = max(1, concurrency or session.settings.concurrency)
        self.on_progress = on_progress
        self.cancel = threading.Event()
        self.cells = [SweepCell(dict(job.params), request=job.request) for job in self.jobs]
        self.round = object()  # the breaker's unit: one sweep stops on a dead server as a whole
        self.done = 0
        self.running = 0
        self.last_retry: RetryEvent | None = None
        self._last_retry_at = 0.0
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []
        self._started = 0.0
        self.wall_ms = 0.0

    @property
    def total(self) -> int:
        return len(self.jobs)

    # ---- running -------------------------------------------------------------------------

    def start(self) -> SweepRunner:
        self._started = time.perf_counter()
        workers = min(self.concurrency, max(1, self.total))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="venice-sweep")
        self._futures = [self._pool.submit(self._work, i) for i in range(self.total)]
        return self

    def _work(self, index: int) -> None:
        if self.cancel.is_set():
            self._not_sent(index)
            return
        with in_round(self.round):
            self._run_one(index)

    def _run_one(self, index: int) -> None:
        cell = self.cells[index]
        with self._lock:
            self.running += 1
        try:
            cell.result = self.session.send(
                self.jobs[index].request, route=self.route, use_cache=self.use_cache,
                on_retry=self._retried, cancel=self.cancel,
            )  # fmt: skip
        except VeniceError as exc:
            cell.error = exc
        finally:
            with self._lock:
                self.running -= 1
                self.done += 1
                done = self.done
            if self.on_progress is not None and not self.cancel.is_set():
                self.on_progress(done, self.total, cell)

    def _retried(self, event: RetryEvent) -> None:
        with self._lock:
            self.last_retry = event
            self._last_retry_at = time.monotonic()

    def retry_note(self) -> str | None:
        """The latest retry while it is still being waited out, for a status line."""
        with self._lock:
            event, at = self.last_retry, self._last_retry_at
        if event is None or time.monotonic() - at > event.delay_s + 1.0:
            return None
        return event.describe()

    def wait(self, timeout: float | None = None, *, until_one: bool = False) -> bool:
        """Wait up to ``timeout`` s (with ``until_one``, also until one more job finishes); True
        once every job is finished.

        A bug in a worker (anything but a VeniceError) stops the sweep and is raised here.
        """
        if until_one:
            running = [f for f in self._futures if not f.done()]
            wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
        else:
            wait(self._futures, timeout=timeout, return_when=FIRST_EXCEPTION)
        for future in self._futures:
            exc = future.exception() if future.done() else None
            if exc is not None:
                self.close(cancel=True)
                raise exc
        if any(not f.done() for f in self._futures):
            return False
        self.wall_ms = (time.perf_counter() - self._started) * 1000
        self.close(cancel=False)
        return True

    def close(self, cancel: bool = True) -> None:
        """Stop: with ``cancel``, queued jobs are dropped and running ones told to stop; no wait."""
        if cancel:
            self.cancel.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=cancel)
        for index, future in enumerate(self._futures):
            if future.cancelled():
                self._not_sent(index)

    def _not_sent(self, index: int) -> None:
        """A cell dropped before its request went out: a failure ``retry_failed`` sends again
        (nothing was paid for it), not a blank that looks like neither result nor error."""
        cell = self.cells[index]
        if cell.result is None and cell.error is None:
            cell.error = NotSentError(NOT_SENT)

    def run(
        self, tick: Callable[[SweepRunner], None] | None = None, interval: float = 0.25
    ) -> list[SweepCell]:
        """Start, wait (calling ``tick`` every ``interval`` s), return the cells in job order.

        Any exception while waiting, KeyboardInterrupt included, cancels the rest and propagates.
        """
        self.start()
        try:
            # Until the first result the wait ends with it, so the first tile shows at once.
            while not self.wait(interval, until_one=self.done == 0):
                if tick is not None:
                    tick(self)
        except BaseException:
            self.close(cancel=True)
            raise
        return self.cells

    def elapsed_s(self) -> float:
        return time.perf_counter() - self._started if self._started else 0.0

    def result(
        self, rows: str | None = None, cols: str | None = None, pages: str | None = None
    ) -> SweepResult:
        return SweepResult(
            self.cells, rows=rows, cols=cols, wall_ms=self.wall_ms, pages=pages, route=self.route,
        ).made_by(self.session)  # fmt: skip


def run_sweep(
    session: VeniceSession,
    jobs: list[Job],
    *,
    rows: str | None = None,
    cols: str | None = None,
    route: Literal["generate", "openai"] = "generate",
    use_cache: bool = True,
    concurrency: int | None = None,
    on_progress: ProgressCallback | None = None,
    pages: str | None = None,
) -> SweepResult:
    """Run ``jobs`` and return the grid (the Python API behind ``%%venice`` sweeps).

    ``preflight`` first, as for the magic: a refused setting or an invalid request stops the whole
    sweep before anything is sent (the Python API has no cost guard: calling is confirming).
    Each answer is cached as it lands; on Ctrl-C the rest is dropped and a
    ``GenerationCancelled`` (a KeyboardInterrupt) is raised whose ``partial`` is the grid of the
    cells that landed (None if none did)."""
    checked = preflight(session, jobs, route=route, use_cache=use_cache)
    runner = SweepRunner(
        session,
        checked.jobs,
        route=route,
        use_cache=use_cache,
        concurrency=concurrency,
        on_progress=on_progress,
    )
    try:
        runner.run()
    except KeyboardInterrupt:
        landed = sum(1 for cell in runner.cells if cell.result is not None)
        runner.wall_ms = runner.elapsed_s() * 1000
        stop = GenerationCancelled(
            "sweep cancelled; requests not yet sent were dropped"
            + (f", the {landed} that landed are in .partial" if landed else "")
        )
        stop.partial = runner.result(rows, cols, pages) if landed else None
        raise stop from None
    return runner.result(rows, cols, pages)
