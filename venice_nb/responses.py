"""What a successful answer says besides its main image bytes, and the result it becomes.

The OpenAI route's image list, the moderation flags, a model's deprecation, the seed the server
echoed and the numbers in its headers, gathered by ``build_result`` into a ``GenerationResult``
(``derived_result`` for a toolbox answer: one image with its lineage and the operation's price).
Each reader is forgiving where the API is loose (a missing or garbled header is ``None``) and
strict where a wrong guess would mislead (images).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .errors import InvalidResponseError
from .lineage import lineage_for
from .result import LOCAL_PREVIEW, GeneratedImage, GenerationResult, RateLimit, Timing
from .retry import seconds_until_reset
from .text import readable_date
from .wire import decode_b64

if TYPE_CHECKING:  # pragma: no cover
    from .catalogue import ModelSpec
    from .operations.request import Request


def build_result(
    request: Request,
    images: list[GeneratedImage],
    headers: Mapping[str, str],
    meta: Mapping[str, Any],
    wall_ms: float,
    *,
    base_url: str,
    retries: int = 0,
    spec: ModelSpec | None = None,
) -> GenerationResult:
    """A ``GenerationResult`` from the images of a 200 and everything else it said.

    ``meta`` is the JSON answer's non-image part (id, timing); ``spec`` is the model's catalogue
    entry when known, for the cost. Blocked generations are not charged.
    """
    h = headers
    enhanced = h.get("x-venice-enhanced-prompt")
    result = GenerationResult(
        request=request,
        images=images,
        id=meta.get("id") if isinstance(meta.get("id"), str) else None,
        timing=Timing.from_api(meta.get("timing"), wall_ms),
        blurred=any(im.blurred for im in images),
        content_violation=any(im.content_violation for im in images),
        rate_limit=RateLimit(
            _int(h.get("x-ratelimit-limit-requests")),
            _int(h.get("x-ratelimit-remaining-requests")),
            seconds_until_reset(h.get("x-ratelimit-reset-requests")),
        ),
        balance_usd=_float(h.get("x-venice-balance-usd")),
        balance_diem=_float(h.get("x-venice-balance-diem")),
        deprecation=_deprecation(h),
        enhanced_prompt=unquote(enhanced) if enhanced else None,
        backend=LOCAL_PREVIEW if h.get("x-venice-local-preview") == "true" else "venice",
        base_url=base_url,
        request_id=h.get("CF-RAY"),
        retries=retries,
    )
    if result.content_violation:
        result.cost_usd = 0.0  # blocked generations are not charged
        result.cost_diem = 0.0
    elif spec is not None:
        tier = getattr(request, "resolution", None), getattr(request, "quality", None)
        # A rewrite by enhance_prompt costs once per request, only when one was applied (the
        # x-venice-enhanced-prompt header is present only then).
        for currency in ("usd", "diem"):
            cost = spec.cost(len(images), *tier, currency=currency, enhanced=bool(enhanced))
            setattr(result, f"cost_{currency}", cost)
    return result


def openai_images(body: bytearray) -> list[bytes]:
    """The images of an OpenAI-style answer: ``data[].b64_json`` or ``data[].url`` data URLs."""
    parsed = json_or_none(body)
    if parsed is None:
        raise InvalidResponseError(f"the server's answer is not valid JSON ({len(body):,} bytes)")
    items = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidResponseError("the answer has no 'data' list of images")
    out = []
    for i, item in enumerate(items):
        b64 = item.get("b64_json") if isinstance(item, dict) else None
        url = item.get("url") if isinstance(item, dict) else None
        if b64 is None and isinstance(url, str):
            head, sep, b64 = url.partition(",")
            if not head.startswith("data:") or not head.endswith(";base64") or not sep:
                raise InvalidResponseError(f"image {i + 1}'s url is not a base64 data: URL")
        if not isinstance(b64, str):
            raise InvalidResponseError(f"image {i + 1} has neither b64_json nor url")
        out.append(decode_b64(b64, f"image {i + 1}"))
    return out


def json_or_none(body: bytes | bytearray) -> Any:
    """The parsed body, or None when it is not JSON (the caller says what it expected)."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def moderation_flags(headers: Mapping[str, str]) -> dict[str, bool]:
    """``blurred`` / ``content_violation`` for ``GeneratedImage``, from the moderation headers."""
    return {
        "blurred": headers.get("x-venice-is-blurred", "").strip().lower() == "true",
        # An adult-model violation is a block like any other: not shown, cached or charged.
        "content_violation": any(
            headers.get(name, "").strip().lower() == "true"
            for name in (
                "x-venice-is-content-violation",
                "x-venice-is-adult-model-content-violation",
            )
        ),
    }


def _deprecation(h: Mapping[str, str]) -> str | None:
    text = h.get("x-venice-model-deprecation-warning")
    if not text and h.get("x-venice-deprecated", "").lower() == "true":
        text = "this model is deprecated"
    if not text:
        return None
    date = h.get("x-venice-model-deprecation-date")
    if date and date not in text:
        text += f" (removal date {readable_date(date)})"
    replacement = h.get("x-venice-deprecated-replacement")
    if replacement and replacement not in text:
        text += f" (use {replacement})"
    return text


def echoed_seed(meta: Mapping[str, Any]) -> int | None:
    """The seed the server used, as it echoes it in ``request.data.seed`` (None when absent)."""
    req = meta.get("request")
    data = req.get("data") if isinstance(req, Mapping) else None
    seed = data.get("seed") if isinstance(data, Mapping) else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def derived_result(
    request: Any,
    data: bytes | bytearray,
    headers: Mapping[str, str],
    wall_ms: float,
    *,
    base_url: str,
    retries: int = 0,
    spec: Any = None,
) -> Any:
    """The ``GenerationResult`` of a toolbox call: its one image (format from the magic bytes,
    moderation flags from the headers) with its lineage, the headers read as for a generation,
    and the operation's price (a blocked result is not charged)."""
    lineage = lineage_for(
        request,
        model_id=headers.get("x-venice-model-id") or None,
        model_name=headers.get("x-venice-model-name") or None,
    )
    image = GeneratedImage.from_bytes(data, index=0, lineage=lineage, **moderation_flags(headers))
    result = build_result(
        request, [image], headers, {}, wall_ms, base_url=base_url, retries=retries
    )
    result.route = request.operation
    if result.content_violation:
        result.cost_usd = 0.0
    elif spec is not None or request.operation in ("upscale", "remove-background"):
        result.cost_usd = request.estimated_cost(spec)
    return result
