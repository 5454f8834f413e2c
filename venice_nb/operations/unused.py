"""Fields a toolbox model does not use: dropped with one warning each, as generation does.

A generation cell names a field its model ignores ("... ignores --resolution: not sent") and
refuses to sweep it; a toolbox cell sent the same field without a word, or refused it where the
generation rule would only warn. ``review_toolbox`` gives the toolbox requests the generation
rule: the field is left out of the request, the warning is shown once, a sweep over it is refused
(preflight), and the rest is checked against the model as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..catalogue import ModelSpec
    from .common import ToolboxRequest

EDIT_OPERATIONS = ("edit", "multi-edit")


def unused_fields(request: Any, spec: ModelSpec | None) -> dict[str, str]:
    """field -> why, for each field set on ``request`` that ``spec``'s model does not use."""
    if spec is None or getattr(request, "operation", None) not in EDIT_OPERATIONS:
        return {}
    out: dict[str, str] = {}
    if getattr(request, "resolution", None) is not None and not spec.resolutions:
        out["resolution"] = f"{spec.id} has no resolution tiers and ignores --resolution"
    if getattr(request, "quality", None) is not None and not spec.qualities:
        out["quality"] = f"{spec.id} has no quality levels and ignores --quality"
    if getattr(request, "aspect_ratio", None) is not None and not spec.aspect_ratios:
        out["aspect_ratio"] = f"{spec.id} offers no aspect ratios and ignores --aspect-ratio"
    return out


def without_unused(
    request: ToolboxRequest, spec: ModelSpec | None
) -> tuple[ToolboxRequest, tuple[str, ...], dict[str, str]]:
    """(the request without the unused fields, one warning line each, field -> why)."""
    ignored = unused_fields(request, spec)
    if not ignored:
        return request, (), {}
    cleaned = request.with_(**dict.fromkeys(ignored))
    return cleaned, tuple(f"{why}: not sent" for why in ignored.values()), ignored
