"""The teacher's rules, checked on a student's request before anything is reserved or forwarded.

A refusal is a ``Refusal`` carrying the status and the live service's error shape
(``{"error": "..."}``), one line that says what is wrong and what the class allows. The request
that passes is returned as an ``Outgoing``: the body to forward (JSON with ``safe_mode`` written in
unless the teacher allowed otherwise, and a request that turns it off refused; a multipart body
untouched) and what pricing needs to know.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

RESOLUTIONS = ("1K", "2K", "4K")
GENERATE_ROUTES = ("/image/generate", "/images/generations")
TOOLBOX_ROUTES = ("/image/edit", "/image/multi-edit", "/image/upscale", "/image/background-remove")
PAID_ROUTES = GENERATE_ROUTES + TOOLBOX_ROUTES
FREE_ROUTES = ("/image/styles", "/models", "/models/traits", "/api_keys/rate_limits")
SAFE_MODE_ROUTES = ("/image/generate", "/image/edit", "/image/multi-edit")
DEFAULT_MAX_BODY = 16 * 1024 * 1024  # a 4K PNG as base64 fits; the service's own cap is 35 MB


class Refusal(Exception):
    """A request the gateway answers itself: status, the live error shape, extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        if self.status == 413:
            return {"code": "PAYLOAD_TOO_LARGE", "error": self.message}
        return {"error": self.message}


@dataclass(frozen=True)
class Policy:
    """What a class may do. ``models`` empty means every generation model the key can use."""

    models: tuple[str, ...] = ()
    max_variants: int = 4
    max_resolution: str = "2K"
    toolbox: bool = True
    allow_unsafe: bool = False
    class_budget_usd: float | None = None
    per_minute: int | None = None
    log_prompts: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY
    queue_per_student: int = 8

    def __post_init__(self) -> None:
        if self.max_resolution.upper() not in RESOLUTIONS:
            raise ValueError(f"max resolution must be one of {', '.join(RESOLUTIONS)}")
        if not 1 <= self.max_variants <= 4:
            raise ValueError("max variants must be 1 to 4")

    def describe(self) -> str:
        models = ", ".join(self.models) if self.models else "any"
        parts = [
            f"models: {models}",
            f"at most {self.max_variants} variant(s)",
            f"resolution up to {self.max_resolution.upper()}",
            "toolbox on" if self.toolbox else "toolbox off",
            "safe mode optional" if self.allow_unsafe else "safe mode forced on",
        ]
        if self.class_budget_usd is not None:
            parts.append(f"class budget ${self.class_budget_usd:g}")
        if self.per_minute:
            parts.append(f"{self.per_minute} requests per student per minute")
        return "; ".join(parts)


@dataclass
class Outgoing:
    """A request that passed the policy: what to forward and what to price it by."""

    route: str
    content: bytes
    content_type: str
    fields: dict[str, Any] = field(default_factory=dict)
    images_in: int = 0  # input images (multi-edit prices the extra ones)

    @property
    def model(self) -> str | None:
        value = self.fields.get("modelId" if self.route == "/image/multi-edit" else "model")
        value = value or self.fields.get("model") or self.fields.get("modelId")
        return value if isinstance(value, str) else None

    @property
    def prompt(self) -> str | None:
        value = self.fields.get("prompt")
        return value if isinstance(value, str) else None


def _read_form(raw: bytes, content_type: str) -> tuple[dict[str, Any], int]:
    """A multipart body's text fields (first value of each) and how many files it carries."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    msg = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not isinstance(msg, EmailMessage) or not msg.is_multipart():
        raise Refusal(400, "Malformed multipart/form-data body")
    fields: dict[str, Any] = {}
    files = 0
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            files += 1
            continue
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields.setdefault(name, payload.decode("utf-8", "replace"))
    return fields, files


def _whole(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default  # the upstream refuses it in its own words; nothing to add


def _tier(value: str) -> int:
    upper = value.strip().upper()
    return RESOLUTIONS.index(upper) if upper in RESOLUTIONS else -1


def check(policy: Policy, route: str, raw: bytes, content_type: str) -> Outgoing:
    """``raw`` under the policy: the ``Outgoing`` to forward, or a ``Refusal``."""
    if route in TOOLBOX_ROUTES and not policy.toolbox:
        raise Refusal(
            403, f"the image toolbox ({route}) is switched off for this class; generate instead"
        )
    media = content_type.split(";")[0].strip().lower()
    images_in = 0
    if media == "multipart/form-data":
        if route in GENERATE_ROUTES:
            raise Refusal(400, "'Content-Type' must be 'application/json'")
        fields, images_in = _read_form(raw, content_type)
        body: dict[str, Any] | None = None
    else:
        try:
            parsed = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise Refusal(400, "Invalid JSON request") from None
        if not isinstance(parsed, dict):
            raise Refusal(400, "Invalid request parameters: the body must be a JSON object")
        body = parsed
        fields = parsed
        images = parsed.get("images")
        images_in = len(images) if isinstance(images, list) else (1 if "image" in parsed else 0)
    out = Outgoing(route, raw, content_type, dict(fields), images_in)

    model = out.model
    if route in GENERATE_ROUTES and policy.models and model not in policy.models:
        allowed = ", ".join(policy.models)
        raise Refusal(
            403,
            f"model {model!r} is not allowed in this class; use one of: {allowed}"
            if model
            else f"name a model; this class allows: {allowed}",
        )
    variants = _whole(fields.get("n" if route == "/images/generations" else "variants"), 1)
    if variants > policy.max_variants:
        raise Refusal(
            403,
            f"{variants} variants is above this class's limit of {policy.max_variants} per request",
        )
    resolution = fields.get("resolution")
    if isinstance(resolution, str) and _tier(resolution) > _tier(policy.max_resolution):
        raise Refusal(
            403,
            f"resolution {resolution} is above this class's limit of "
            f"{policy.max_resolution.upper()}; ask for {policy.max_resolution.upper()} or less",
        )
    if not policy.allow_unsafe:
        _force_safe(out, body)
    return out


def _turns_off(value: Any) -> bool:
    return value is False or str(value).strip().lower() in ("false", "0", "no", "off")


def _force_safe(out: Outgoing, body: dict[str, Any] | None) -> None:
    """Safe mode on: a request that turns it off is refused, in the same words whether JSON or
    multipart (a student who asked for it off is told, not silently given blurred images); a
    JSON body that leaves it out gets it written in."""
    route = out.route
    if route in SAFE_MODE_ROUTES and _turns_off(out.fields.get("safe_mode")):
        raise Refusal(403, "safe mode is on for this class; leave safe_mode out or set it true")
    if route == "/images/generations" and str(out.fields.get("moderation", "")).lower() == "low":
        raise Refusal(403, "safe mode is on for this class; leave moderation out or set it auto")
    if body is None:
        return  # multipart: the service's default is safe mode on
    if route in SAFE_MODE_ROUTES:
        body["safe_mode"] = True
    elif route == "/images/generations":
        body["moderation"] = "auto"
    else:
        return
    out.fields = dict(body)
    out.content = json.dumps(body).encode()
    out.content_type = "application/json"


def retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}
