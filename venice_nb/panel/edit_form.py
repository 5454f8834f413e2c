"""The panel's "Edit…": it asks for the instruction (and the edit model) before anything is sent.

Before, Edit sent at once with the generation prompt as the instruction: a paid request that
nobody had worded. Now the click opens this small form above the grid, naming the picture; Send
edit sends it, Cancel closes it, and an empty instruction is refused in the form, before any
request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as w

from ..operations.common import DEFAULT_EDIT_MODEL

if TYPE_CHECKING:  # pragma: no cover
    from ..result import GeneratedImage


class EditForm:
    """Instruction, model, Send edit and Cancel; hidden until a tile's Edit… opens it."""

    def __init__(
        self, models: list[str], send: Callable[[GeneratedImage, str, str], object]
    ) -> None:
        self._send = send
        self.image: GeneratedImage | None = None
        self.title = w.HTML()
        self.instruction = w.Text(
            placeholder="What to change, e.g. 'make it night'",
            layout=w.Layout(width="100%"),
        )
        options = models or [DEFAULT_EDIT_MODEL]
        default = DEFAULT_EDIT_MODEL if DEFAULT_EDIT_MODEL in options else options[0]
        self.model = w.Dropdown(options=options, value=default, layout=w.Layout(width="auto"))
        self.send_button = w.Button(description="Send edit", button_style="primary", icon="play")
        self.cancel_button = w.Button(description="Cancel", layout=w.Layout(width="auto"))
        self.send_button.on_click(lambda _b: self.submit())
        self.cancel_button.on_click(lambda _b: self.hide())
        self.problem = w.HTML()
        row = w.HBox(
            [self.model, self.send_button, self.cancel_button],
            layout=w.Layout(flex_flow="row wrap"),
        )
        self.box = w.VBox(
            [self.title, self.instruction, row, self.problem],
            layout=w.Layout(display="none", border="1px solid rgba(128,128,128,0.4)",
                            padding="6px", margin="0 0 8px 0"),
        )  # fmt: skip
        self.box.add_class("venice-edit-form")

    def ask(self, image: GeneratedImage, label: str) -> None:
        """Open the form for ``image`` (nothing is sent yet)."""
        self.image = image
        self.title.value = f"<b>Edit {label}</b>: say what to change, then Send edit"
        self.problem.value = ""
        self.box.layout.display = "flex"

    def submit(self) -> object:
        text = self.instruction.value.strip()
        if self.image is None:
            return None
        if not text:
            self.problem.value = (
                "<span style='color:#d93025;font-size:12px'>\u2717 the instruction is empty: "
                "type what to change.</span>"
            )
            return None
        image, self.image = self.image, None
        self.box.layout.display = "none"
        return self._send(image, text, self.model.value)

    def hide(self) -> None:
        self.image = None
        self.box.layout.display = "none"

    def close(self) -> None:
        for widget in (self.title, self.instruction, self.model, self.send_button,
                       self.cancel_button, self.problem, self.box):  # fmt: skip
            widget.close()


__all__ = ["EditForm"]
