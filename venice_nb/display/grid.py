"""The HTML and metadata of a sweep: one grid labelled with the swept values, one timing summary.

Built from the pieces of ``display.py`` (images, badges, the timing bar) so a sweep's cells look
like single results. The metadata stores what every cell shares once and, per cell, only what
differs, so a 16-cell grid does not repeat its prompt 16 times in the .ipynb.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import VeniceError, error_line
from ..result import SweepCell, SweepResult, Timing
from ..text import esc, format_ms, format_usd, plural
from .html import (
    BADGE_COLOURS,
    ERROR_COLOUR,
    FONT,
    LOCAL_NOT_BILLED,
    MUTED,
    NOMATH,
    Bundle,
    badge,
    footer_html,
    format_value,
    has_api_timing,
    image_html,
    no_timing_reason,
    preview_limit,
    thumb_dimensions,
    thumb_limit,
    timing_html,
)
from .preview import preview_dimensions
from .tiles import params_line


def _error_line(error: BaseException | None) -> tuple[str, str]:
    if error is None:
        return "not run", ""
    if isinstance(error, VeniceError):  # message and hint, joined by a full stop in a tile
        return error.message.rstrip("."), error.hint
    return error_line(error).rstrip("."), ""


LABEL = "white-space:nowrap;text-align:center;font-weight:bold;padding:0 4px"
# Column labels wrap between words when a column is narrow, never inside one (not clipped).
COL_LABEL = "white-space:normal;text-align:center;font-weight:bold;padding:0 4px"
# Row labels stay in view while a wide grid scrolls sideways (opaque, so tiles pass beneath).
ROW_LABEL = f"{LABEL};position:sticky;left:0;z-index:1;background:var(--jp-layout-color0, #fff)"


def _box_size(
    sweep: SweepResult, preview_size: int | None, thumb_size: int | None
) -> tuple[int, int]:
    """One tile size for the whole sweep: the largest thumbnail of any of its images."""
    limit = preview_limit(preview_size)
    width = height = 0
    for image in sweep.images:
        try:
            shown = preview_dimensions(image.size, limit)
        except (OSError, ValueError, SyntaxError):
            continue
        thumb = thumb_dimensions(shown, thumb_size) or shown
        width, height = max(width, thumb[0]), max(height, thumb[1])
    if not width:
        side = thumb_size if thumb_size else preview_limit(None) or 256
        side = min(side or 256, 256)
        width = height = side
    return width, height


def _tile_box(width: int, height: int, inner: str, extra: str = "") -> str:
    """A placeholder or failure the size of one picture, narrower when the space is."""
    return (
        f'<div style="width:{width}px;max-width:100%;min-height:{height}px;display:flex;'
        f'align-items:center;justify-content:center;{extra}">{inner}</div>'
    )


def _cell_html(
    cell: SweepCell,
    extra: Sequence[str],
    preview_size: int | None,
    thumb_size: int | None,
    box: tuple[int, int],
    layer: int,
    zoom_px: int | None = None,
) -> str:
    """A tile: the image(s) in a box of the sweep's one tile size, a placeholder, or the failure."""
    label = " ".join(f"{name}={format_value(cell.params.get(name))}" for name in extra)
    head = f'<div style="{MUTED};{LABEL};font-weight:normal">{esc(label)}</div>' if label else ""
    if cell.result is None:
        if cell.error is None:  # not finished yet: an image-sized placeholder
            inner = f'<span style="{MUTED}">\u2026 waiting</span>'
            body = _tile_box(
                *box, inner, f"border:1px dashed rgba(128,128,128,0.5);margin:0 4px;{PLACEHOLDER}"
            )
            return f'<div class="venice-nb-pending" style="{CELL}">{head}{body}</div>'
        message, hint = _error_line(cell.error)
        text = f"\u2717 {message}." + (f" {hint}" if hint else "")
        inner = f'<div style="padding:8px;text-align:center;white-space:normal">{esc(text)}</div>'
        body = _tile_box(*box, inner, f"border:1px dashed {ERROR_COLOUR};margin:0 4px")
        return f'<div class="venice-nb-failed" style="{CELL}">{head}{body}</div>'
    result = cell.result
    tail = badge("cached") if result.cached else ""
    images = "".join(
        image_html(
            im,
            preview_size,
            thumb_size=thumb_size,
            result=result,
            layer=layer,
            zoom_px=zoom_px,
            name_tag=_name_tag(cell.params),
        )
        for im in result.images
    )
    # the pictures take their own width (the thumbnail, less when the column is narrower,
    # more while one is opened): no fixed box that could cut one off
    body = (
        '<div style="display:flex;flex-wrap:wrap;justify-content:center;align-items:flex-start;'
        f'max-width:100%">{images}</div>'
    )
    return f'<div class="venice-nb-cell" style="{CELL}">{head}{body}{tail}</div>'


# An opened grid tile widens its column: this wide at most, so it can be scrolled fully into view
# in a notebook at 1024 px with the file browser open.
GRID_ZOOM_PX = 560
CELL = "display:flex;flex-direction:column;align-items:center;max-width:100%"
PLACEHOLDER = "background:rgba(128,128,128,0.08)"


def _name_tag(params: dict[str, Any]) -> str:
    """The swept values a download name needs besides model and seed (which it has already)."""
    return "-".join(
        f"{k}-{format_value(v)}" for k, v in params.items() if k not in ("model", "seed")
    )


def _ordered(values: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _sweep_timing(sweep: SweepResult) -> str:
    """One summary: the sweep's wall time, and a bar of what one of its fresh requests spent on
    average (requests that ran at the same time are not added up into a longer bar)."""
    fresh = [r for r in sweep.results if not r.cached]
    cached = len(sweep.results) - len(fresh)
    n = len(sweep.cells)
    note = plural(n, "cell")
    if cached:
        note += f", {cached} from the cache"
    if not fresh:
        return timing_html(Timing(wall_ms=sweep.wall_ms), note=note, reason="no request made")

    def mean(name: str) -> float | None:
        values = [v for r in fresh if (v := getattr(r.timing, name)) is not None]
        return sum(values) / len(values) if values else None

    average = Timing(
        mean("queue_ms"),
        mean("preprocessing_ms"),
        mean("inference_ms"),
        mean("total_ms"),
        wall_ms=sum(r.timing.wall_ms for r in fresh) / len(fresh),
        retry_wait_ms=sum(r.timing.retry_wait_ms for r in fresh) / len(fresh),
    )
    if len(fresh) > 1:
        note += f"; the bar: one request on average ({format_ms(average.wall_ms)})"
    reason = None if has_api_timing(average) else no_timing_reason(fresh[0])
    return timing_html(average, note=note, reason=reason, wall_ms=sweep.wall_ms)


def _sweep_footer(sweep: SweepResult) -> str:
    results = sweep.results
    parts: list[str] = []
    models = _ordered(r.model for r in results if r.model)
    if models:
        parts.append(", ".join(f"<b>{esc(m)}</b>" for m in models))
    ok = sum(1 for c in sweep.cells if c.ok)
    parts.append(f"{ok}/{len(sweep.cells)} ok")
    failed = len(sweep.errors)
    if failed:
        parts.append(badge(f"{failed} failed", BADGE_COLOURS["failed"]))
    if results and all(r.is_local_preview for r in results):
        parts.append(badge(LOCAL_NOT_BILLED, title="procedural pictures from the built-in server"))
    else:
        parts.append(f"cost {format_usd(sweep.cost_usd)}")
    balances = [b for r in results if (b := r.balance_after()) is not None]
    return footer_html(
        parts,
        balance=min(balances) if balances else None,
        simulated=all(r.is_local_preview for r in results),
        retries=sum(r.retries for r in results),
        warnings=_ordered(w for r in results for w in (r.deprecation, r.refused_note) if w),
    )


def _grid(
    sweep: SweepResult,
    cells: list[SweepCell],
    preview_size: int | None,
    thumb_size: int | None,
    box: tuple[int, int],
) -> str:
    """One CSS grid (not a table, so no theme restyles it): column labels on top, row labels on
    the left, every tile the same size, labels centred and never broken inside a value."""
    axes = {sweep.rows, sweep.cols, sweep.pages}
    rows = _ordered(c.params.get(sweep.rows) for c in cells) if sweep.rows else [None]
    cols = _ordered(c.params.get(sweep.cols) for c in cells) if sweep.cols else [None]
    slots: dict[tuple[Any, Any], list[SweepCell]] = {}
    for cell in cells:
        key = (
            cell.params.get(sweep.rows) if sweep.rows else None,
            cell.params.get(sweep.cols) if sweep.cols else None,
        )
        slots.setdefault(key, []).append(cell)
    if not sweep.rows and not sweep.cols:  # one long axis: a wrapping gallery of labelled tiles
        names = [k for k in (cells[0].params if cells else {}) if k not in axes]
        # tiles share a row's width (about 0.7 of a thumbnail each at the least, the picture at
        # most its thumbnail size) and wrap onto new rows: nothing is cut off at any width
        basis = round(box[0] * 0.7)
        tiles = "".join(
            f'<div style="flex:1 1 {basis}px;max-width:100%;display:flex;justify-content:center">'
            f"{_cell_html(c, names, preview_size, thumb_size, box, len(cells) - i)}</div>"
            for i, c in enumerate(cells)
        )
        return (
            '<div class="venice-nb-grid" style="display:flex;flex-wrap:wrap;gap:8px;'
            f'align-items:flex-start">{tiles}</div>'
        )
    widest = max(len(members) for members in slots.values())
    lead = "auto " if sweep.rows else ""
    # columns as wide as a thumbnail when there is room, narrower when not (down to what their
    # content needs); an opened picture widens its column instead of covering its neighbours
    template = f"{lead}repeat({len(cols)}, minmax(auto, 1fr))"
    # equal columns, each at most a tile's width (plus room for a row label)
    most = len(cols) * ((box[0] + 8) * max(1, widest) + 8) + (160 if sweep.rows else 0)
    parts: list[str] = []
    if sweep.cols:
        if sweep.rows:
            parts.append(
                f'<div style="{LABEL};{MUTED}">{esc(sweep.rows)} \u2193 {esc(sweep.cols)} \u2192</div>'
            )
        parts += [
            f'<div class="venice-nb-col-label" style="{COL_LABEL}">{esc(f"{sweep.cols}=")}<wbr>{esc(format_value(c))}</div>'
            for c in cols
        ]
    layer = len(cells)
    for row in rows:
        if sweep.rows:
            parts.append(
                f'<div class="venice-nb-row-label" style="{ROW_LABEL}">{esc(f"{sweep.rows}={format_value(row)}")}</div>'
            )
        for col in cols:
            members = slots.get((row, col), [])
            extra = [k for k in members[0].params if k not in axes] if len(members) > 1 else []
            inner = "".join(
                _cell_html(c, extra, preview_size, thumb_size, box, layer, GRID_ZOOM_PX)
                for c in members
            )
            layer -= len(members)
            parts.append(f'<div class="venice-nb-slot" style="{CELL}">{inner}</div>')
    return (
        '<div class="venice-nb-scroll" style="overflow-x:auto;max-width:100%">'
        f'<div class="venice-nb-grid" style="display:grid;grid-template-columns:{template};'
        f'max-width:{most}px;gap:8px;align-items:center;justify-items:center;justify-content:start">'
        f"{''.join(parts)}</div></div>"
    )


def _legend(sweep: SweepResult) -> str:
    """What the axes are and what every tile shares, with the cell that makes any one tile."""
    names = [
        f"{role}: <b>{esc(name)}</b>"
        for role, name in (
            ("rows", sweep.rows),
            ("columns", sweep.cols),
            ("sub-grids", sweep.pages),
        )
        if name
    ]
    axes = " \u00b7 ".join(names) or "one tile per combination"
    if sweep.title:
        axes = (
            f'<div class="venice-nb-title" style="font-weight:bold">{esc(sweep.title)}</div>{axes}'
        )

    shared = ""
    first = next((r for r in sweep.results), None)
    if first is not None:
        swept = {sweep.rows, sweep.cols, sweep.pages} | {k for c in sweep.cells for k in c.params}
        shared = params_line(first, skip=tuple(swept))
    return f'<div class="venice-nb-legend" style="margin-bottom:6px">{axes}{shared}</div>'


def sweep_html(
    sweep: SweepResult, preview_size: int | None = None, thumb_size: int | None = None
) -> str:
    """The comparison grid: a legend, one titled sub-grid per value of a third swept field, tiles
    of one size (placeholders until their result arrives), one timing summary and a footer."""
    if thumb_size is None:
        thumb_size = thumb_limit()
    box = _box_size(sweep, preview_size, thumb_size)
    if sweep.pages:
        pages = _ordered(c.params.get(sweep.pages) for c in sweep.cells)
        body = "".join(
            f'<div class="venice-nb-page" style="margin:4px 0 12px 0">'
            f'<div class="venice-nb-page-title" style="font-size:13px;font-weight:bold;'
            f'margin-bottom:4px;white-space:nowrap">{esc(f"{sweep.pages}={format_value(p)}")}</div>'
            f"{_grid(sweep, [c for c in sweep.cells if c.params.get(sweep.pages) == p], preview_size, thumb_size, box)}"
            "</div>"
            for p in pages
        )
    else:
        body = _grid(sweep, sweep.cells, preview_size, thumb_size, box)
    finished = all(c.result is not None or c.error is not None for c in sweep.cells)
    tail = f"{_sweep_timing(sweep)}{_sweep_footer(sweep)}" if finished else ""
    return (
        f'<div class="venice-nb-sweep {NOMATH}" style="{FONT}">{_legend(sweep)}{body}{tail}</div>'
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _sweep_provenance(sweep: SweepResult) -> dict[str, Any]:
    """Each cell's provenance without repeating what all cells share.

    The fields every cell's request has in common (prompt, model, size...), the route, backend and
    base URL are stored once; a cell keeps its params (the swept values), the request fields that
    differ from the shared ones when those are not just its params, and what the server said.
    Every cell's full request is ``dict(request, **cell["params"])`` (plus ``request_changes``).
    """
    provenances = [c.result.provenance() if c.result is not None else None for c in sweep.cells]
    done = [p for p in provenances if p is not None]
    shared: dict[str, Any] = {}
    if done:
        first = done[0]["request"]
        shared = {k: v for k, v in first.items() if all(p["request"].get(k) == v for p in done)}
    meta: dict[str, Any] = {
        "rows": sweep.rows,
        "cols": sweep.cols,
        "pages": sweep.pages,
        "wall_ms": round(sweep.wall_ms, 1),
    }
    for key in ("route", "backend", "base_url"):
        values = {p[key] for p in done}
        if len(values) == 1:
            meta[key] = values.pop()
    meta["request"] = shared
    cells = []
    for cell, prov in zip(sweep.cells, provenances, strict=True):
        params = _jsonable(cell.params)
        entry: dict[str, Any] = {"params": params}
        if prov is None:
            message, hint = _error_line(cell.error)
            entry["error"] = f"{message} {hint}".strip()
            cells.append(entry)
            continue
        request = prov.pop("request")
        changes = {k: v for k, v in request.items() if k not in shared or shared[k] != v}
        if changes != params:
            entry["request_changes"] = changes
        for key, value in prov.items():
            if key in meta and meta[key] == value:
                continue
            if key == "timing_ms":
                value = {k: round(v, 1) for k, v in value.items()}
            if value is False or value is None:
                continue  # flags that were not raised, fields the server did not send
            if key == "seed" and value == request.get("seed"):
                continue  # the seed asked for is the seed used
            entry[key] = value
        cells.append(entry)
    meta["cells"] = cells
    return meta


def sweep_bundle(
    sweep: SweepResult, preview_size: int | None = None, thumb_size: int | None = None
) -> Bundle:
    """``(data, metadata)`` for a sweep: one grid, one timing summary, each cell's provenance."""
    data = {"text/html": sweep_html(sweep, preview_size, thumb_size), "text/plain": repr(sweep)}
    return data, {"venice_nb": _sweep_provenance(sweep)}
