"""What the server checks before validation, in the live service's order and words: the keyless 402,
the Content-Type 400, the request rate limit and the failed-attempts budget."""

from __future__ import annotations

import base64
import json
import time

import requests

from venice_nb.server import LocalServer

AUTH = {"Authorization": "Bearer test-key"}
GEN = "/image/generate"


def post(server: LocalServer, body: object, headers: dict | None = None, path: str = GEN):
    return requests.post(
        f"{server.base_url}{path}",
        json=body,
        headers=AUTH if headers is None else headers,
        timeout=30,
    )


def ok(**extra: object) -> dict:
    return {"model": "z-image-turbo", "prompt": "p", "width": 64, "height": 64, **extra}


def test_no_key_is_402_x402_discovery(local_server: LocalServer) -> None:
    for path, headers in ((GEN, {}), ("/images/generations", {"Authorization": ""})):
        r = post(local_server, ok(), headers=headers, path=path)
        assert r.status_code == 402
        doc = r.json()
        assert doc["x402Version"] == 2 and doc["resource"]["url"].endswith(path)
        assert {a["network"] for a in doc["accepts"]} == {
            "eip155:8453",
            "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
        }
        assert doc["authOptions"]["apiKey"]["header"].startswith("Authorization: Bearer")
        header = json.loads(base64.b64decode(r.headers["PAYMENT-REQUIRED"]))
        assert header["accepts"] == doc["accepts"] and header["x402Version"] == 2
    assert local_server.balance_usd == 100.0


def test_wrong_content_type_is_400_and_not_charged_to_the_budget() -> None:
    with LocalServer(error_budget=2) as srv:
        for _ in range(4):
            r = requests.post(
                f"{srv.base_url}{GEN}",
                data=json.dumps(ok()),
                headers={**AUTH, "Content-Type": "text/plain"},
                timeout=10,
            )
            assert r.status_code == 400
            assert r.json() == {"error": "'Content-Type' must be 'application/json'"}
            assert "x-ratelimit-remaining" not in r.headers
            bad_json = requests.post(
                f"{srv.base_url}{GEN}",
                data=b'{"model": "z-image-turbo", ',
                headers={**AUTH, "Content-Type": "application/json"},
                timeout=10,
            )
            assert bad_json.json() == {"error": "Invalid JSON request"}
        assert post(srv, ok()).status_code == 200


def test_error_budget_locks_key_and_model_with_a_reset_in_ms(spec_validator) -> None:
    """The live number: more than 50 failed 4xx in 30 s; the 51st failure still answers as itself."""
    with LocalServer() as srv:
        for i in range(51):
            r = post(srv, ok(width=0))
            assert r.status_code == 400
            assert r.headers["x-ratelimit-remaining"] == str(max(0, 50 - (i + 1)))
        started = time.time()
        locked = post(srv, ok())  # even a valid request is refused now
        assert locked.status_code == 429
        assert locked.json()["error"].startswith("Too many failed attempts (> 50)")
        assert "Please wait 30 seconds" in locked.json()["error"]
        assert "Retry-After" not in locked.headers
        spec_validator(locked.json(), spec_validator.response(GEN, 429))
        assert locked.headers["x-ratelimit-remaining"] == "0"
        resets = int(locked.headers["x-ratelimit-resets"])
        assert resets > 1e12  # Unix milliseconds
        assert started * 1000 < resets <= (started + 30.5) * 1000
        for _ in range(3):  # 429s do not count, and do not extend the lockout
            assert post(srv, ok()).headers["x-ratelimit-resets"] == str(resets)
        # the bucket is per key and model
        assert post(srv, ok(model="venice-sd35")).status_code == 200
        assert post(srv, ok(), headers={"Authorization": "Bearer other"}).status_code == 200
        assert srv.balance_usd == 99.98


def test_what_counts_against_the_budget() -> None:
    with LocalServer(error_budget=3) as srv:
        assert post(srv, ok(model="no-such-model")).status_code == 404  # counted per its model id
        for body in (ok(width=0), ok(variants=5), ok(width=0), ok(width=0)):
            assert post(srv, body).status_code == 400
        r = post(srv, ok())
        assert r.status_code == 429 and "(> 3)" in r.json()["error"]
        assert post(srv, ok(model="no-such-model")).status_code == 404  # one more there is fine
        srv.clear_limits()
        assert post(srv, ok()).status_code == 200


def test_request_rate_limit_per_window() -> None:
    """12 per 10 s, as the performance benchmarks configure it; resets in Unix ms."""
    with LocalServer(rate_limit_rpm=12, rate_window_s=10) as srv:
        started = time.time()
        codes = [post(srv, ok()).status_code for _ in range(14)]
        assert codes == [200] * 12 + [429] * 2
        r = post(srv, ok())
        assert r.headers["x-ratelimit-limit-requests"] == "12"
        assert r.headers["x-ratelimit-remaining-requests"] == "0"
        reset_ms = int(r.headers["x-ratelimit-reset-requests"])
        assert started * 1000 < reset_ms <= (time.time() + 10) * 1000
        assert 1 <= int(r.headers["Retry-After"]) <= 10
