"""Spelling suggestions ("did you mean 'qwen-image-2'?") for every one-line refusal: model ids,
options, settings, request fields, toolbox words."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, options: Iterable[str], n: int = 3) -> list[str]:
    """Spelling suggestions, case-insensitively, best first."""
    options = list(options)
    lowered = {o.lower(): o for o in options}
    if word.lower() in lowered:  # only the case differs: that is the answer
        return [lowered[word.lower()]]
    scored = sorted(((_likeness(word, o), o) for o in lowered), reverse=True)
    if not scored or scored[0][0] < 0.6:
        return []
    # Only the near-best: 'qwen-image2' suggests 'qwen-image-2', not also 'z-image-turbo'.
    best = scored[0][0]
    return [lowered[o] for r, o in scored[:n] if r >= 0.6 and r >= best - 0.08]


def _likeness(word: str, option: str) -> float:
    """Similarity ignoring leading dashes (they made '--colour' look like '--model'); a typed
    prefix of an option ('--cfg' of '--cfg-scale') counts as a strong match."""
    a, b = word.lower().lstrip("-"), option.lstrip("-")
    score = difflib.SequenceMatcher(None, a, b).ratio()
    if len(a) >= 2 and b.startswith(a):
        score = max(score, 0.8)
    return score


def did_you_mean(word: str, options: Iterable[str]) -> str:
    hits = closest(word, options)
    if not hits:
        return ""
    return "did you mean " + " or ".join(repr(h) for h in hits) + "?"
