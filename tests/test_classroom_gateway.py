"""The gateway over real HTTP: a ``serve`` process in front of the local preview server, students
through plain requests, the ``openai`` SDK and venice_nb's own client.

The upstream accepts only the teacher's key, so every answer that reaches it proves the gateway
swapped the student's token for the key; every refusal is checked to have forwarded nothing.
"""

from __future__ import annotations

import base64
import json

import pytest
import requests
from classroom_support import (
    TEACHER_KEY,
    GatewayProcess,
    add_students,
    assert_secret_free,
    post,
    posts,
)

from venice_nb.classroom.ledger import SqliteLedger, to_micro
from venice_nb.server import LocalServer

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

GEN = "/image/generate"
POLICY = ("--models", "z-image-turbo,qwen-image-2,krea-2-turbo", "--max-variants", "2",
          "--max-resolution", "1K", "--max-body-mb", "1")  # fmt: skip
SEEN: list[str] = []  # every response text and header the students saw, for the leak check


@pytest.fixture(scope="module")
def upstream():
    with LocalServer(api_keys={TEACHER_KEY}) as srv:
        yield srv


@pytest.fixture(scope="module")
def classroom(upstream, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("classroom")
    ledger = tmp / "class.sqlite3"
    tokens = add_students(
        ledger,
        {"ada": 1.0, "bob": 1.0, "cy": 0.015, "dee": 1.0, "eve": 1.0, "sdk": 1.0, "fay": 1.0},
    )
    gw = GatewayProcess(ledger, upstream.base_url, *POLICY, log=tmp / "gateway.log").start()
    led = SqliteLedger(ledger)
    led.revoke("eve")
    led.close()
    yield gw, tokens
    gw.stop()


def seen(resp: requests.Response) -> requests.Response:
    SEEN.append(resp.text[:2000] + json.dumps(dict(resp.headers)))
    return resp


def spent(gw: GatewayProcess, name: str) -> int:
    led = SqliteLedger(gw.ledger)
    try:
        return led.student(name).spent
    finally:
        led.close()


def test_a_student_generates_with_the_teachers_key_and_sees_their_budget(classroom, upstream):
    gw, tokens = classroom
    before = len(posts(upstream))
    resp = seen(
        post(gw.base_url, GEN, tokens["ada"], {"model": "z-image-turbo", "prompt": "a fox"})
    )
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["images"]) == 1
    assert resp.headers["x-venice-balance-usd"] == "1"  # ada's budget before this request
    assert "x-venice-balance-diem" not in resp.headers
    assert not any(h.lower().startswith("x-ratelimit") for h in resp.headers)  # the key's
    assert len(posts(upstream)) == before + 1 and posts(upstream)[-1].has_auth
    assert spent(gw, "ada") == to_micro(0.01)
    resp = seen(
        post(gw.base_url, GEN, tokens["ada"], {"model": "z-image-turbo", "prompt": "a fox"})
    )
    assert resp.headers["x-venice-balance-usd"] == "0.99"


def test_safe_mode_is_forced_on(classroom, upstream):
    gw, tokens = classroom
    body = {"model": "z-image-turbo", "prompt": "a fox"}
    assert seen(post(gw.base_url, GEN, tokens["bob"], body)).status_code == 200
    assert posts(upstream)[-1].body["safe_mode"] is True
    before = len(posts(upstream))
    resp = seen(post(gw.base_url, GEN, tokens["bob"], {**body, "safe_mode": False}))
    assert resp.status_code == 403  # the multipart edit's refusal, in the same words
    assert resp.json() == {
        "error": "safe mode is on for this class; leave safe_mode out or set it true"
    }
    assert len(posts(upstream)) == before


def test_a_partly_refused_answer_bills_only_the_images_delivered(classroom, upstream):
    gw, tokens = classroom
    body = {"model": "qwen-image-2", "prompt": "a canal", "variants": 1}
    assert seen(post(gw.base_url, GEN, tokens["fay"], body)).status_code == 200
    one = spent(gw, "fay")
    billed = upstream.balance_usd
    body = {"model": "qwen-image-2", "prompt": "a canal refuse-one-test", "variants": 2}
    resp = seen(post(gw.base_url, GEN, tokens["fay"], body))
    assert resp.status_code == 200
    assert resp.json()["content_policy_violation_count"] == 1 and len(resp.json()["images"]) == 1
    assert spent(gw, "fay") == 2 * one  # one image more, as the service billed
    assert to_micro(billed - upstream.balance_usd) == one
    led = SqliteLedger(gw.ledger)
    assert led.student("fay").images == 2
    led.close()
    body = {"model": "qwen-image-2", "prompt": "a canal refuse-all-test", "variants": 2}
    assert seen(post(gw.base_url, GEN, tokens["fay"], body)).status_code == 200
    assert spent(gw, "fay") == 2 * one  # nothing delivered, nothing billed


REFUSALS = [
    ("no token", None, GEN, {"model": "z-image-turbo", "prompt": "x"}, 401, "a valid class token"),
    ("wrong token", "vcl_not-a-token", GEN, {"model": "z-image-turbo", "prompt": "x"}, 401,
     "a valid class token"),
    ("revoked token", "eve", GEN, {"model": "z-image-turbo", "prompt": "x"}, 401, "revoked"),
    ("model outside policy", "dee", GEN, {"model": "venice-sd35", "prompt": "x"}, 403,
     "model 'venice-sd35' is not allowed in this class; use one of: z-image-turbo, qwen-image-2"),
    ("too many variants", "dee", GEN, {"model": "z-image-turbo", "prompt": "x", "variants": 3}, 403,
     "3 variants is above this class's limit of 2 per request"),
    ("resolution above", "dee", GEN, {"model": "krea-2-turbo", "prompt": "x", "resolution": "2K"},
     403, "resolution 2K is above this class's limit of 1K"),
    ("unforwarded route", "dee", "/chat/completions", {"model": "x", "messages": []}, 404,
     "/chat/completions is not offered by this classroom gateway"),
    ("invalid json", "dee", GEN, None, 400, "Invalid JSON request"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("why", "who", "route", "body", "status", "message"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refusals_are_one_clear_line_and_forward_nothing(
    classroom, upstream, why, who, route, body, status, message
):
    gw, tokens = classroom
    token = tokens.get(who, who) if who else None
    before = len(posts(upstream))
    if body is None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        resp = requests.post(gw.base_url + route, data=b"{nope", headers=headers, timeout=30)
    else:
        resp = post(gw.base_url, route, token, body)
    seen(resp)
    assert resp.status_code == status
    assert message in resp.json()["error"]
    assert "\n" not in resp.json()["error"]
    assert len(posts(upstream)) == before, "a refused request reached the upstream"


def test_a_student_cannot_forge_a_log_line(classroom, upstream):
    gw, tokens = classroom
    forged = "2026-12-07 09:00:00,000 ada /image/generate model=z-image-turbo cost=$0.00 status=200"
    body = {"model": f"evil\n{forged}\u2028\x1b[2J", "prompt": "x", "image": "aGk="}
    resp = seen(post(gw.base_url, "/image/edit", tokens["dee"], body))
    assert resp.status_code == 404 and forged in resp.json()["error"]
    assert gw.log().count(forged) == 1
    line = next(line for line in gw.log().splitlines() if forged in line)
    assert line.endswith(f"Specified model not found: evil\\n{forged}\\u2028\\x1b[2J")
    assert "\x1b" not in gw.log() and "\u2028" not in gw.log()


def test_an_oversized_body_is_413_and_forwards_nothing(classroom, upstream):
    gw, tokens = classroom
    before = len(posts(upstream))
    body = {"model": "z-image-turbo", "prompt": "x" * (1024 * 1024 + 10)}
    resp = seen(post(gw.base_url, GEN, tokens["dee"], body))
    assert resp.status_code == 413
    assert resp.json() == {
        "code": "PAYLOAD_TOO_LARGE",
        "error": "the request body is above this class's limit of 1 MB",
    }
    assert len(posts(upstream)) == before


def test_other_routes_are_404_json_even_with_a_token(classroom, upstream):
    gw, tokens = classroom
    before = upstream.request_count
    for path in ("/billing/balance", "/api_keys", "/chat/completions", "/../admin"):
        resp = seen(
            requests.get(
                gw.base_url + path, headers={"Authorization": f"Bearer {tokens['dee']}"}, timeout=30
            )
        )
        assert resp.status_code == 404 and "not offered" in resp.json()["error"]
    assert upstream.request_count == before


def test_over_budget_is_the_live_402_shape_naming_the_budget(classroom, upstream):
    gw, tokens = classroom
    body = {"model": "z-image-turbo", "prompt": "a fox"}
    assert seen(post(gw.base_url, GEN, tokens["cy"], body)).status_code == 200
    before = len(posts(upstream))
    resp = seen(post(gw.base_url, GEN, tokens["cy"], body))
    assert resp.status_code == 402
    assert resp.json() == {
        "error": "over budget: this request costs $0.01 and your budget has $0.005 left of "
        "$0.015 ($0.01 spent); ask your teacher to raise it"
    }
    assert len(posts(upstream)) == before
    assert spent(gw, "cy") == to_micro(0.01)


def test_venice_nb_client_shows_the_students_budget(classroom):
    from venice_nb.client import VeniceClient
    from venice_nb.errors import VeniceError
    from venice_nb.operations.generate import GenerateRequest

    gw, tokens = classroom
    with VeniceClient(tokens["dee"], base_url=gw.base_url) as client:
        assert set(client.models()) == {"z-image-turbo", "qwen-image-2", "krea-2-turbo"}
        result = client.generate(GenerateRequest(model="qwen-image-2", prompt="a canal", seed=3))
        assert len(result.images) == 1
        before = 1.0 - spent(gw, "dee") / 1e6 + 0.05
        assert result.balance_after() == (pytest.approx(before - 0.05), "USD", True)
        with pytest.raises(VeniceError) as info:
            client.generate(GenerateRequest(model="venice-sd35", prompt="a canal"))
        assert "not allowed in this class" in info.value.one_line()
        assert "privacy setting" not in info.value.one_line()  # the class's rule, not the key's


@pytest.mark.slow  # importing the openai SDK alone takes about 2 s
def test_the_openai_sdk_works_through_the_gateway(classroom, upstream):
    openai = pytest.importorskip("openai")
    gw, tokens = classroom
    client = openai.OpenAI(api_key=tokens["sdk"], base_url=gw.base_url, max_retries=0)
    out = client.images.generate(
        model="z-image-turbo", prompt="a gondola", response_format="b64_json"
    )
    assert base64.b64decode(out.data[0].b64_json)[:4] in (b"RIFF", b"\x89PNG", b"\xff\xd8\xff\xe0")
    assert posts(upstream)[-1].body["moderation"] == "auto"  # safe mode, OpenAI spelling
    before = len(posts(upstream))
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.images.generate(model="dall-e-3", prompt="a gondola")
    assert "'dall-e-3' is not allowed in this class" in info.value.response.json()["error"]
    bad = openai.OpenAI(api_key="vcl_wrong", base_url=gw.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.images.generate(model="z-image-turbo", prompt="a gondola")
    assert len(posts(upstream)) == before
    assert spent(gw, "sdk") == to_micro(0.01)


def test_the_toolbox_is_priced_from_the_catalogue(classroom, upstream):
    gw, tokens = classroom
    first = seen(post(gw.base_url, GEN, tokens["bob"], {"model": "z-image-turbo", "prompt": "a"}))
    image = first.json()["images"][0]
    before = spent(gw, "bob")
    resp = seen(post(gw.base_url, "/image/upscale", tokens["bob"], {"image": image, "scale": 2}))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("image/")
    assert spent(gw, "bob") - before == to_micro(0.02)


def test_a_multipart_edit_that_turns_safe_mode_off_is_refused(classroom, upstream):
    gw, tokens = classroom
    before = len(posts(upstream))
    resp = seen(
        requests.post(
            gw.base_url + "/image/edit",
            headers={"Authorization": f"Bearer {tokens['dee']}"},
            data={"prompt": "night", "safe_mode": "false"},
            files={"image": ("a.png", b"\x89PNG fake", "image/png")},
            timeout=30,
        )
    )
    assert resp.status_code == 403 and "safe mode is on for this class" in resp.json()["error"]
    assert len(posts(upstream)) == before


def test_free_routes_show_the_student_only_their_share(classroom, upstream):
    gw, tokens = classroom
    auth = {"Authorization": f"Bearer {tokens['dee']}"}
    limits = seen(requests.get(gw.base_url + "/api_keys/rate_limits", headers=auth, timeout=30))
    data = limits.json()["data"]
    assert data["balances"] == {"USD": pytest.approx(1.0 - spent(gw, "dee") / 1e6)}
    assert data["rateLimits"] == [] and data["apiTier"]["id"] == "classroom"
    models = seen(requests.get(gw.base_url + "/models?type=image", headers=auth, timeout=30))
    assert {m["id"] for m in models.json()["data"]} == {
        "z-image-turbo",
        "qwen-image-2",
        "krea-2-turbo",
    }
    styles = seen(requests.get(gw.base_url + "/image/styles", headers=auth, timeout=30))
    assert styles.status_code == 200 and styles.json()["data"]
    assert requests.get(gw.base_url + "/models", timeout=30).status_code == 401


def test_spend_matches_what_the_upstream_billed_and_nothing_leaked(classroom, upstream):
    gw, tokens = classroom
    led = SqliteLedger(gw.ledger)
    try:
        students = led.students()
        assert led.open_reservations() == 0
    finally:
        led.close()
    total = sum(s.spent for s in students)
    assert total == to_micro(100.0 - upstream.balance_usd)
    assert all(s.remaining >= 0 for s in students)
    refusals = {s.name: s.refusals for s in students}
    assert refusals["dee"] >= 5 and refusals["ada"] == 0
    log = gw.log()
    assert "ada /image/generate model=z-image-turbo cost=$0.01 status=200" in log
    assert "a fox" not in log  # prompts are logged only with --log-prompts
    assert_secret_free(log + "".join(SEEN) + "".join(gw.banner), list(tokens.values()))
    assert TEACHER_KEY not in log


@pytest.mark.slow
def test_queue_bound_per_minute_toolbox_off_and_class_budget(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    flags = ("--no-toolbox", "--per-minute", "3", "--queue", "1", "--max-in-flight", "1",
             "--class-budget", "0.03", "--log-prompts")  # fmt: skip
    with LocalServer(api_keys={TEACHER_KEY}, latency=1.0) as slow:
        tokens = add_students(tmp_path / "l.sqlite3", {"ann": 1.0, "ben": 1.0, "col": 1.0})
        with GatewayProcess(
            tmp_path / "l.sqlite3", slow.base_url, *flags, log=tmp_path / "g.log"
        ) as gw:
            body = {"model": "z-image-turbo", "prompt": "a kite"}
            resp = post(gw.base_url, "/image/upscale", tokens["ann"], {"image": "aGk=", "scale": 2})
            assert (
                resp.status_code == 403 and "toolbox (/image/upscale) is switched off" in resp.text
            )
            assert posts(slow) == []

            def send(_: int) -> requests.Response:
                return post(gw.base_url, GEN, tokens["ann"], body)

            with ThreadPoolExecutor(3) as pool:  # one in flight, one waiting, one turned away
                answers = sorted(pool.map(send, range(3)), key=lambda r: r.status_code)
            assert [r.status_code for r in answers] == [200, 200, 429]
            assert answers[2].headers["Retry-After"].isdigit()
            assert "requests waiting already" in answers[2].json()["error"]
            assert len(posts(slow)) == 2
            third = post(gw.base_url, GEN, tokens["ann"], body)  # the minute's 4th
            assert third.status_code == 429 and "3 requests per minute" in third.json()["error"]
            assert 1 <= int(third.headers["Retry-After"]) <= 60
            last = post(gw.base_url, GEN, tokens["ben"], body)
            assert last.status_code == 200  # $0.03 used
            assert last.headers["x-venice-balance-usd"] == "0.01"  # the class's, before it
            over = post(gw.base_url, GEN, tokens["col"], body)
            assert over.status_code == 402
            assert "the whole class's budget of $0.03 is used up" in over.json()["error"]
            limits = requests.get(
                gw.base_url + "/api_keys/rate_limits",
                headers={"Authorization": f"Bearer {tokens['col']}"},
                timeout=30,
            )
            assert limits.json()["data"]["balances"] == {"USD": 0}  # col's $1 cannot be spent
            assert len(posts(slow)) == 3
            assert "ben /image/generate model=z-image-turbo cost=$0.01 status=200" in gw.log()
            assert "prompt='a kite'" in gw.log()  # the teacher asked for prompts in the log
            assert_secret_free(gw.log(), list(tokens.values()))


def test_the_per_minute_refusal_says_the_wait_retry_after_gives(tmp_path):
    from venice_nb.apikey import wrap
    from venice_nb.classroom import app
    from venice_nb.classroom.policy import Policy, Refusal

    led = SqliteLedger(tmp_path / "l.sqlite3")
    config = app.GatewayConfig("http://127.0.0.1:9/api/v1", wrap(TEACHER_KEY), Policy(per_minute=1))
    gateway = app.Gateway(config, led)
    clock = iter([100.0, 159.8])
    gateway.clock = lambda: next(clock)
    gateway._per_minute("ada")
    with pytest.raises(Refusal) as info:
        gateway._per_minute("ada")  # 0.2 s before the window frees a slot
    assert info.value.headers == {"Retry-After": "1"}
    assert info.value.message.endswith("per student; wait 1 s")
    led.close()
