"""``POST /image/edit``: one image changed by an instruction.

The strict ``EditImageRequest`` schema: ``image`` (base64 or an http(s) URL in JSON, a file in
multipart), ``prompt``, ``model``, ``aspect_ratio``, ``resolution``, ``output_format``,
``enhance_prompt``, ``disable_prompt_optimization_thinking``, ``safe_mode``. It has no ``quality``:
an edit that needs one goes to ``/image/multi-edit`` with a single image (``MultiEditRequest``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..catalogue import ModelSpec
from ..errors import ValidationError
from ..images_in import EDIT_MAX_PIXELS, InputImage, check_pixels
from .common import (
    DEFAULT_EDIT_MODEL,
    Body,
    SingleImageRequest,
    check_edit_against,
    check_edit_fields,
    check_prompt,
    edit_price,
    form_value,
    json_size,
    normalise_format,
)


@dataclass(frozen=True)
class EditRequest(SingleImageRequest):
    """A request for ``POST /image/edit``. Unset (None) fields are not sent."""

    image: InputImage
    prompt: str
    model: str = DEFAULT_EDIT_MODEL
    aspect_ratio: str | None = None
    resolution: str | None = None
    output_format: str | None = None
    enhance_prompt: bool | None = None
    disable_prompt_optimization_thinking: bool | None = None
    safe_mode: bool | None = None
    transport: str = "auto"  # "json", "multipart" or "auto" (by size); not a body field

    operation = "edit"
    path = "/image/edit"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "output_format", normalise_format(self.output_format))
        if isinstance(self.resolution, str):  # tiers are upper-case in the catalogue ("2k" -> "2K")
            object.__setattr__(self, "resolution", self.resolution.strip().upper())

    def fields_json(self) -> dict[str, Any]:
        names = (
            "prompt", "model", "aspect_ratio", "resolution", "output_format", "enhance_prompt",
            "disable_prompt_optimization_thinking", "safe_mode",
        )  # fmt: skip
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    # ---- validation ---------------------------------------------------------------------------

    def check_schema(self) -> EditRequest:
        """What the schema says for every model, and the input's pixel bounds. Returns self."""
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValidationError("no edit model given; pass -m MODEL", field="model")
        check_prompt(self.prompt)
        check_edit_fields(
            aspect_ratio=self.aspect_ratio,
            resolution=self.resolution,
            quality=None,
            output_format=self.output_format,
            flags={
                "enhance_prompt": self.enhance_prompt,
                "safe_mode": self.safe_mode,
                "disable_prompt_optimization_thinking": self.disable_prompt_optimization_thinking,
            },
        )
        check_pixels(self.image, "an edit", EDIT_MAX_PIXELS)
        self.kind()  # refuses a body neither JSON nor multipart can carry
        return self

    def check_against(self, spec: ModelSpec) -> EditRequest:
        """What the chosen model takes (ratios, tiers, prompt limit); returns the request to send."""
        self.check()
        check_prompt(self.prompt, spec)
        changes = check_edit_against(
            spec, aspect_ratio=self.aspect_ratio, resolution=self.resolution, quality=None
        )
        return replace(self, **changes) if changes else self

    def estimated_cost(self, spec: ModelSpec | None) -> float | None:
        if spec is None:  # an edit model the catalogue does not list: no price to tell
            return None
        return edit_price(spec, self.resolution, None, 1)

    # ---- body ---------------------------------------------------------------------------------

    def body(self) -> Body:
        fields_ = self.fields_json()
        size = json_size(fields_, self.inputs)
        kind = self.kind()
        image = self.image
        if kind == "json":
            value = image.url if image.url is not None else image.base64()
            return Body("json", json=dict(fields_, image=value), size=size)
        assert image.data is not None
        return Body(
            "multipart",
            fields={k: form_value(v) for k, v in fields_.items()},
            files=(self.image_part(),),
            size=image.nbytes + 1024,
        )
