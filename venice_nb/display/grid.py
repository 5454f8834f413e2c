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
from ..text import plural
from .html import (
    BADGE_COLOURS,
    ERROR_COLOUR,
    FONT,
    LOCAL_NOT_BILLED,
    MUTED,
    NOMATH,
    TILE,
    Bundle,
    badge,
    esc,
    footer_html,
    format_ms,
    format_usd,
    format_value,
    has_api_timing,
    image_html,
    images_row,
    no_timing_reason,
    timing_html,
)


def _error_line(error: BaseException | None) -> tuple[str, str]:
    if error is None:
        return "not run", ""
    if isinstance(error, VeniceError):  # the hint goes on a line of its own in a tile
        return error.message, error.hint
    return error_line(error), ""


def _cell_html(cell: SweepCell, extra: Sequence[str], preview_size: int | None) -> str:
    label = " ".join(f"{name}={format_value(cell.params.get(name))}" for name in extra)
    head = f'<div style="{MUTED}">{esc(label)}</div>' if label else ""
    if cell.result is None:
        message, hint = _error_line(cell.error)
        hint_html = f'<div style="{MUTED}">{esc(hint)}</div>' if hint else ""
        return (
            f'<div class="venice-nb-failed" style="{TILE};color:{ERROR_COLOUR};max-width:256px;'
            f'padding:8px;border:1px dashed {ERROR_COLOUR};border-radius:4px">{head}'
            f"\u2717 {esc(message)}{hint_html}</div>"
        )
    result = cell.result
    tail = badge("cached") if result.cached else ""
    if len(result.images) == 1:
        body = image_html(result.images[0], preview_size)
    else:
        body = images_row(result.images, preview_size)
    if not head and not tail and len(result.images) == 1:
        return body
    return f'<div style="{TILE}">{head}{body}{tail}</div>'


def _ordered(values: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _sweep_timing(sweep: SweepResult) -> str:
    """One summary: the sweep's wall time, and one bar summing what its fresh requests spent."""
    fresh = [r for r in sweep.results if not r.cached]
    cached = len(sweep.results) - len(fresh)
    n = len(sweep.cells)
    note = plural(n, "cell")
    if cached:
        note += f", {cached} from the cache"
    if not fresh:
        return timing_html(Timing(wall_ms=sweep.wall_ms), note=note, reason="no request made")

    def total(name: str) -> float | None:
        values = [getattr(r.timing, name) for r in fresh]
        return (
            sum(v for v in values if v is not None) if any(v is not None for v in values) else None
        )

    summed = Timing(
        *(total(name) for name in ("queue_ms", "preprocessing_ms", "inference_ms", "total_ms")),
        wall_ms=sum(r.timing.wall_ms for r in fresh),
    )
    if sweep.wall_ms > 0 and summed.wall_ms > 0:
        note += (
            f"; {format_ms(summed.wall_ms)} of request time summed in the bar"
            f" ({summed.wall_ms / sweep.wall_ms:.1f}x overlap)"
        )
    reason = None if has_api_timing(summed) else no_timing_reason(fresh[0])
    return timing_html(summed, note=note, reason=reason, wall_ms=sweep.wall_ms)


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
    balances = [r.balance_usd for r in results if r.balance_usd is not None]
    return footer_html(
        parts,
        balance_usd=min(balances) if balances else None,
        simulated=all(r.is_local_preview for r in results),
        retries=sum(r.retries for r in results),
        warnings=_ordered(r.deprecation for r in results if r.deprecation),
    )


def sweep_html(sweep: SweepResult, preview_size: int | None = None) -> str:
    """One table: rows and columns labelled with the swept values, a failed cell shows its error."""
    rows = _ordered(c.params.get(sweep.rows) for c in sweep.cells) if sweep.rows else [None]
    cols = _ordered(c.params.get(sweep.cols) for c in sweep.cells) if sweep.cols else [None]
    axes = {sweep.rows, sweep.cols}
    grid: dict[tuple[Any, Any], list[SweepCell]] = {}
    for cell in sweep.cells:
        key = (
            cell.params.get(sweep.rows) if sweep.rows else None,
            cell.params.get(sweep.cols) if sweep.cols else None,
        )
        grid.setdefault(key, []).append(cell)
    head = ""
    if sweep.cols:
        axes_label = f"{sweep.rows} \u2193 / {sweep.cols} \u2192"
        corner = f"<th>{esc(axes_label)}</th>"
        head = (
            f"<tr>{corner if sweep.rows else ''}"
            + "".join(f"<th>{esc(f'{sweep.cols}={format_value(c)}')}</th>" for c in cols)
            + "</tr>"
        )
    body = ""
    for row in rows:
        label = f"{sweep.rows}={format_value(row)}" if sweep.rows else ""
        cells = ""
        for col in cols:
            members = grid.get((row, col), [])
            extra_names = (
                [k for k in members[0].params if k not in axes] if len(members) > 1 else []
            )
            inner = "".join(_cell_html(c, extra_names, preview_size) for c in members)
            cells += f'<td style="text-align:center">{inner}</td>'
        row_head = f"<th>{esc(label)}</th>" if sweep.rows else ""
        body += f"<tr>{row_head}{cells}</tr>"
    table = f'<table class="venice-nb-grid">{head}{body}</table>'
    return (
        f'<div class="venice-nb-sweep {NOMATH}" style="{FONT}">{table}'
        f"{_sweep_timing(sweep)}{_sweep_footer(sweep)}</div>"
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


def sweep_bundle(sweep: SweepResult, preview_size: int | None = None) -> Bundle:
    """``(data, metadata)`` for a sweep: one grid, one timing summary, each cell's provenance."""
    data = {"text/html": sweep_html(sweep, preview_size), "text/plain": repr(sweep)}
    return data, {"venice_nb": _sweep_provenance(sweep)}
