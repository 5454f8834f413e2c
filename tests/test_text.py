"""Counted words: the one plural rule every message uses."""

from __future__ import annotations

from venice_nb.text import plural


def test_plural() -> None:
    assert [plural(n, "image") for n in (0, 1, 2)] == ["0 images", "1 image", "2 images"]
    assert (
        plural(1, "retry", "retries") == "1 retry" and plural(3, "retry", "retries") == "3 retries"
    )
