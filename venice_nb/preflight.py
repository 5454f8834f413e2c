"""Can this run before paying? One answer for the magic, the panel, sweeps and the Python API.

Everything that can be known before the first request is checked here, in this order, so a cell
is refused with one line and not one request (principle 3, "nothing is paid for for nothing"):

1. no setting was refused (a refused ``%config`` leaves the old value in place, and IPython lets
   the cell succeed: a later cell must not run on a value the user did not ask for);
2. the ``--save`` target can be written (not a file, not under a file, writable);
3. every request passes its checks against the catalogue and the styles;
4. the cost guard counts only what will be sent: a cache hit is free.

``preflight`` returns what it found (how many requests go out, their estimated cost, notes) so
the surfaces can say it; it raises ``ValidationError``/``ConfigurationError`` (one line) to refuse.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ValidationError
from .jobs import as_jobs
from .operations.generate import flag
from .text import format_usd, plural

if TYPE_CHECKING:  # pragma: no cover
    from .jobs import Job
    from .operations.request import Request
    from .session import VeniceSession


class CostLimitError(ValidationError):
    """The estimated cost of what would be sent is above ``cost_limit_usd``."""


@dataclass
class Checked:
    """What preflight found: the jobs, which of them the cache serves, the cost of the rest."""

    jobs: list[Job]
    cached: list[bool] = field(default_factory=list)
    cost_usd: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def to_send(self) -> int:
        return sum(1 for hit in self.cached if not hit)

    def __repr__(self) -> str:
        return f"<Checked {len(self.jobs)} jobs, {self.to_send} to send, ~${self.cost_usd:.4f}>"


def check_save_target(directory: str | os.PathLike[str], name: str = "--save") -> Path:
    """The directory images will be saved into, or a ValidationError if it cannot be written.

    It need not exist yet: its nearest existing ancestor must be a writable directory. The test
    is a real one (a temporary file created and removed), so read-only mounts and root's view of
    permissions are judged as the save itself would be.
    """
    shown = str(directory)
    target = Path(directory).expanduser()
    probe = target
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        if probe == target:
            raise ValidationError(f"{name} {shown!r} is a file, not a directory", field="save")
        raise ValidationError(
            f"{name} {shown!r} is under {str(probe)!r}, which is a file; pick a directory",
            field="save",
        )
    try:
        handle, temp = tempfile.mkstemp(dir=probe, prefix=".venice-nb-write-test-")
    except OSError as exc:
        where = "" if probe == target else f" (its nearest existing parent {str(probe)!r})"
        raise ValidationError(
            f"{name} {shown!r}{where} is not writable ({exc.strerror or exc}); "
            "pick a directory you can write to",
            field="save",
        ) from None
    os.close(handle)
    os.unlink(temp)
    return target


def preflight(
    session: VeniceSession,
    jobs: Sequence[Job | Request] | Callable[[], Sequence[Job | Request]],
    *,
    route: str = "generate",
    use_cache: bool = True,
    save_dir: str | None = None,
    confirmed: bool = True,
    confirm_hint: str = "add --yes to run it",
) -> Checked:
    """Check everything that can be checked before paying; see the module docstring.

    ``jobs`` may be a callable so that building them (which reads the catalogue) happens after
    the settings check. ``confirmed=False`` applies the cost guard (``cost_limit_usd``).
    """
    session.check_refusals()
    if save_dir is not None:
        check_save_target(save_dir)
    built = as_jobs(jobs() if callable(jobs) else jobs)
    # Validated once, here: what is sent is the validated request (the model's spelling, and
    # without the fields the model ignores: each named once in a note, never swept).
    swept = {
        name
        for name in {key for job in built for key in job.params}
        if len({repr(job.params.get(name)) for job in built}) > 1
    }
    warnings: dict[str, None] = {}
    reviewed = []
    for job in built:
        review = session.review(job.request, route)
        for name in sorted(swept & review.ignored.keys()):
            raise ValidationError(
                f"cannot sweep {flag(name)}: {review.ignored[name]}, so every cell would be the "
                "same kind of image paid for again; drop the list or pick a model that uses it",
                field=name,
            )
        warnings.update(dict.fromkeys(review.warnings))
        reviewed.append(replace(job, request=review.request))
    built = reviewed
    checked = Checked(built, notes=list(warnings))
    checked.cached = [use_cache and session.is_cached(job.request, route) for job in built]
    sent = [job for job, hit in zip(built, checked.cached, strict=True) if not hit]
    checked.cost_usd = sum(session.estimated_cost(job.request) or 0.0 for job in sent)
    hits = len(built) - len(sent)
    if hits and len(built) > 1:
        checked.notes.append(
            f"{hits} of {len(built)} requests come from the cache (free); {len(sent)} will be sent"
        )
    limit = session.settings.cost_limit_usd
    if not confirmed and checked.cost_usd > limit + 1e-9:
        images = sum(job.request.image_count for job in sent)
        what = f"{plural(len(sent), 'request')}, {plural(images, 'image')}"
        if hits:
            what += f"; {hits} more from the cache, free"
        local = " (local preview: nothing is charged)" if session.backend == "local" else ""
        raise CostLimitError(
            f"this cell would cost about {format_usd(checked.cost_usd)} ({what}), above the "
            f"limit of {format_usd(limit)} (VeniceMagics.cost_limit_usd); {confirm_hint}{local}"
        )
    return checked
