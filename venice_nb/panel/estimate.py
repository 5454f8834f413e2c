"""How long the next request will take, for the panel's progress bar: measured where anything was
measured, and called an estimate where nothing was.

What is measured: the wall time of fresh answers (cached ones say nothing about the service's
speed), the panel's own and every answer of the session's client (a ``%%venice`` cell or a sweep
before the panel's first Generate counts), and in a new kernel the times the result cache kept
from earlier ones for the same server (each entry was a fresh answer once). The newest answer for the same model wins, else the
newest for any model; it is scaled to the request in the form by the pixels asked for (image
count x width x height). Before any answer there is only a rough figure per backend, and the
status says it is an estimate with nothing measured yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..result import AnswerTime, pixels_asked

# Before any answer: the local preview draws in well under a second; the service takes seconds.
FIRST_GUESS_S = {"local": 0.5, "venice": 10.0}


@dataclass(frozen=True)
class Estimate:
    """Seconds the next request should take, and what that figure rests on."""

    seconds: float
    measured_on: str | None  # the model of the answer measured; None: nothing measured yet
    same_model: bool = False

    @property
    def note(self) -> str:
        """What the status says after "about N s left": nothing when it rests on this model."""
        if self.measured_on is None:
            return " (an estimate: nothing measured yet)"
        if not self.same_model:
            return f" (measured on {self.measured_on})"
        return ""

    def __repr__(self) -> str:
        basis = self.measured_on or "nothing measured"
        return f"Estimate({self.seconds:.1f} s, {basis}{', same model' if self.same_model else ''})"


def expected_seconds(request: Any, answered: Iterable[AnswerTime], backend: str) -> Estimate:
    """The estimate for ``request`` from ``answered`` (fresh answers, oldest first)."""
    fresh = [a for a in answered if a.wall_ms > 0]
    if not fresh:
        return Estimate(FIRST_GUESS_S.get(backend, FIRST_GUESS_S["venice"]), None)
    model = getattr(request, "model", None)
    same = [a for a in fresh if a.model == model]
    ref = (same or fresh)[-1]
    ratio = pixels_asked(request) / max(1.0, ref.pixels)
    # generation time grows with pixels, but not all of it (queue, network): half fixed, half scaled
    seconds = ref.wall_ms / 1000 * (0.5 + 0.5 * ratio)
    return Estimate(seconds, ref.model or "another model", same_model=bool(same))


__all__ = ["FIRST_GUESS_S", "Estimate", "expected_seconds"]
