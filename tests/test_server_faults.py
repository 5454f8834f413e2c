"""Every fault kind behaves as documented, is bounded, and stays within its server instance."""

from __future__ import annotations

import base64
import binascii
import io
import threading
import time

import pytest
import requests
from PIL import Image, UnidentifiedImageError

from venice_nb.server import FAULT_KINDS, LocalServer

AUTH = {"Authorization": "Bearer test-key"}
BODY = {"model": "z-image-turbo", "prompt": "fault test", "width": 64, "height": 64}


def gen(server: LocalServer, timeout: float = 10, **extra: object) -> requests.Response:
    return requests.post(
        f"{server.base_url}/image/generate", json={**BODY, **extra}, headers=AUTH, timeout=timeout
    )


def test_fault_kinds_are_the_documented_set() -> None:
    assert set(FAULT_KINDS) == {
        "refused",
        "429",
        "overloaded",
        "500",
        "502",
        "503",
        "504",
        "html502",
        "drop",
        "stall",
        "slow_body",
        "malformed",
        "no_images",
        "bad_base64",
        "not_image",
        "wrong_content_type",
        "huge_body",
        "evil_id",
    }


def test_429_with_retry_after_then_recovers(local_server: LocalServer) -> None:
    local_server.inject("429", retry_after=3)
    r = gen(local_server)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "3"
    assert set(r.json()) == {"error"}
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert gen(local_server).status_code == 200


def test_overloaded_429_says_retry_after_30(local_server: LocalServer) -> None:
    """The live overload answer: a 429 in these words with Retry-After: 30 (seconds)."""
    local_server.inject("overloaded")
    r = gen(local_server)
    assert r.status_code == 429 and r.headers["Retry-After"] == "30"
    assert r.json() == {"error": "The model is currently overloaded. Please try again later."}
    assert "x-ratelimit-resets" not in r.headers  # not the error budget's 429
    assert local_server.balance_usd == 100.0
    assert gen(local_server).status_code == 200


def test_429_without_retry_after_reset_units(local_server: LocalServer) -> None:
    local_server.inject("429", retry_after=None, reset=2, reset_unit="epoch_ms")
    r = gen(local_server)
    assert "Retry-After" not in r.headers
    reset_ms = int(r.headers["x-ratelimit-reset-requests"])
    assert abs(reset_ms - (time.time() + 2) * 1000) < 1500
    local_server.inject("429", retry_after=None, reset=5, reset_unit="seconds")
    assert gen(local_server).headers["x-ratelimit-reset-requests"] == "5"
    local_server.inject("429", reset=4, reset_unit="epoch_s")
    reset_s = int(gen(local_server).headers["x-ratelimit-reset-requests"])
    assert abs(reset_s - (time.time() + 4)) <= 2


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_server_errors_json(local_server: LocalServer, kind: str) -> None:
    local_server.inject(kind)
    r = gen(local_server)
    assert r.status_code == int(kind)
    assert r.headers["Content-Type"].startswith("application/json")
    assert isinstance(r.json()["error"], str)
    local_server.inject(kind, message="custom", retry_after=7)
    r = gen(local_server)
    assert r.json() == {"error": "custom"} and r.headers["Retry-After"] == "7"


def test_html_502(local_server: LocalServer) -> None:
    local_server.inject("html502")
    r = gen(local_server)
    assert r.status_code == 502
    assert r.headers["Content-Type"] == "text/html"
    assert "<title>502 Bad Gateway</title>" in r.text
    with pytest.raises(ValueError):
        r.json()


def test_drop_closes_without_answer(local_server: LocalServer) -> None:
    local_server.inject("drop")
    with pytest.raises(requests.ConnectionError):
        gen(local_server)
    assert gen(local_server).status_code == 200
    assert local_server.generate_count == 2


def test_stall_times_out_client_and_stall_short_succeeds(local_server: LocalServer) -> None:
    local_server.inject("stall", seconds=2)
    t0 = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        gen(local_server, timeout=0.3)
    assert time.monotonic() - t0 < 1.5
    local_server.inject("stall", seconds=0.3)
    t0 = time.monotonic()
    assert gen(local_server).status_code == 200
    assert time.monotonic() - t0 >= 0.3


def test_stall_is_bounded_and_stop_interrupts_it() -> None:
    srv = LocalServer().start()
    srv.inject("stall", seconds=10_000)  # capped at 30 s, and stop() cuts it short
    errors: list[BaseException] = []

    def call() -> None:
        try:
            gen(srv, timeout=20)
        except requests.RequestException as exc:
            errors.append(exc)

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 2
    t.join(5)
    assert not t.is_alive()


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_slow_body_trickles(local_server: LocalServer) -> None:
    local_server.inject("slow_body", seconds=1.0)
    t0 = time.monotonic()
    r = requests.post(
        f"{local_server.base_url}/image/generate", json=BODY, headers=AUTH, stream=True, timeout=10
    )
    headers_at = time.monotonic() - t0
    content = r.content
    total = time.monotonic() - t0
    assert r.status_code == 200 and headers_at < 0.6 and total >= 0.9
    assert len(content) == int(r.headers["Content-Length"])
    assert r.json()["images"]
    local_server.inject("slow_body", seconds=2.0)
    with pytest.raises(requests.exceptions.ConnectionError):  # urllib3 read timeout mid-body
        _ = requests.post(
            f"{local_server.base_url}/image/generate", json=BODY, headers=AUTH, timeout=(2, 0.05)
        ).content


def test_malformed_json(local_server: LocalServer) -> None:
    local_server.inject("malformed")
    r = gen(local_server)
    assert r.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        r.json()


def test_no_images(local_server: LocalServer) -> None:
    local_server.inject("no_images")
    doc = gen(local_server).json()
    assert "images" not in doc and doc["id"].startswith("generate-image-")


@pytest.mark.parametrize("mode", ["truncated", "garbage"])
def test_bad_base64(local_server: LocalServer, mode: str) -> None:
    local_server.inject("bad_base64", mode=mode)
    b64 = gen(local_server).json()["images"][0]
    with pytest.raises(binascii.Error):
        base64.b64decode(b64)
    with pytest.raises(binascii.Error):
        base64.b64decode(b64, validate=True)


def test_not_image(local_server: LocalServer) -> None:
    local_server.inject("not_image")
    raw = base64.b64decode(gen(local_server).json()["images"][0], validate=True)
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(raw))
    local_server.inject("not_image")
    r = gen(local_server, return_binary=True, format="png")
    assert r.headers["Content-Type"] == "image/png"
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(r.content))


def test_wrong_content_type(local_server: LocalServer) -> None:
    local_server.inject("wrong_content_type")
    r = gen(local_server, return_binary=True, format="png")
    assert r.headers["Content-Type"] == "text/plain"
    assert r.content.startswith(b"\x89PNG")


def test_huge_body_declared_but_server_stays_small(local_server: LocalServer) -> None:
    local_server.inject("huge_body")
    r = requests.post(
        f"{local_server.base_url}/image/generate", json=BODY, headers=AUTH, stream=True, timeout=10
    )
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == 300 * 1024 * 1024
    first = next(r.iter_content(4096))
    assert first.startswith(b'{"id"')
    r.close()  # a careful client refuses it
    assert gen(local_server).status_code == 200
    local_server.inject("huge_body", size=100_000)
    small = gen(local_server)
    assert len(small.content) == 100_000


@pytest.mark.parametrize("evil", ["../../etc/passwd", "a\x00b", "x" * 300])
def test_evil_id(local_server: LocalServer, evil: str) -> None:
    local_server.inject("evil_id", id=evil)
    doc = gen(local_server).json()
    assert doc["id"] == evil and doc["images"]


def test_count_and_clear(local_server: LocalServer) -> None:
    local_server.inject("500", count=2)
    assert [gen(local_server).status_code for _ in range(3)] == [500, 500, 200]
    local_server.inject("503", count=5)
    assert local_server.pending_faults == 5
    local_server.clear_faults()
    assert gen(local_server).status_code == 200


def test_faults_only_hit_generate_routes_and_apply_to_openai(local_server: LocalServer) -> None:
    local_server.inject("no_images")
    assert requests.get(f"{local_server.base_url}/image/styles").status_code == 200
    r = requests.post(
        f"{local_server.base_url}/images/generations",
        headers=AUTH,
        json={"model": "z-image-turbo", "prompt": "p", "size": "256x256"},
    )
    assert r.status_code == 200 and "data" not in r.json()
    local_server.inject("bad_base64")
    r = requests.post(
        f"{local_server.base_url}/images/generations",
        headers=AUTH,
        json={"model": "z-image-turbo", "prompt": "p", "size": "256x256"},
    )
    with pytest.raises(binascii.Error):
        base64.b64decode(r.json()["data"][0]["b64_json"])


def test_post_fault_consumed_by_failing_request(local_server: LocalServer) -> None:
    local_server.inject("no_images")
    assert gen(local_server, width=0).status_code == 400
    assert "images" in gen(local_server).json()


def test_faults_do_not_leak_between_servers() -> None:
    with LocalServer() as a, LocalServer() as b:
        a.inject("500", count=3)
        assert gen(b).status_code == 200
        assert gen(a).status_code == 500
        assert b.pending_faults == 0 and a.pending_faults == 2


def test_latency_only_on_generate(local_server: LocalServer) -> None:
    local_server.latency = 0.3
    t0 = time.monotonic()
    requests.get(f"{local_server.base_url}/image/styles")
    assert time.monotonic() - t0 < 0.25
    t0 = time.monotonic()
    assert gen(local_server).status_code == 200
    assert time.monotonic() - t0 >= 0.3
    with pytest.raises(ValueError):
        local_server.latency = -1


def test_inject_rejects_bad_arguments(local_server: LocalServer) -> None:
    with pytest.raises(ValueError):
        local_server.inject("418")
    with pytest.raises(ValueError):
        local_server.inject("500", count=0)
    with pytest.raises(ValueError):
        local_server.inject("stall", secs=3)
    with pytest.raises(ValueError):
        local_server.inject("429", reset_unit="hours")
    assert local_server.pending_faults == 0
