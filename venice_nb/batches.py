"""Batches: hundreds of requests that go to disk as they land and survive a restart.

A batch is a sweep that does not live in the notebook. Each result is saved (image + sidecar, the
provenance of ``--save``) and recorded in ``DIR/manifest.jsonl`` (``manifest.Manifest``) the moment
it lands, then dropped from memory: workers hold at most one result each, so a 500-image batch
holds about ``concurrency`` images at once. Running the same batch again sends only what the
manifest does not hold as ``done`` (the rows are keyed by a stable hash of each request), so an
interrupt, a crash or a kernel restart never pays for an image twice; failed rows are sent again
then, or on their own with ``BatchResult.retry_failed()``.

Before the first request: the directory and the manifest must be writable, the disk must have
room for what will arrive, and ``preflight`` (settings, every request, the cost guard) sees the
whole batch. Requests go through the session's client, so the rate gate paces them by the key's
limit, ``concurrency`` at a time. The notebook shows one progress line and a small gallery of
JPEG thumbnails (files in ``DIR/thumbs``, embedded as data URIs, nothing remote).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import io
import json
import os
import shutil
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .batch_result import THUMB_PX, BatchResult, gallery_html
from .display.html import notice_html
from .errors import (
    APIConnectionError,
    CancelledError,
    ValidationError,
    VeniceError,
    error_line,
)
from .fuzzy import did_you_mean
from .jobs import Job
from .manifest import Manifest, request_key
from .network import in_round
from .operations.generate import GenerateRequest
from .preflight import check_save_target, preflight
from .prompts import fill_row, load_prompts
from .pyargs import check_types, field_types
from .run import StatusLine, show
from .session import get_session

if TYPE_CHECKING:  # pragma: no cover
    from .preflight import Checked
    from .result import GeneratedImage
    from .session import VeniceSession

LIVE_TILES = 24  # thumbnails shown while running (the whole gallery once it ends)
BYTES_PER_PIXEL = 0.6  # a generous guess at an image's size on disk, for the free-space check
MIN_IMAGE_BYTES = 256 * 1024
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class BatchCancelled(KeyboardInterrupt):
    """Ctrl-C during a batch: what landed is on disk; running the batch again resumes it.

    ``partial`` is the ``BatchResult`` of what was recorded (the magic binds it to ``-o``)."""

    partial: BatchResult | None = None

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31mKeyboardInterrupt\x1b[0m: {self}"]


def default_directory(base: str | os.PathLike[str], identity: Mapping[str, Any]) -> Path:
    """``base/batch-XXXXXXXXXX``, named by what the batch *is* (its options, its prompt template,
    where its prompts come from, what it sweeps), not by every request: the same cell with one
    prompt added or fixed finds the same folder, and its manifest sends only what is new."""
    text = json.dumps(identity, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return Path(base).expanduser() / f"batch-{digest}"


def free_bytes(directory: Path) -> int:
    """Free space where ``directory`` is (or would be created)."""
    probe = directory
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def estimated_bytes(request: Any) -> int:
    """What one request's images will take on disk, erring large (size unknown: 2 MP)."""
    width = getattr(request, "width", None) or 1448
    height = getattr(request, "height", None) or 1448
    per_image = max(MIN_IMAGE_BYTES, int(width * height * BYTES_PER_PIXEL)) + 8 * 1024
    return per_image * max(1, getattr(request, "image_count", 1))


class BatchRun:
    """One batch: ``prepare`` (checks, nothing sent), then ``run`` (sends what is not done)."""

    def __init__(
        self,
        session: VeniceSession,
        jobs: list[Job],
        directory: str | os.PathLike[str] | None = None,
        *,
        route: str = "generate",
        use_cache: bool = True,
        concurrency: int | None = None,
        title: str | None = None,
        name_by: Mapping[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.merged = 0
        jobs = self._merge_identical(jobs)
        self.jobs = jobs
        self.route = route
        self.use_cache = use_cache
        self.concurrency = max(1, concurrency or session.settings.concurrency)
        self.title = title
        seen: dict[str, int] = {}
        self.keys: list[str] = []
        for job in jobs:  # identical requests in one list are distinct rows (n-th occurrence)
            body = _body(job.request)
            text = repr(sorted(body.items()))
            self.keys.append(request_key(body, route, seen.get(text, 0)))
            seen[text] = seen.get(text, 0) + 1
        base = directory if directory not in (None, "") else None
        self.named = base is None  # the folder was not chosen: say which one is used
        self.directory = (
            Path(base).expanduser()
            if base is not None
            else default_directory(
                session.settings.save_dir, name_by or {"route": route, "keys": self.keys}
            )
        )
        self.manifest = Manifest(self.directory)
        self.pending: list[int] = []
        self.checked: Checked | None = None
        self.cancel = threading.Event()
        self.round = object()  # the breaker's unit (network.in_round): the whole batch
        self._lock = threading.Lock()
        self._tiles: dict[str, str] = {}
        self.sent = self.landed = self.failed_now = self.images_landed = 0
        self.spent_usd = 0.0
        self.to_spend_usd = 0.0
        self._started = 0.0
        self._stop_reason: str | None = None
        self._costs: dict[int, float] = {}
        self._cached: dict[int, bool] = {}
        self._eta: tuple[int, float, float] | None = None  # (left, seconds, when estimated)

    def _merge_identical(self, jobs: list[Job]) -> list[Job]:
        """Identical requests with a seed are the same image: each is sent (paid) once. Without
        a seed each draw is a new image, so those stay distinct rows."""
        kept: list[Job] = []
        seen: set[str] = set()
        for job in jobs:
            body = _body(job.request)
            if body.get("seed") is not None:
                text = repr(sorted(body.items()))
                if text in seen:
                    self.merged += 1
                    continue
                seen.add(text)
            kept.append(job)
        return kept

    def __repr__(self) -> str:
        return (
            f"<BatchRun {len(self.jobs)} requests, {len(self.pending)} to send, {self.directory}>"
        )

    # ---- before anything is sent -------------------------------------------------------------

    def prepare(
        self, *, confirmed: bool = True, confirm_hint: str = "add --yes to run it"
    ) -> Checked:
        """Load the manifest, check the directory, the disk and (``preflight``) every request
        still to send with the cost guard; raises ValidationError/ConfigurationError (one line)."""
        check_save_target(self.directory, "the batch directory")
        self.manifest.load()
        self.manifest.check_writable()
        recovered = self._adopt_landed()
        self.pending = [i for i, key in enumerate(self.keys) if not self.manifest.done(key)]
        checked = preflight(
            self.session,
            [self.jobs[i] for i in self.pending],
            route=self.route,
            use_cache=self.use_cache,
            confirmed=confirmed,
            confirm_hint=confirm_hint,
        )
        needed = sum(estimated_bytes(job.request) for job in checked.jobs)
        free = free_bytes(self.directory)
        if needed > free:
            raise ValidationError(
                f"the batch needs about {needed / 1e6:,.0f} MB for {len(checked.jobs)} requests "
                f"and {str(self.directory)!r} has {free / 1e6:,.0f} MB free; free some space "
                "or pick another directory",
                field="save",
            )
        self.checked = checked
        costs = [self.session.estimated_cost(job.request) or 0.0 for job in checked.jobs]
        self._costs = dict(zip(self.pending, costs, strict=True))
        self._cached = dict(zip(self.pending, checked.cached, strict=True))
        self.to_spend_usd = sum(c for c, hit in zip(costs, checked.cached, strict=True) if not hit)
        if recovered:
            checked.notes.append(
                f"{recovered} image{'s' if recovered != 1 else ''} on disk had no manifest row "
                "(its write was cut short, e.g. by a full disk): recorded now, not sent again"
            )
        if self.merged:
            checked.notes.append(
                f"{self.merged} identical request{'s' if self.merged != 1 else ''} merged (same "
                "prompt, seed and options: the same image), each sent once"
            )
        if self.named:
            checked.notes.append(
                f"batch folder: {self.directory} (named by the options and where the prompts "
                "come from: the same batch run again sends only what is not done there)"
            )
        done = len(self.jobs) - len(self.pending)
        if done:
            checked.notes.append(
                f"resuming: {done} of {len(self.jobs)} requests are already done in "
                f"{self.directory} (not sent again); {len(self.pending)} to send"
            )
        return checked

    def _adopt_landed(self) -> int:
        """Images this batch saved (``NNNN-<key>``) whose manifest row was never written (the
        disk filled, or the kernel died, between the images and their row): paid for, so recorded
        as done, not resent. Only a whole set counts: a kill between two variants' files leaves
        the request pending."""
        if not self.directory.is_dir():
            return 0
        found: dict[str, list[Path]] = {}
        for path in self.directory.iterdir():
            if path.suffix.lower() in IMAGE_SUFFIXES and "-" in path.stem:
                found.setdefault(path.stem.split("-")[1][:8], []).append(path)
        adopted = []
        for index, key in enumerate(self.keys):
            paths = sorted(found.get(key[:8], []))
            whole = len(paths) >= _images_asked(self.jobs[index].request)
            if whole and not self.manifest.done(key):
                adopted.append(
                    self._row(
                        index, self.jobs[index].request, "done",
                        files=[p.name for p in paths], recovered=True,
                    )
                )  # fmt: skip
        if adopted:
            self.manifest.update(adopted)
        return len(adopted)

    # ---- running -------------------------------------------------------------------------------

    def run(self, *, display: bool = True, keep_gallery: bool = False) -> BatchResult:
        """Send every pending request (``prepare`` first), ``concurrency`` at a time, showing one
        progress line and the gallery; Ctrl-C stops sending and keeps what landed. With
        ``keep_gallery`` the gallery stays under the final line (a Python call whose result is
        bound, never displayed); the magic displays its result, gallery included."""
        if self.checked is None:
            self.prepare()
        assert self.checked is not None
        requests = dict(zip(self.pending, (j.request for j in self.checked.jobs), strict=True))
        status = _Status() if display else None
        self._started = time.perf_counter()
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="venice-batch")
        futures: list[Future[None]] = [
            pool.submit(self._work, i, requests[i]) for i in self.pending
        ]
        try:
            while True:
                finished, running = wait(futures, timeout=0.5, return_when=FIRST_EXCEPTION)
                for future in finished:
                    if future.exception() is not None:
                        raise future.exception()  # type: ignore[misc]  # a bug, not a failure
                if status is not None:
                    status.show(
                        self.progress_text(), "running", self._fraction(), self._gallery(LIVE_TILES)
                    )
                if not running:
                    break
        except KeyboardInterrupt:
            self.cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            self._land_in_flight(futures, status)
            text = f"stopped: {self.progress_text()}"
            if status is not None:
                status.show(text, "error", self._fraction(), self._gallery(None))
            self._compact()
            stop = BatchCancelled(
                f"batch stopped; what landed is saved in {self.directory} and recorded in its "
                "manifest: run the cell again to send only the rest"
            )
            stop.partial = self.result()
            raise stop from None
        except BaseException:
            self.cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        self._compact()
        result = self.result()
        if status is not None:
            state = "error" if result.failed or self._stop_reason else "done"
            body = self._gallery(None) if keep_gallery else ""
            status.show(self.progress_text(final=True), state, 1.0, body)
        return result

    def _compact(self) -> None:
        """One line per row again (the run appended one per answer); a full disk keeps the
        appended file, which reads the same."""
        with contextlib.suppress(OSError):
            self.manifest.compact()

    def _stop(self, reason: str) -> None:
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
        self.cancel.set()

    def _land_in_flight(self, futures: list[Future[None]], status: _Status | None) -> None:
        """After a stop, wait for the requests already on the wire: they are paid for, so their
        images are saved and recorded before the cell ends (a second Ctrl-C stops waiting;
        they still land in the background). Nothing new starts: the queue was dropped."""
        running = [f for f in futures if f.running()]
        if not running:
            return
        if status is not None:
            status.show(
                f"stopping: {len(running)} requests already sent are landing (paid for, kept)",
                "running",
                self._fraction(),
                "",
            )
        with contextlib.suppress(KeyboardInterrupt):
            wait(running, timeout=self.session.settings.read_timeout + 5)

    def _work(self, index: int, request: Any) -> None:
        if self.cancel.is_set():
            return
        with in_round(self.round):  # the breaker stops the whole batch on a dead server
            self._one(index, request)

    def _one(self, index: int, request: Any) -> None:
        key = self.keys[index]
        cached = self._cached.get(index, False)
        try:
            result = self.session.generate(
                request,
                route=self.route,  # type: ignore[arg-type]  # "generate" or "openai"
                use_cache=self.use_cache,
                cancel=self.cancel,
            )
        except CancelledError:
            return  # stopped before it was sent: left pending, the next run sends it
        except APIConnectionError as exc:
            if str(exc.message).startswith("not sent"):  # the breaker holds the server as down
                self._stop(
                    f"the server is not answering ({error_line(exc)}); the rest is left "
                    "pending: run the batch again to resume"
                )
                return
            self._count_sent(cached)
            self._finish(index, request, "failed", error=error_line(exc))
            return
        except VeniceError as exc:
            self._count_sent(cached)
            self._finish(index, request, "failed", error=error_line(exc))
            return
        self._count_sent(cached)
        if result.content_violation:
            self._finish(
                index, request, "failed", error="blocked by the content policy (not charged)"
            )
            return
        stem = f"{index + 1:04d}-{key[:8]}"
        try:
            paths = result.save(self.directory, stem)
            thumbs = [
                self._thumb(path, image) for path, image in zip(paths, result.images, strict=True)
            ]
        except (OSError, VeniceError) as exc:  # paid but not kept: stop before paying for more
            self._stop(f"could not save: {_disk_line(exc, self.directory)}")
            self._finish(index, request, "failed", error=f"paid but not saved: {error_line(exc)}")
            return
        cost = None if result.cached else result.cost_usd
        if cost is None and not result.cached:
            cost = self._costs.get(index)
        self._finish(
            index,
            request,
            "done",
            files=[p.name for p in paths],
            thumbs=thumbs,
            seed=result.seed,
            seeds=[im.seed for im in result.images],
            cost=cost,
            cached=result.cached,
        )

    def _thumb(self, path: Path, image: GeneratedImage) -> str:
        from PIL import Image

        folder = self.directory / "thumbs"
        folder.mkdir(exist_ok=True)
        with Image.open(io.BytesIO(image.data)) as im:
            im.draft("RGB", (THUMB_PX, THUMB_PX))
            im.thumbnail((THUMB_PX, THUMB_PX))
            out = io.BytesIO()
            im.convert("RGB").save(out, format="JPEG", quality=70)
        target = folder / f"{path.stem}.jpg"
        tmp = folder / f".{path.stem}.part"
        tmp.write_bytes(out.getvalue())
        os.replace(tmp, target)
        return f"thumbs/{target.name}"

    def _row(self, index: int, request: Any, status: str, **extra: Any) -> dict[str, Any]:
        body = _body(request)
        prompt = body.pop("prompt", None)
        return {
            "key": self.keys[index],
            "index": index,
            "prompt": prompt,
            "params": body,
            "seed": extra.pop("seed", body.get("seed")),
            "file": (extra.get("files") or [None])[0],  # the first (only, unless variants)
            "files": extra.pop("files", []),
            "cost": extra.pop("cost", None),  # USD, as estimated or reported; None when free
            "status": status,
            "error": extra.pop("error", None),
            "route": self.route,
            "updated": round(time.time(), 3),
            **extra,
        }

    def _count_sent(self, cached: bool) -> None:
        with self._lock:
            self.sent += 0 if cached else 1

    def _finish(self, index: int, request: Any, status: str, **extra: Any) -> None:
        row = self._row(index, request, status, **extra)
        try:
            self.manifest.update([row])
        except OSError as exc:  # a full disk: the row stays in memory; stop before paying more
            self._stop(f"could not record: {_disk_line(exc, self.directory)}")
        with self._lock:
            if status == "done":
                self.landed += 1
                self.images_landed += len(row["files"])
                self.spent_usd += row["cost"] or 0.0
            else:
                self.failed_now += 1
            if not row.get("cached"):
                self.to_spend_usd = max(0.0, self.to_spend_usd - self._costs.get(index, 0.0))

    # ---- what a person sees ----------------------------------------------------------------------

    def _fraction(self) -> float:
        rows = self.manifest.of(self.keys)
        return sum(1 for r in rows if r.get("status") == "done") / max(1, len(self.keys))

    def eta_s(self) -> float | None:
        """Seconds left: the pace seen so far, and no faster than the key's rate limit allows;
        estimated at each answer and counted down between answers."""
        left = len(self.pending) - self.landed - self.failed_now
        if left <= 0:
            return 0.0
        now = time.perf_counter()
        if self._eta is not None and self._eta[0] == left:
            return max(0.0, self._eta[1] - (now - self._eta[2]))
        estimate = self._estimate(left)
        self._eta = None if estimate is None else (left, estimate, now)
        return estimate

    def _estimate(self, left: int) -> float | None:
        elapsed = time.perf_counter() - self._started
        seen = left * elapsed / self.landed if self.landed else None
        pace = self.session.client().gate.pace() if hasattr(self.session, "client") else None
        limited = left * pace[1] / pace[0] if pace else None
        known = [s for s in (seen, limited) if s is not None]
        return max(known) if known else None

    def progress_text(self, final: bool = False) -> str:
        rows = self.manifest.of(self.keys)
        done = sum(1 for r in rows if r.get("status") == "done")
        failed = sum(1 for r in rows if r.get("status") == "failed")
        elapsed = time.perf_counter() - self._started
        images = sum(len(r.get("files") or []) for r in rows if r.get("status") == "done")
        parts = [f"batch {done}/{len(self.keys)} done"]
        if failed:
            parts[0] += f", {failed} failed"
        if self.landed and elapsed > 0:
            parts.append(f"{self.images_landed / elapsed * 60:.1f} images/min")
        if not final:
            eta = self.eta_s()
            parts.append(f"ETA {_duration(eta)}" if eta is not None else "ETA after the first")
        money = f"${self.spent_usd:.2f} spent"
        if not final:
            money += f", ~${self.to_spend_usd:.2f} still to spend"
        if getattr(self.session, "backend", None) == "local":
            money = money.replace(" spent", " at the service's prices").replace(
                "still to spend", "still to come"
            )
            money += "; nothing is charged on the local preview"
        parts.append(money)
        parts.append(f"{images} images in {self.directory}")
        if self._stop_reason:
            parts.append(f"stopped: {self._stop_reason}")
        return " · ".join(parts)

    def _gallery(self, last: int | None) -> str:
        rows = [r for r in self.manifest.of(self.keys) if r.get("status") == "done"]
        if last is not None:
            rows = rows[-last:]
        return gallery_html(self.directory, rows, self._tiles)

    def result(self) -> BatchResult:
        """The batch as its manifest holds it; a request never sent (a stop on a full disk) is
        a ``pending`` row here, not in the file, which grows by one row per answer."""
        rows = [
            self.manifest.rows.get(key) or self._row(i, self.jobs[i].request, "pending")
            for i, key in enumerate(self.keys)
        ]
        return BatchResult(
            directory=self.directory,
            manifest=self.manifest.path,
            rows=rows,
            keys=list(self.keys),
            maker=self.session,
            rerun=functools.partial(
                _send_again, self.session, self.jobs, self.directory, self.route, self.title
            ),
            route=self.route,
            title=self.title,
            sent=self.sent,
            stopped=self._stop_reason,
            wall_ms=(time.perf_counter() - self._started) * 1000 if self._started else 0.0,
        )


def _send_again(
    default: VeniceSession,
    jobs: list[Job],
    directory: Path,
    route: str,
    title: str | None,
    session: VeniceSession | None = None,
) -> int:
    """``BatchResult.retry_failed``: the same batch again, which sends only what is not done;
    how many requests it sent."""
    run = BatchRun(session or default, jobs, directory, route=route, title=title)
    run.prepare()
    return run.run(display=False).sent


class _Status:
    """``run.StatusLine`` with the batch's gallery below it."""

    def __init__(self) -> None:
        self.line = StatusLine()

    def show(self, text: str, state: str, progress: float | None, body: str) -> None:
        self.line.show(text, state, progress, body)


def _body(request: Any) -> dict[str, Any]:
    maker = getattr(request, "provenance_json", None) or request.to_json
    return dict(maker())


def _disk_line(exc: BaseException, directory: Path) -> str:
    """One line for a failed write; a full disk says what is kept and how to go on."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"the disk is full ({directory}); what landed before is saved and recorded there: "
            "free some space and run the batch again to send the rest"
        )
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc} ({getattr(exc, 'filename', None) or directory})"
    return error_line(exc)


def _duration(seconds_left: float) -> str:
    seconds = round(seconds_left)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def batch(
    prompts: Any,
    save: str | os.PathLike[str] | None = None,
    *,
    session: VeniceSession | None = None,
    route: str = "generate",
    use_cache: bool = True,
    concurrency: int | None = None,
    display: bool | None = None,
    namespace: Mapping[str, Any] | None = None,
    yes: bool = False,
    **request_fields: Any,
) -> BatchResult:
    """Run one request per prompt as a batch saved into ``save`` (default: a ``batch-*`` folder
    under ``save_dir`` named by the requests), resumable from its manifest.

    ``prompts``: a list of strings (or dicts with a ``prompt`` key and per-row fields), a pandas
    Series or DataFrame, or a .txt/.csv path. ``request_fields`` are the ``GenerateRequest``
    fields every row shares (``model``, ``seed``, ``cfg_scale``...); a row's own fields win.
    ``{name}`` in a prompt is filled from ``namespace`` (the notebook's variables by default).
    The folder by default is named by ``request_fields``, the route and the prompts' file (not
    by each prompt), so the same call with a prompt added sends only the new one. A batch whose
    estimate passes ``cost_limit_usd`` is refused before sending; ``yes=True`` confirms it.
    Identical requests with a seed are sent once. ``display`` (default: in a notebook) shows the
    progress line and the gallery, which stays in the saved notebook.
    """
    if session is None:
        session = get_session()
    if namespace is None:
        namespace = _user_namespace()
    allowed = set(GenerateRequest.field_names()) - {"prompt"}  # the prompts are the list's
    unknown = sorted(set(request_fields) - allowed)
    if unknown:
        name = unknown[0]
        hint = (
            "the prompts come from the list"
            if name == "prompt"
            else did_you_mean(name, GenerateRequest.field_names())
        )
        raise ValidationError(
            f"venice_nb.batch: {name!r} is not a request field" + (f"; {hint}" if hint else "")
        )
    check_types("batch()", request_fields, field_types(GenerateRequest))
    if save is not None and not isinstance(save, (str, os.PathLike)):
        raise TypeError(
            f"batch(): save must be a folder path (str or Path), got {type(save).__name__} {save!r}"
        )
    if isinstance(prompts, (str, os.PathLike)) and not Path(prompts).is_file():
        raise ValidationError(
            f"batch(): prompts is a string but no file {str(prompts)!r}; give a list of prompts "
            "(batch(['a fox', 'an owl'], ...)) or the path of a .txt/.csv file"
        )
    notes: list[str] = []
    rows = load_prompts(prompts, notes=notes)
    jobs = []
    for row in rows:
        prompt = fill_row(row, namespace, prompts).prompt if namespace else row.prompt
        fields = {**request_fields, **dict(row.fields), "prompt": prompt}
        jobs.append(Job(session.build_request(**fields), {"prompt": row}))
    source = (
        str(Path(prompts).expanduser().resolve())
        if isinstance(prompts, (str, os.PathLike))
        else "a list"
    )
    name_by = {"route": route, "fields": request_fields, "source": source}
    run = BatchRun(
        session, jobs, save, route=route, use_cache=use_cache, concurrency=concurrency,
        name_by=name_by,
    )  # fmt: skip
    checked = run.prepare(confirmed=yes, confirm_hint="pass yes=True to run it")
    if display is None:
        display = namespace is not None and bool(namespace)
    if display:
        for note in notes + checked.notes:
            show(notice_html(note), note)
    return run.run(display=display, keep_gallery=True)


def _user_namespace() -> dict[str, Any] | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    shell = get_ipython()
    return None if shell is None else shell.user_ns


def _images_asked(request: Any) -> int:
    """How many images one request makes (``variants`` of a generation, ``n`` of the OpenAI
    route): the files a whole saved set has."""
    return int(getattr(request, "variants", None) or getattr(request, "n", None) or 1)
