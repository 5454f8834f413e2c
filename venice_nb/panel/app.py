"""``Panel``: the ipywidgets app for exploring prompts, cfg_scale, seeds and variants.

It is a surface, like the magic: it builds a ``GenerateRequest`` from its controls, validates it with
the session (so it refuses exactly what the magic refuses, with the same message), and hands it to a
background ``Worker`` so the kernel stays usable. Results are shown only while they are the newest
request's; an older answer (superseded or cancelled, but paid for) goes into the history. The panel
mirrors what it shows into a static HTML output beside it (the magic's HTML, updated in place), so a
saved notebook, nbviewer or nbconvert shows the latest result without widgets or a kernel.
``%venice panel`` and ``venice_nb.Panel()`` both open it.
"""

from __future__ import annotations

import functools
import random
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..display.html import mirror_html
from ..errors import VeniceError
from ..images_in import style_reference, to_input
from ..operations.common import DEFAULT_EDIT_MODEL
from ..operations.generate import SEED_LIMIT, GenerateRequest
from ..operations.request import Request
from ..preflight import preflight
from ..pyargs import check_types, field_types
from ..redact import redact_text
from ..result import AnswerTime
from ..saving import result_stem
from ..session import get_session
from ..text import format_usd, plural
from ..verbs import TOOLS
from . import widgets as pw
from .edit_form import EditForm
from .estimate import expected_seconds
from .style_refs import HeldStyleRefs
from .worker import Job, Worker

if TYPE_CHECKING:  # pragma: no cover
    from ..result import GeneratedImage, GenerationResult
    from ..retry import RetryEvent
    from ..session import VeniceSession
    from .estimate import Estimate

DEFAULT_PROMPT = "A gondola in a narrow Venice canal at golden hour, cinematic light"
DEFAULT_SIZE = 1024
DEBOUNCE_S = 0.4
HISTORY_LIMIT = 12
# Fields the panel has no control for: kept from the starting values and sent as given.
PASS_THROUGH = (
    "steps", "return_binary", "enable_web_search", "hide_watermark", "embed_exif_metadata",
    "lora_strength", "enhance_prompt",
)  # fmt: skip
FULL = w.Layout(width="100%")


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Widget callbacks: JupyterLab hides their exceptions, so report every one in the status."""

    @functools.wraps(method)
    def wrapper(self: Panel, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self._report(exc, traceback.format_exc())
            return None

    return wrapper


@dataclass
class HistoryEntry:
    number: int
    request: Request
    result: GenerationResult
    superseded: bool = False  # answered after a newer request (or a cancel): kept, not shown


class Panel:
    """An interactive panel. ``initial`` takes ``GenerateRequest`` field values to start from."""

    def __init__(self, session: VeniceSession | None = None, **initial: Any) -> None:
        # Python words for Python mistakes, before anything is fetched: Panel(seed="abc") is a
        # TypeError naming seed, not a comparison error from deep inside.
        check_types("Panel()", initial, field_types(GenerateRequest))
        if session is not None and not callable(getattr(session, "client", None)):
            raise TypeError(
                f"Panel(): session must be a VeniceSession, got {type(session).__name__}"
            )
        self.session = session or get_session()
        self.last_error: str | None = None  # traceback of the last failure shown in the status
        self.result: GenerationResult | None = None  # what the grid shows
        self.shown_number: int | None = None
        self.entries: list[HistoryEntry] = []
        self._lock = threading.RLock()
        self._quiet = 0  # > 0 while the panel sets its own controls (no auto-generate, no lock)
        self._closed = False
        self._viewing: GeneratedImage | None = None
        self._mirror: Any = None  # the display handle of the static copy beside the widget
        self._mirror_note = ""
        self.held_refs = HeldStyleRefs(self._on_refs_changed)  # a tile's "Style ref" adds here
        self._refs_note: str | None = None  # why held references are not sent (model takes none)
        self.edit_model = DEFAULT_EDIT_MODEL  # the model a tile's "Edit…" offers first
        self.edit_form = EditForm([], self._send_edit)  # asks before an edit is sent
        client = self.session.client()
        self.catalogue = client.models()
        self.styles = client.styles()
        start = self._starting_request(initial)
        self._extra = {k: initial[k] for k in PASS_THROUGH if initial.get(k) is not None}
        self._build(start)
        if initial.get("seed") is not None:
            with self._quietly():
                self.seed_lock.value = True  # a seed asked for is a seed to keep
        self.worker = Worker(self._run, self)
        notice = self.session.take_notice()
        self._set_status(notice or "Ready: press Generate.", "idle")
        self._update_cost()

    # ---- starting values -------------------------------------------------------------------

    def _starting_request(self, initial: dict[str, Any]) -> GenerateRequest:
        """Defaults for whatever was not given, then the magic's own validation (raises)."""
        unknown = sorted(set(initial) - set(GenerateRequest.field_names()))
        if unknown:
            GenerateRequest(model="-", prompt="-").with_(**{unknown[0]: None})  # raises
        fields = {k: v for k, v in initial.items() if v is not None}
        if not str(fields.get("prompt") or "").strip():
            fields["prompt"] = DEFAULT_PROMPT
        request = self.session.build_request(**fields)
        spec = self.catalogue.require(request.model)
        defaults: dict[str, Any] = {
            "format": request.format or "webp",
            "variants": request.variants or 1,
            "seed": request.seed if request.seed is not None else _random_seed(),
            "safe_mode": True if request.safe_mode is None else request.safe_mode,
        }
        if spec.sizing == "pixels":
            defaults["width"] = request.width or DEFAULT_SIZE
            defaults["height"] = request.height or DEFAULT_SIZE
        else:
            defaults["aspect_ratio"] = request.aspect_ratio or pw.default_choice(
                spec.aspect_ratios, spec.default_aspect_ratio
            )
            if spec.resolutions:
                defaults["resolution"] = request.resolution or pw.default_choice(
                    spec.resolutions, spec.default_resolution
                )
            if spec.qualities:
                defaults["quality"] = request.quality or pw.default_choice(
                    spec.qualities, spec.default_quality
                )
        request = request.with_(**defaults)
        self.session.validate(request)  # refuses what the service refuses (raises)
        # The controls keep what was asked (a negative prompt the model ignores stays in its
        # box, noted under the cost); the ignored fields are left out when a request is sent.
        return request.canonical_for(spec)

    # ---- widgets ---------------------------------------------------------------------------

    def _build(self, req: GenerateRequest) -> None:
        self.controls = pw.Controls(self.catalogue, self.styles, req)
        form = list(self.controls.box.children)
        at = form.index(self.controls.style_preset) + 1
        self.controls.box.children = [*form[:at], self.held_refs.box, *form[at:]]
        self.held_refs.follow_model(self.catalogue.require(req.model))
        self.status = w.HTML()
        self.status.add_class("venice-status")
        self.timing = w.HTML(pw.timing_html(None))
        self.timing.add_class("venice-timing")
        self.grid = w.Box(layout=w.Layout(display="flex", flex_flow="row wrap", width="100%"))
        self.viewer = w.VBox()
        self.save_all = w.Button(
            description="Save all", icon="download", disabled=True,
            tooltip="Save the shown images and their JSON sidecars",
        )  # fmt: skip
        self.history = w.HBox(layout=w.Layout(overflow="auto hidden", width="100%"))
        for control in self.controls.value_widgets():
            control.observe(self._on_change, names="value")
        self.generate_button.on_click(self._on_generate)
        self.randomize.on_click(self._on_randomize)
        self.controls.seed_down.on_click(lambda _b: self._on_seed_step(-1))
        self.controls.seed_up.on_click(lambda _b: self._on_seed_step(1))
        self.save_all.on_click(self._on_save_all)

        self.previous_label = w.HTML()
        backend = "local preview (not billed)" if self.session.backend == "local" else "Venice API"
        title = w.HTML(f"<b>Venice image panel</b> <span style='{pw.SOFT}'>· {backend}</span>")
        output = w.VBox(
            [self.status, self.timing, self.previous_label, self.edit_form.box, self.viewer,
             self.grid, self.save_all,
             w.HTML(f"<span style='font-size:12px;{pw.SOFT}'>History: every result paid for "
                    "(click to restore)</span>"),
             self.history],
            layout=w.Layout(flex="1 1 420px", width="auto", min_width="280px", max_width="100%"),
        )  # fmt: skip
        # Side by side on a wide screen; below ~1000 px the results wrap under the form.
        body = w.HBox([self.controls.box, output], layout=pw.WRAP)
        self.root = w.VBox([title, body], layout=w.Layout(width="100%", max_width="100%"))
        self.root.add_class("venice-panel")

    def __getattr__(self, name: str) -> Any:
        """The form's widgets are the panel's too: ``panel.cfg_scale``, ``panel.seed``..."""
        controls = self.__dict__.get("controls")
        if controls is not None and name in pw.Controls.NAMES:
            return getattr(controls, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        with self._lock:
            self._quiet += 1
            try:
                yield
            finally:
                self._quiet -= 1

    # ---- building and sending requests -----------------------------------------------------

    def request(self) -> GenerateRequest:
        """The request the controls describe now (not yet validated)."""
        extra = dict(self._extra)
        fields = self.controls.fields()
        refs, self._refs_note = self.held_refs.for_model(self.catalogue.require(fields["model"]))
        if refs:  # chosen with a tile's "Style ref", for a model that takes them
            extra["style_references"] = refs
        return self.session.build_request(**fields, **extra)

    @property
    def style_refs(self) -> list[Any]:
        """The pictures held as style references (shown and removable in the form)."""
        return self.held_refs.images

    @_guarded
    def _on_refs_changed(self) -> None:
        self._update_cost()

    # ---- the toolbox on a tile -------------------------------------------------------------

    def tool(
        self,
        image: GeneratedImage,
        action: str,
        instruction: str | None = None,
        model: str | None = None,
    ) -> Job | None:
        """Run a tile's action: ``edit`` (with no ``instruction`` it opens the edit form and
        sends nothing: an edit is worded by a person, not taken from the prompt), ``upscale-2``,
        ``upscale-4``, ``remove-background``; ``style-ref`` keeps the image (up to 3) as a style
        reference for the next Generate. The result joins the grid and the history, with its
        source in its lineage."""
        with self._lock:
            label = f"#{self.shown_number} image {image.index + 1}"
            try:
                if action == "style-ref":
                    self.held_refs.add(style_reference(image, label))
                    self._set_status(
                        f"{label} is a style reference ({len(self.style_refs)} held, shown in "
                        "the form) for the next Generate with a model that takes them "
                        "(krea-v2-*, luma-uni-1*)",
                        "idle",
                    )
                    return None
                if action == "edit" and instruction is None:
                    self._ask_edit(image, label)
                    return None
                name, values = action, dict[str, Any]()
                if action.startswith("upscale-"):
                    name, values = "upscale", {"scale": int(action.rsplit("-", 1)[1])}
                elif action == "edit":
                    values = {"prompt": str(instruction), "model": model or self.edit_model}
                if name not in TOOLS:
                    raise VeniceError(f"unknown tile action {action!r}")
                request = TOOLS[name].build([to_input(image, label)], **values)
                checked = preflight(self.session, [request])
            except VeniceError as exc:
                self._set_status(exc.one_line(), "error")
                return None
            queued = checked.jobs[0].request
            job = self.worker.submit(queued, 0.0)
            self._set_busy(True)
            notes = "; ".join(request.notes())
            text = f"#{job.number} queued: {pw.describe(queued)}" + (f" ({notes})" if notes else "")
            self._set_status(text, "running")
            return job

    @_guarded
    def _on_tool(self, image: GeneratedImage, action: str) -> None:
        self.tool(image, action)

    def _ask_edit(self, image: GeneratedImage, label: str) -> None:
        form = self.edit_form
        if len(form.model.options) <= 1:  # the edit models, fetched once when first needed
            try:
                ids = [s.id for s in self.session.client().models_of("inpaint").values()]
            except (VeniceError, AttributeError):
                ids = []
            if ids:
                form.model.options = ids
                form.model.value = self.edit_model if self.edit_model in ids else ids[0]
        form.ask(image, label)
        self._set_status(f"Edit {label}: type what to change above the pictures.", "idle")

    @_guarded
    def _send_edit(self, image: GeneratedImage, instruction: str, model: str) -> Job | None:
        return self.tool(image, "edit", instruction=instruction, model=model)

    def generate(self, delay_s: float = 0.0) -> Job | None:
        """Validate the controls' request and hand it to the worker; a refusal goes to the status."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this panel is closed; open a new one with %venice panel")
            if not self.seed_lock.value:
                with self._quietly():
                    self.seed.value = _random_seed()
            request = self.request()
            if not request.prompt.strip():
                self._set_status(
                    "the prompt is empty. Type what to draw in the Prompt box.", "error"
                )
                return None
            try:
                # the panel shows its cost before a click: no cost guard here
                checked = preflight(self.session, [request]).jobs[0].request
            except VeniceError as exc:
                self._set_status(exc.one_line(), "error")
                return None
            job = self.worker.submit(checked, delay_s)
            self._set_busy(True)
            aside = f" ({self._refs_note})" if self._refs_note else ""
            self._set_status(f"#{job.number} queued: {pw.describe(checked)}{aside}", "running")
            return job

    def cancel(self) -> None:
        """Stop waiting for the running request (an answer already paid for still goes into the
        history) and drop a queued one."""
        with self._lock:
            was_busy = self.worker.busy
            self.worker.invalidate()
            self._set_busy(False)
            self.timing.remove_class("venice-previous")
            shown = getattr(self.result, "request", None)
            if isinstance(shown, GenerateRequest) and shown.seed is not None:
                with self._quietly():  # the field shows the seed of the pictures on screen
                    self.seed.value = shown.seed
            if was_busy:
                self._set_status(
                    "Cancelled. A request already sent may still be answered; it goes into the "
                    "history.",
                    "idle",
                )

    def _set_busy(self, busy: bool) -> None:
        """Generate turns into Cancel while a request is queued or running."""
        button = self.generate_button
        button.description = "Cancel" if busy else "Generate"
        button.icon = "stop" if busy else "play"
        button.button_style = "warning" if busy else "primary"
        button.tooltip = "Stop waiting for this request" if busy else "Send the request"

    def _run(
        self,
        request: Request,
        on_retry: Callable[[RetryEvent], None],
        cancel: threading.Event,
    ) -> GenerationResult:
        return self.session.send(request, on_retry=on_retry, cancel=cancel)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no request is pending or running (tests, scripts). False on timeout."""
        return self.worker.wait_idle(timeout)

    # ---- widget callbacks (main thread) ----------------------------------------------------

    @_guarded
    def _on_generate(self, _button: w.Button) -> None:
        if self.generate_button.description == "Cancel":
            self.cancel()
        else:
            self.generate()

    @_guarded
    def _on_seed_step(self, step: int) -> None:
        with self._quietly():
            self.seed.value = max(self.seed.min, min(self.seed.max, self.seed.value + step))
            self.seed_lock.value = True  # stepping through seeds means keeping the one chosen
        if self.auto_generate.value:
            self.generate(delay_s=DEBOUNCE_S)

    @_guarded
    def _on_reuse_seed(self, seed: int) -> None:
        self.reuse_seed(seed)

    def reuse_seed(self, seed: int) -> None:
        """Put a tile's seed into the seed field and lock it, as Stable Diffusion tools do."""
        with self._quietly():
            self.seed.value = seed
            self.seed_lock.value = True
        self._set_status(f"Seed {seed} locked: the next Generate reuses it.", "idle")

    @_guarded
    def _on_change(self, change: dict[str, Any]) -> None:
        if change["owner"] is self.model:
            with self._quietly():
                self.controls.follow_model(self.catalogue.require(change["new"]))
            self.held_refs.follow_model(self.catalogue.require(change["new"]))
        if self._quiet:
            return
        if change["owner"] is self.seed and not self.seed_lock.value:
            self.seed_lock.value = True  # a seed chosen by hand is a seed to keep
        self._update_cost()
        if self.auto_generate.value:
            self.generate(delay_s=DEBOUNCE_S)

    @_guarded
    def _on_randomize(self, _button: w.Button) -> None:
        with self._quietly():
            self.seed.value = _random_seed()
        if self.auto_generate.value:
            self.generate(delay_s=DEBOUNCE_S)

    @_guarded
    def _on_save_all(self, _button: w.Button) -> None:
        self.save()

    @_guarded
    def _on_save_image(self, image: GeneratedImage) -> None:
        self.save_image(image)

    @_guarded
    def _on_enlarge(self, image: GeneratedImage) -> None:
        self.enlarge(image)

    @_guarded
    def _on_restore(self, entry: HistoryEntry) -> None:
        self.restore(entry)

    def _update_cost(self) -> None:
        try:
            request = self.request()
            spec = self.catalogue.require(request.model)
            price = spec.price(request.resolution, request.quality)
            cost = request.estimated_cost(spec)
            notes = list(request.review(spec).warnings)
            if self._refs_note:
                notes.append(self._refs_note)
        except VeniceError as exc:
            self.cost.value = f"<span style='{pw.SOFT}'>cost: {exc.one_line()}</span>"
            return
        what = plural(request.image_count, "image")
        if price is None or cost is None:
            text = f"Next: {what}, price unknown"
        else:
            text = f"Next: {what} × {format_usd(price)} = {format_usd(cost)}"
        if self.session.backend == "local":
            text = f"Next: {what} · local preview: not billed" + (
                f" (on Venice ≈ {format_usd(cost)})" if cost is not None else ""
            )
        self.cost.value = (
            f"<span class='venice-cost' style='font-size:12px;{pw.SOFT}'>{text}</span>"
        ) + "".join(
            f"<div class='venice-note' style='font-size:12px;color:#b26a00'>\u26a0 {escape(n)}</div>"
            for n in notes
        )

    # ---- worker callbacks (worker thread) --------------------------------------------------

    def job_started(self, job: Job) -> None:
        with self._lock:
            if self.worker.is_current(job):
                self.timing.add_class("venice-previous")  # the bar is the last answer's: dimmed
                self._set_status(
                    f"#{job.number} generating: {pw.describe(job.request)} · 0.0 s", "running"
                )

    def job_tick(self, job: Job) -> None:
        with self._lock:
            if self.worker.is_current(job):
                state = "retrying" if job.note else "running"
                text = f"#{job.number} generating: {pw.describe(job.request)}{job.note}"
                elapsed = job.elapsed()
                text += f" · {elapsed:.1f} s"
                estimate = self._expected_s(job.request)
                progress = min(0.95, elapsed / estimate.seconds)
                left = estimate.seconds - elapsed
                if left >= 1:
                    text += f", about {left:.0f} s left{estimate.note}"
                else:
                    text += ", any moment now"
                self._set_status(text, state, progress)

    def job_retry(self, job: Job, event: RetryEvent) -> None:
        job.note = f" · {event.describe()}"
        self.job_tick(job)

    def job_finished(self, job: Job, result: GenerationResult) -> None:
        with self._lock:
            if self._closed:
                return
            entry = HistoryEntry(job.number, job.request, result)
            if not self.worker.is_current(job):
                # superseded or cancelled, but answered (and paid for): kept, not shown
                entry.superseded = True
                self._remember(entry)
                return
            self._set_busy(False)
            self._show(job.number, result)
            self._remember(entry)
            self._set_status(pw.summary(job.number, result), "ok")

    def job_failed(self, job: Job, error: BaseException, trace: str) -> None:
        with self._lock:
            if self.worker.is_current(job) and not self._closed:
                self._set_busy(False)
                self._report(error, trace, prefix=f"#{job.number} failed: ")
                self._mark_previous(True)

    # ---- showing ---------------------------------------------------------------------------

    def _show(self, number: int, result: GenerationResult) -> None:
        old = self.grid.children
        seed = getattr(result.request, "seed", None)
        preview = self.session.settings.preview_size
        fixed = not _ignores_seed(self.catalogue, result.model)
        if len(old) == len(result.images):  # same shape: new values into the same widgets
            for cell, im in zip(old, result.images, strict=True):
                pw.refill_cell(cell, im, seed if fixed else None, preview)
        else:
            self.grid.children = [
                pw.image_cell(
                    im, seed if fixed else None, preview, self._on_enlarge, self._on_save_image,
                    self._on_reuse_seed, self._on_tool,
                )
                for im in result.images
            ]  # fmt: skip
            for cell in old:
                cell.close()
        self._mark_previous(False)
        self._close_viewer()
        note = "cached" if result.cached else ""
        self.timing.value = pw.timing_html(result.timing, note)
        self.timing.remove_class("venice-previous")
        self.result, self.shown_number = result, number
        self.save_all.disabled = not result.images
        self._update_mirror()

    def _mark_previous(self, failed: bool) -> None:
        """After an error the result still on screen is the previous one: dimmed and labelled."""
        if failed and self.result is not None:
            self.grid.add_class("venice-previous")
            self.previous_label.value = (
                f"<span style='font-size:12px'>Previous result (#{self.shown_number}); the last "
                "request failed.</span>"
            )
        else:
            self.grid.remove_class("venice-previous")
            self.previous_label.value = ""

    # ---- the static copy beside the widget ---------------------------------------------------

    def _ipython_display_(self) -> None:
        """The widget, then its static HTML twin (what a saved notebook shows without widgets)."""
        from IPython.display import display

        view = dict(self.root._repr_mimebundle_())
        # what a saved notebook shows where widgets cannot render: a sentence, not a VBox repr
        view["text/plain"] = "Venice image panel (interactive: needs a running kernel)"
        display(view, raw=True)
        self._mirror = display(self.mirror_bundle(), raw=True, display_id=True)

    def mirror_bundle(self) -> dict[str, str]:
        result = self.result
        html = mirror_html(result, self.shown_number)
        text = (
            f"Venice image panel: result #{self.shown_number}"
            if result
            else "Venice image panel: no picture was made before this notebook was saved"
        )
        return {"text/html": redact_text(html), "text/plain": text}

    def _update_mirror(self) -> None:
        if self._mirror is not None and not self._closed:
            self._mirror.update(self.mirror_bundle(), raw=True)

    def _remember(self, entry: HistoryEntry) -> None:
        self.entries.append(entry)
        label = f"#{entry.number}: {pw.describe(entry.request)}"
        if entry.superseded:
            label += (
                " (superseded: answered after a newer request or a cancel; kept, it was paid for)"
            )
        item = pw.history_item(
            entry.number, entry.result, label, lambda: self._on_restore(entry), entry.superseded
        )
        items = [item, *self.history.children]
        for extra in items[HISTORY_LIMIT:]:
            extra.close()
        self.history.children = items[:HISTORY_LIMIT]
        del self.entries[:-HISTORY_LIMIT]

    def restore(self, entry: HistoryEntry | int) -> None:
        """Bring back an earlier generation's parameters and images, without a new request."""
        with self._lock:
            if isinstance(entry, int):
                found = [e for e in self.entries if e.number == entry]
                if not found:
                    raise VeniceError(f"no generation #{entry} in this panel's history")
                entry = found[0]
            self.worker.invalidate()  # whatever is in flight would overwrite what was chosen
            self._set_busy(False)
            if isinstance(entry.request, GenerateRequest):  # a derived image has no form to restore
                with self._quietly():
                    self.controls.show(entry.request)
                    self.seed_lock.value = True
            self._show(entry.number, entry.result)
            self._update_cost()
            self._set_status(f"Restored #{entry.number} from history (no new request).", "ok")

    def enlarge(self, image: GeneratedImage) -> None:
        """Show one image large above the tiles, as tall as the screen allows (not below every
        tile, off-screen); Close, or Enlarge on the same image again, closes it."""
        with self._lock:
            current = self._viewing
            self._close_viewer()
            if current is image:
                return  # a second click on Enlarge closes the large view
            close = w.Button(description="Close", icon="times", layout=w.Layout(width="auto"))
            close.on_click(lambda _b: self._close_viewer())
            big = pw.image_widget(image, px=0)
            big.layout.width = "auto"
            head = w.HTML(f"<b>Image {image.index + 1}</b> · {pw.caption_text(image, None)}")
            self.viewer.children = [
                w.HBox([head, close], layout=w.Layout(justify_content="space-between")),
                big,
            ]
            self.viewer.add_class("venice-viewer-open")
            self._viewing = image

    def _close_viewer(self) -> None:
        for child in self.viewer.children:
            child.close()
        self.viewer.children = []
        self.viewer.remove_class("venice-viewer-open")
        self._viewing = None

    # ---- saving ------------------------------------------------------------------------------

    def save_image(self, image: GeneratedImage) -> list[Path]:
        """Save one shown image (and its JSON sidecar) to ``session.settings.save_dir``."""
        result = self.result
        if result is None or image not in result.images:
            raise VeniceError("that image is no longer shown; save from the current grid")
        stem = f"{result_stem(result)}-{image.index + 1}" if len(result.images) > 1 else None
        return self._saved(
            replace(result, images=[image]).save(self.session.settings.save_dir, stem=stem)
        )

    def save(self) -> list[Path]:
        """Save every shown image with its JSON sidecar to ``session.settings.save_dir``."""
        if self.result is None:
            raise VeniceError("nothing to save yet; press Generate first")
        return self._saved(self.result.save(self.session.settings.save_dir))

    def _saved(self, paths: list[Path]) -> list[Path]:
        where = paths[0].parent if paths else Path(self.session.settings.save_dir).resolve()
        names = ", ".join(p.name for p in paths)
        self._set_status(
            f"Saved {plural(len(paths), 'image')} + JSON sidecar to {where}: {names}",
            "ok",
        )
        return paths

    # ---- status, errors, display, closing ----------------------------------------------------

    def _expected_s(self, request: Any = None) -> Estimate:
        """How long the next request should take, from what was measured: see ``estimate.py``.
        The panel's own fresh answers, then the session client's (which include the panel's
        latest, and any cell's before the panel's first run)."""
        own = [
            AnswerTime.of(e.request, e.result.timing.wall_ms)
            for e in self.entries
            if not e.result.cached
        ]
        answered = own + self.session.recent_answers()
        return expected_seconds(request, answered, self.session.backend)

    def _set_status(self, text: str, state: str, progress: float | None = None) -> None:
        self.status.value = pw.status_html(text, state, progress)
        self.status_text = text
        self.status_state = state

    def _report(self, error: BaseException, trace: str, prefix: str = "") -> None:
        self.last_error = trace
        if isinstance(error, VeniceError):
            text = error.one_line()
        else:
            text = f"unexpected {type(error).__name__}: {error} (traceback in panel.last_error)"
        self._set_status(prefix + text, "error")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.root._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("busy" if self.worker.busy else "idle")
        return f"<venice_nb.Panel model={self.model.value} {state}>"

    def close(self, timeout: float = 5.0) -> None:
        """Cancel the work, stop the worker thread and close every widget of the panel.

        A request already on the wire cannot be interrupted; if it outlasts ``timeout`` the thread
        ends as soon as it returns, and its answer is discarded.
        """
        with self._lock:
            self._update_mirror()  # the static copy keeps the last result after the widgets go
            self._closed = True
        self.worker.close(timeout)
        self._close_viewer()
        self.held_refs.close()
        self.edit_form.close()
        for widget in {*pw.descendants(self.root), *self.controls.all_widgets()}:
            widget.close()


def _ignores_seed(catalogue: Any, model: str | None) -> bool:
    """Whether the service ignores the seed for this model (then no seed is shown as true)."""
    try:
        return bool(getattr(catalogue[model], "ignores_seed", False))
    except (KeyError, TypeError):
        return False


def _random_seed() -> int:
    return random.randint(0, SEED_LIMIT)


__all__ = ["HistoryEntry", "Panel"]
