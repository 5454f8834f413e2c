"""What made a result, and what a result may ask of it.

A result keeps its maker (the ``VeniceClient`` or ``VeniceSession`` that produced it; the magic,
the panel and sweeps run through a session) so ``img.upscale(2)`` and ``sweep.retry_failed()`` go
to the same server, key, cache and settings as the request that made them, never to the kernel's
default session. It also keeps where that was (``origin``): a session reconfigured since (a
login, another base URL) no longer sends there, and the verb says so instead of sending a local
preview's picture to the paid service. This module sits below ``result.py`` and imports nothing of the package at run
time: the result layer sees only this protocol, the makers live above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import VeniceError

if TYPE_CHECKING:  # pragma: no cover
    from .result import GenerationResult, SweepCell


@runtime_checkable
class Maker(Protocol):
    """What a maker offers the results it made: the toolbox on an image, and a rerun of a
    sweep's failed cells. A maker that cannot run one says so with ``cannot``."""

    def edit_image(
        self,
        images: Any,
        prompt: str,
        *,
        model: str | None = None,
        labels: Sequence[str] | None = None,
        use_cache: bool = True,
        downscale: bool = False,
        **fields: Any,
    ) -> GenerationResult: ...

    def upscale_image(
        self,
        image: Any,
        scale: int = 2,
        *,
        creativity: float | None = None,
        transport: str = "auto",
        use_cache: bool = True,
        downscale: bool = False,
    ) -> GenerationResult: ...

    def remove_image_background(
        self,
        image: Any,
        *,
        transport: str = "auto",
        use_cache: bool = True,
        downscale: bool = False,
    ) -> GenerationResult: ...

    def rerun(self, cells: list[SweepCell], route: str = "generate") -> list[SweepCell]:
        """``cells`` (failed ones, each with its request) sent again: new cells, same order."""
        ...


class MakerError(VeniceError):
    """A result asked its maker for something it cannot do (or it has no maker)."""


class NotAMakerError(MakerError, TypeError):
    """``session=`` given something that is no VeniceClient or VeniceSession: a TypeError, as
    Python's own for an argument of the wrong type."""


def cannot(maker: object, action: str, why: str = "") -> MakerError:
    """The one line for an operation a maker cannot run."""
    name = type(maker).__name__
    return MakerError(f"{name} cannot {action}" + (f": {why}" if why else ""))


def origin_of(maker: object) -> str | None:
    """Where ``maker`` sends now, without credentials (``None`` when it cannot say)."""
    return getattr(maker, "origin", None)


def maker_of(found: Any, action: str, made_at: str | None = None) -> Maker:
    """``found`` when it is a maker (that still sends where ``made_at`` says the result was made);
    else the one line saying what to do instead."""
    if found is None:
        raise MakerError(
            f"cannot {action}: this result has no maker (it was built by hand or loaded); "
            "pass session= or use a VeniceClient/VeniceSession method"
        )
    if not isinstance(found, Maker):
        raise NotAMakerError(
            f"cannot {action} with {type(found).__name__} {found!r:.40}: session= takes a "
            "VeniceClient or a VeniceSession"
        )
    now = origin_of(found) if made_at else None
    if now is not None and now != made_at:
        # a session reconfigured since (a login, another base_url): the picture is not there
        raise MakerError(
            f"cannot {action}: this was made at {made_at} and its session now sends to {now}; "
            "pass session= to choose where, or make the picture again there"
        )
    return found
