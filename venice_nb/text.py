"""Text written once: counted words ("1 image", "2 retries"), text made safe for HTML, and dates
a person reads ("15 Dec 2026")."""

from __future__ import annotations

from html import escape
from typing import Any


def esc(value: Any) -> str:
    """Any value as HTML-safe text, quotes included (it may land in an attribute)."""
    return escape(str(value), quote=True)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word``, plural unless ``n`` is 1: ``many`` when given, else ``word + "s"``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def readable_date(text: str) -> str:
    """An ISO timestamp as a person reads it: '2026-12-15T00:00:00.000Z' -> '15 Dec 2026' (a time
    only when it is not midnight, in UTC). Anything else comes back as it was."""
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    day = f"{moment.day} {moment:%b %Y}"
    if (moment.hour, moment.minute) == (0, 0):
        return day
    return f"{day} {moment:%H:%M} UTC"
