"""A content-addressed disk cache of results, so re-running a seeded cell costs nothing.

Only seeded requests are cached: without a seed every call is meant to give a new image. The key is
the SHA-256 of the canonical JSON of route, base URL, the request body as sent and a format version;
the API key is never part of it nor of anything written here.

Layout: ``<dir>/ab/abcdef.../`` holds the images exactly as received (``0.webp``, ``1.png``, ...) and
``meta.json`` (provenance, timing, per-image format, length and CRC-32). An entry is built in a
temporary directory inside ``<dir>`` and renamed into place, so readers see a whole entry or none;
when two writers race, the first rename wins and the other copy is dropped. Removal renames the entry
away first for the same reason. A hit reads bytes and a small JSON file, nothing is decoded.

Eviction is least-recently-used by entry mtime: a hit touches the entry, and when a ``put`` takes
the total over ``max_bytes`` the oldest entries go until it is under again. Each instance keeps a
running total between disk scans (rescanning at least every ``RESCAN_S``), so kernels sharing one
directory can overshoot the bound briefly, never for long. Anything wrong on disk (corrupt entry,
unreadable or unwritable directory, a reader racing an eviction) turns into a miss, never an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
import warnings
import zlib
from dataclasses import dataclass, replace
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import redact_url
from .image_format import sniff_format
from .redact import redact_value
from .result import LOCAL_PREVIEW, AnswerTime, GeneratedImage, GenerationResult, Timing

if TYPE_CHECKING:  # pragma: no cover
    from .operations.request import Request

FORMAT_VERSION = 1
META = "meta.json"
RESCAN_S = 30.0
_STALE_TMP_S = 3600.0  # a writer's temp dir older than this belongs to a crashed process
_TIMING_FIELDS = ("queue_ms", "preprocessing_ms", "inference_ms", "total_ms")


class CorruptEntry(Exception):
    """An entry that cannot be trusted; internal, always turned into a miss."""


@dataclass(frozen=True)
class _Entry:
    path: Path
    mtime: float
    size: int


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, integral floats as ints (7.0 and 7 ask for the same image)."""
    return json.dumps(_normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    return value


def _field(meta: dict[str, Any], name: str, kind: type) -> Any:
    """``meta[name]`` if it is None or of ``kind``; anything else marks the entry corrupt."""
    value = meta.get(name)
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    raise CorruptEntry(f"{name} has the wrong type")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise CorruptEntry("timing is not a number")


def _delete(path: Path) -> None:
    """Delete a directory tree or a stray file, never raising."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


class _Asked:
    """A cached request's body read back as the fields ``AnswerTime.of`` looks at."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.model = body.get("model")
        self.image_count = body.get("variants") or 1
        self.width, self.height = body.get("width"), body.get("height")


class ResultCache:
    """Disk cache of ``GenerationResult`` s for seeded requests. Safe across threads and processes."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int) -> None:
        self.directory = Path(directory).expanduser()
        self.max_bytes = int(max_bytes)
        self._evict_lock = threading.Lock()
        self._warned = False
        # Total at the last scan plus what this instance wrote since: a full scan costs ~35 ms
        # per thousand entries, so a put rescans only when this estimate passes the bound or
        # the last scan is older than RESCAN_S (other kernels may write to the same directory).
        self._known_bytes: int | None = None
        self._scanned_at = 0.0

    # ---- keys ----------------------------------------------------------------------------------

    @staticmethod
    def key(route: str, base_url: str, request_json: dict[str, Any]) -> str:
        """SHA-256 hex of what decides the image: route, server, body as sent, cache format."""
        material = {
            "v": FORMAT_VERSION,
            "route": route,
            "base_url": (base_url or "").rstrip("/"),
            "request": request_json,
        }
        return sha256(canonical_json(material).encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.directory / key[:2] / key

    # ---- reading -------------------------------------------------------------------------------

    def has(self, key: str) -> bool:
        """Whether an entry for ``key`` is there (what a run would get without a request)."""
        try:
            return (self._path(key) / META).is_file()
        except (ValueError, OSError):
            return False

    def get(self, key: str, request: Request) -> GenerationResult | None:
        """The cached result for ``key`` (``cached=True``, cost 0), or None on a miss of any kind."""
        started = time.perf_counter()
        try:
            path = self._path(key)
        except ValueError:
            return None
        try:
            ident = os.stat(path).st_ino
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._warn(exc)
            return None
        try:
            result = self._rebuild(*self._load(path, key), request)
        except (OSError, CorruptEntry):
            # Gone under us (eviction, clear) or damaged: either way a miss. Remove it only if it
            # is still the entry we read, not a fresh one a writer has just put in its place.
            if path.exists():
                self._remove(path, expect_ino=ident)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # LRU: a hit keeps the entry young
        result.timing = replace(result.timing, wall_ms=(time.perf_counter() - started) * 1000)
        return result

    @staticmethod
    def _rebuild(
        meta: dict[str, Any],
        images: list[GeneratedImage],
        request: Request,
    ) -> GenerationResult:
        """The result as first received, marked cached and free; the request is the one asked."""
        api = _field(meta, "timing", dict) or {}
        queue, preprocessing, inference, total = (_number(api.get(k)) for k in _TIMING_FIELDS)
        timing = Timing(queue, preprocessing, inference, total)
        return GenerationResult(
            request=request,
            images=images,
            id=_field(meta, "id", str),
            timing=timing,
            seed=_field(meta, "seed", int),
            blurred=bool(meta.get("blurred")),
            content_violation=bool(meta.get("content_violation")),
            refused=_field(meta, "refused", int) or 0,
            deprecation=_field(meta, "deprecation", str),
            enhanced_prompt=_field(meta, "enhanced_prompt", str),
            cost_usd=0.0,
            backend=_field(meta, "backend", str) or "venice",
            base_url=_field(meta, "base_url", str) or "",
            route=_field(meta, "route", str) or "generate",
            request_id=_field(meta, "request_id", str),
            cached=True,
        )

    @staticmethod
    def _load(path: Path, key: str) -> tuple[dict[str, Any], list[GeneratedImage]]:
        """Read and check an entry; raise CorruptEntry (or OSError) for anything short of whole."""
        try:
            meta = json.loads((path / META).read_bytes())
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise CorruptEntry("meta.json is not JSON") from exc
        if not isinstance(meta, dict) or meta.get("version") != FORMAT_VERSION:
            raise CorruptEntry("unknown cache format version")
        if meta.get("key") != key:
            raise CorruptEntry("entry belongs to another key")
        records = meta.get("images")
        if not isinstance(records, list) or not records:
            raise CorruptEntry("no images listed")
        images = []
        for i, rec in enumerate(records):
            try:
                name, length, crc = rec["file"], rec["bytes"], rec["crc32"]
            except (TypeError, KeyError) as exc:
                raise CorruptEntry("bad image record") from exc
            if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
                raise CorruptEntry("bad image file name")
            data = (path / name).read_bytes()
            if len(data) != length or zlib.crc32(data) != crc:
                raise CorruptEntry(f"{name} is truncated or damaged")
            fmt = sniff_format(data)
            if fmt is None:
                raise CorruptEntry(f"{name} is not an image")
            images.append(
                GeneratedImage(
                    data=data,
                    format=fmt,
                    index=i,
                    seed=_field(rec, "seed", int),
                    blurred=bool(rec.get("blurred")),
                    content_violation=bool(rec.get("content_violation")),
                )
            )
        return meta, images

    # ---- writing -------------------------------------------------------------------------------

    def put(self, key: str, result: GenerationResult) -> None:
        """Store ``result`` under ``key``; refused (silently) unless it is a seeded, fresh, whole result."""
        if (
            # Seeded generations, and every toolbox answer (keyed by input bytes and parameters).
            (
                getattr(result.request, "seed", None) is None
                and not getattr(result.request, "cacheable", False)
            )
            or result.cached
            or result.content_violation
            or not result.images
        ):
            return
        final = self._path(key)
        if sum(len(im.data) for im in result.images) > self.max_bytes:
            return  # would be evicted at once
        tmp: Path | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.directory))
            written = self._write_entry(tmp, key, result)
            if self._publish(tmp, final, key):
                tmp = None  # it is the entry now; otherwise the finally drops our copy
        except OSError as exc:
            self._warn(exc)
            return
        except (TypeError, ValueError):
            return  # a value JSON cannot hold: not worth failing the cell over a cache entry
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        self._after_put(written)

    def _after_put(self, written: int) -> None:
        with self._evict_lock:
            if self._known_bytes is not None:
                self._known_bytes += written
            due = (
                self._known_bytes is None
                or self._known_bytes > self.max_bytes
                or time.monotonic() - self._scanned_at > RESCAN_S
            )
        if due:
            self.evict()

    @staticmethod
    def _write_entry(tmp: Path, key: str, result: GenerationResult) -> int:
        records: list[dict[str, Any]] = []
        for i, image in enumerate(result.images):
            name = f"{i}.{image.extension}"
            (tmp / name).write_bytes(image.data)
            records.append(
                {
                    "file": name,
                    "format": image.format,
                    "bytes": len(image.data),
                    "crc32": zlib.crc32(image.data),
                    "seed": image.seed,
                    "blurred": image.blurred,
                    "content_violation": image.content_violation,
                }
            )
        timing = result.timing
        meta = {
            "version": FORMAT_VERSION,
            "key": key,
            "created": time.time(),
            "route": result.route,
            "request": getattr(result.request, "provenance_json", result.request.to_json)(),
            "base_url": redact_url(result.base_url),  # credentials never reach the disk
            "backend": result.backend,
            "id": result.id,
            "request_id": result.request_id,
            "seed": result.seed,
            "blurred": result.blurred,
            "content_violation": result.content_violation,
            "refused": result.refused,  # variants the content policy left out: the note stays
            "deprecation": result.deprecation,
            "enhanced_prompt": result.enhanced_prompt,
            "cost_usd": result.cost_usd,
            "timing": {
                "queue_ms": timing.queue_ms,
                "preprocessing_ms": timing.preprocessing_ms,
                "inference_ms": timing.inference_ms,
                "total_ms": timing.total_ms,
                "wall_ms": timing.wall_ms,
            },
            "images": records,
        }
        text = json.dumps(redact_value(meta), indent=1).encode("utf-8")
        (tmp / META).write_bytes(text)
        return len(text) + sum(r["bytes"] for r in records)

    def _publish(self, tmp: Path, final: Path, key: str) -> bool:
        """Rename ``tmp`` to ``final``; False if a whole entry was already there (it stays)."""
        for _ in range(3):
            final.parent.mkdir(exist_ok=True)
            try:
                os.rename(tmp, final)
                return True
            except FileNotFoundError:
                continue  # the shard vanished (clear() elsewhere); make it again
            except OSError:
                pass  # the name is taken (ENOTEMPTY/EEXIST): look at who took it
            try:
                ident = os.stat(final).st_ino
            except FileNotFoundError:
                continue  # evicted meanwhile: the name is free again
            try:
                self._load(final, key)
                return False  # another writer won with a whole entry: theirs stays
            except (OSError, CorruptEntry):
                self._remove(final, expect_ino=ident)  # a damaged one: replace it
        raise OSError(f"could not place cache entry {key[:12]}")

    # ---- removal and size ----------------------------------------------------------------------

    def _remove(self, path: Path, expect_ino: int | None = None) -> None:
        """Take an entry away atomically (rename, then delete), never raising."""
        try:
            if expect_ino is not None and os.stat(path).st_ino != expect_ino:
                return
            trash = self.directory / f".trash-{uuid.uuid4().hex}"
            os.rename(path, trash)
        except OSError:
            return
        _delete(trash)

    def _entries(self) -> list[_Entry]:
        """Every published entry with its mtime and size; also sweeps crashed writers' leftovers."""
        found: list[_Entry] = []
        now = time.time()
        try:
            shards = list(os.scandir(self.directory))
        except FileNotFoundError:
            return found
        for shard in shards:
            try:
                if shard.name.startswith("."):
                    stale = shard.name.startswith(".trash-") or (
                        now - shard.stat().st_mtime > _STALE_TMP_S
                    )
                    if stale:
                        _delete(Path(shard.path))
                    continue
                if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
                    continue
                for entry in os.scandir(shard.path):
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                    size = sum(f.stat().st_size for f in os.scandir(entry.path) if f.is_file())
                    found.append(_Entry(Path(entry.path), entry.stat().st_mtime, size))
            except OSError:
                continue  # removed while we looked: it no longer counts
        return found

    def evict(self) -> int:
        """Remove least recently used entries until the total is under ``max_bytes``; returns how many."""
        with self._evict_lock:
            try:
                entries = self._entries()
            except OSError as exc:
                self._warn(exc)
                return 0
            total = sum(e.size for e in entries)
            removed = 0
            for entry in sorted(entries, key=lambda e: e.mtime):
                if total <= self.max_bytes:
                    break
                self._remove(entry.path)
                total -= entry.size
                removed += 1
            self._known_bytes, self._scanned_at = total, time.monotonic()
            return removed

    def clear(self) -> None:
        """Remove every entry."""
        self._known_bytes = None
        with contextlib.suppress(OSError):
            for entry in self._entries():
                self._remove(entry.path)
        with contextlib.suppress(OSError):
            for shard in os.scandir(self.directory):
                if len(shard.name) == 2:
                    with contextlib.suppress(OSError):
                        os.rmdir(shard.path)  # only if empty

    def answer_times(
        self, *, base_url: str | None = None, local: bool = False, limit: int = 16
    ) -> list[AnswerTime]:
        """How long the newest ``limit`` entries took when they were made, oldest first: what an
        earlier kernel measured, for the panel's first progress estimate. Only entries made by
        the same server (``base_url``), or by the local preview (``local``); read, never changed."""
        newest = sorted(self._entries(), key=lambda entry: entry.mtime)[-limit * 4 :]
        found: list[AnswerTime] = []
        for entry in newest:
            try:
                meta = json.loads((entry.path / META).read_text(encoding="utf-8"))
                request, wall_ms = meta["request"], float(meta["timing"]["wall_ms"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # being written, evicted or damaged: not a measure
            same = (
                meta.get("backend") == LOCAL_PREVIEW
                if local
                else base_url is not None and meta.get("base_url") == redact_url(base_url)
            )
            if same and isinstance(request, dict) and wall_ms > 0:
                found.append(AnswerTime.of(_Asked(request), wall_ms))
        return found[-limit:]

    def stats(self) -> dict[str, int]:
        """``{"entries": n, "bytes": total}`` as on disk now."""
        try:
            entries = self._entries()
        except OSError:
            entries = []
        return {"entries": len(entries), "bytes": sum(e.size for e in entries)}

    def _warn(self, exc: OSError) -> None:
        if self._warned:
            return
        self._warned = True
        reason = exc.strerror or type(exc).__name__
        warnings.warn(
            f"venice_nb: the result cache at {self.directory} is not usable ({reason}); "
            "continuing without it. Set VeniceMagics.cache_dir to a writable directory.",
            RuntimeWarning,
            stacklevel=3,
        )

    def __repr__(self) -> str:
        s = self.stats()
        return (
            f"<ResultCache {str(self.directory)!r} {s['entries']} entries, "
            f"{s['bytes'] / 1e6:.1f} of {self.max_bytes / 1e6:.0f} MB>"
        )
