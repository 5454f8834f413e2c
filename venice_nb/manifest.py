"""A batch's ``manifest.jsonl``: one row per answered request, written atomically as it grows.

A row: ``key``, ``index``, ``prompt``, ``params`` (the rest of the body as sent), ``seed``,
``file`` (and ``files``, ``seeds``, ``thumbs`` with variants), ``cost`` (USD; None when free),
``status`` (done or failed; a request not yet answered has no row), ``error`` (one line), ``route``, ``updated`` (Unix time).

The manifest is what makes a batch resumable: each row is keyed by a stable hash of the request
(its JSON body, the route and its occurrence among identical requests), so running the same cell
again, after an interrupt, a crash or a kernel restart, finds which requests are already ``done``
and sends only the rest.

Every change is one appended line (the last line of a key wins), written under an exclusive lock
of the file (``fcntl.flock``) and fsynced: two writers of one folder (two batches, or a late
landing of an interrupted run beside a new one) never lose each other's rows, and a row costs one
line, not a rewrite of them all. A kernel killed mid-write leaves at most a torn last line, which
is skipped on reading. ``compact`` (at the end of a run) rewrites the file with one line per key,
atomically (a fsynced temporary file and ``os.replace``, under the same lock); a reader sees the old
file or the new one, never half a row. Rows of other batches that share the directory are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import ValidationError

try:
    import fcntl
except ImportError:  # pragma: no cover  # Windows: one writer per folder
    fcntl = None  # type: ignore[assignment]

MANIFEST_NAME = "manifest.jsonl"
STATUSES = ("pending", "done", "failed")


def request_key(body: dict[str, Any], route: str = "generate", occurrence: int = 0) -> str:
    """A stable key for one request: the same request in the same position of a list is the same
    key in every kernel (sorted JSON, no key, no time)."""
    text = json.dumps({"route": route, "body": body, "n": occurrence}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class Manifest:
    """The rows of ``DIR/manifest.jsonl`` by key; ``update`` appends, ``compact`` rewrites."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()
        self.path = self.directory / MANIFEST_NAME
        self.rows: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.writes = 0

    def __repr__(self) -> str:
        counts = {s: sum(1 for r in self.rows.values() if r.get("status") == s) for s in STATUSES}
        shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        return f"<Manifest {self.path} {shown or 'empty'}>"

    # ---- reading ---------------------------------------------------------------------------

    def load(self) -> Manifest:
        """Read the rows there are (none when the file does not exist yet); a line that is not
        a JSON object is refused in one line, naming it, rather than overwritten (a torn last
        line, a write cut short by a crash, is skipped)."""
        if self.path.is_dir():
            raise ValidationError(f"{str(self.path)!r} is a directory; the manifest must be a file")
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return self
        except OSError as exc:
            raise ValidationError(
                f"cannot read the manifest {str(self.path)!r}: {exc.strerror or exc}"
            ) from None
        self.rows.update(self._parse(text))
        return self

    def _parse(self, text: str) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if not isinstance(row, dict) or not isinstance(row.get("key"), str):
                if row is None and line.lstrip().startswith("{"):  # a row torn by a crash
                    continue
                raise ValidationError(
                    f"{str(self.path)!r} line {number} is not a manifest row; move the file away "
                    "(or pick another batch directory) to start a new batch"
                )
            rows.pop(row["key"], None)  # the last line of a key wins, in its place
            rows[row["key"]] = row
        return rows

    def done(self, key: str) -> bool:
        row = self.rows.get(key)
        return row is not None and row.get("status") == "done"

    def of(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        return [self.rows[k] for k in keys if k in self.rows]

    # ---- writing ---------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Refuse, before anything is sent, a manifest that could not be written: a read-only
        file or directory. The probe writes a temporary file beside it and removes it."""
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise ValidationError(
                f"the manifest {str(self.path)!r} is not writable; make it writable or pick "
                "another batch directory"
            )
        probe = self.directory  # not created yet: nothing is left behind by a refused batch
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        try:
            handle, temp = tempfile.mkstemp(dir=probe, prefix=".manifest-probe-")
        except OSError as exc:
            raise ValidationError(
                f"cannot write the manifest in {str(self.directory)!r} "
                f"({exc.strerror or exc}); pick a directory you can write to"
            ) from None
        os.close(handle)
        os.unlink(temp)

    def update(self, rows: Iterable[dict[str, Any]]) -> None:
        """Set these rows (by key) and append them to the file, under its lock."""
        rows = list(rows)
        with self._lock:
            for row in rows:
                row.setdefault("updated", round(time.time(), 3))
                self.rows[row["key"]] = row
            body = "".join(json.dumps(row, default=str) + "\n" for row in rows)
            self.directory.mkdir(parents=True, exist_ok=True)
            with self._locked() as fd:
                end = os.lseek(fd, 0, os.SEEK_END)
                if end and os.pread(fd, 1, end - 1) != b"\n":  # after a torn line: a new line
                    body = "\n" + body
                _write_all(fd, body.encode("utf-8"))
                os.fsync(fd)
            self.writes += 1

    def compact(self) -> None:
        """Rewrite the file as one line per key (the rows of every writer, re-read under the
        lock), atomically."""
        if not self.path.exists():
            return
        with self._lock, self._locked() as fd:
            size = os.fstat(fd).st_size
            text = os.pread(fd, size, 0).decode("utf-8", errors="replace")
            try:
                rows = self._parse(text)
            except ValidationError:
                return  # not ours to rewrite
            self.rows.update(rows)
            body = "".join(json.dumps(row, default=str) + "\n" for row in rows.values())
            temp_fd, temp = tempfile.mkstemp(
                dir=self.directory, prefix=".manifest-", suffix=".part"
            )
            try:
                with os.fdopen(temp_fd, "w", encoding="utf-8") as fh:
                    fh.write(body)
                    fh.flush()
                    os.fsync(fh.fileno())
                with contextlib.suppress(OSError):
                    os.chmod(temp, 0o644)
                os.replace(temp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        """The manifest open for appending, locked exclusively; reopened when a compaction
        replaced the file while this writer waited for the lock."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    yield fd
                    return
            finally:
                os.close(fd)  # closing releases the lock


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
