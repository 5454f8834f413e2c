"""Saving results: atomic files with provenance, never overwriting, never outside the target.

The file-writing half of a result. Files appear whole or not at all (a fsynced temporary file
given its name by a hard link, which fails atomically when the name is taken), an existing file is
never replaced (a taken name gets ``-2``, ``-3``...), and names come from ``safe_stem`` so a
server-provided id cannot choose a path outside the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import VeniceError
from .metadata import embed_metadata

if TYPE_CHECKING:  # pragma: no cover
    from .result import GenerationResult

_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(10)}
NAME_MAX = 255  # bytes per path component on every common file system
PATH_MAX = 4096  # bytes per whole path (Linux); Windows' 260 is lifted by long-path support
_WINDOWS_FORBIDDEN = set('<>:"|?*')


def path_problem(directory: str | os.PathLike[str]) -> str | None:
    """Why ``directory`` cannot be a folder on this machine (a NUL character, a name over 255
    bytes, a path over 4096, a character Windows forbids), or None. Checked from the text alone,
    so it is said before anything is paid, not after."""
    text = os.fspath(directory)
    if "\0" in text:
        return "holds a NUL character (\\0), which no file system allows in a name"
    path = Path(text).expanduser()
    for part in path.parts:
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > NAME_MAX and part not in (path.anchor,):
            return (
                f"has a folder name of {size} bytes ({part[:24]}...); file systems allow at most "
                f"{NAME_MAX}: shorten it"
            )
        if os.name == "nt" and part != path.anchor and _WINDOWS_FORBIDDEN & set(part):
            bad = "".join(sorted(_WINDOWS_FORBIDDEN & set(part)))
            return f"has {bad!r} in a folder name, which Windows does not allow"
    whole = len(os.fsencode(os.path.abspath(path)))
    if whole > PATH_MAX - NAME_MAX:  # leave room for the file names inside it
        return f"is {whole} bytes long as a full path; keep it under {PATH_MAX - NAME_MAX}"
    return None


def result_stem(result: GenerationResult) -> str:
    """A name a person recognises on disk: the server's id, else what made the image: the
    model and seed of a generation; the operation, its source and instruction for an edit,
    upscale or background removal (``upscale-2x-of-shot-0``). Never ``None``."""
    if result.id:
        return safe_stem(result.id)
    lineage = result.lineage
    if lineage is not None:
        detail = f"{lineage.params.get('scale', 2)}x" if lineage.operation == "upscale" else ""
        sources = "-and-".join(lineage.source_labels()[:2])
        words = " ".join(str(getattr(result.request, "prompt", "") or "").split()[:5])
        parts = [lineage.operation, detail, "of", sources, words]
    else:
        seeds = [result.seed, *(im.seed for im in result.images[:1])]
        seed = next((s for s in seeds if s is not None), None)
        parts = [result.model or "image", "" if seed is None else str(seed)]
    return safe_stem("-".join(p for p in parts if p), fallback="image", limit=80)


def safe_stem(text: str | None, fallback: str = "image", limit: int = 80) -> str:
    """A file-name stem from untrusted text (a server-provided id): only ``[A-Za-z0-9._-]``, no
    leading dot or dash (no hidden files, no ``..``, no option-like names), no NUL, no separators,
    at most ``limit`` characters, and never a Windows device name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", text or "")
    stem = re.sub(r"\.{2,}", ".", stem).strip("-.")[:limit].strip("-.")
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    return stem or fallback


def save_result(
    result: GenerationResult,
    directory: str | os.PathLike[str] = "venice-images",
    stem: str | None = None,
) -> list[Path]:
    """Write each image and a ``.json`` sidecar into ``directory``; returns the image paths.

    The generation parameters (never a key) go into the sidecar and, where the format allows,
    into the file itself (PNG iTXt, JPEG/WebP EXIF) without re-encoding the pixels. If any write
    fails every file this call created is removed again.
    """
    problem = path_problem(directory)
    if problem:
        raise VeniceError(
            f"cannot save into {os.fspath(directory)[:80]!r}: the name {problem}",
            hint="Pick another directory with --save DIR.",
        )
    target = Path(directory).expanduser()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VeniceError(
            f"cannot create the save directory {str(target)!r}: {exc.strerror or exc}",
            hint="Pick a writable directory with --save DIR.",
        ) from None
    base = safe_stem(stem) if stem else result_stem(result)
    info = result.provenance()
    paths: list[Path] = []
    created: list[Path] = []
    try:
        for image in result.images:
            data = embed_metadata(image.data, image.format, info)
            name = base if len(result.images) == 1 else f"{base}-{image.index + 1}"
            extra = {"index": image.index, "format": image.format, "seed": image.seed}
            created += _write_pair(target, name, image.extension, data, dict(info, **extra))
            paths.append(created[-2])
    except BaseException as exc:
        for path in created:
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(exc, OSError):
            raise VeniceError(
                f"could not save into {str(target)!r}: {exc.strerror or exc}; nothing was written",
                hint="Check the directory's permissions and free space.",
            ) from None
        raise
    return paths


def _write_pair(
    directory: Path, stem: str, ext: str, data: bytes, sidecar: dict[str, Any]
) -> list[Path]:
    """Create ``stem.ext`` and ``stem.json`` (or the first free ``stem-N`` pair), never replacing.

    Both names of a pair must be free: when the sidecar's name turns out taken, the image just
    linked is removed again and the next N is tried.
    """
    directory = directory.resolve()
    image_tmp = _temp_file(directory, data)
    try:
        for n in range(1, 10_000):
            name = stem if n == 1 else f"{stem}-{n}"
            image = directory / f"{name}.{ext}"
            meta = directory / f"{name}.json"
            for path in (image, meta):
                if path.resolve().parent != directory:  # defence in depth; safe_stem ensures it
                    raise VeniceError(f"refusing to write outside {directory}")
            if not _link_new(image_tmp, image):
                continue
            try:
                body = json.dumps(dict(sidecar, file=image.name), indent=2, default=str)
                meta_tmp = _temp_file(directory, body.encode("utf-8"))
                try:
                    if _link_new(meta_tmp, meta):
                        return [image, meta]
                finally:
                    os.unlink(meta_tmp)
            except BaseException:
                image.unlink()
                raise
            image.unlink()
        raise VeniceError(f"no free file name for {stem}.{ext} in {directory}")
    finally:
        os.unlink(image_tmp)


def _temp_file(directory: Path, data: bytes) -> str:
    """A flushed, fsynced hidden temporary file in ``directory`` (same file system as the target)."""
    fd, tmp = tempfile.mkstemp(prefix=".venice-", suffix=".part", dir=directory)
    try:
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would make saved images private to this user
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _link_new(tmp: str, path: Path) -> bool:
    """Give ``tmp`` the name ``path`` if that name is free; False when it is taken.

    A hard link fails atomically when the name exists (no overwrite, no race). Where the file
    system has no hard links, the name is reserved with O_EXCL and the whole file moved onto it.
    """
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:
        pass
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    try:
        shutil.copyfile(tmp, str(path) + ".part")
        os.replace(str(path) + ".part", path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(str(path) + ".part")
        os.unlink(path)
        raise
    return True
