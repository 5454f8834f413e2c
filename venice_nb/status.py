"""One output line that the magic updates in place while a generation runs.

Only the kernel's main thread calls ``show``: workers report into plain attributes and the waiting
loop renders them, so no output can arrive from a worker after the cell has finished.
"""

from __future__ import annotations

from typing import Any


def bundle(html: str, text: str) -> dict[str, str]:
    """HTML for notebooks, the same words as plain text for terminals and logs."""
    return {"text/html": html, "text/plain": text}


def show(html: str, text: str) -> None:
    """Display one HTML output (with a plain-text twin)."""
    from IPython.display import display

    display(bundle(html, text), raw=True)


class StatusLine:
    """A display handle with ``status_html`` content; unchanged text sends nothing."""

    def __init__(self) -> None:
        self._handle: Any = None
        self._last: tuple[str, str] | None = None

    def show(self, text: str, state: str = "running") -> None:
        if self._last == (text, state):
            return
        from IPython.display import display

        from .display import status_html

        self._last = (text, state)
        data = bundle(status_html(text, state), text)
        if self._handle is None:
            self._handle = display(data, raw=True, display_id=True)
        else:
            self._handle.update(data, raw=True)

    @property
    def shown(self) -> bool:
        return self._handle is not None
