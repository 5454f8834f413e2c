"""The real leniency per model: what the service ignores is ignored (200, not sent on to the
picture), what it refuses is a 400; retired, Pro-only and offline models answer as live."""

from __future__ import annotations

import base64
import io

import pytest
import requests
from PIL import Image

from venice_nb.server import LocalServer

AUTH = {"Authorization": "Bearer test-key"}


def gen(server: LocalServer, path: str = "/image/generate", **body: object) -> requests.Response:
    body.setdefault("prompt", "a gondola at dusk")
    return requests.post(f"{server.base_url}{path}", json=body, headers=AUTH, timeout=60)


def size(doc: dict) -> tuple[int, int]:
    return Image.open(io.BytesIO(base64.b64decode(doc["images"][0]))).size


def first_issue(r: requests.Response) -> dict:
    assert r.status_code == 400, r.text
    return r.json()["issues"][0]


@pytest.fixture(scope="module")
def srv():
    with LocalServer() as server:
        yield server


# ---- ignored, as the service ignores them --------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["nano-banana-pro", "qwen-image-2", "gpt-image-2", "z-image-turbo"]
)
def test_steps_on_models_that_do_not_step_are_ignored(srv: LocalServer, model: str) -> None:
    """30 rows carry a placeholder steps {20, 50}: 60 is not refused and changes nothing."""
    plain = gen(srv, model=model, seed=7, aspect_ratio="1:1")
    stepped = gen(srv, model=model, seed=7, steps=60, aspect_ratio="1:1")
    assert stepped.status_code == 200, stepped.text
    assert stepped.json()["images"] == plain.json()["images"]


@pytest.mark.parametrize(
    ("model", "steps"), [("venice-sd35", 31), ("chroma", 11), ("lustify-v8", 51)]
)
def test_steps_above_max_on_models_that_step_are_400(
    srv: LocalServer, model: str, steps: int
) -> None:
    issue = first_issue(gen(srv, model=model, steps=steps, width=64, height=64))
    assert issue["path"] == ["steps"] and issue["code"] == "too_big"
    assert gen(srv, model=model, steps=steps - 1, width=64, height=64).status_code == 200


def test_negative_prompt_dropped_where_the_model_drops_it(srv: LocalServer) -> None:
    small = {"width": 64, "height": 64, "seed": 3}
    for model in ("z-image-turbo", "chroma"):
        plain = gen(srv, model=model, **small).json()
        neg = gen(
            srv, model=model, negative_prompt="x" * 9000, **small
        ).json()  # over the limit too
        assert neg["request"]["data"]["negative_prompt"] == "x" * 9000  # echoed as sent
        assert neg["images"] == plain["images"]
    kept = gen(srv, model="venice-sd35", negative_prompt="blur", **small).json()
    assert kept["request"]["data"]["negative_prompt"] == "blur"
    assert kept["images"] != gen(srv, model="venice-sd35", **small).json()["images"]


def test_width_height_ignored_on_ratio_models_but_400_on_the_qwen_three(srv: LocalServer) -> None:
    doc = gen(srv, model="qwen-image-2", width=640, height=320, aspect_ratio="16:9").json()
    assert size(doc) == (1024, 576) and "width" in doc["request"]["data"]
    for model in ("qwen-image", "qwen-image-3", "qwen-image-3-pro"):
        r = gen(srv, model=model, width=640)
        assert first_issue(r)["path"] == ["width"], model
        assert gen(srv, model=model, aspect_ratio="9:16").status_code == 200


def test_resolution_quality_and_web_search_ignored_where_absent(srv: LocalServer) -> None:
    doc = gen(
        srv,
        model="qwen-image-2",
        resolution="4K",
        quality="high",
        enable_web_search=True,
        aspect_ratio="1:1",
    ).json()
    assert size(doc) == (1024, 1024)  # all three ignored (the echo holds them as sent)
    nb = gen(srv, model="nano-banana-pro", enable_web_search=True, resolution="1k").json()
    assert nb["request"]["data"]["enable_web_search"] is True
    assert nb["request"]["data"]["resolution"] == "1k"  # as sent


def test_resolution_and_quality_outside_the_lists_are_400(srv: LocalServer) -> None:
    assert first_issue(gen(srv, model="grok-imagine-image-2-0", quality="high"))["path"] == [
        "quality"
    ]
    ok = gen(srv, model="grok-imagine-image-2-0", quality="low", resolution="2K")
    assert ok.status_code == 200 and ok.json()["request"]["data"]["quality"] == "low"
    assert first_issue(gen(srv, model="qwen-image-3", resolution="4K"))["path"] == ["resolution"]


def test_unlisted_aspect_ratio_falls_back_to_the_default(srv: LocalServer) -> None:
    doc = gen(srv, model="gpt-image-1-5", aspect_ratio="21:9").json()
    assert size(doc) == (1024, 1024)  # rendered at the default 1:1


def test_auto_aspect_ratio_renders_instead_of_crashing(srv: LocalServer) -> None:
    """flux-2-max's default ratio is "auto"; it used to be a 500 from dimensions()."""
    doc = gen(srv, model="flux-2-max")
    assert doc.status_code == 200 and size(doc.json()) == (1024, 1024)
    assert size(gen(srv, model="flux-2-max", aspect_ratio="16:9").json()) == (1024, 576)


def test_variants_with_return_binary_are_400(srv: LocalServer) -> None:
    r = gen(srv, model="qwen-image-2", variants=2, return_binary=True)
    assert first_issue(r)["path"] == ["variants"]


def test_style_references_only_where_the_row_offers_them(srv: LocalServer) -> None:
    ref = {"image": "https://example.invalid/ref.png"}
    assert gen(srv, model="krea-v2-large", style_references=[ref]).status_code == 200
    assert first_issue(gen(srv, model="krea-v2-large", style_references=[ref] * 4))["path"] == [
        "style_references"
    ]
    assert first_issue(gen(srv, model="qwen-image-2", style_references=[ref]))["path"] == [
        "style_references"
    ]


def test_bria_bg_remover_is_not_a_generation_model(srv: LocalServer) -> None:
    issue = first_issue(gen(srv, model="bria-bg-remover", width=64, height=64))
    assert "/image/background-remove" in issue["message"]


# ---- seeds -----------------------------------------------------------------------------------


def test_seed_ignoring_models_ignore_the_seed(srv: LocalServer) -> None:
    for model in ("nano-banana-pro", "gpt-image-2", "recraft-v4"):
        one = gen(srv, model=model, seed=1).json()
        two = gen(srv, model=model, seed=2).json()
        assert one["images"] == two["images"], model  # the picture does not depend on it
        assert one["request"]["data"]["seed"] == 1
    a = gen(srv, model="qwen-image-2", seed=1).json()["images"]
    assert a != gen(srv, model="qwen-image-2", seed=2).json()["images"]
    assert a == gen(srv, model="qwen-image-2", seed=1).json()["images"]  # deterministic


# ---- retired, Pro-only, offline --------------------------------------------------------------


def test_retired_ids_answer_as_the_service_does(srv: LocalServer) -> None:
    r = gen(srv, model="hidream")
    assert r.status_code == 404
    assert r.json()["error"].startswith("Specified model not found: hidream")
    assert "qwen-image-2" in r.json()["error"]
    gone = gen(srv, model="fluently-xl")
    assert gone.status_code == 410 and "retired" in gone.json()["error"]
    remapped = gen(srv, model="flux-dev")  # auto-remapped: answered by its replacement
    assert remapped.status_code == 200
    assert remapped.json()["request"]["data"]["model"] == "flux-dev"  # the echo is as sent
    h = remapped.headers
    assert h["x-venice-deprecated"] == "true"
    assert h["x-venice-deprecated-replacement"] == "flux-2-pro"
    assert "flux-dev" in h["x-venice-model-deprecation-warning"]
    assert h["x-venice-model-deprecation-date"].startswith("2026-")
    openai = gen(srv, path="/images/generations", model="flux-dev")
    assert (
        openai.status_code == 200
        and openai.headers["x-venice-deprecated-replacement"] == "flux-2-pro"
    )
    assert gen(srv, path="/images/generations", model="hidream").status_code == 404
    assert gen(srv, path="/images/generations", model="dall-e-3").status_code == 200  # falls back


def test_pro_only_and_offline_rows() -> None:
    with LocalServer() as srv:
        assert gen(srv, model="local-pro-model").status_code == 404  # not asked for: unknown
        srv.edge_models = True
        r = gen(srv, model="local-pro-model")
        assert r.status_code == 401
        assert r.json() == {"error": "This model is only available to Pro users"}
        off = gen(srv, model="local-offline-model", width=64, height=64)
        assert off.status_code == 503 and "offline" in off.json()["error"]
        srv.inject("503")
        capacity = gen(srv, model="z-image-turbo", width=64, height=64)
        assert capacity.status_code == 503 and "capacity" in capacity.json()["error"]
        assert srv.balance_usd == 100.0
        srv.pro = True
        assert gen(srv, model="local-pro-model").status_code == 200
    with LocalServer(pro=True, edge_models=True) as srv:
        assert gen(srv, path="/images/generations", model="local-pro-model").status_code == 200


# ---- money -------------------------------------------------------------------------------------


def test_enhance_prompt_is_charged_only_when_a_rewrite_is_applied() -> None:
    with LocalServer() as srv:
        r = gen(srv, model="z-image-turbo", width=64, height=64, enhance_prompt=True)
        assert "richly detailed" in requests.utils.unquote(r.headers["x-venice-enhanced-prompt"])
        assert r.headers["x-venice-balance-usd"] == "100.00"  # before this request
        assert srv.balance_usd == pytest.approx(100 - 0.01 - 0.04)
        same = gen(
            srv,
            model="z-image-turbo",
            prompt="enhance-noop-test",
            width=64,
            height=64,
            enhance_prompt=True,
        )
        assert same.status_code == 200 and "x-venice-enhanced-prompt" not in same.headers
        assert same.headers["x-venice-balance-usd"] == "99.95"
        assert srv.balance_usd == pytest.approx(100 - 0.06)
        plain = gen(srv, model="z-image-turbo", width=64, height=64)
        assert "x-venice-enhanced-prompt" not in plain.headers
        two = gen(srv, model="qwen-image-2", variants=2, enhance_prompt=True)  # once per request
        assert srv.balance_usd == pytest.approx(100 - 0.07 - 0.10 - 0.04)
        assert two.headers["x-venice-balance-usd"] == "99.93"


def test_adult_model_violation_is_a_block_and_not_charged() -> None:
    with LocalServer() as srv:
        r = gen(srv, model="lustify-v8", prompt="adult-violation-test", width=64, height=64)
        assert r.status_code == 200
        assert r.headers["x-venice-is-adult-model-content-violation"] == "true"
        assert r.headers["x-venice-is-content-violation"] == "false"
        ok = gen(srv, model="lustify-v8", width=64, height=64)
        assert ok.headers["x-venice-is-adult-model-content-violation"] == "false"
        assert srv.balance_usd == pytest.approx(99.99)
        binary = gen(
            srv,
            model="lustify-v8",
            prompt="adult-violation-test",
            return_binary=True,
            width=64,
            height=64,
        )
        assert binary.headers["Content-Type"] == "image/png"  # the placeholder, as for violations
        assert srv.balance_usd == pytest.approx(99.99)


def test_a_diem_account_is_billed_in_diem_and_the_headers_say_before() -> None:
    with LocalServer(balance_usd=5.0, balance_diem=1.0) as srv:
        r = gen(srv, model="gpt-image-2", quality="low")
        assert (r.headers["x-venice-balance-diem"], r.headers["x-venice-balance-usd"]) == (
            "1.00",
            "5.00",
        )
        assert srv.balance_diem == pytest.approx(0.98) and srv.balance_usd == 5.0
        second = gen(srv, model="z-image-turbo", width=64, height=64, variants=2)
        assert second.headers["x-venice-balance-diem"] == "0.98"
        assert srv.balance_diem == pytest.approx(0.96)
        blocked = gen(srv, model="z-image-turbo", prompt="violation-test", width=64, height=64)
        assert blocked.status_code == 200 and srv.balance_diem == pytest.approx(0.96)
        srv.balance_diem = 0.005
        assert gen(srv, model="z-image-turbo", width=64, height=64).status_code == 402
        srv.balance_diem = 0
        assert gen(srv, model="z-image-turbo", width=64, height=64).status_code == 200
        assert srv.balance_usd == pytest.approx(4.99)


def test_prompt_limits_count_utf16_units_like_the_services_validator(srv: LocalServer) -> None:
    """venice-sd35 takes 1,500: 750 emoji are 1,500 UTF-16 units (fine), 751 are 1,502 (400),
    although both are far fewer than 1,500 code points."""
    small = {"model": "venice-sd35", "width": 64, "height": 64}
    assert gen(srv, prompt="\U0001f6f6" * 750, **small).status_code == 200
    issue = first_issue(gen(srv, prompt="\U0001f6f6" * 751, **small))
    assert issue["path"] == ["prompt"] and issue["code"] == "too_big"
    openai = gen(srv, path="/images/generations", model="z-image-turbo", prompt="\U0001f6f6" * 751)
    assert first_issue(openai)["path"] == ["prompt"]  # the route's own 1,500 cap, in units too
    odd = "\ud800 lone surrogate"  # valid in a JSON request: never a 500
    lone = gen(
        srv, prompt=odd, negative_prompt=odd, enhance_prompt=True, embed_exif_metadata=True, **small
    )
    assert lone.status_code == 200 and lone.json()["request"]["data"]["prompt"] == odd
    assert (
        gen(srv, path="/images/generations", model="z-image-turbo", prompt=odd).status_code == 200
    )
