"""The pieces of a gallery: a zoomable thumbnail, a download link, the line that reproduces a result.

Everything is static HTML checked in JupyterLab's sanitizer (untrusted notebooks), in a trusted
notebook and in nbconvert HTML; no script anywhere:

- Zoom is a ``<details>`` whose summary holds the one ``<img>`` (see ``zoomable``): opened, the
  tile grows in the page's flow to the picture's size, bounded by the viewport, with a close bar
  under it. The bytes are embedded once (an overlay would need a second copy: no script may
  move the first).
- The download is ``<a download="readable-name.webp">`` that borrows the picture's own ``data:`` URI
  when clicked (one inline ``onclick``), so the bytes are stored once and a saved notebook does not
  double in weight. A picture embedded as received downloads as received; a downscaled one (above
  ``preview_size``) downloads its preview, labelled so (``result.save()`` writes full size).
- An *untrusted* notebook (Lab's and Notebook 7's sanitizer) drops the handler and ``download``,
  which would leave a link that does nothing. So the link starts ``hidden`` beside a plain-text
  hint ("right-click the picture → Save image as"), and the picture's ``onload`` swaps them where
  handlers run (a trusted notebook, nbconvert's HTML). The sanitizer keeps ``hidden`` and drops
  ``onload``: untrusted, the hint shows and the link does not. (Inline CSS cannot make the
  switch: the sanitizer's patterns keep or drop declarations by accident of their alternations.)
  Measured in tests/test_browser_surfaces.py.
- The reproduce line is the ``%%venice`` cell that sends the same request body, in a ``<pre>`` (copy
  it as text) inside a ``<details>`` so it costs one line of screen until opened.
"""

from __future__ import annotations

import base64
import shlex
from typing import Any

from ..result import GeneratedImage, GenerationResult
from ..saving import result_stem, safe_stem
from ..text import esc

# Colours: text inherits the theme's colour; greys are translucent so they read on light and dark.
SOFT = "opacity:0.8"
FRAME = "border:1px solid rgba(128,128,128,0.35)"
CODE_BACKGROUND = "background:rgba(128,128,128,0.12)"

# request field -> %%venice option (flags without a value are the True switches)
OPTIONS = {
    "model": "-m",
    "width": "-W",
    "height": "-H",
    "aspect_ratio": "--aspect-ratio",
    "resolution": "-r",
    "quality": "-q",
    "format": "-f",
    "variants": "-n",
    "seed": "-s",
    "cfg_scale": "-c",
    "steps": "--steps",
    "style_preset": "--style",
    "lora_strength": "--lora-strength",
}
SWITCHES = {
    "return_binary": "--binary",
    "enable_web_search": "--web-search",
    "hide_watermark": "--hide-watermark",
    "embed_exif_metadata": "--embed-exif",
    "enhance_prompt": "--enhance-prompt",
}


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}" if value.is_integer() or len(f"{value:g}") < 10 else str(value)
    return str(value)


def reproduce_cell(request: Any, seed: int | None = None) -> str | None:
    """The ``%%venice`` cell that sends ``request``'s body again; None for other routes.

    ``seed`` is the seed the server used when the request left it to the server, so the line
    reproduces the picture, not just the request. Braces are doubled so ``{`` in a prompt is not
    read as a notebook variable.
    """
    to_json = getattr(request, "to_json", None)
    if to_json is None or not hasattr(request, "style_preset"):
        return None
    body: dict[str, Any] = to_json()
    if seed is not None and body.get("seed") is None:  # negative seeds are seeds too
        body["seed"] = seed
    words = ["%%venice"]
    for name, option in OPTIONS.items():
        if body.get(name) is not None:
            words += [option, shlex.quote(_number(body[name]))]
    for name, option in SWITCHES.items():
        if body.get(name) is True:
            words.append(option)
    if body.get("safe_mode") is False:
        words.append("--no-safe-mode")
    for ref in getattr(request, "style_references", None) or ():
        source = _style_ref_source(ref)
        if source is not None:
            words += ["--style-ref", shlex.quote(source)]
            if ref.get("strength") is not None:
                words += ["--style-ref-strength", shlex.quote(_number(ref["strength"]))]
    lines = [" ".join(words)]
    prompt = str(body.get("prompt", ""))
    lines.append(prompt.replace("{", "{{").replace("}", "}}"))
    negative = body.get("negative_prompt")
    if negative:
        lines += ["---", str(negative).replace("{", "{{").replace("}", "}}")]
    return "\n".join(lines)  # nothing between the options and the prompt: it would join the prompt


KNOWN = set(OPTIONS) | set(SWITCHES) | {"safe_mode", "prompt", "negative_prompt"}


def _style_ref_source(ref: dict[str, Any]) -> str | None:
    """How ``--style-ref`` can name a reference again: the cell's own name for it, or its URL."""
    name = ref.get("name")
    if name:
        return str(name)
    image = str(ref.get("image", ""))
    return image if image.lower().startswith(("http://", "https://")) else None


def reproduce_notes(request: Any) -> list[str]:
    """What the reproduce cell cannot carry, said outside the cell (never inside it)."""
    if not hasattr(request, "to_json"):
        return []
    body: dict[str, Any] = request.to_json()
    notes = []
    refs = getattr(request, "style_references", None) or ()
    unnamed = sum(1 for ref in refs if _style_ref_source(ref) is None)
    if unnamed:
        notes.append(
            f"add --style-ref for the {unnamed} style reference(s) picked in the panel "
            "(a variable holding the picture, a file or a URL)"
        )
    rest = sorted(k for k in body if k not in KNOWN and k != "style_references")
    if rest:
        notes.append(f"not carried by the cell: {', '.join(rest)}")
    return notes


def file_name(result: GenerationResult | None, image: GeneratedImage, tag: str = "") -> str:
    """A readable download name: model, seed and variant, e.g. ``z-image-turbo-seed-42-2.webp``;
    ``tag`` adds what else tells a grid's tiles apart (``cfg_scale-7.5``), so names never collide;
    a derived image by what made it, as ``result.save()`` names it (``upscale-2x-of-shot.png``)."""
    if result is not None and result.lineage is not None:  # as ``result.save()`` names it
        parts = [result_stem(result), tag, str(image.index + 1) if image.index else ""]
        return f"{safe_stem('-'.join(p for p in parts if p))}.{image.extension}"
    model = getattr(getattr(result, "request", None), "model", None) or "venice"
    seed = image.seed if image.seed is not None else (result.seed if result else None)
    parts = [str(model)]
    if seed is not None:
        parts.append(f"seed-{seed}" if seed >= 0 else f"seed{seed}")
    if tag:
        parts.append(tag)
    if image.index:
        parts.append(str(image.index + 1))
    return f"{safe_stem('-'.join(parts))}.{image.extension}"


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


CLOSE_BAR_PX = 22
# The opened picture is at most this tall (it fits a laptop screen); its width is bounded by the
# output area. Viewport units would say it better, but the sanitizer of untrusted notebooks drops
# them.
ZOOM_MAX_HEIGHT_PX = 720


def zoomable(
    src: str,
    shown: tuple[int, int] | None,
    thumb: tuple[int, int] | None,
    alt: str,
    title: str = "",
    layer: int = 1,
    backdrop: str = "",
    most_px: int | None = None,
    onload: str = "",
) -> str:
    """One image as a thumbnail that opens larger when clicked, with a visible close bar.

    ``most_px`` bounds the opened width where the tile cannot know its room (a grid's column
    widens to it, and the grid scrolls sideways past what fits).

    ``thumb`` is the size drawn in the gallery (the tile may shrink it to the space there is);
    ``shown`` is the embedded size, the most it opens to. ``backdrop`` is extra CSS for the
    ``<img>`` (the checkerboard behind transparent pictures). ``layer`` is kept for callers.

    Static HTML with inline styles only (kept by the sanitizer of an untrusted notebook) and one
    copy of the bytes: the ``<details>`` body holds an empty block as wide as the picture opens
    (ZOOM_MAX_HEIGHT_PX tall at most); the tile grows to it in the page's flow, up to the width of
    the output area, so the opened picture pushes its neighbours aside instead of covering them
    and never leaves the screen sideways. The close bar lives in the summary
    (a click there closes) just below the picture, where the clipped ``<details>`` only shows it
    while open.
    """
    del layer  # in-flow growth: no tile overlaps another, so no stacking order is needed
    tip = f' title="{esc(title or "click to enlarge; click again to close")}"'
    if onload:  # after the title: the caller's handler (see download_link)
        tip += f' onload="{onload}"'
    if thumb is None or shown is None or thumb == shown:
        dims = f' width="{shown[0]}" height="{shown[1]}"' if shown else ""
        style = "max-width:100%;height:auto" + (f";{backdrop}" if backdrop else "")
        return f'<img src="{src}"{dims} alt="{esc(alt)}"{tip} style="{style}">'
    img = (
        f'<img src="{src}" width="{thumb[0]}" height="{thumb[1]}" alt="{esc(alt)}"{tip} '
        f'style="display:block;width:{thumb[0]}px;max-width:100%;min-width:100%;height:auto'
        f'{";" + backdrop if backdrop else ""}">'
    )
    close = (
        f'<span class="venice-nb-zoom-close" style="position:absolute;top:100%;left:0;'
        f"width:100%;height:{CLOSE_BAR_PX}px;line-height:{CLOSE_BAR_PX}px;text-align:center;"
        f'font-size:12px;background:rgba(128,128,128,0.25)">\u2715 close</span>'
    )
    room = min(shown[0], round(ZOOM_MAX_HEIGHT_PX * shown[0] / shown[1]), most_px or shown[0])
    spacer = (
        f'<div class="venice-nb-zoom-room" style="width:{room}px;height:{CLOSE_BAR_PX}px"></div>'
    )
    return (
        '<details class="venice-nb-zoom" style="display:block;overflow:hidden">'
        f'<summary style="display:block;position:relative;list-style:none">{img}{close}</summary>'
        f"{spacer}</details>"
    )


# At click time the link takes the data: URI of the picture in its own tile: no second copy.
BORROW_SRC = "this.href=this.closest('figure').querySelector('img').src"


# Run by the tile's picture once loaded, where inline handlers run (never where the sanitizer
# did): the figure's one link is the download, the hint follows it.
SHOW_DOWNLOAD = "var a=this.closest('figure').querySelector('a');a.hidden=0;a.nextSibling.hidden=1"


def download_link(name: str, as_received: bool) -> str:
    """A download of the tile's picture under a readable ``name``, hidden until the picture's
    ``onload`` shows it, then the hint that stands in its place where handlers do not run (an
    untrusted notebook, where the link would be dead; see the module docstring). No ``href``:
    the click sets it, and Lab would rewrite a ``#`` into a link to its files route."""
    label = "download" if as_received else "download preview"
    return (
        f'<a class="venice-nb-download" hidden="hidden" download="{esc(name)}" '
        f'onclick="{BORROW_SRC}">{label}</a>'
        '<span class="venice-nb-save-hint">right-click \u2192 Save image as</span>'
    )


def reproduce_html(result: GenerationResult) -> str:
    """The copyable ``%%venice`` cell behind ``result``, folded to one summary line."""
    cell = reproduce_cell(result.request, result.seed)
    if cell is None:
        return ""
    notes = "".join(
        f'<div class="venice-nb-reproduce-note" style="{SOFT}">\u2139 {esc(note)}</div>'
        for note in reproduce_notes(result.request)
    )
    return (
        '<details class="venice-nb-reproduce" style="margin-top:2px">'
        f'<summary style="{SOFT}">%%venice cell that reproduces this</summary>'
        f'<pre style="margin:2px 0;padding:4px 6px;{CODE_BACKGROUND};white-space:pre-wrap;'
        f'font-size:11px">{esc(cell)}</pre>{notes}</details>'
    )


def params_line(result: GenerationResult, skip: tuple[str | None, ...] = ()) -> str:
    """What made it, compact: prompt, negative, cfg, steps, style, size (``skip``: swept fields,
    which the grid's labels show instead)."""
    request = result.request
    body = request.to_json() if hasattr(request, "to_json") else {}
    body = {k: v for k, v in body.items() if k not in skip}
    parts: list[str] = []
    prompt = str(body.get("prompt", ""))
    if prompt:
        short = prompt if len(prompt) <= 120 else prompt[:119] + "\u2026"
        parts.append(f"\u201c{esc(short)}\u201d")
    if body.get("negative_prompt"):
        parts.append(f"not \u201c{esc(body['negative_prompt'])}\u201d")
    for key, label in (
        ("cfg_scale", "cfg"),
        ("steps", "steps"),
        ("style_preset", "style"),
        ("aspect_ratio", "ratio"),
        ("resolution", "resolution"),
    ):
        if body.get(key) is not None:
            parts.append(f"{label} {esc(_number(body[key]))}")
    if body.get("width") or body.get("height"):
        parts.append(f"{body.get('width') or 1024}x{body.get('height') or 1024}")
    return (
        f'<div class="venice-nb-params" style="{SOFT};white-space:normal">'
        + " \u00b7 ".join(parts)
        + "</div>"
    )
