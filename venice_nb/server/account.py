"""The key's own standing: ``GET /api_keys/rate_limits`` in the live shape, ``/billing/balance``.

An inference key may read ``/api_keys/rate_limits`` (venice-api.md 0b.19): the tier, the balances the
key can spend, its expiry, the next epoch and a rate limit per model. ``/billing/balance`` is for admin
keys only, so every key the local preview knows (all inference keys) is answered 401 there. No key at
all is a 401 on both (these are not x402-payable inference routes) [GUESS for the keyless status].
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import catalogue
from .responses import ApiError, Response, json_response
from .state import DEFAULT_REPORTED_LIMIT, ServerState

RATE_LIMITS = "/api_keys/rate_limits"
BILLING_BALANCE = "/billing/balance"
ROUTES = (RATE_LIMITS, BILLING_BALANCE)
ADMIN_ONLY = "This endpoint requires an admin API key; inference keys cannot read billing."
REQUESTS_PER_DAY = 5000  # [GUESS] the live answer lists an RPD beside the RPM for image models


def handle(route: str, state: ServerState, authorization: str | None) -> Response:
    if state.auth and not state.key_ok(authorization):
        raise ApiError(401, "Authentication failed")
    if route == BILLING_BALANCE:
        raise ApiError(401, ADMIN_ONLY)
    return json_response(200, {"data": rate_limits(state)})


def rate_limits(state: ServerState) -> dict[str, Any]:
    """The ``data`` object of ``GET /api_keys/rate_limits`` for this server's key."""
    rpm = state.rate.rpm or DEFAULT_REPORTED_LIMIT
    now = dt.datetime.now(dt.timezone.utc)
    epoch = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    balances: dict[str, float] = {"USD": state.ledger.usd, "DIEM": state.ledger.diem}
    return {
        "accessPermitted": True,
        "apiTier": {"id": "paid", "isCharged": True},
        "balances": balances,
        "keyExpiration": None,
        "nextEpochBegins": epoch.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "rateLimits": [
            {
                "apiModelId": model.id,
                "rateLimits": [
                    {"amount": rpm, "type": "RPM"},
                    {"amount": REQUESTS_PER_DAY, "type": "RPD"},
                ],
            }
            for model in catalogue.models("all", edge=state.edge_models)
        ],
    }
