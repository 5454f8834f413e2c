"""The toolbox from Python: ``venice_nb.edit``, ``upscale``, ``remove_background``.

Each runs on the session it is given, else the kernel's session, so it shares the client, the
backend choice (local preview without a key) and the cache with the magic. The verbs on a result
(``shot.images[0].upscale(4)``) run on the result's maker instead (``maker.py``): the client or
session that made it. The requests are built once, in ``verbs.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .session import get_session

if TYPE_CHECKING:  # pragma: no cover
    from .result import GenerationResult
    from .session import VeniceSession


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
    maker = session or get_session()
    return maker.edit_image(
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
    return (session or get_session()).upscale_image(
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
    return (session or get_session()).remove_image_background(
        image, transport=transport, use_cache=use_cache, downscale=downscale
    )
