"""``GET /api_keys/rate_limits`` in the live shape (venice-api.md 0b.19) and ``/billing/balance``."""

from __future__ import annotations

import datetime as dt

import requests

from venice_nb.server import LocalServer

AUTH = {"Authorization": "Bearer test-key"}


def test_rate_limits_in_the_live_shape() -> None:
    with LocalServer(balance_usd=12.5, balance_diem=3.25, rate_limit_rpm=20) as srv:
        r = requests.get(f"{srv.base_url}/api_keys/rate_limits", headers=AUTH, timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
        data = r.json()["data"]
        assert set(data) == {
            "accessPermitted",
            "apiTier",
            "balances",
            "keyExpiration",
            "nextEpochBegins",
            "rateLimits",
        }
        assert data["accessPermitted"] is True
        assert data["apiTier"] == {"id": "paid", "isCharged": True}
        assert data["balances"] == {"USD": 12.5, "DIEM": 3.25}
        assert data["keyExpiration"] is None
        epoch = dt.datetime.fromisoformat(data["nextEpochBegins"].replace("Z", "+00:00"))
        assert dt.timedelta(0) < epoch - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(days=1)
        by_model = {row["apiModelId"]: row["rateLimits"] for row in data["rateLimits"]}
        assert {"amount": 20, "type": "RPM"} in by_model["z-image-turbo"]
        assert "firered-image-edit" in by_model and "upscaler" in by_model
        assert "local-pro-model" not in by_model  # edge rows only when asked for
        # the balances follow what was spent; reading them is free and not a paid request
        requests.post(
            f"{srv.base_url}/image/generate",
            json={"model": "z-image-turbo", "prompt": "p", "width": 64, "height": 64},
            headers=AUTH,
            timeout=30,
        )
        again = requests.get(f"{srv.base_url}/api_keys/rate_limits", headers=AUTH, timeout=10)
        assert again.json()["data"]["balances"]["DIEM"] == 3.24
        assert srv.generate_count == 1


def test_billing_balance_is_401_for_an_inference_key(local_server: LocalServer) -> None:
    r = requests.get(f"{local_server.base_url}/billing/balance", headers=AUTH, timeout=10)
    assert r.status_code == 401 and "admin" in r.json()["error"]


def test_no_or_a_wrong_key_is_401() -> None:
    with LocalServer(api_keys=["good"]) as srv:
        url = f"{srv.base_url}/api_keys/rate_limits"
        assert requests.get(url, timeout=10).status_code == 401
        bad = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
        assert bad.status_code == 401 and bad.json() == {"error": "Authentication failed"}
        good = requests.get(url, headers={"Authorization": "Bearer good"}, timeout=10)
        assert good.status_code == 200
        posted = requests.post(url, headers={"Authorization": "Bearer good"}, timeout=10)
        assert posted.status_code == 405
