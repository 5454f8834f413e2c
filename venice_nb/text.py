"""Text written once: counted words ("1 image", "2 retries") and text made safe for HTML."""

from __future__ import annotations

from html import escape
from typing import Any


def esc(value: Any) -> str:
    """Any value as HTML-safe text, quotes included (it may land in an attribute)."""
    return escape(str(value), quote=True)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word``, plural unless ``n`` is 1: ``many`` when given, else ``word + "s"``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
