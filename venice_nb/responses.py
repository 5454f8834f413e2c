"""What a successful answer says besides its main image bytes.

The OpenAI route's image list, the moderation flags, a model's deprecation, the seed the server
echoed and the numbers in its headers. Each reader is forgiving where the API is loose (a missing
or garbled header is ``None``) and strict where a wrong guess would mislead (images).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import InvalidResponseError
from .wire import decode_b64


def _openai_images(body: bytearray) -> list[bytes]:
    """The images of an OpenAI-style answer: ``data[].b64_json`` or ``data[].url`` data URLs."""
    parsed = _json_or_none(body)
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


def _json_or_none(body: bytes | bytearray) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _flags(headers: Mapping[str, str]) -> dict[str, bool]:
    return {
        "blurred": headers.get("x-venice-is-blurred", "").strip().lower() == "true",
        "content_violation": (
            headers.get("x-venice-is-content-violation", "").strip().lower() == "true"
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
        text += f" (removal date {date})"
    replacement = h.get("x-venice-deprecated-replacement")
    if replacement and replacement not in text:
        text += f" (use {replacement})"
    return text


def _echoed_seed(meta: Mapping[str, Any]) -> int | None:
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
