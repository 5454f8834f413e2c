"""How long the next request will take, for the panel's progress bar: from the panel's own past
answers, scaled to the request now in the form, with a first guess before there is any.

The estimate used to be "the last fresh answer's wall time": nothing on the first run, and the
same number after a switch from one 512 px image to four 1024 px ones. Now it prefers an answer
from the same model, scales it by the pixels asked for (image count x width x height), and before
any answer guesses from the backend, saying it is a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Before any answer: the local preview draws in well under a second; the service takes seconds.
FIRST_GUESS_S = {"local": 0.5, "venice": 10.0}


def _pixels(request: Any) -> float:
    """Pixels asked for: image count x width x height (a 1024 px square when the size is a ratio)."""
    count = getattr(request, "image_count", None) or 1
    width = getattr(request, "width", None) or 1024
    height = getattr(request, "height", None) or 1024
    return float(count * width * height)


def expected_seconds(
    request: Any, answered: Iterable[tuple[Any, Any]], backend: str
) -> tuple[float, bool]:
    """(seconds, is_a_guess) for ``request``; ``answered`` holds (request, result) pairs, oldest
    first. Cached answers say nothing about the service's speed and are skipped."""
    fresh = [
        (req, res) for req, res in answered
        if not getattr(res, "cached", False) and getattr(res.timing, "wall_ms", 0) > 0
    ]  # fmt: skip
    if not fresh:
        return FIRST_GUESS_S.get(backend, FIRST_GUESS_S["venice"]), True
    model = getattr(request, "model", None)
    same = [pair for pair in fresh if getattr(pair[0], "model", None) == model]
    ref_request, ref_result = (same or fresh)[-1]
    seconds = ref_result.timing.wall_ms / 1000
    ratio = _pixels(request) / max(1.0, _pixels(ref_request))
    # generation time grows with pixels, but not all of it (queue, network): half fixed, half scaled
    return seconds * (0.5 + 0.5 * ratio), not same


__all__ = ["FIRST_GUESS_S", "expected_seconds"]
