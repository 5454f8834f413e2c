"""The gateway in front of the fault server: an upstream 429 is waited out and retried once, not
hammered; failures and dropped connections cost the student nothing."""

from __future__ import annotations

import time

import pytest
import requests
from classroom_support import (
    TEACHER_KEY,
    GatewayProcess,
    add_students,
    assert_secret_free,
    post,
)
from fault_server import FaultServer, Reply

from venice_nb.classroom.ledger import SqliteLedger, to_micro
from venice_nb.server import LocalServer

pytest.importorskip("starlette")

GEN = "/image/generate"
BODY = {"model": "z-image-turbo", "prompt": "a lighthouse"}


@pytest.fixture(scope="module")
def catalogue_replies():
    with LocalServer() as srv:
        return [
            Reply(200, requests.get(f"{srv.base_url}/models?type={kind}", timeout=30).json())
            for kind in ("image", "inpaint", "upscale")
        ]


@pytest.fixture(scope="module")
def rig(tmp_path_factory, catalogue_replies):
    tmp_path = tmp_path_factory.mktemp("faults")
    with FaultServer() as fs:
        fs.push(*catalogue_replies)
        tokens = add_students(tmp_path / "class.sqlite3", {"ada": 1.0})
        with GatewayProcess(tmp_path / "class.sqlite3", fs.base_url, log=tmp_path / "gw.log") as gw:
            yield fs, gw, tokens["ada"]


def ledger_of(gw):
    led = SqliteLedger(gw.ledger)
    try:
        return led.student("ada"), led.open_reservations()
    finally:
        led.close()


def ok_image() -> Reply:
    return Reply(200, {"id": "x", "images": ["aGVsbG8="], "timing": {}}, headers={})


def generations(fs: FaultServer):
    return [s for s in fs.seen if s.method == "POST"]


@pytest.mark.slow
def test_an_upstream_429_is_waited_out_then_sent_once_more(rig):
    fs, gw, token = rig
    reset_ms = int((time.time() + 1.2) * 1000)
    limited = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": str(reset_ms)}
    fs.push(Reply(429, {"error": "Rate limit exceeded"}, headers=limited), ok_image())
    before, _ = ledger_of(gw)
    already = len(generations(fs))
    resp = post(gw.base_url, GEN, token, BODY)
    assert resp.status_code == 200, resp.text
    sent = generations(fs)[already:]
    assert len(sent) == 2
    assert sent[1].time >= reset_ms / 1000 - 0.01  # not before the upstream said it may
    assert sent[0].headers["Authorization"] == f"Bearer {TEACHER_KEY}"
    student, open_ = ledger_of(gw)
    assert (student.spent - before.spent, student.images - before.images, open_) == (
        to_micro(0.01),
        1,
        0,
    )


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        (Reply(500, {"error": "Inference failed"}), 500),
        (Reply(400, {"error": "Invalid request parameters"}), 400),
        (Reply(drop=True), 502),
        (Reply(200, {"images": []}, headers={"x-venice-is-content-violation": "true"}), 200),
    ],
    ids=["500", "400", "dropped", "content-violation"],
)
def test_failed_or_blocked_answers_cost_nothing(rig, reply, status):
    fs, gw, token = rig
    fs.push(reply)
    before, _ = ledger_of(gw)
    resp = post(gw.base_url, GEN, token, BODY)
    assert resp.status_code == status
    student, open_ = ledger_of(gw)
    assert (student.spent - before.spent, student.reserved, open_) == (0, 0, 0)
    assert_secret_free(resp.text + str(dict(resp.headers)) + gw.log(), [token])
    if status == 502:
        assert "could not reach the image service" in resp.json()["error"]


def test_enhance_prompt_is_charged_only_when_the_answer_says_it_was_applied(rig):
    fs, gw, token = rig
    fs.push(ok_image(), Reply(200, {"images": ["aGk="]}, headers={"x-venice-enhanced-prompt": "x"}))
    body = dict(BODY, enhance_prompt=True)
    before = ledger_of(gw)[0].spent
    assert post(gw.base_url, GEN, token, body).status_code == 200
    assert ledger_of(gw)[0].spent - before == to_micro(0.01)
    assert post(gw.base_url, GEN, token, body).status_code == 200
    assert ledger_of(gw)[0].spent - before == to_micro(0.01 + 0.01 + 0.04)


def test_a_model_the_cached_list_lacks_fetches_the_list_again(
    tmp_path, catalogue_replies, monkeypatch
):
    """In process (the app over httpx's ASGI transport) so the refresh interval can be zero."""
    import asyncio
    import copy

    import httpx

    from venice_nb.apikey import Secret
    from venice_nb.classroom import app as gateway_app

    monkeypatch.setattr(gateway_app, "CATALOGUE_RETRY_S", 0.0)
    newer = copy.deepcopy(catalogue_replies)
    row = next(r for r in newer[0].body["data"] if r["id"] == "z-image-turbo")
    newer[0].body["data"].append(dict(copy.deepcopy(row), id="brand-new-model"))
    ledger = SqliteLedger(tmp_path / "class.sqlite3")
    token = ledger.add("ada", 1.0)

    async def scenario(base_url: str) -> httpx.Response:
        config = gateway_app.GatewayConfig(base_url, Secret(TEACHER_KEY))
        app = gateway_app.create_app(config, ledger)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                return await client.post(
                    "/api/v1/image/generate",
                    json={"model": "brand-new-model", "prompt": "x"},
                    headers={"Authorization": f"Bearer {token}"},
                )

    with FaultServer() as fs:
        fs.push(*catalogue_replies, *newer, ok_image())
        resp = asyncio.run(scenario(fs.base_url))
        gets = [s.path for s in fs.seen if s.method == "GET"]
    assert resp.status_code == 200, resp.text
    assert gets.count("/api/v1/models?type=image") == 2
    assert ledger.student("ada").spent == to_micro(0.01)
    ledger.close()


@pytest.mark.slow
def test_an_unreachable_upstream_is_a_json_502_on_every_route(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/api/v1"
    token = add_students(tmp_path / "class.sqlite3", {"ada": 1.0})["ada"]
    with GatewayProcess(tmp_path / "class.sqlite3", dead, log=tmp_path / "gw.log") as gw:
        for route in (GEN, "/image/upscale", "/models"):
            if route == "/models":
                resp = requests.get(
                    gw.base_url + route, headers={"Authorization": f"Bearer {token}"}, timeout=30
                )
            else:
                resp = post(gw.base_url, route, token, {**BODY, "image": "aGk="})
            assert resp.status_code == 502, (route, resp.text)
            assert resp.json() == {
                "error": "the classroom gateway could not reach the image service (ConnectError)"
            }
        assert "Traceback" not in gw.log()
        assert ledger_of(gw)[1] == 0
