"""Words for counts, written once: "1 image", "3 images", "1 retry", "2 retries"."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word``, plural unless ``n`` is 1: ``many`` when given, else ``word + "s"``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
