"""Where a derived image came from: the operation, its inputs and its parameters.

An edit, multi-edit, upscale or background removal gives an image that knows its source(s)
(``GeneratedImage.lineage``), so it can be shown beside them, and so saved sidecars and embedded
metadata say how it was made. Inputs are described (label, size, SHA-256, and the model, prompt and
seed of a generated source), never copied into provenance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .images_in import InputImage

OPERATION_TITLES = {
    "edit": "Edit",
    "multi-edit": "Multi-edit",
    "upscale": "Upscale",
    "remove-background": "Background removal",
}


@dataclass(frozen=True)
class Lineage:
    """How one image was derived. ``sources`` keep the input bytes for a before/after view."""

    operation: str
    sources: tuple[InputImage, ...] = field(repr=False)
    params: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    model_id: str | None = None  # x-venice-model-id: the model that did the work
    model_name: str | None = None

    @property
    def title(self) -> str:
        return OPERATION_TITLES.get(self.operation, self.operation)

    def source_labels(self) -> list[str]:
        return [im.label for im in self.sources]

    def describe(self) -> dict[str, Any]:
        """What sidecars, embedded metadata and output metadata record."""
        out: dict[str, Any] = {
            "operation": self.operation,
            "params": dict(self.params),
            "sources": [im.describe() for im in self.sources],
        }
        if self.model_id:
            out["model_id"] = self.model_id
        if self.model_name:
            out["model_name"] = self.model_name
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        """One line: 'Upscale 4x of shot[0]'."""
        detail = ""
        if self.operation == "upscale":
            detail = f" {self.params.get('scale', 2)}x"
        elif self.operation in ("edit", "multi-edit"):
            detail = f" ({self.params.get('model') or self.params.get('modelId')})"
        return f"{self.title}{detail} of {', '.join(self.source_labels())}"

    def __repr__(self) -> str:
        return f"<Lineage {self.summary()}>"


def lineage_for(request: Any, **served: str | None) -> Lineage:
    """The lineage of the image a toolbox ``request`` gives (``served``: model_id, model_name)."""
    return Lineage(
        request.operation,
        tuple(request.inputs),
        request.fields_json(),
        notes=tuple(request.notes()),
        **served,
    )
