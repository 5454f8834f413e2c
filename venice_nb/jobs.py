"""What a sweep runs: one request and the swept values that label its cell.

Below both ``preflight`` (which checks jobs before anything is paid) and ``sweep`` (which runs
them), so neither has to import the other to name a job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .operations.generate import request_from
from .operations.request import Request


@dataclass(frozen=True)
class Job:
    """One request of a sweep and the swept values that label its cell."""

    request: Request  # a generation or a toolbox request (edit, upscale...)
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.request, Request):
            request_from(
                self.request, "Job"
            )  # a TypeError that says how, not an AttributeError later


def as_jobs(jobs: Any) -> list[Job]:
    """A list of Jobs from Jobs or plain GenerateRequests (labelled by their position)."""
    if isinstance(jobs, (str, bytes)) or not hasattr(jobs, "__iter__"):
        raise TypeError(
            f"run_sweep expects a list of Job or GenerateRequest, got {type(jobs).__name__}; "
            "e.g. [Job(request.with_(seed=s), {'seed': s}) for s in (1, 2, 3)]"
        )
    return [job if isinstance(job, Job) else Job(job, {"#": i}) for i, job in enumerate(jobs)]
