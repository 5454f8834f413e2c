"""The toolbox verbs every maker offers (``Maker`` in ``maker.py``), written once.

``VeniceClient`` and ``VeniceSession`` inherit them and supply ``run_toolbox`` (the client checks
against the catalogue and sends; the session adds its refused settings and its cache). The
``venice_nb.edit``/``upscale``/``remove_background`` functions and the verbs on a result
(``img.upscale(2)``) all end here, on the maker they were given. A single-image edit goes to
``/image/edit``; several images, or a ``quality``, go to ``/image/multi-edit`` (``/image/edit``
has no quality field). Inputs are coerced here, at the surface (``images_in.to_input``), so the
requests in ``operations/`` only ever hold bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import UnexpectedArgumentError, ValidationError
from .fuzzy import did_you_mean
from .images_in import fit_for, to_input
from .operations.background import BackgroundRemoveRequest
from .operations.common import DEFAULT_EDIT_MODEL, TRANSPORTS
from .operations.edit import EditRequest
from .operations.multi_edit import MultiEditRequest
from .operations.upscale import UpscaleRequest
from .pyargs import check_types, field_types, need_choice, need_flag, need_number, need_text

if TYPE_CHECKING:  # pragma: no cover
    from .images_in import InputImage
    from .operations.common import ToolboxRequest
    from .result import GenerationResult

EDIT_FIELDS = (
    "aspect_ratio", "resolution", "quality", "output_format", "enhance_prompt",
    "disable_prompt_optimization_thinking", "safe_mode", "transport",
)  # fmt: skip


def as_inputs(
    images: Any, labels: Sequence[str] | None = None, downscale_for: str | None = None
) -> list[InputImage]:
    """Checked inputs; with ``downscale_for`` (an operation) shrunk to what it takes."""
    if not isinstance(images, (list, tuple)):
        images = [images]
    names = list(labels or [])
    inputs = [
        to_input(value, names[i] if i < len(names) else None) for i, value in enumerate(images)
    ]
    return fit_for(downscale_for, inputs) if downscale_for else inputs


def edit_request(
    inputs: Sequence[InputImage], prompt: str, model: str | None = None, **fields: Any
) -> EditRequest | MultiEditRequest:
    """``/image/edit`` for one image without a quality, ``/image/multi-edit`` otherwise.
    Unknown keyword arguments are refused by name."""
    unknown = sorted(set(fields) - set(EDIT_FIELDS))
    if unknown:
        hint = did_you_mean(unknown[0], EDIT_FIELDS)
        raise UnexpectedArgumentError(
            f"edit() takes no argument {unknown[0]!r}" + (f"; {hint}" if hint else ""),
            field=unknown[0],
        )
    chosen = {k: v for k, v in fields.items() if v is not None}
    model = model or DEFAULT_EDIT_MODEL
    if len(inputs) == 1 and chosen.get("quality") is None:
        return EditRequest(inputs[0], prompt, model=model, **chosen)
    if not inputs:
        raise ValidationError("edit() needs at least one image", field="images")
    return MultiEditRequest(tuple(inputs), prompt, model=model, **chosen)


def upscale_request(inputs: Sequence[InputImage], **fields: Any) -> UpscaleRequest:
    return UpscaleRequest(inputs[0], **{k: v for k, v in fields.items() if v is not None})


def background_request(inputs: Sequence[InputImage], **fields: Any) -> BackgroundRemoveRequest:
    return BackgroundRemoveRequest(inputs[0], **{k: v for k, v in fields.items() if v is not None})


@dataclass(frozen=True)
class Tool:
    """One toolbox operation: the words that start a ``%venice`` line, the catalogue type its
    models are listed under, and how its request is built from checked inputs."""

    name: str
    words: tuple[str, ...]
    model_type: str
    build: Callable[..., ToolboxRequest]
    operations: tuple[str, ...]  # the requests' ``operation`` values


# The one registry: the Python API (below), the magic (toolbox_magic.py) and the panel's tiles.
TOOLS = {
    tool.name: tool
    for tool in (
        Tool("edit", ("edit", "multi-edit"), "inpaint", edit_request, ("edit", "multi-edit")),
        Tool("upscale", ("upscale",), "upscale", upscale_request, ("upscale",)),
        # bria-bg-remover is listed under type=image
        Tool(
            "remove-background", ("remove-background", "remove-bg"), "image",
            background_request, ("remove-background",),
        ),
    )
}  # fmt: skip
WORDS = {word: tool for tool in TOOLS.values() for word in tool.words}


def model_type(operation: str) -> str:
    """The catalogue type (``GET /models?type=``) that lists the models of ``operation``."""
    for tool in TOOLS.values():
        if operation in tool.operations:
            return tool.model_type
    return "image"


def build_edit(
    images: Any,
    prompt: str,
    model: str | None = None,
    labels: Sequence[str] | None = None,
    downscale: bool = False,
    **fields: Any,
) -> EditRequest | MultiEditRequest:
    """The edit request for ``images`` (anything ``to_input`` takes), coerced here."""
    inputs = as_inputs(images, labels, downscale_for="edit" if downscale else None)
    return edit_request(inputs, prompt, model, **fields)


class ToolboxVerbs:
    """``edit_image``, ``upscale_image``, ``remove_image_background`` over ``run_toolbox``."""

    def run_toolbox(self, request: ToolboxRequest, *, use_cache: bool = True) -> GenerationResult:
        """Check ``request`` and run it (a refusal sends nothing); the maker supplies this."""
        raise NotImplementedError

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
    ) -> GenerationResult:
        """Edit one image, or combine several (the first is the base) under one instruction.
        The same edit again comes from the cache; ``use_cache=False`` pays for a new take."""
        # Python words for Python mistakes (never "pass -m MODEL"): TypeError/ValueError.
        need_text("edit()", "prompt", prompt, "make it night")
        need_text("edit()", "model", model, DEFAULT_EDIT_MODEL, optional=True)
        need_flag("edit()", "use_cache", use_cache)
        need_flag("edit()", "downscale", downscale)
        check_types("edit()", fields, {**field_types(EditRequest), **field_types(MultiEditRequest)})
        request = build_edit(images, prompt, model, labels, downscale=downscale, **fields)
        return self.run_toolbox(request, use_cache=use_cache)

    def upscale_image(
        self,
        image: Any,
        scale: int = 2,
        *,
        creativity: float | None = None,
        transport: str = "auto",
        use_cache: bool = True,
        downscale: bool = False,
    ) -> GenerationResult:
        """The image 2x or 4x bigger (``downscale=True`` shrinks an input too large for 2x)."""
        _check_common("upscale()", transport, use_cache, downscale)
        need_choice("upscale()", "scale", scale, (2, 4))
        need_number("upscale()", "creativity", creativity)
        source = as_inputs(image, downscale_for="upscale" if downscale else None)
        request = upscale_request(source, scale=scale, creativity=creativity, transport=transport)
        return self.run_toolbox(request, use_cache=use_cache)

    def remove_image_background(
        self,
        image: Any,
        *,
        transport: str = "auto",
        use_cache: bool = True,
        downscale: bool = False,
    ) -> GenerationResult:
        """A PNG of the image with its background transparent."""
        _check_common("remove_background()", transport, use_cache, downscale)
        source = as_inputs(image, downscale_for="remove-background" if downscale else None)
        request = background_request(source, transport=transport)
        return self.run_toolbox(request, use_cache=use_cache)


def _check_common(where: str, transport: Any, use_cache: Any, downscale: Any) -> None:
    """The arguments every toolbox verb shares, in Python words (TypeError/ValueError)."""
    need_choice(where, "transport", transport, TRANSPORTS)
    need_flag(where, "use_cache", use_cache)
    need_flag(where, "downscale", downscale)
