"""``POST /image/background-remove``: the subject kept, the background made transparent (a PNG).

``BackgroundRemoveImageRequest``: exactly one of ``image`` (base64) or ``image_url`` in JSON; a
required ``image`` file in multipart. No model field (sending one is a 400); the price is the
``bria-bg-remover`` row's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalogue import ModelSpec
from ..images_in import EDIT_MAX_PIXELS, InputImage, check_pixels
from .common import Body, SingleImageRequest, json_size

BACKGROUND_MODEL = "bria-bg-remover"
DEFAULT_PRICE = 0.03


@dataclass(frozen=True)
class BackgroundRemoveRequest(SingleImageRequest):
    """A request for ``POST /image/background-remove``."""

    image: InputImage
    transport: str = "auto"

    operation = "remove-background"
    path = "/image/background-remove"
    model = BACKGROUND_MODEL

    def fields_json(self) -> dict[str, Any]:
        return {}

    def check_schema(self) -> BackgroundRemoveRequest:
        check_pixels(self.image, "background removal", EDIT_MAX_PIXELS)
        self.kind()
        return self

    def check_against(self, spec: ModelSpec | None = None) -> BackgroundRemoveRequest:
        return self.check()  # no model to choose: the schema is all there is to check

    def estimated_cost(self, spec: ModelSpec | None = None) -> float | None:
        if spec is not None and spec.pricing.flat is not None:
            return spec.pricing.flat
        return DEFAULT_PRICE

    def body(self) -> Body:
        image = self.image
        kind = self.kind()  # a URL goes as image_url in JSON; multipart refuses it
        if kind == "json":
            value = {"image_url": image.url} if image.is_url else {"image": image.base64()}
            return Body("json", json=value, size=json_size({}, self.inputs))
        return Body(
            "multipart",
            files=(self.image_part(),),
            size=image.nbytes + 512,
        )
