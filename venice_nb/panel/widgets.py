"""What the panel looks like: the form of controls, the status line, the timing bar, image cells
and history thumbnails.

Kept apart from ``panel.py`` so that module reads as behaviour (what happens when) and this one as
presentation. Only ipywidgets core widgets and a little inline HTML.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..display import html as display
from ..display.lineage import backdrop
from ..display.preview import image_preview
from ..operations.common import ToolboxRequest
from ..operations.generate import FORMATS, MAX_PIXELS, MAX_VARIANTS, SEED_LIMIT, GenerateRequest
from ..operations.request import Request
from ..text import format_ms, format_usd, plural

if TYPE_CHECKING:  # pragma: no cover
    from ..catalogue import Catalogue, ModelSpec
    from ..result import GeneratedImage, GenerationResult, Timing

CELL_PX = 196  # two tiles side by side in the result column (four variants on one screen)
ICON = w.Layout(width="32px", padding="0")
LABEL_PX = "80px"
NO_STYLE = ""  # not None: a Dropdown whose value is None shows no selection at all
# Theme-following text: the theme's own colour, softened (a fixed grey fails on the dark theme).
SOFT = "color:var(--jp-ui-font-color1, inherit);opacity:0.75"
# The result column wraps under the form when the two do not fit side by side (~1000 px).
# wrap-reverse: when the two do not fit side by side, the results go above the form, so the newest
# result is on screen under the panel's title, not below a form of controls.
WRAP = w.Layout(display="flex", flex_flow="row wrap-reverse", width="100%", max_width="100%")
# A mirror whose output follows a live panel's output in the same output area: the panel's output
# holds a panel and no mirror, the mirror's holds no panel. Front-end neutral (no Lab class names).
MIRROR_BESIDE_LIVE_PANEL = (
    ":has(.venice-panel):not(:has(.venice-nb-panel-mirror))"
    "~:not(:has(.venice-panel)) .venice-nb-panel-mirror"
)
STYLE = (
    "<style>.venice-previous{opacity:0.45}"
    # The static copy is for readers without a kernel: hidden while this live panel shows, and
    # only its own copy (the output after the panel's), never a copy in another cell or another
    # notebook open beside it (this stylesheet is global to the page while the panel lives).
    f"{MIRROR_BESIDE_LIVE_PANEL}{{display:none}}"
    ".venice-panel .widget-html-content{line-height:1.35}"
    # Enlarge: above the tiles (where the click was), as tall as the screen allows. Not a
    # position:fixed overlay: Lab's notebook contains fixed elements, so one lands off-screen.
    ".venice-viewer-open{position:relative;z-index:10;width:100%;box-sizing:border-box;"
    "padding:6px;margin-bottom:8px;background:var(--jp-layout-color1,#fff);"
    "border:1px solid var(--jp-border-color2,#ccc)}"
    ".venice-viewer-open img{max-width:100%;max-height:calc(85vh - 48px);width:auto;"
    "height:auto;object-fit:contain;align-self:center}"
    ".venice-transparent{background:repeating-conic-gradient(rgba(128,128,128,0.35) 0% 25%,"
    "rgba(128,128,128,0.1) 0% 50%) 50%/16px 16px}"
    "</style>"
)
THUMB_PX = 72
# The panel's states, in the words display.status_html knows.
STATES = {
    "idle": "info",
    "running": "running",
    "retrying": "running",
    "ok": "done",
    "error": "error",
}


def status_html(text: str, state: str = "idle", progress: float | None = None) -> str:
    """The status line: the magic's look, the panel's states (and a progress bar while working)."""
    return display.status_html(text, STATES.get(state, "info"), progress)


def timing_html(timing: Timing | None, note: str = "") -> str:
    """The stacked bar of the last generation (display's, so panel and magic look alike)."""
    if timing is None:
        return display.status_html("no generation yet: the timing bar appears here", "info")
    return display.timing_html(timing, note=note or None)


def describe(req: Request, count: bool = True) -> str:
    if isinstance(req, ToolboxRequest):  # a toolbox request from a tile's action
        sources = ", ".join(im.label for im in req.inputs)
        model = f" with {req.model}" if req.operation in ("edit", "multi-edit") else ""
        return f"{req.operation} of {sources}{model}"
    if not isinstance(req, GenerateRequest):
        return f"{plural(req.image_count, 'image')} · {req.model}"
    size = req.size_label()
    cfg = f"cfg {req.cfg_scale:g}" if req.cfg_scale is not None else "default cfg"
    seed = f"seed {req.seed}" if req.seed is not None else "no seed (the model draws its own)"
    text = f"{req.model}, {size}, {cfg}, {seed}"
    return f"{plural(req.image_count, 'image')} · {text}" if count else text


def summary(number: int, result: GenerationResult) -> str:
    parts = [
        f"#{number}: {plural(len(result.images), 'image')} in {format_ms(result.timing.wall_ms)}"
    ]
    if isinstance(result.request, GenerateRequest):
        parts.append(describe(result.request, count=False))
    if result.cached:
        parts.append("from the cache (no request)")
    if result.retries:
        parts.append(f"after {plural(result.retries, 'retry', 'retries')}")
    if result.is_local_preview:
        parts.append("local preview")
    elif result.cost_usd is not None:
        parts.append(format_usd(result.cost_usd))
    if result.content_violation:
        parts.append("blocked by the content policy")
    elif result.blurred:
        parts.append("blurred by safe mode")
    if result.deprecation:
        parts.append(result.deprecation)
    return " · ".join(parts)


def tile_seed(image: GeneratedImage, request_seed: int | None) -> int | None:
    """The seed that really made this picture, or None. Only the first variant honours the
    request's seed; the API picks the others' at random and does not say which."""
    seed = image.seed if image.seed is not None else (request_seed if image.index == 0 else None)
    return seed  # a negative seed the service reports reproduces its picture too


def caption_text(image: GeneratedImage, request_seed: int | None) -> str:
    """Seed and size; "not reproducible" where no true seed is known; a derived picture says
    what made it ("Upscale 2x of #1 image 1"), as the static copy does."""
    seed = tile_seed(image, request_seed)
    name = f"seed {seed}" if seed is not None else f"variant {image.index + 1}, not reproducible"
    lineage = getattr(image, "lineage", None)
    if lineage is not None:
        name = lineage.summary()
    try:
        width, height = image.size
        size = f"{width}×{height}"
    except Exception:  # an undecodable header must not break the whole grid
        size = "size ?"
    return f"{name} · {size}"


def badges_html(image: GeneratedImage) -> str:
    flags = ""
    if image.content_violation:
        flags += display.badge("blocked", title="the API flagged a content policy violation")
    if image.blurred:
        flags += display.badge("blurred", title="safe mode blurred this image")
    return flags


def image_widget(image: GeneratedImage, px: int = CELL_PX, preview: int | None = None) -> w.Image:
    """An Image widget; above ``preview`` pixels the browser gets a downscaled copy (4K PNGs are
    megabytes per comm message), the result object keeps the full image."""
    data, fmt = _shown(image, preview)
    width = f"{px}px" if px else "100%"
    return w.Image(value=data, format=fmt, layout=w.Layout(width=width, height="auto"))


def _shown(image: GeneratedImage, preview: int | None) -> tuple[bytes, str]:
    """The bytes the browser gets and their format: the image's cached preview when it is big."""
    if not preview:
        return image.data, image.format
    try:
        shown = image_preview(image, preview)
    except (OSError, ValueError, SyntaxError):
        return image.data, image.format
    return shown.data, shown.format


def image_cell(
    image: GeneratedImage,
    request_seed: int | None,
    preview: int,
    on_enlarge: Callable[[GeneratedImage], None],
    on_save: Callable[[GeneratedImage], None],
    on_reuse: Callable[[int], None] | None = None,
    on_tool: Callable[[GeneratedImage, str], None] | None = None,
) -> w.VBox:
    """One grid cell: the image, its caption and badges, Enlarge, Save and Reuse seed buttons,
    and with ``on_tool`` the toolbox (Edit, Upscale 2x/4x, Remove background, Style ref).

    The buttons act on whatever image the cell shows now, so ``refill_cell`` can put the next
    result into the same widgets (creating a dozen widgets per image cost ~100 ms a click)."""
    shown: dict[str, Any] = {}
    # one row of actions: three icon buttons (their words in the tooltip) and the toolbox menu
    enlarge = w.Button(
        icon="search-plus", tooltip="Enlarge: this image, above the tiles", layout=ICON
    )
    save = w.Button(icon="download", tooltip="Save this image and a JSON sidecar", layout=ICON)
    enlarge.on_click(lambda _b: on_enlarge(shown["image"]))
    save.on_click(lambda _b: on_save(shown["image"]))
    reuse = w.Button(icon="recycle", layout=ICON)
    if on_reuse is not None:
        reuse.on_click(lambda _b: on_reuse(shown["seed"]) if shown["reusable"] else None)
    actions: list[w.Widget] = [enlarge, save, reuse]
    if on_tool is not None:
        actions.append(tool_menu(lambda: shown["image"], on_tool))
    cell = w.VBox(
        [
            image_widget(image, preview=preview),
            w.HTML(),
            w.HBox(actions, layout=w.Layout(flex_flow="row nowrap", width="100%")),
        ],
        layout=w.Layout(margin="0 8px 8px 0", width=f"{CELL_PX + 4}px"),
    )
    cell.add_class("venice-cell")
    cell.venice_shown = shown
    cell.venice_reuse_enabled = on_reuse is not None
    refill_cell(cell, image, request_seed, preview, image_set=True)
    return cell


def refill_cell(
    cell: w.VBox,
    image: GeneratedImage,
    request_seed: int | None,
    preview: int,
    image_set: bool = False,
) -> None:
    """Show ``image`` in a cell made by ``image_cell``: new values, the same widgets."""
    picture, caption, buttons = cell.children
    if not image_set:
        picture.value, picture.format = _shown(image, preview)
    caption.value = (
        f'<div class="venice-caption" style="font-size:12px">'
        f"{html.escape(caption_text(image, request_seed))}{badges_html(image)}</div>"
    )
    if backdrop(image):  # transparent pixels show a checkerboard, as in the static copy
        picture.add_class("venice-transparent")
    else:
        picture.remove_class("venice-transparent")
    seed = tile_seed(image, request_seed)
    reusable = seed is not None and cell.venice_reuse_enabled
    cell.venice_shown.update(image=image, seed=seed, reusable=reusable)
    reuse = buttons.children[2]
    reuse.disabled = not reusable
    reuse.tooltip = (
        f"Reuse seed: lock seed {seed} for the next Generate"
        if seed is not None
        else "This picture's seed is not known: it cannot be reproduced"
    )


TOOLS = (  # (action, label, tooltip)
    ("edit", "Edit…", "Edit this image: asks what to change (and the edit model) first"),
    ("upscale-2", "Upscale 2x", "A copy twice as big"),
    ("upscale-4", "Upscale 4x", "A copy four times as big (reduced on large images)"),
    ("remove-background", "Remove bg", "This image with a transparent background"),
    ("style-ref", "Style ref", "Use this image as a style reference for the next Generate"),
)


def tool_menu(
    current: Callable[[], GeneratedImage], on_tool: Callable[[GeneratedImage, str], None]
) -> w.Dropdown:
    """The toolbox as one small menu beside the tile's buttons; choosing an entry calls
    ``on_tool(the image shown now, action)`` and the menu returns to its title."""
    menu = w.Dropdown(
        options=[("Tools\u2026", ""), *((label, action) for action, label, _tip in TOOLS)],
        value="", tooltip="; ".join(f"{label}: {tip}" for _a, label, tip in TOOLS),
        layout=w.Layout(width="auto", flex="1 1 auto", min_width="70px"),
    )  # fmt: skip
    menu.add_class("venice-tools")

    def chosen(change: dict[str, Any]) -> None:
        action = change["new"]
        if action:
            menu.value = ""
            on_tool(current(), action)

    menu.observe(chosen, names="value")
    return menu


def history_item(
    number: int,
    result: GenerationResult,
    label: str,
    on_restore: Callable[[], None],
    superseded: bool = False,
) -> w.VBox:
    """A thumbnail of a generation's first image and a button that brings it back; a superseded
    answer (it came after a newer request or a cancel) says so on its button."""
    children: list[w.Widget] = []
    if result.images:
        thumb = image_widget(result.images[0], THUMB_PX, preview=THUMB_PX * 2)
        # one square box for every thumbnail, so the buttons under them line up
        thumb.layout.height = f"{THUMB_PX}px"
        thumb.layout.object_fit = "contain"
        children.append(thumb)
    else:
        children.append(w.Box(layout=w.Layout(width=f"{THUMB_PX}px", height=f"{THUMB_PX}px")))
    button = w.Button(
        description=f"#{number} late" if superseded else f"#{number}",
        tooltip=label,
        layout=w.Layout(width=f"{THUMB_PX}px"),
    )
    button.on_click(lambda _b: on_restore())
    children.append(button)
    item = w.VBox(children, layout=w.Layout(margin="0 6px 0 0", min_width=f"{THUMB_PX + 4}px"))
    item.add_class("venice-history-item")
    if superseded:
        item.add_class("venice-superseded")
    return item


class Controls:
    """The form: one widget per request field, with sizing controls that follow the model.

    The panel reads a request out of it (``fields()``) and writes one back into it (``show()``);
    what happens on a change is the panel's business, not the form's.
    """

    VALUE_WIDGETS = (
        "prompt", "negative_prompt", "model", "width", "height", "aspect_ratio", "resolution",
        "quality", "style_preset", "format", "cfg_scale", "seed", "variants", "safe_mode",
    )  # fmt: skip
    NAMES = (
        *VALUE_WIDGETS, "randomize", "seed_lock", "seed_down", "seed_up", "generate_button",
        "auto_generate", "cost",
    )  # fmt: skip

    def __init__(self, catalogue: Catalogue, styles: list[str], req: GenerateRequest) -> None:
        self.catalogue = catalogue
        self.styles = styles
        label = {"description_width": LABEL_PX}
        full = w.Layout(width="100%")
        text = dict(continuous_update=False, style=label, layout=full)
        slider = dict(continuous_update=False, style=label, layout=full)
        choice = dict(style=label, layout=full)
        self.prompt = w.Textarea(
            value=req.prompt, description="Prompt", rows=3, placeholder="What to draw", **text
        )
        self.negative_prompt = w.Textarea(
            value=req.negative_prompt or "", description="Negative", rows=2,
            placeholder="What to avoid (optional)", **text,
        )  # fmt: skip
        self.model = w.Dropdown(
            options=[(_model_label(s), s.id) for s in catalogue.generation_models().values()], value=req.model,
            description="Model", **choice,
        )  # fmt: skip
        size = dict(min=8, max=MAX_PIXELS, step=8, **slider)
        self.width = w.IntSlider(value=req.width or 1024, description="Width", **size)
        self.height = w.IntSlider(value=req.height or 1024, description="Height", **size)
        self.aspect_ratio = w.Dropdown(options=["1:1"], description="Aspect ratio", **choice)
        self.resolution = w.Dropdown(options=["1K"], description="Resolution", **choice)
        self.quality = w.Dropdown(options=["high"], description="Quality", **choice)
        self.sizing = w.VBox(layout=full)
        self.style_preset = w.Dropdown(
            options=[("(no style)", NO_STYLE), *((s, s) for s in styles)],
            description="Style",
            **choice,
        )
        self.format = w.Dropdown(options=list(FORMATS), description="Format", **choice)
        self.cfg_scale = w.FloatSlider(
            value=req.cfg_scale or 5.0, min=0.5, max=20.0, step=0.5, readout_format=".1f",
            description="cfg_scale", **slider,
        )  # fmt: skip
        # cfg is sent only once the user moved the slider: until then each model uses its own
        # default (z-image-turbo is an 8-step distilled model; 5.0 is not its cfg).
        self.cfg_chosen = req.cfg_scale is not None
        self.cfg_scale.observe(lambda _c: self.choose_cfg(True), names="value")
        # A number field, not a billion-wide slider (40 million seeds per pixel); -1/+1 step
        # through neighbouring seeds. The service's own seeds are often negative: so are these.
        self.seed = w.BoundedIntText(
            value=req.seed or 0, min=-SEED_LIMIT, max=SEED_LIMIT, step=1, description="Seed",
            continuous_update=False, style=label, layout=w.Layout(width="210px"),
        )  # fmt: skip
        self.seed.add_class("venice-seed")
        step = dict(layout=w.Layout(width="36px", padding="0"))
        self.seed_down = w.Button(description="-1", tooltip="Previous seed (locks it)", **step)
        self.seed_up = w.Button(description="+1", tooltip="Next seed (locks it)", **step)
        self.randomize = w.Button(
            description="New seed", icon="random", tooltip="Put a new random seed in the field",
            layout=w.Layout(width="auto"),
        )  # fmt: skip
        # A new seed each run by default (as Stable Diffusion tools do): Generate again shows a
        # new picture, not the cached copy of the last one.
        self.seed_lock = w.ToggleButton(value=False, layout=w.Layout(width="auto"))
        self.variants = w.IntSlider(
            value=req.variants or 1, min=1, max=MAX_VARIANTS, description="Variants", **slider
        )
        self.safe_mode = w.Checkbox(description="Safe mode (blur adult content)", indent=False)
        self.generate_button = w.Button(
            description="Generate", button_style="primary", icon="play",
            layout=w.Layout(width="auto", min_width="120px"),
        )  # fmt: skip
        self.auto_generate = w.Checkbox(
            value=False, description="Auto-generate", indent=False,
            tooltip="Generate again whenever a control settles (sliders on release, text on blur)",
            layout=w.Layout(width="auto", margin="0 0 0 12px"),
        )  # fmt: skip
        self.cost = w.HTML()
        self.seed_lock.observe(lambda _c: self.show_lock(), names="value")
        self.show(req)
        self.show_lock()
        self.box = w.VBox(
            [
                self.prompt, self.negative_prompt, self.model, self.sizing, self.style_preset,
                self.format, self.cfg_scale,
                w.HBox([self.seed, self.seed_down, self.seed_up],
                       layout=w.Layout(flex_flow="row wrap")),
                w.HBox([self.randomize, self.seed_lock],
                       layout=w.Layout(margin=f"0 0 4px {LABEL_PX}", width="auto",
                                       flex_flow="row wrap")),
                self.variants, self.safe_mode,
                w.HBox([self.generate_button, self.auto_generate], layout=w.Layout(margin="6px 0")),
                self.cost, w.HTML(STYLE),
            ],
            layout=w.Layout(width="380px", max_width="100%", margin="0 16px 8px 0"),
        )  # fmt: skip

    def value_widgets(self) -> list[w.ValueWidget]:
        return [getattr(self, name) for name in self.VALUE_WIDGETS]

    def all_widgets(self) -> list[w.Widget]:
        """Every widget of the form, shown or not (for closing)."""
        return [*descendants(self.box), self.width, self.height, self.aspect_ratio,
                self.resolution, self.quality]  # fmt: skip

    def follow_model(self, spec: ModelSpec, req: GenerateRequest | None = None) -> None:
        """Swap the sizing controls to the model's sizing mode, keeping what still fits; the seed
        controls are off for a model that ignores seeds (it draws a new picture every run)."""
        ignores = bool(getattr(spec, "ignores_seed", False))
        for widget in (self.seed, self.seed_down, self.seed_up, self.randomize, self.seed_lock):
            widget.disabled = ignores
        self.seed.tooltip = (
            f"{spec.id} ignores the seed: every run is a new image" if ignores else ""
        )
        if spec.sizing == "pixels":
            step = max(1, spec.width_height_divisor)
            top = MAX_PIXELS - MAX_PIXELS % step
            for slider, wanted in (
                (self.width, req and req.width),
                (self.height, req and req.height),
            ):
                value = wanted or max(step, min(top, round(slider.value / step) * step))
                slider.min, slider.max, slider.step = step, top, step
                slider.value = value  # a wanted value off the step stays: validation names it
            self.sizing.children = [self.width, self.height]
            return
        children: list[w.Widget] = [self.aspect_ratio]
        for dropdown, offered, default, choice in (
            (self.aspect_ratio, spec.aspect_ratios, spec.default_aspect_ratio, req and req.aspect_ratio),
            (self.resolution, spec.resolutions, spec.default_resolution, req and req.resolution),
            (self.quality, spec.qualities, spec.default_quality, req and req.quality),
        ):  # fmt: skip
            if not offered:
                continue
            keep = choice or (dropdown.value if dropdown.value in offered else None)
            dropdown.options = list(offered)
            dropdown.value = keep if keep in offered else default_choice(offered, default)
            if dropdown is not self.aspect_ratio:
                children.append(dropdown)
        self.sizing.children = children

    def show(self, req: GenerateRequest) -> None:
        """Put a request's values into the controls (starting values, or a restored entry)."""
        self.model.value = req.model
        self.follow_model(self.catalogue.require(req.model), req)
        self.prompt.value = req.prompt
        self.negative_prompt.value = req.negative_prompt or ""
        self.style_preset.value = req.style_preset if req.style_preset in self.styles else NO_STYLE
        self.format.value = req.format or self.format.value or FORMATS[0]
        if req.cfg_scale is not None:
            self.cfg_scale.value = req.cfg_scale
        self.choose_cfg(req.cfg_scale is not None)
        if req.seed is not None:
            self.seed.value = req.seed
        self.variants.value = req.variants or 1
        self.safe_mode.value = req.safe_mode is not False

    def fields(self) -> dict[str, Any]:
        """The request fields the controls describe now, only those the model takes."""
        spec = self.catalogue.require(self.model.value)
        fields: dict[str, Any] = {
            "model": spec.id,
            "prompt": self.prompt.value,
            "negative_prompt": self.negative_prompt.value.strip() or None,
            "format": self.format.value,
            "variants": self.variants.value,
            "seed": None if getattr(spec, "ignores_seed", False) else self.seed.value,
            "cfg_scale": float(self.cfg_scale.value) if self.cfg_chosen else None,
            "style_preset": self.style_preset.value or None,
            "safe_mode": self.safe_mode.value,
        }
        if spec.sizing == "pixels":
            fields.update(width=self.width.value, height=self.height.value)
        else:
            fields["aspect_ratio"] = self.aspect_ratio.value
            if spec.resolutions:
                fields["resolution"] = self.resolution.value
            if spec.qualities:
                fields["quality"] = self.quality.value
        return fields

    def choose_cfg(self, chosen: bool) -> None:
        """Mark cfg as chosen (sent) or left to the model's default (not sent, no readout)."""
        self.cfg_chosen = chosen
        self.cfg_scale.readout = chosen
        # short enough for the label column (a longer one was cut to "cfg: mode…")
        self.cfg_scale.description = "cfg_scale" if chosen else "cfg (auto)"
        self.cfg_scale.tooltip = (
            "Sent with each request"
            if chosen
            else "Not sent: the model uses its own default cfg_scale; move the slider to choose one"
        )

    def show_lock(self) -> None:
        locked = self.seed_lock.value
        self.seed_lock.description = "Seed locked" if locked else "New seed each run"
        self.seed_lock.icon = "lock" if locked else "unlock"
        self.seed_lock.tooltip = (
            "Every run uses the seed in the field; click to draw a new seed for each run"
            if locked
            else "Every run draws a new random seed; click (or type a seed) to keep one"
        )


def default_choice(offered: Sequence[str], preferred: str | None) -> str:
    return preferred if preferred is not None and preferred in offered else offered[0]


def _model_label(spec: ModelSpec) -> str:
    return f"{spec.id} (deprecated)" if spec.deprecation else spec.id


def descendants(widget: w.Widget) -> list[w.Widget]:
    out = [widget]
    for child in getattr(widget, "children", ()):
        out.extend(descendants(child))
    return out
