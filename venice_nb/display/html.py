"""The HTML a person sees, persisted in the .ipynb: image grids, captions, the timing bar, tables.

Pure functions returning HTML strings or ``(data, metadata)`` mimebundles; the magic, the result
objects' ``_repr_mimebundle_`` and the panel all use them. Choices that matter:

- Images are ``data:`` URIs in the format received (no PNG fallback, no second copy), so what a
  displayed image adds to the notebook is its base64 plus a few hundred bytes of markup.
- Inline styles only (GitHub strips ``<style>``), colours that read on light and dark themes,
  no script. Everything from the server or the user goes through ``html.escape``.
- Images larger than the preview size are downscaled here, for the notebook only (``preview.py``).

A sweep's grid is built from these pieces in ``grid.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..catalogue import SIZING_LABELS
from ..errors import error_line
from ..result import SEGMENT_LABELS, GeneratedImage, GenerationResult, Timing
from ..settings import current
from ..text import esc, format_diem, format_ms, format_usd, plural, readable_date
from .lineage import backdrop, lineage_line
from .preview import image_preview, preview_dimensions
from .tiles import (
    SHOW_DOWNLOAD,
    data_uri,
    download_link,
    file_name,
    params_line,
    reproduce_html,
    zoomable,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..catalogue import Catalogue

Bundle = tuple[dict[str, Any], dict[str, Any]]

# Only properties and value forms that JupyterLab's sanitizer keeps in an untrusted notebook (no
# flexbox gaps or wrapping, alpha values written with a leading zero); tests hold us to it.
FONT = "font-size:12px"  # the notebook's own sans-serif family; the size sets outputs apart
MUTED = "opacity:0.75"
RULE = "border-bottom:1px solid rgba(128,128,128,0.3)"
TILE = "display:inline-block;margin:0 8px 8px 0"
SEGMENT_COLOURS = {
    "queue": "#9e9e9e",
    "preprocessing": "#f9a825",
    "inference": "#1e88e5",
    "retry": "#e53935",
    "rest": "#8e24aa",
    "wall": "#78909c",
}
BADGE_COLOURS = {
    "blurred": "#b26a00",
    "blocked": "#c62828",
    "cached": "#2e7d32",
    "local preview": "#5e35b1",
    "local preview \u2014 not billed": "#5e35b1",
    "failed": "#c62828",
}
STATE_STYLE = {  # (symbol, colour or None to inherit the theme's text colour)
    "running": ("\u25cf", "#1e88e5"),
    "done": ("\u2713", "#3c9a40"),
    "error": ("\u2717", "#d93025"),
    "info": ("\u2139", None),
}
ERROR_COLOUR = "#d93025"
# Jupyter typesets $...$ in HTML outputs and widgets: "$0.02 · balance $12.34" would become maths.
# MathJax 3 (JupyterLab, Notebook 7, ipywidgets) skips "mathjax_ignore", MathJax 2 (nbconvert,
# nbviewer, Notebook 6) "tex2jax_ignore"; every top-level element carries both.
NOMATH = "mathjax_ignore tex2jax_ignore"
LOCAL_NOT_BILLED = "local preview \u2014 not billed"


# ---- small pieces ------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """A swept value as a label: 4.0 -> '4', 7.5 -> '7.5'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def badge(text: str, colour: str | None = None, title: str | None = None) -> str:
    colour = colour or BADGE_COLOURS.get(text, "#546e7a")
    tip = f' title="{esc(title)}"' if title else ""
    return (
        f'<span class="venice-nb-badge"{tip} style="background:{colour};color:#fff;'
        f'border-radius:3px;padding:0 4px;margin-left:4px;font-size:11px">{esc(text)}</span>'
    )


def preview_limit(explicit: int | None = None) -> int:
    """The longest side of notebook previews: ``explicit``, else the setting (the one place
    display/ reads settings; grid.py asks here too)."""
    return current().preview_size if explicit is None else explicit


def thumb_limit(explicit: int | None = None) -> int:
    """The longest side of gallery thumbnails: ``explicit``, else the setting (0: full size)."""
    return int(current().thumb_size or 0) if explicit is None else explicit


# ---- images ------------------------------------------------------------------------------------


def _embedded(
    image: GeneratedImage, limit: int
) -> tuple[bytes, str, tuple[int, int] | None, str, str]:
    """(bytes to embed, their MIME type, display size or None, size label, tooltip) for one image.

    A picture whose pixels Pillow cannot read (truncated, odd encoding) is still shown as received,
    labelled "size unknown": the browser may render what Pillow refused, and the cell never fails.
    """
    try:
        full = image.size
    except (OSError, ValueError, SyntaxError):
        return image.data, image.mime, None, "size unknown", f"{image.format}, size unreadable"
    label = f"{full[0]}x{full[1]}"
    shown = preview_dimensions(full, limit)
    if shown == full:
        return image.data, image.mime, full, label, ""
    try:
        preview = image_preview(image, limit)
    except (OSError, ValueError, SyntaxError):
        preview = None
    if preview is None or preview.data is image.data:  # the browser scales the original down
        tip = f"{label} {image.format}, shown at {shown[0]}x{shown[1]}"
        return image.data, image.mime, shown, label, tip
    tip = (
        f"notebook preview ({preview.format}) of a {label} {image.format}; "
        "the result object and saved files keep the full size"
    )
    return preview.data, preview.mime, preview.size, label, tip


def seed_label(image: GeneratedImage, result: GenerationResult | None = None) -> str:
    """The seed as a person can reuse it (a negative seed is a seed too); never one it lacks.

    The API returns the seed for the first image only: variants 2-4 get seeds of the server's
    choosing, so they are "not reproducible" on their own (the request's line reproduces all four).
    """
    if image.lineage is not None:  # derived: its operation; the line below names the source
        return image.lineage.title
    seed = image.seed
    if seed is not None:
        return f"seed {seed}"
    if image.index > 0 or (result is not None and result.refused):
        # a partly refused answer does not say which variant this is: the request's seed
        # reproduces the set, not this picture alone
        return f"variant {image.index + 1} \u00b7 not reproducible alone"
    return "random seed \u00b7 not reproducible"


def thumb_dimensions(
    shown: tuple[int, int] | None, thumb_size: int | None
) -> tuple[int, int] | None:
    """The gallery size of an image embedded at ``shown``: long side ``thumb_size`` (0 = as shown)."""
    if shown is None:
        return None
    limit = thumb_limit(thumb_size)
    return preview_dimensions(shown, limit) if limit else shown


def image_html(
    image: GeneratedImage,
    preview_size: int | None = None,
    caption: bool = True,
    *,
    thumb_size: int | None = None,
    result: GenerationResult | None = None,
    layer: int = 1,
    zoom_px: int | None = None,
    name_tag: str = "",
) -> str:
    """One image as a gallery tile: a thumbnail that opens to full size in place, its seed and
    size, and a download of the bytes as received with a readable name."""
    data, mime, shown, label, title = _embedded(image, preview_limit(preview_size))
    name = seed_label(image, result)
    src = data_uri(data, mime)
    thumb = thumb_dimensions(shown, thumb_size)
    onload = SHOW_DOWNLOAD if caption else ""
    img = zoomable(src, shown, thumb, name, title, layer, backdrop(image), zoom_px, onload)
    if not caption:
        return img
    flags = ""
    if image.blurred:
        flags += badge("blurred", title="the server blurred this image (safe mode)")
    if image.content_violation:
        flags += badge("blocked", title="the server flagged a content policy violation")
    as_received = data is image.data
    name_for_file = file_name(result, image, name_tag)
    if not as_received:  # the preview's own format, e.g. a JPEG preview of a 4K PNG
        extension = {"image/jpeg": "jpg"}.get(mime, mime.rsplit("/", 1)[-1])
        name_for_file = f"{name_for_file.rsplit('.', 1)[0]}-preview.{extension}"
    link = download_link(name_for_file, as_received=as_received)
    # parts never break inside, the caption wraps between them at the thumbnail's width
    parts = " \u00b7 ".join(
        [*(f'<span style="white-space:nowrap">{part}</span>' for part in (esc(name), label)), link]
    )
    width = f"max-width:{thumb[0]}px;" if thumb else ""
    return (
        f'<figure class="venice-nb-tile" style="display:inline-block;vertical-align:top;'
        f'max-width:100%;margin:0 4px 8px 4px"><div>{img}</div>'
        f'<figcaption style="{width}font-size:11px;line-height:1.3">{parts}{flags}'
        "</figcaption></figure>"
    )


def images_row(
    images: Iterable[GeneratedImage],
    preview_size: int | None,
    thumb_size: int | None = None,
    result: GenerationResult | None = None,
) -> str:
    """The images of one result side by side, as a result and a sweep cell show them."""
    images = list(images)
    cells = "".join(
        image_html(im, preview_size, thumb_size=thumb_size, result=result, layer=len(images) - i)
        for i, im in enumerate(images)
    )
    return f'<div class="venice-nb-gallery">{cells}</div>'


# ---- timing ------------------------------------------------------------------------------------


def has_api_timing(timing: Timing) -> bool:
    return any(
        v is not None for v in (timing.queue_ms, timing.preprocessing_ms, timing.inference_ms)
    )


def no_timing_reason(result: GenerationResult) -> str:
    if result.route == "openai":
        return "the OpenAI-compatible route reports no server timing"
    if getattr(result.request, "return_binary", None):
        return "binary responses carry no server timing"
    return "the server reported no timing"


def timing_html(
    timing: Timing,
    note: str | None = None,
    reason: str | None = None,
    wall_ms: float | None = None,
) -> str:
    """A stacked bar of queue, preprocessing, inference and the rest of the wall time.

    Without the API's ``timing`` (binary responses, the OpenAI route), or when ``reason`` is given,
    the bar is wall time only and the text says why. ``wall_ms`` overrides the headline (a sweep's
    own wall time rather than the sum of its requests).
    """
    explain = ""
    if reason is None and has_api_timing(timing):
        segments = timing.segments()
        reported = {
            "queue": timing.queue_ms is not None,
            "preprocessing": timing.preprocessing_ms is not None,
            "inference": timing.inference_ms is not None,
            "retry": True,
            "rest": True,
        }
    else:
        retry = min(timing.retry_wait_ms, timing.wall_ms)
        segments = [("retry", retry), ("wall", timing.wall_ms - retry)] if retry > 0 else []
        segments = segments or [("wall", timing.wall_ms)]
        reported = {"wall": True, "retry": True}
        explain = f" ({reason or 'the server reported no timing'})"
    total = sum(ms for _, ms in segments)
    bar = ""
    if total > 0:
        parts = "".join(
            f'<div class="venice-nb-seg-{name}" style="display:inline-block;height:8px;'
            f'width:{ms / total * 100:.2f}%;background:{SEGMENT_COLOURS[name]}"></div>'
            for name, ms in segments
            if ms > 0
        )
        bar = (
            '<div style="width:320px;max-width:100%;height:8px;border-radius:4px;overflow:hidden;'
            "white-space:nowrap;font-size:0;line-height:0;"
            f'background:rgba(128,128,128,0.25)">{parts}</div>'
        )
    legend = " ".join(
        f'<span style="color:{SEGMENT_COLOURS[name]}">\u25a0</span>\u00a0'
        f"{esc(SEGMENT_LABELS.get(name, name))}\u00a0{format_ms(ms)}"
        for name, ms in segments
        if reported.get(name) and name != "wall" and (ms > 0 or name == "inference")
    )
    head = f"<b>{format_ms(timing.wall_ms if wall_ms is None else wall_ms)}</b> wall"
    head += esc(explain)
    if note:
        head += f" \u00b7 {esc(note)}"
    if legend:
        head += f" \u00b7 {legend}"
    return (
        f'<div class="venice-nb-timing {NOMATH}" style="margin-top:6px">{bar}'
        f'<div style="{MUTED}">{head}</div></div>'
    )


# ---- results -----------------------------------------------------------------------------------


BALANCE_TIP = (
    "What this API key can still spend: the lesser of the account's balance and the key's own "
    "spend limit, as Venice reported it before this request (x-venice-balance-usd / -diem)"
)


def balance_text(amount: float, unit: str, after: bool) -> str:
    """The balance line. The headers give the key's spendable amount before the request (the
    lesser of the account balance and the key's limit, venice-api.md 0b.20), not the account's
    balance; with the cost known it is taken off, and the line says which one is shown."""
    money = format_diem(amount) if unit == "DIEM" else format_usd(amount)
    when = "after this request" if after else "before this request"
    return f"key can spend {money} {when}"


def footer_html(
    parts: list[str],
    *,
    balance: tuple[float, str, bool] | None = None,
    simulated: bool = False,
    retries: int = 0,
    after: Sequence[str] = (),
    warnings: Iterable[str] = (),
) -> str:
    """The line under a result or a sweep: ``parts`` (model, cost), then the balance
    (``(amount, unit, after)`` from ``GenerationResult.balance_after``), the retries, ``after``
    (HTML), joined by middle dots; each warning on its own line below."""
    parts = list(parts)
    if balance is not None:
        text = balance_text(*balance) + (" (simulated)" if simulated else "")
        parts.append(f'<span title="{esc(BALANCE_TIP)}">{esc(text)}</span>')
    if retries:
        parts.append(plural(retries, "retry", "retries"))
    line = " \u00b7 ".join([*parts, *after])
    for warning in warnings:
        line += f'<div style="color:#b26a00">\u26a0 {esc(warning)}</div>'
    return f'<div class="venice-nb-footer" style="margin-top:4px">{line}</div>'


def _footer(result: GenerationResult) -> str:
    parts: list[str] = []
    if result.model:
        parts.append(f"<b>{esc(result.model)}</b>")
    cached_tip = "served from the result cache; no request was made"
    if result.is_local_preview:
        parts.append(badge(LOCAL_NOT_BILLED, title="procedural picture from the built-in server"))
        if result.cached:
            parts.append(badge("cached", BADGE_COLOURS["cached"], cached_tip))
    elif result.cached:
        parts.append(badge("cached: $0", BADGE_COLOURS["cached"], cached_tip))
    elif result.pays_in_diem and result.cost_diem is not None:
        parts.append(format_diem(result.cost_diem))
    elif result.cost_usd is not None:
        parts.append(format_usd(result.cost_usd))
    enhanced = result.enhanced_prompt
    return footer_html(
        parts,
        balance=result.balance_after(),
        simulated=result.is_local_preview,
        retries=result.retries,
        after=[f'<span title="{esc(enhanced)}">prompt enhanced</span>'] if enhanced else [],
        warnings=[w for w in (result.deprecation, result.refused_note) if w],
    )


def _prompt_title(result: GenerationResult) -> str:
    prompt = getattr(result.request, "prompt", "") or ""
    return prompt if len(prompt) <= 300 else prompt[:299] + "\u2026"


def result_timing_html(result: GenerationResult) -> str:
    """The timing bar for a result: cached results and routes without API timing say so."""
    if result.cached:
        server = result.timing.reported_server_ms
        original = f"; generated in {format_ms(server)} of server time" if server else ""
        cached = f"served from the cache, no request made{original}"
        return timing_html(Timing(wall_ms=result.timing.wall_ms), reason=cached)
    reason = None if has_api_timing(result.timing) else no_timing_reason(result)
    return timing_html(result.timing, reason=reason)


def result_html(
    result: GenerationResult, preview_size: int | None = None, thumb_size: int | None = None
) -> str:
    """A result's gallery, what made it (and the cell that makes it again), timing and footer."""
    return (
        f'<div class="venice-nb-result {NOMATH}" title="{esc(_prompt_title(result))}" style="{FONT}">'
        f"{images_row(result.images, preview_size, thumb_size, result)}{lineage_line(result)}"
        f"{params_line(result)}{reproduce_html(result)}"
        f"{result_timing_html(result)}{_footer(result)}</div>"
    )


def result_bundle(
    result: GenerationResult, preview_size: int | None = None, thumb_size: int | None = None
) -> Bundle:
    """``(data, metadata)`` for a result: HTML only (no PNG copy), provenance in metadata."""
    data = {
        "text/html": result_html(result, preview_size, thumb_size),
        "text/plain": repr(result),
    }
    return data, {"venice_nb": result.provenance()}


# ---- status, errors, tables --------------------------------------------------------------------


def status_html(text: str, state: str = "running", progress: float | None = None) -> str:
    """One compact line for the live status the magic updates in place; with ``progress``
    (0..1) a thin bar under it."""
    symbol, colour = STATE_STYLE.get(state, STATE_STYLE["info"])
    tint = f"color:{colour};" if colour else ""
    bar = ""
    if progress is not None:
        done = max(0.0, min(1.0, progress)) * 100
        bar = (
            '<div class="venice-nb-progress" style="width:320px;max-width:100%;height:4px;'
            f'border-radius:2px;background:rgba(128,128,128,0.25);margin-top:2px">'
            f'<div style="width:{done:.1f}%;height:4px;border-radius:2px;'
            f'background:{SEGMENT_COLOURS["inference"]}"></div></div>'
        )
    return (
        f'<div class="venice-nb-status venice-nb-{esc(state)} {NOMATH}" style="{FONT}">'
        f'<div style="{tint}">{symbol} {esc(text)}</div>{bar}</div>'
    )


def error_html(message: str | BaseException) -> str:
    """One readable red line (a VeniceError shows its message and hint)."""
    if isinstance(message, BaseException):
        message = error_line(message)
    return (
        f'<div class="venice-nb-error {NOMATH}" style="{FONT};color:{ERROR_COLOUR}">'
        f"\u2717 {esc(message)}</div>"
    )


def notice_html(text: str) -> str:
    """A one-time note (e.g. that images come from the local preview)."""
    return (
        f'<div class="venice-nb-notice {NOMATH}" style="{FONT};padding:4px 8px;'
        f"border-left:3px solid {BADGE_COLOURS['local preview']};"
        f'background:rgba(94,53,177,0.08)">\u2139 {esc(text)}</div>'
    )


def _table(
    header: Sequence[str], rows: Iterable[Sequence[str]], cls: str, wide: bool = False
) -> str:
    """``rows`` hold HTML already escaped by the caller; ``wide`` spreads a many-column table
    over the output's width (Lab otherwise shrinks it to a tall, narrow column of wrapped
    words)."""
    th = f'style="padding:3px 8px;text-align:left;{RULE}"'
    td = f'style="padding:3px 8px;text-align:left;vertical-align:top;{RULE}"'
    head = "".join(f"<th {th}>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td {td}>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<table class="{cls} {NOMATH}" style="{FONT};border-collapse:collapse'
        f'{";width:100%" if wide else ""}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def models_table_html(catalogue: Catalogue) -> str:
    """``%venice models``: id, name, sizing, price per image, traits, deprecation."""
    rows = []
    for spec in catalogue.generation_models().values():
        traits = list(spec.traits) + (["offline"] if spec.offline else [])
        traits += ["beta"] if spec.beta else []
        ignores = spec.ignored_fields()
        if spec.deprecation is not None:
            dep = "deprecated"
            if spec.deprecation.date:
                dep += f" {readable_date(spec.deprecation.date)}"
            if spec.deprecation.replacement:
                dep += f"; use {spec.deprecation.replacement}"
            deprecation = f'<span style="color:#b26a00">{esc(dep)}</span>'
        else:
            deprecation = ""
        rows.append(
            (
                f'<code style="white-space:nowrap">{esc(spec.id)}</code>',
                f'<span style="white-space:nowrap">{esc(spec.name)}</span>',
                f'{esc(SIZING_LABELS.get(spec.sizing, spec.sizing))}<div style="{MUTED}">'
                f"{esc(spec.sizes_label())}</div>",
                f'<span style="white-space:nowrap">{esc(spec.pricing.describe())}</span>',
                esc(", ".join(traits)),
                f'<span style="{MUTED}">{esc(", ".join(ignores))}</span>',
                deprecation,
            )
        )
    header = ("id", "name", "sizes", "price / image", "traits", "ignores", "deprecation")
    return _table(header, rows, "venice-nb-models", wide=True)


def styles_html(styles: Sequence[str]) -> str:
    """``%venice styles``: a compact wrapped list."""
    items = " \u00b7 ".join(f'<span style="white-space:nowrap">{esc(s)}</span>' for s in styles)
    return (
        f'<div class="venice-nb-styles {NOMATH}" style="{FONT}"><b>{len(styles)} styles</b> '
        f'<span style="{MUTED}">(use with --style "NAME")</span><div>{items}</div></div>'
    )


def _config_value(value: Any) -> str:
    if value is None:
        return f'<span style="{MUTED}">(not set)</span>'
    if isinstance(value, Mapping):
        value = ", ".join(f"{k}={v}" for k, v in value.items())
    return f"<code>{esc(value)}</code>"


def config_html(info: Mapping[str, Any]) -> str:
    """``%venice config``: the effective settings (the caller has masked the key already)."""
    rows = [(esc(name), _config_value(value)) for name, value in info.items()]
    return _table(("setting", "value"), rows, "venice-nb-config")


def mirror_html(result: GenerationResult | None, number: int | None = None) -> str:
    """The panel's static twin, for readers without a kernel (nbviewer, nbconvert, a reopened
    copy): the last result the panel showed, as the magic shows it. Updated on results only, so it
    never keeps an error or asks for a button the reader does not have; while the live panel is on
    screen its stylesheet hides this copy (see ``panel.widgets.STYLE``)."""
    head = "<b>Venice image panel</b>"
    if result is None:
        return (
            f'<div class="venice-nb-panel-mirror {NOMATH}" style="{FONT}">{head} '
            f'<span style="{MUTED}">\u00b7 no picture was made before this notebook was saved'
            "</span></div>"
        )
    label = f"result #{number}, as the interactive panel showed it"
    return (
        f'<div class="venice-nb-panel-mirror {NOMATH}" style="{FONT}">'
        f'<div>{head} <span style="{MUTED}">\u00b7 {esc(label)}</span></div>'
        f"{result_html(result)}</div>"
    )
