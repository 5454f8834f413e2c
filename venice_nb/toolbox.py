"""The toolbox from Python: ``venice_nb.edit``, ``upscale``, ``remove_background`` and the same as
methods on results (``shot.images[0].upscale(4)``, ``img.edit("make it night")``).

Each call builds the typed request from ``operations/`` (inputs checked and refused before any
request), checks it against the model's catalogue row, and runs it through the kernel's session,
so it shares the client, the backend choice (local preview without a key) and the cache with the
magic. A single-image edit goes to ``/image/edit``; several images, or a ``quality``, go to
``/image/multi-edit`` (``/image/edit`` has no quality field).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .operations.background import BackgroundRemoveRequest
from .operations.common import DEFAULT_EDIT_MODEL
from .operations.edit import EditRequest
from .operations.multi_edit import MultiEditRequest
from .operations.upscale import UpscaleRequest
from .pyargs import need_choice, need_flag, need_number

if TYPE_CHECKING:  # pragma: no cover
    from .operations.common import ToolboxRequest
    from .result import GenerationResult
    from .session import VeniceSession

EDIT_FIELDS = (
    "aspect_ratio", "resolution", "quality", "output_format", "enhance_prompt",
    "disable_prompt_optimization_thinking", "safe_mode", "transport",
)  # fmt: skip


def _inputs(
    images: Any, labels: Sequence[str] | None = None, downscale_for: str | None = None
) -> list[Any]:
    """Checked inputs; with ``downscale_for`` (an operation) shrunk to what it takes."""
    from .images_in import fit_for, to_input

    if not isinstance(images, (list, tuple)):
        images = [images]
    names = list(labels or [])
    inputs = [
        to_input(value, names[i] if i < len(names) else None) for i, value in enumerate(images)
    ]
    return fit_for(downscale_for, inputs) if downscale_for else inputs


def build_edit(
    images: Any,
    prompt: str,
    model: str | None = None,
    labels: Sequence[str] | None = None,
    downscale: bool = False,
    **fields: Any,
) -> EditRequest | MultiEditRequest:
    """The edit request for ``images``: ``/image/edit`` for one image without a quality,
    ``/image/multi-edit`` otherwise. Unknown keyword arguments are refused by name."""
    from .errors import UnexpectedArgumentError, ValidationError

    unknown = sorted(set(fields) - set(EDIT_FIELDS))
    if unknown:
        from .catalogue import did_you_mean

        hint = did_you_mean(unknown[0], EDIT_FIELDS)
        raise UnexpectedArgumentError(
            f"edit() takes no argument {unknown[0]!r}" + (f"; {hint}" if hint else ""),
            field=unknown[0],
        )
    inputs = _inputs(images, labels, downscale_for="edit" if downscale else None)
    chosen = {k: v for k, v in fields.items() if v is not None}
    model = model or DEFAULT_EDIT_MODEL
    if len(inputs) == 1 and chosen.get("quality") is None:
        return EditRequest(inputs[0], prompt, model=model, **chosen)
    if not inputs:
        raise ValidationError("edit() needs at least one image", field="images")
    return MultiEditRequest(tuple(inputs), prompt, model=model, **chosen)


def run(
    request: ToolboxRequest, session: VeniceSession | None = None, use_cache: bool = True
) -> GenerationResult:
    """Check ``request`` against its catalogue and run it (a refusal sends nothing)."""
    from .preflight import preflight
    from .session import get_session

    session = session or get_session()
    # refused settings, catalogue (preflight's jobs are typed as generations only)
    checked = preflight(session, [request], use_cache=use_cache)  # type: ignore[list-item]
    return session.run_operation(checked.jobs[0].request, use_cache=use_cache)  # type: ignore[arg-type]


def edit(
    images: Any,
    prompt: str,
    *,
    model: str | None = None,
    session: VeniceSession | None = None,
    downscale: bool = False,
    **fields: Any,
) -> GenerationResult:
    """Edit one image, or combine several (the first is the base) under one instruction.

    ``venice_nb.edit(shot, "make it night")``, ``venice_nb.edit([room, lamp], "put the lamp in
    the room", model="flux-2-max-edit")``. Keyword arguments: aspect_ratio, resolution, quality,
    output_format, enhance_prompt, disable_prompt_optimization_thinking, safe_mode, transport.
    """
    from .pyargs import check_types, field_types, need_flag, need_text

    need_text("edit()", "prompt", prompt, "make it night")
    need_text("edit()", "model", model, DEFAULT_EDIT_MODEL, optional=True)
    need_flag("edit()", "downscale", downscale)
    check_types("edit()", fields, {**field_types(EditRequest), **field_types(MultiEditRequest)})
    return run(build_edit(images, prompt, model, downscale=downscale, **fields), session)


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
    _check_common("upscale()", transport, use_cache, downscale)
    need_choice("upscale()", "scale", scale, (2, 4))
    need_number("upscale()", "creativity", creativity)
    source = _inputs(image, downscale_for="upscale" if downscale else None)[0]
    request = UpscaleRequest(source, scale=scale, creativity=creativity, transport=transport)
    return run(request, session, use_cache)


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
    _check_common("remove_background()", transport, use_cache, downscale)
    source = _inputs(image, downscale_for="remove-background" if downscale else None)[0]
    return run(BackgroundRemoveRequest(source, transport=transport), session, use_cache)


def _check_common(where: str, transport: Any, use_cache: Any, downscale: Any) -> None:
    """The arguments every toolbox function shares, in Python words (TypeError/ValueError)."""
    from .operations.common import TRANSPORTS

    need_choice(where, "transport", transport, TRANSPORTS)
    need_flag(where, "use_cache", use_cache)
    need_flag(where, "downscale", downscale)
