"""The style references a panel holds: shown in the form, removable one by one, set aside (not
refused) while the chosen model takes none.

A tile's "Style ref" adds its picture here. Before, nothing on screen said a reference was held, and
a switch to one of the many models without style references refused every Generate until the
kernel restarted. Now the form shows a chip per reference with a remove button, and ``for_model``
sends them only to a model that takes them; for the others it says, in one line, that they are
kept aside for when a model takes them again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..images_in import style_reference_value

if TYPE_CHECKING:  # pragma: no cover
    from ..catalogue import ModelSpec
    from ..images_in import InputImage

LIMIT = 3  # the service's largest count (krea-v2-*, luma-uni-1*)
SOFT = "color:var(--jp-ui-font-color1, inherit);opacity:0.75"


class HeldStyleRefs:
    """The references and the form row that shows them (hidden while there are none)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.images: list[InputImage] = []
        self._on_change = on_change
        self.label = w.HTML()
        self.chips = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.box = w.VBox([self.label, self.chips], layout=w.Layout(display="none"))
        self.box.add_class("venice-style-refs")
        self._model: ModelSpec | None = None

    def add(self, image: InputImage) -> None:
        if len(self.images) >= LIMIT:
            self.images.pop(0)
        self.images.append(image)
        self._refresh()

    def remove(self, image: InputImage) -> None:
        if image in self.images:
            self.images.remove(image)
        self._refresh()

    def clear(self) -> None:
        self.images.clear()
        self._refresh()

    def follow_model(self, spec: ModelSpec | None) -> None:
        """The line under the chips says whether the model in the form takes them."""
        self._model = spec
        self._refresh(notify=False)

    def for_model(self, spec: ModelSpec) -> tuple[tuple[dict[str, Any], ...] | None, str | None]:
        """(the ``style_references`` field to send, or None; a one-line note when held ones are
        left out). Never a refusal: the references wait for a model that takes them."""
        if not self.images:
            return None, None
        if not getattr(spec, "supports_style_references", False):
            return None, self.aside_note(spec)
        limit = getattr(spec, "max_style_references", None)
        chosen = self.images if limit is None else self.images[-limit:]
        note = None
        if len(chosen) < len(self.images):
            note = f"{spec.id} takes {limit} style reference(s): the newest {limit} are sent"
        return tuple({"image": style_reference_value(im)} for im in chosen), note

    def aside_note(self, spec: ModelSpec) -> str:
        n = len(self.images)
        held = "1 style reference" if n == 1 else f"{n} style references"
        return (
            f"{spec.id} takes no style references: {held} kept aside, not sent "
            "(krea-v2-* and luma-uni-1* take them)"
        )

    def close(self) -> None:
        for widget in (*self.chips.children, self.chips, self.label, self.box):
            widget.close()

    def _refresh(self, notify: bool = True) -> None:
        old = list(self.chips.children)
        self.chips.children = [self._chip(im) for im in self.images]
        for widget in old:
            widget.close()
        self.box.layout.display = "flex" if self.images else "none"
        used = self._model is None or getattr(self._model, "supports_style_references", False)
        state = "" if used else f" <span style='{SOFT}'>(kept aside: this model takes none)</span>"
        self.label.value = f"<span style='font-size:12px'><b>Style references</b>{state}</span>"
        if notify:
            self._on_change()

    def _chip(self, image: InputImage) -> w.Button:
        chip = w.Button(
            description=f"\u2715 {image.label}",
            tooltip=f"Stop using {image.label} as a style reference",
            layout=w.Layout(width="auto"),
        )
        chip.add_class("venice-style-ref")
        chip.on_click(lambda _b: self.remove(image))
        return chip


__all__ = ["HeldStyleRefs"]
