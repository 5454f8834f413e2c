"""What every paid route checks before its own validation, in the live service's order and words.

No key at all is a 402 x402 discovery answer (not 401); a wrong Content-Type is a 400 (415 only for
an undecodable encoding); a key+model pair that failed more than the budget allows within 30 s is
locked out with a 429 that names its reset time in Unix ms and carries no Retry-After. Toolbox routes
call the same ``admit`` / ``charge_failure`` so they share the key's rate limit and error budget.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from .responses import ApiError
from .state import ServerState

CONTENT_TYPE_MESSAGE = "'Content-Type' must be 'application/json'"
BUDGET_MESSAGE = (
    "Too many failed attempts (> {limit}) resulting in a non-success status code. "
    "Please wait 30 seconds and try again."
)
# Failures that do not use up the budget (venice-api.md section 0.8).
UNCOUNTED_ERRORS = frozenset({"Invalid JSON request", CONTENT_TYPE_MESSAGE})
_USDC = {  # public token addresses; payTo below is a null address: nobody can pay a local preview
    "eip155:8453": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
    "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
}
_NULL_PAYEE = {
    "eip155:8453": "0x0000000000000000000000000000000000000000",
    "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp": "11111111111111111111111111111111",
}


def x402_discovery(resource_url: str) -> dict[str, Any]:
    """The body of the keyless 402 (spec ``X402InferencePaymentRequired``, first form)."""
    accepts = [
        {
            "scheme": "exact",
            "network": network,
            "asset": asset,
            "amount": "10000",
            "payTo": _NULL_PAYEE[network],
            "maxTimeoutSeconds": 300,
            "extra": {"name": "USD Coin", "version": "2"},
        }
        for network, asset in _USDC.items()
    ]
    return {
        "x402Version": 2,  # no "error" key: with one the body would match both forms of the spec's oneOf
        "resource": {
            "url": resource_url,
            "description": "Venice API (local preview)",
            "mimeType": "application/json",
        },
        "accepts": accepts,
        "extensions": {"sign-in-with-x": {"supportedChains": list(_USDC)}},
        "authOptions": {
            "apiKey": {
                "header": "Authorization: Bearer YOUR_API_KEY",
                "getKey": "https://venice.ai/settings/api",
                "docs": "https://docs.venice.ai/api-reference",
            },
            "x402Wallet": {
                "header": "SIGN-IN-WITH-X",
                "legacyHeader": "X-Sign-In-With-X",
                "topUp": "POST /api/v1/x402/top-up",
                "docs": "https://docs.venice.ai/api-reference/endpoint/x402/top-up",
            },
        },
    }


def payment_required(resource_url: str) -> ApiError:
    body = x402_discovery(resource_url)
    header = {k: body[k] for k in ("x402Version", "resource", "accepts")}
    encoded = base64.b64encode(json.dumps(header, separators=(",", ":")).encode()).decode()
    return ApiError(402, body, {"PAYMENT-REQUIRED": encoded})


@dataclass(frozen=True)
class Admission:
    """Who is asking (the key, for the budget) and the rate headers every answer carries."""

    key: str
    model: str
    rate_headers: dict[str, str]


def admit(
    state: ServerState,
    *,
    authorization: str | None,
    content_type: str | None,
    body: Any,
    resource_url: str,
    model_field: str = "model",
    content_types: tuple[str, ...] = ("application/json",),
) -> Admission:
    """Auth, error-budget lockout, request rate, Content-Type; raises the answer if refused.

    ``body`` is the request parsed leniently (None if not JSON), only to find the model for the
    budget bucket.
    """
    key = state.api_key(authorization)
    if state.auth and key is None:
        if not (authorization or "").strip():
            raise payment_required(resource_url)
        raise ApiError(401, "Authentication failed")
    if not state.key_ok(authorization):
        raise ApiError(401, "Authentication failed")
    model = body.get(model_field) if isinstance(body, dict) else None
    admission = Admission(key or "", model if isinstance(model, str) else "", {})
    locked, budget_headers = state.budget.status(admission.key, admission.model)
    if locked:
        raise ApiError(429, BUDGET_MESSAGE.format(limit=state.budget.limit), budget_headers)
    rate = state.rate.hit()
    if not rate.allowed:
        raise ApiError(
            429, "Rate limit exceeded", {**rate.headers, "Retry-After": str(rate.retry_after)}
        )
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype not in content_types:
        raise ApiError(400, content_type_message(content_types), rate.headers)
    return Admission(admission.key, admission.model, rate.headers)


def content_type_message(content_types: tuple[str, ...]) -> str:
    """The 400 for a wrong Content-Type, naming what the route takes (the toolbox takes two)."""
    return "'Content-Type' must be " + " or ".join(f"'{c}'" for c in content_types)


def charge_failure(state: ServerState, admission: Admission | None, err: ApiError) -> None:
    """Count a failed 4xx against the key+model budget (429s, invalid JSON, a wrong Content-Type
    and 413 do not count) and put the budget headers on the answer."""
    if admission is None or not 400 <= err.status < 500 or err.status in (413, 429):
        return
    message = err.body.get("error")
    if message in UNCOUNTED_ERRORS or str(message).startswith("'Content-Type' must be"):
        return
    err.headers.update(state.budget.fail(admission.key, admission.model))
