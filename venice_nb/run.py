"""While a cell generates: one output line updated in place, and the loop that drives it.

Only the kernel's main thread touches the output: workers report into the runner's counters and
this loop renders them every quarter second, so no output can arrive from a worker after the cell
has finished, and Ctrl-C lands here at once. Failures become exceptions that IPython prints as a
single line (``_render_traceback_``), not a traceback wall.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from .display.grid import sweep_html
from .display.html import status_html
from .errors import NotSentError, error_line
from .operations.common import ToolboxRequest
from .operations.generate import GenerateRequest
from .sweep import GenerationCancelled, SweepRunner
from .text import format_ms, plural

if TYPE_CHECKING:  # pragma: no cover
    from .result import GenerationResult, SweepResult
    from .session import VeniceSession
    from .sweep import Job, SweepRunner


class VeniceRunError(UsageError):
    """A failure met while generating (server, network): one red line, no traceback.
    ``partial`` is the grid of a sweep whose every cell failed (bound to ``-o``)."""

    partial: Any = None

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31mVeniceError\x1b[0m: {self}"]


def bundle(html: str, text: str) -> dict[str, str]:
    """HTML for notebooks, the same words as plain text for terminals and logs (no URL
    credentials in either, whatever they were built from)."""
    from .redact import redact_text

    return {"text/html": redact_text(html), "text/plain": redact_text(text)}


def show(html: str, text: str) -> None:
    """Display one HTML output (with a plain-text twin)."""
    from IPython.display import display

    display(bundle(html, text), raw=True)


class StatusLine:
    """A display handle with ``status_html`` content (and, while a sweep runs, its grid filling
    in under it); unchanged content sends nothing."""

    def __init__(self) -> None:
        self._handle: Any = None
        self._last: tuple[str, str, float | None, str] | None = None

    def show(
        self, text: str, state: str = "running", progress: float | None = None, body: str = ""
    ) -> None:
        if self._last == (text, state, progress, body):
            return
        from IPython.display import display

        self._last = (text, state, progress, body)
        data = bundle(status_html(text, state, progress) + body, text)
        if self._handle is None:
            self._handle = display(data, raw=True, display_id=True)
        else:
            self._handle.update(data, raw=True)


# ---- running a cell ----------------------------------------------------------------------------


def execute(
    session: VeniceSession,
    jobs: list[Job],
    axes: list[tuple[str, list[Any]]],
    route: str = "generate",
    use_cache: bool = True,
) -> GenerationResult | SweepResult:
    """Run the cell's jobs with a live status line; one result, or the grid of a sweep.

    Raises VeniceRunError when the only request (or every request of a sweep) failed, and
    GenerationCancelled on Ctrl-C after dropping the requests not yet sent.
    """
    landed = threading.Event()  # set by the workers' completion callback, read by this thread
    runner = SweepRunner(
        session,
        jobs,
        route=route,  # type: ignore[arg-type]
        use_cache=use_cache,
        on_progress=lambda done, total, cell: landed.set(),
    )
    status = StatusLine()
    local = session.backend == "local"
    grid = LiveGrid(runner, axes) if axes else None

    def tick(r: SweepRunner) -> None:
        progress = r.done / r.total if axes and r.total else None
        body = grid.html(fresh=landed.is_set()) if grid is not None else ""
        landed.clear()
        status.show(running_text(jobs, axes, route, r, local), "running", progress, body)

    tick(runner)
    try:
        runner.run(tick=tick)
    except KeyboardInterrupt:
        raise _cancelled(runner, axes, status, grid) from None
    took = format_ms(runner.wall_ms)
    cells = runner.cells
    if not axes:
        if cells[0].result is None:
            status.show(f"failed after {took}", "error")
            raise VeniceRunError(error_line(cells[0].error))
        status.show(*done_text(cells[0].result, took))
        return cells[0].result
    failed = [c for c in cells if c.error is not None]
    if len(failed) == len(cells):
        status.show(f"all {len(failed)} requests failed after {took}", "error")
        stop = VeniceRunError(error_line(failed[0].error))
        stop.partial = runner.result(*grid_axes(axes))  # -o binds it: retry_failed() at hand
        raise stop
    text = f"{len(cells) - len(failed)}/{len(cells)} done in {took}"
    if failed:
        text += f"; {len(failed)} failed: {error_line(failed[0].error)}"
    blocked = sum(1 for c in cells if c.result is not None and c.result.content_violation)
    if blocked:
        text += f"; {blocked} blocked by the content policy (not charged)"
    status.show(text, "error" if failed or blocked else "done")
    return runner.result(*grid_axes(axes))


def _cancelled(
    runner: SweepRunner,
    axes: list[tuple[str, list[Any]]],
    status: StatusLine,
    grid: LiveGrid | None,
) -> GenerationCancelled:
    """Ctrl-C: the requests not yet sent are dropped, but every answer already paid for stays
    on screen (the grid keeps its landed tiles) and goes into ``partial`` to be bound."""
    landed = [cell for cell in runner.cells if cell.result is not None]
    took = f"cancelled after {runner.elapsed_s():.1f} s"
    partial: GenerationResult | SweepResult | None = None
    if axes:  # the grid, even with nothing landed: its retry_failed() sends what was dropped
        runner.wall_ms = runner.elapsed_s() * 1000
        partial = runner.result(*grid_axes(axes))
    elif landed:
        partial = landed[0].result
    kept = f"; {plural(len(landed), 'result')} already paid for kept" if landed else ""
    status.show(took + kept, "error", None, grid.html() if grid is not None else "")
    if grid is None and partial is not None:
        show(*_result_bundle(partial))
    unsent = sum(1 for c in runner.cells if isinstance(c.error, NotSentError))
    flying = runner.running
    stop = GenerationCancelled(
        f"generation cancelled; {plural(unsent, 'request')} not yet sent dropped"
        + (" (retry_failed() on the result sends them)" if unsent and partial is not None else "")
        + (f", the {plural(len(landed), 'result')} that landed kept" if landed else "")
        + (f"; {flying} already sent will still land in the bound result" if flying else "")
    )
    stop.partial = partial
    return stop


def _result_bundle(result: Any) -> tuple[str, str]:
    data = result._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    return data.get("text/html", ""), data.get("text/plain", repr(result))


class LiveGrid:
    """The sweep's grid while it runs: placeholders first, each tile as its result lands.

    Rendered by the kernel's main thread on the status tick (workers only flag that something
    landed), so no output arrives from a worker or after the cell finished. The final grid is the
    cell's result; the live one then goes away with the status line's last update.
    """

    def __init__(self, runner: SweepRunner, axes: list[tuple[str, list[Any]]]) -> None:
        self.runner = runner
        self.axes = axes
        self._html = ""

    def html(self, fresh: bool = True) -> str:
        if fresh or not self._html:
            self._html = sweep_html(self.runner.result(*grid_axes(self.axes)))
        return self._html


def grid_axes(
    axes: list[tuple[str, list[Any]]],
) -> tuple[str | None, str | None, str | None]:
    """(rows, cols, pages): the first two swept fields, the third as one sub-grid per value; a
    single axis, whatever its length, is a gallery whose rows wrap. Further axes label the tiles."""
    if len(axes) >= 2:
        return axes[0][0], axes[1][0], axes[2][0] if len(axes) >= 3 else None
    return None, None, None  # one look whatever its length: a wrapping gallery of labelled tiles


def running_text(
    jobs: list[Job], axes: list[tuple[str, list[Any]]], route: str, runner: SweepRunner, local: bool
) -> str:
    """'model · what · elapsed (and what is left)' plus the retry being waited out, if any."""
    models = sorted({j.request.model or "" for j in jobs})
    model = models[0] if len(models) == 1 else f"{len(models)} models"
    if axes:
        names = " x ".join(name for name, _ in axes)
        what = f"sweep over {names}: {runner.done}/{runner.total} done, {runner.running} running"
    elif isinstance(request := jobs[0].request, ToolboxRequest):  # "upscale of shot[0]"
        what = f"{request.operation} of {', '.join(im.label for im in request.inputs)}"
    else:
        what = f"generating {plural(request.image_count, 'image')}"
        size = request.size_label() if isinstance(request, GenerateRequest) else None
        what += f" ({size})" if size else ""
    via = " via /images/generations" if route == "openai" else ""
    tail = " · local preview" if local else ""
    elapsed = runner.elapsed_s()
    left = ""
    if axes and 0 < runner.done < runner.total:
        left = f", about {elapsed / runner.done * (runner.total - runner.done):.0f} s left"
    text = f"{model}{via} · {what} · {elapsed:.0f} s{left}{tail}"
    note = runner.retry_note()
    return f"{text} · {note}" if note else text


def done_text(result: GenerationResult, took: str) -> tuple[str, str]:
    """The line that replaces the status when one request finished: (text, state)."""
    if result.content_violation:
        return (
            "blocked by the content policy: the server sent a placeholder and did not charge "
            "for it; rephrase the prompt",
            "error",
        )
    n = len(result.images)
    text = f"{plural(n, 'image')} in {took}"
    if result.cached:
        text += " (cached: no request, no cost)"
    if result.blurred:
        text += "; blurred by safe mode (--no-safe-mode turns it off)"
    return text, "done"
