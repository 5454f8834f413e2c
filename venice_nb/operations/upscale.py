"""``POST /image/upscale``: the same picture, 2x or 4x bigger.

``UpscaleImageRequest``: ``image`` (base64 in JSON or a file in multipart; no URLs), ``scale`` (2 or
4) and ``creativity`` (0 to 0.02, clamped by the service). No model field: the model is
``upscaler``. The output may have at most 16,777,216 pixels; the service reduces a 4x scale on
large inputs by itself, and ``notes()`` says so before anything is paid for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalogue import ModelSpec
from ..errors import ValidationError
from ..images_in import (
    UPSCALE_MAX_OUTPUT_PIXELS,
    InputImage,
    check_pixels,
    upscale_outcome,
)
from .common import Body, SingleImageRequest, form_value, json_size

SCALES = (2, 4)
CREATIVITY_MAX = 0.02
UPSCALER_MODEL = "upscaler"
DEFAULT_PRICES = {"2x": 0.02, "4x": 0.08}  # the upscaler row's prices on 2026-08-20


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class UpscaleRequest(SingleImageRequest):
    """A request for ``POST /image/upscale``."""

    image: InputImage
    scale: int = 2
    creativity: float | None = None
    transport: str = "auto"

    operation = "upscale"
    path = "/image/upscale"
    model = UPSCALER_MODEL

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.scale, float) and float(self.scale).is_integer():
            object.__setattr__(self, "scale", int(self.scale))

    def fields_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scale": self.scale}
        if self.creativity is not None:
            out["creativity"] = self.creativity
        return out

    def check_schema(self) -> UpscaleRequest:
        if self.scale not in SCALES or isinstance(self.scale, bool):
            raise ValidationError(f"--scale must be 2 or 4, got {self.scale!r}", field="scale")
        if self.creativity is not None and not _is_number(self.creativity):
            raise ValidationError(
                f"--creativity takes a number from 0 to {CREATIVITY_MAX}, got {self.creativity!r}",
                field="creativity",
            )
        if self.image.is_url:
            raise ValidationError(
                f"{self.image.label} is a URL, and /image/upscale takes only image bytes; "
                "download it first and pass the file or the bytes",
                field="image",
            )
        check_pixels(self.image, "an upscale")
        pixels = self.image.pixels or 0
        if pixels * 4 > UPSCALE_MAX_OUTPUT_PIXELS:
            raise ValidationError(
                f"{self.image.label} is {self.image.size_label()}; even 2x would pass the "
                f"{UPSCALE_MAX_OUTPUT_PIXELS:,}-pixel output limit. Downscale it to at most "
                "2048x2048 pixels (4,194,304) first",
                field="image",
            )
        self.kind()
        return self

    def notes(self) -> list[str]:
        """What the service will do differently from what was asked (said before sending)."""
        out = []
        effective, size = upscale_outcome(self.image, self.scale)
        if size is not None and effective < self.scale:
            out.append(
                f"{self.image.label} is {self.image.size_label()}: {self.scale}x would pass "
                f"{UPSCALE_MAX_OUTPUT_PIXELS:,} pixels, so the service reduces it to about "
                f"{effective:.2f}x ({size[0]}x{size[1]})"
            )
        if self.creativity is not None and not 0 <= self.creativity <= CREATIVITY_MAX:
            clamped = min(max(self.creativity, 0.0), CREATIVITY_MAX)
            out.append(
                f"--creativity {self.creativity:g} is outside 0..{CREATIVITY_MAX}; the service "
                f"clamps it to {clamped:g}"
            )
        return out

    def output_size(self) -> tuple[int, int] | None:
        return upscale_outcome(self.image, self.scale)[1]

    def check_against(self, spec: ModelSpec | None = None) -> UpscaleRequest:
        return self.check()  # no model to choose: the schema is all there is to check

    def estimated_cost(self, spec: ModelSpec | None = None) -> float | None:
        key = f"{self.scale}x"
        if spec is not None and key in spec.pricing.by_scale:
            return spec.pricing.by_scale[key]
        return DEFAULT_PRICES.get(key)

    def body(self) -> Body:
        fields_ = self.fields_json()
        size = json_size(fields_, self.inputs)
        kind = self.kind()
        if kind == "json":
            return Body("json", json=dict(fields_, image=self.image.base64()), size=size)
        return Body(
            "multipart",
            fields={k: form_value(v) for k, v in fields_.items()},
            files=(self.image_part(),),
            size=self.image.nbytes + 512,
        )
