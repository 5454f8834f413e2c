"""The toolbox from Python: ``venice_nb.edit``, ``upscale``, ``remove_background``.

Each runs on the session it is given; else, when the input is a result or an image, on what made
it (``maker.py``), as ``shot.images[0].upscale(4)`` does; else on the kernel's session, so a file
or an array shares the client, the backend choice (local preview without a key) and the cache with
the magic. The requests are built once, in ``verbs.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .maker import Maker, maker_of
from .session import get_session

if TYPE_CHECKING:  # pragma: no cover
    from .result import GenerationResult
    from .session import VeniceSession


def _runner(source: Any, session: Maker | None, action: str) -> Maker:
    """``session`` if given; else the maker of ``source`` (the first of a list) if it has one,
    still sending where it was made; else the kernel's session."""
    if session is not None:
        return maker_of(session, action)
    first = source[0] if isinstance(source, (list, tuple)) and source else source
    made_by = getattr(first, "maker", None)
    if made_by is None:
        return get_session()
    return maker_of(made_by, action, made_at=getattr(first, "origin", None))


def edit(
    images: Any,
    prompt: str,
    *,
    model: str | None = None,
    session: VeniceSession | None = None,
    use_cache: bool = True,
    downscale: bool = False,
    **fields: Any,
) -> GenerationResult:
    """Edit one image, or combine several (the first is the base) under one instruction.

    ``venice_nb.edit(shot, "make it night")``, ``venice_nb.edit([room, lamp], "put the lamp in
    the room", model="flux-2-max-edit")``. Keyword arguments: aspect_ratio, resolution, quality,
    output_format, enhance_prompt, disable_prompt_optimization_thinking, safe_mode, transport.
    The same edit again comes from the session's cache (free); ``use_cache=False`` pays for a
    new take.
    """
    return _runner(images, session, "edit").edit_image(
        images, prompt, model=model, use_cache=use_cache, downscale=downscale, **fields
    )


def upscale(
    image: Any,
    scale: int = 2,
    *,
    creativity: float | None = None,
    transport: str = "auto",
    session: VeniceSession | None = None,
    use_cache: bool = True,
    downscale: bool = False,
) -> GenerationResult:
    """The image 2x or 4x bigger (4x is reduced by the service on large inputs; said first).
    ``downscale=True`` shrinks an input too large even for 2x instead of refusing it."""
    return _runner(image, session, "upscale").upscale_image(
        image, scale, creativity=creativity, transport=transport, use_cache=use_cache,
        downscale=downscale,
    )  # fmt: skip


def remove_background(
    image: Any,
    *,
    transport: str = "auto",
    session: VeniceSession | None = None,
    use_cache: bool = True,
    downscale: bool = False,
) -> GenerationResult:
    """A PNG of the image with its background transparent (``downscale=True``: shrink an input
    over 33,177,600 pixels or 25 MB instead of refusing it)."""
    return _runner(image, session, "remove the background").remove_image_background(
        image, transport=transport, use_cache=use_cache, downscale=downscale
    )
