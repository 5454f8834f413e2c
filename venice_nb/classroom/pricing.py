"""What a student's request costs, from the upstream's own catalogue and the package's price code.

The same formulas as the cost guard and the result's cost (``ModelSpec.cost``, ``edit_price``, the
toolbox defaults), so the budget a student sees moves exactly as the teacher's balance does. The
reservation counts the ``enhance_prompt`` surcharge when it was asked for; the settlement only
when the answer's ``x-venice-enhanced-prompt`` header says a rewrite was applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..catalogue import ENHANCE_PROMPT_PRICE, Catalogue, ModelSpec
from ..operations.background import DEFAULT_PRICE as BACKGROUND_PRICE
from ..operations.common import DEFAULT_EDIT_MODEL, edit_price
from ..operations.upscale import DEFAULT_PRICES as UPSCALE_PRICES
from .ledger import to_micro
from .policy import RESOLUTIONS, Outgoing, Policy, Refusal

CATALOGUE_TYPES = ("image", "inpaint", "upscale")


@dataclass(frozen=True)
class Price:
    """A request's price in micro-dollars: without and with the enhance_prompt surcharge."""

    model: str
    images: int
    base: int
    enhance: int = 0

    @property
    def most(self) -> int:
        """What to reserve: the surcharge included when it may apply."""
        return self.base + self.enhance

    def settled(self, enhanced: bool, refused: int = 0) -> int:
        """What the answer costs: the images delivered (``refused`` variants the content policy
        left out are not billed, venice-api.md 0b.15) and the surcharge when it applied."""
        return self.base * self.delivered(refused) // self.images + (
            self.enhance if enhanced else 0
        )

    def delivered(self, refused: int) -> int:
        return max(0, self.images - refused)


def _count(value: object, default: int = 1) -> int:
    try:
        return max(1, int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def _truthy(value: object) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1")


def _unpriced(model: str) -> Refusal:
    return Refusal(
        403,
        f"model {model!r} has no price in the catalogue, so the class budget cannot cover it; "
        "use a priced model (%venice models)",
    )


def _check_default_size(spec: ModelSpec, out: Outgoing, policy: Policy) -> None:
    """A model whose default resolution is above the class's limit needs an explicit one."""
    if out.fields.get("resolution") or not spec.default_resolution:
        return
    wanted = spec.default_resolution.upper()
    if wanted in RESOLUTIONS and RESOLUTIONS.index(wanted) > RESOLUTIONS.index(
        policy.max_resolution.upper()
    ):
        raise Refusal(
            403,
            f"{spec.id} renders at {wanted} by default, above this class's limit of "
            f"{policy.max_resolution.upper()}; ask for resolution {policy.max_resolution.upper()}",
        )


def price(out: Outgoing, catalogues: Mapping[str, Catalogue], policy: Policy) -> Price:
    """The price of ``out`` (a Refusal when the model is unknown or unpriced)."""
    fields = out.fields
    route = out.route
    images = catalogues.get("image") or Catalogue([])
    if route in ("/image/generate", "/images/generations"):
        model = out.model or ""
        spec = images.get(model)
        if spec is None and route == "/images/generations":  # unknown ids get the default model
            default = images.default_id
            spec = images.get(default) if default else None
        if spec is None or not spec.is_generation_model:
            raise Refusal(404, f"Specified model not found: {model}")
        _check_default_size(spec, out, policy)
        count = _count(fields.get("n" if route == "/images/generations" else "variants"))
        resolution = fields.get("resolution") if route == "/image/generate" else None
        quality = fields.get("quality") if route == "/image/generate" else None
        cost = spec.cost(count, resolution, quality)
        if cost is None:
            raise _unpriced(spec.id)
        enhance = _truthy(fields.get("enhance_prompt")) and route == "/image/generate"
        return Price(spec.id, count, to_micro(cost), to_micro(ENHANCE_PROMPT_PRICE) * enhance)
    if route in ("/image/edit", "/image/multi-edit"):
        model = out.model or DEFAULT_EDIT_MODEL
        spec = (catalogues.get("inpaint") or Catalogue([])).get(model)
        if spec is None:
            raise Refusal(404, f"Specified model not found: {model}")
        quality = fields.get("quality") if route == "/image/multi-edit" else None
        cost = edit_price(spec, fields.get("resolution"), quality, max(1, out.images_in))
        if cost is None:
            raise _unpriced(model)
        return Price(spec.id, 1, to_micro(cost))
    if route == "/image/upscale":
        key = f"{_count(fields.get('scale'), 2)}x"
        upscalers = list((catalogues.get("upscale") or Catalogue([])).values())
        table = upscalers[0].pricing.by_scale if upscalers else {}
        cost = table.get(key, UPSCALE_PRICES.get(key))
        if cost is None:
            raise Refusal(400, f"scale {key[:-1]} is not offered; use 2 or 4")
        return Price(upscalers[0].id if upscalers else "upscaler", 1, to_micro(cost))
    if route == "/image/background-remove":
        spec = images.get("bria-bg-remover")
        flat = spec.pricing.flat if spec is not None else None
        return Price("bria-bg-remover", 1, to_micro(BACKGROUND_PRICE if flat is None else flat))
    raise Refusal(404, f"{route} is not a paid route")
