"""Text written once: counted words ("1 image", "2 retries"), text made safe for HTML, dates a
person reads ("15 Dec 2026"), money ("$0.005", "1.5 DIEM") and durations ("850 ms", "1.23 s") for
the pre-pay check, the run line, the panel and the display alike."""

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


def format_ms(ms: float | None) -> str:
    """'850 ms', '1.23 s', '2 min 5 s'."""
    if ms is None:
        return "n/a"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def format_usd(usd: float) -> str:
    """'$0.01', '$0.005' (sub-cent prices keep their digits), '$0'."""
    if usd == 0:
        return "$0"
    if abs(usd) < 0.01:
        return f"${usd:.4f}".rstrip("0").rstrip(".")
    return f"${usd:,.2f}"


def format_diem(amount: float) -> str:
    return f"{amount:,.4f}".rstrip("0").rstrip(".") + " DIEM"
