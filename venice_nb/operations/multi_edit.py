"""``POST /image/multi-edit``: several images combined under one instruction (the first is the base).

The model field is ``modelId`` here (``model`` is a 400). JSON takes raw base64, data URLs or
http(s) URLs in ``images``; multipart takes only files, as repeated ``images`` parts. Up to the
model's ``maxInputImages`` (3 when absent, 1 where the model does not combine images). This is
also how a single-image edit with ``quality`` is sent: ``/image/edit`` has no quality field.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..catalogue import ModelSpec
from ..errors import ValidationError
from ..images_in import EDIT_MAX_PIXELS, InputImage, check_pixels, to_input
from .common import (
    DEFAULT_EDIT_MODEL,
    Body,
    ToolboxRequest,
    check_edit_against,
    check_edit_fields,
    check_prompt,
    edit_price,
    form_value,
    json_size,
    normalise_format,
)


@dataclass(frozen=True)
class MultiEditRequest(ToolboxRequest):
    """A request for ``POST /image/multi-edit``. ``model`` is sent as ``modelId``."""

    images: tuple[InputImage, ...]
    prompt: str
    model: str = DEFAULT_EDIT_MODEL
    aspect_ratio: str | None = None
    resolution: str | None = None
    quality: str | None = None
    output_format: str | None = None
    enhance_prompt: bool | None = None
    disable_prompt_optimization_thinking: bool | None = None
    safe_mode: bool | None = None
    transport: str = "auto"

    operation = "multi-edit"
    path = "/image/multi-edit"

    def __post_init__(self) -> None:
        images = self.images
        if not isinstance(images, (tuple, list)):
            images = (images,)
        object.__setattr__(
            self,
            "images",
            tuple(
                im if isinstance(im, InputImage) else to_input(im, f"image {i + 1}", files=False)
                for i, im in enumerate(images)
            ),
        )
        object.__setattr__(self, "output_format", normalise_format(self.output_format))
        if isinstance(self.resolution, str):  # tiers are upper-case in the catalogue ("2k" -> "2K")
            object.__setattr__(self, "resolution", self.resolution.strip().upper())
        if isinstance(self.quality, str):
            object.__setattr__(self, "quality", self.quality.strip().lower())

    @property
    def inputs(self) -> tuple[InputImage, ...]:
        return self.images

    def fields_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"modelId": self.model}
        for name in (
            "prompt", "aspect_ratio", "resolution", "quality", "output_format", "enhance_prompt",
            "disable_prompt_optimization_thinking", "safe_mode",
        ):  # fmt: skip
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    # ---- validation ---------------------------------------------------------------------------

    def check_schema(self) -> MultiEditRequest:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValidationError("no edit model given; pass -m MODEL", field="model")
        if not self.images:
            raise ValidationError(
                "a multi-edit needs at least one image; pass them with -i (the base first)",
                field="images",
            )
        check_prompt(self.prompt)
        check_edit_fields(
            aspect_ratio=self.aspect_ratio,
            resolution=self.resolution,
            quality=self.quality,
            output_format=self.output_format,
            flags={
                "enhance_prompt": self.enhance_prompt,
                "safe_mode": self.safe_mode,
                "disable_prompt_optimization_thinking": self.disable_prompt_optimization_thinking,
            },
        )
        for image in self.images:
            check_pixels(image, "a multi-edit", EDIT_MAX_PIXELS)
        self.kind()
        return self

    def check_against(self, spec: ModelSpec) -> MultiEditRequest:
        self.check()
        check_prompt(self.prompt, spec)
        limit = spec.input_image_limit
        if len(self.images) > limit:
            why = "it does not combine images" if spec.combine_images is False else ""
            raise ValidationError(
                f"{spec.id} takes at most {limit} input image{'s' if limit != 1 else ''}"
                + (f" ({why})" if why else "")
                + f", got {len(self.images)}; drop some -i or pick a model that takes more "
                "(flux-2-max-edit and gpt-image-2-edit take 6)",
                field="images",
            )
        changes = check_edit_against(
            spec, aspect_ratio=self.aspect_ratio, resolution=self.resolution, quality=self.quality
        )
        return replace(self, **changes) if changes else self

    def estimated_cost(self, spec: ModelSpec | None) -> float | None:
        if spec is None:  # an edit model the catalogue does not list: no price to tell
            return None
        return edit_price(spec, self.resolution, self.quality, len(self.images))

    # ---- body ---------------------------------------------------------------------------------

    def body(self) -> Body:
        fields_ = self.fields_json()
        size = json_size(fields_, self.images)
        kind = self.kind()
        if kind == "json":
            values = [im.url if im.url is not None else im.base64() for im in self.images]
            return Body("json", json=dict(fields_, images=values), size=size)
        files = tuple(
            ("images", f"{i + 1}-{im.filename}", im.data or b"", im.mime)
            for i, im in enumerate(self.images)
        )
        return Body(
            "multipart",
            fields={k: form_value(v) for k, v in fields_.items()},
            files=files,
            size=sum(im.nbytes for im in self.images) + 1024,
        )
