"""What a batch leaves: ``BatchResult`` (rows of its manifest, images read from disk) and its gallery.

Kept apart from ``batches`` (which sends): a result only reads the directory and the manifest, so a
500-image batch never brings its images into memory unless asked, one at a time
(``BatchImages``). The gallery is plain HTML of the small JPEG thumbnails in ``DIR/thumbs``, as
data URIs: it persists in the saved notebook and links to nothing remote.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ValidationError
from .manifest import Manifest

if TYPE_CHECKING:  # pragma: no cover
    from .result import GeneratedImage

THUMB_PX = 96  # the gallery's thumbnails: small JPEGs, a few KB each


def _thumb_uri(directory: Path, name: str) -> str | None:
    try:
        data = (directory / name).read_bytes()
    except OSError:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def gallery_html(
    directory: Path, rows: list[dict[str, Any]], memo: dict[str, str] | None = None
) -> str:
    """A wrapping strip of small thumbnails, each titled with its prompt and seed; plain HTML."""
    memo = {} if memo is None else memo
    tiles = []
    for row in rows:
        for n, name in enumerate(row.get("thumbs") or []):
            key = f"{row['key']}/{n}"
            if key not in memo:
                uri = _thumb_uri(directory, name)
                if uri is None:
                    continue
                tip = html.escape(
                    f"{row.get('index', 0) + 1}: {row.get('prompt') or ''} (seed {row.get('seed')})"
                )
                memo[key] = (
                    f'<img src="{uri}" title="{tip}" alt="{tip}" style="width:{THUMB_PX}px;'
                    f'height:{THUMB_PX}px;object-fit:contain;margin:1px">'
                )
            tiles.append(memo[key])
    return f'<div class="venice-nb-batch" style="display:flex;flex-wrap:wrap;max-width:100%">{"".join(tiles)}</div>'


def _varying(rows: list[dict[str, Any]]) -> list[str]:
    """The request fields (seed included) whose values differ between rows: a tile's label."""
    seen: dict[str, set[str]] = {}
    for row in rows:
        values = {**(row.get("params") or {}), "seed": row.get("seed")}
        for name, value in values.items():
            seen.setdefault(name, set()).add(repr(value))
    return [name for name, values in seen.items() if len(values) > 1 and name != "prompt"]


class BatchImages(Sequence["GeneratedImage"]):
    """The batch's images, read from disk when asked for (never all in memory at once)."""

    def __init__(self, directory: Path, rows: list[dict[str, Any]], maker: Any = None) -> None:
        self._maker = maker  # the session that made them: their verbs (upscale, edit) run there
        self._entries = [
            (directory / name, row) for row in rows if row.get("status") == "done"
            for name in row.get("files") or []
        ]  # fmt: skip

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        from .result import GeneratedImage

        path, row = self._entries[index]
        seeds = row.get("seeds") or [row.get("seed")]
        n = (row.get("files") or []).index(path.name)
        seed = seeds[min(n, len(seeds) - 1)]
        image = GeneratedImage.from_bytes(path.read_bytes(), index=n, seed=seed)
        image.maker = self._maker  # no origin: reading a file must not start the session's client
        return image

    def __iter__(self) -> Iterator[GeneratedImage]:
        for i in range(len(self)):
            yield self[i]

    @property
    def paths(self) -> list[Path]:
        return [path for path, _ in self._entries]

    def __repr__(self) -> str:
        return f"<BatchImages {len(self)} images on disk>"


@dataclass
class BatchResult:
    """A batch as recorded in its manifest: ``.images`` (read from disk), ``.failed`` rows,
    ``.manifest`` (the path of ``manifest.jsonl``), and the gallery as the notebook output."""

    directory: Path
    manifest: Path
    rows: list[dict[str, Any]]
    keys: list[str] = field(default_factory=list, repr=False)  # this batch's rows, in order
    rerun: Callable[[Any], Any] | None = field(default=None, repr=False)  # sends what is not done
    maker: Any = field(default=None, repr=False, compare=False)  # the session that ran it
    route: str = "generate"
    title: str | None = None
    sent: int = 0  # requests sent by the run that made this result
    wall_ms: float = 0.0
    stopped: str | None = None  # why the run stopped early (a dead server, a full disk)

    @property
    def images(self) -> BatchImages:
        return BatchImages(self.directory, self.rows, self.maker)

    @property
    def done(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("status") == "done"]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("status") != "done"]

    @property
    def cost_usd(self) -> float:
        return sum(r.get("cost") or 0.0 for r in self.done)

    def retry_failed(self, session: Any = None) -> BatchResult:
        """Send the failed rows again (only those: the manifest holds the rest as done) through
        the batch that made this result, and return the batch as it is then."""
        if not self.failed:
            print("retry_failed: no failed row, nothing sent")  # a word, not silence
            return self
        if self.rerun is None:
            raise ValidationError("this batch result cannot send; run the batch again instead")
        sent = self.rerun(session)
        fresh = Manifest(self.directory).load().rows
        self.rows = [fresh.get(row["key"], row) for row in self.rows]
        self.sent = sent if isinstance(sent, int) else self.sent
        left = len(self.failed)
        print(
            f"retry_failed: {self.sent} sent; {len(self.done)}/{len(self.rows)} done"
            + (f", {left} still not done" if left else "")
        )
        return self

    def contact_sheet(self, path: str | os.PathLike[str], **kw: Any) -> Path:
        """The batch as one image (``.png``/``.jpg``) or one self-contained ``.html`` page, each
        tile labelled with its number, prompt and the values that vary between rows (seed...);
        a failed row is a "failed" tile. Images are read from disk one at a time."""
        from .contact import Item, write_contact_sheet

        varying = _varying(self.rows)
        items: list[Item] = []
        for row in self.rows:
            values = {**(row.get("params") or {}), "seed": row.get("seed")}
            shown = ", ".join(f"{k}={values.get(k)}" for k in varying)
            label = f"{row.get('index', 0) + 1}: {row.get('prompt') or ''}"
            label += f" ({shown})" if shown else ""
            if row.get("status") == "done":
                items += [(label, self.directory / name) for name in row.get("files") or []]
            elif row.get("status") == "failed":
                items.append((f"{label}: failed", None))
        return write_contact_sheet(items, path, title=self.title, **kw)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        failed = self.failed
        lines = [
            f"{len(self.done)}/{len(self.rows)} done, {len(self.images)} images in "
            f"{self.directory} (manifest: {self.manifest.name}); {self.sent} sent by this run, "
            f"${self.cost_usd:.2f} in all" + (f"; stopped: {self.stopped}" if self.stopped else "")
        ]
        listed = "".join(
            f"<li>#{r.get('index', 0) + 1} {html.escape(str(r.get('prompt'))[:60])}: "
            f"{html.escape(str(r.get('error') or r.get('status')))}</li>"
            for r in failed[:20]
        )
        more = f"<li>... and {len(failed) - 20} more</li>" if len(failed) > 20 else ""
        fail_html = (
            f'<div style="color:#b00020">{len(failed)} not done (result.retry_failed() sends '
            f"only these):<ul>{listed}{more}</ul></div>"
            if failed
            else ""
        )
        title = f"<b>{html.escape(self.title)}</b><br>" if self.title else ""
        page = (
            f'<div class="venice-nb-batch-result" style="font-family:sans-serif;font-size:12px">'
            f"{title}{html.escape(lines[0])}{fail_html}"
            f"{gallery_html(self.directory, self.done)}</div>"
        )
        text = lines[0] + (f"; {len(failed)} not done" if failed else "")
        return {"text/html": page, "text/plain": text}

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return (
            f"<BatchResult {len(self.done)}/{len(self.rows)} done, {len(self.failed)} failed, "
            f"{self.manifest}>"
        )
