"""The client against answers shaped like the live service's (venice-api.md §0), over real HTTP.

A purpose-built fault server on 127.0.0.1 plays the live answers the local preview server may not
give yet: the Pro-only 401, the offline 503, a retired model's 410 and a 404 naming its
replacement, a 422 for an oversize style reference, the error budget's 429 (``x-ratelimit-resets``
in Unix ms, no ``Retry-After``), the overloaded 429, the adult-model block, and the bodies the
client sent are checked where they matter.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator

import pytest
from fault_server import FaultServer, Reply
from magics_harness import texts

from venice_nb import errors as E
from venice_nb.client import VeniceClient
from venice_nb.operations.generate import GenerateRequest
from venice_nb.ratelimit import RetryPolicy

FAST = RetryPolicy(max_retries=4, backoff_factor=0.01, backoff_max_s=0.05, jitter_s=0.0)
REQ = GenerateRequest(model="z-image-turbo", prompt="a gondola", width=64, height=64)


@pytest.fixture
def fs() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def client(fs: FaultServer, policy: RetryPolicy = FAST) -> VeniceClient:
    return VeniceClient("sk-live-shape-key", base_url=fs.base_url, retry=policy, read_timeout=10)


def png_b64() -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (9, 8, 7)).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def ok(timing: dict | None = None, headers: dict | None = None) -> Reply:
    body = {"id": "generate-1", "images": [png_b64()], "timing": timing or {}}
    return Reply(200, body, headers=headers or {})


def posts(fs: FaultServer) -> list[dict]:
    return [json.loads(s.body) for s in fs.seen if s.method == "POST"]


# ---- errors explained by what they mean -------------------------------------------------------


def test_pro_only_401_is_not_a_bad_key(fs: FaultServer) -> None:
    fs.push(Reply(401, {"error": "This model is only available to Pro users"}))
    with pytest.raises(E.ModelAccessError) as info:
        client(fs).generate(REQ)
    line = info.value.one_line()
    assert "Pro" in line and "Your key works" in line and "%venice login" not in line
    assert not isinstance(info.value, E.AuthenticationError) and fs.count == 1


def test_a_plain_401_is_still_a_bad_key(fs: FaultServer) -> None:
    fs.push(Reply(401, {"error": "Authentication failed"}))
    with pytest.raises(E.AuthenticationError, match="%venice login"):
        client(fs).generate(REQ)


def test_422_on_generate_is_an_oversize_style_reference(fs: FaultServer) -> None:
    fs.push(Reply(422, {"error": "Unprocessable entity"}))
    with pytest.raises(E.StyleReferenceTooLargeError) as info:
        client(fs).generate(REQ)
    assert "7680x4320" in info.value.one_line() and "Rephrase" not in info.value.one_line()


def test_503_offline_is_not_retried_but_capacity_is(fs: FaultServer) -> None:
    fs.push(Reply(503, {"error": "The model is offline", "code": "MODEL_OFFLINE"}))
    with pytest.raises(E.ModelOfflineError, match="pick another model"):
        client(fs).generate(REQ)
    assert fs.count == 1
    fs.push(Reply(503, {"error": "The model is at capacity"}), ok())
    result = client(fs).generate(REQ)
    assert result.retries == 1 and fs.count == 3


def test_410_and_a_404_naming_a_replacement_are_a_retired_model(fs: FaultServer) -> None:
    fs.push(Reply(410, {"error": "This model has been retired"}))
    with pytest.raises(E.ModelRetiredError, match="retired"):
        client(fs).generate(REQ.with_(model="lustify-v6"))
    fs.push(
        Reply(404, {"error": "Model lustify-v6 was removed", "replacementModelId": "lustify-v8"})
    )
    with pytest.raises(E.ModelRetiredError) as info:
        client(fs).generate(REQ.with_(model="lustify-v6"))
    assert info.value.replacement == "lustify-v8" and "-m lustify-v8" in info.value.one_line()
    fs.push(Reply(404, {"error": "Specified model not found: nope-1"}))
    with pytest.raises(E.NotFoundError) as plain:
        client(fs).generate(REQ.with_(model="nope-1"))
    assert not isinstance(plain.value, E.ModelRetiredError)


def test_adult_model_violation_is_a_block(fs: FaultServer) -> None:
    fs.push(ok(headers={"x-venice-is-adult-model-content-violation": "true"}))
    result = client(fs).generate(REQ)
    assert result.content_violation and result.images[0].content_violation
    assert result.cost_usd == 0.0


# ---- the error budget -------------------------------------------------------------------------


def budget_429(in_s: float) -> Reply:
    resets = int((time.time() + in_s) * 1000)
    return Reply(
        429,
        {"error": "Too many failed attempts (> 50). Please wait 30 seconds"},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-resets": str(resets)},
    )


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_error_budget_429_waits_for_its_reset_then_tries_once(fs: FaultServer) -> None:
    fs.push(budget_429(1.5), ok())
    started = time.monotonic()
    result = client(fs).generate(REQ)
    waited = fs.seen[1].time - fs.seen[0].time
    assert result.retries == 1 and fs.count == 2  # not four quick retries burning the budget
    assert waited >= 1.3 and time.monotonic() - started >= 1.3


def test_error_budget_far_away_stops_at_once_saying_when(fs: FaultServer) -> None:
    fs.push(budget_429(600))
    with pytest.raises(E.ErrorBudgetError) as info:
        client(fs).generate(REQ)
    assert fs.count == 1
    err = info.value
    assert err.resets_at is not None and abs(err.resets_at - (time.time() + 600)) < 5
    when = time.strftime("%H:%M:%S UTC", time.gmtime(err.resets_at))
    line = err.one_line()
    assert f"retry after {when}" in line and "concurrency" not in line


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_overloaded_429_waits_its_retry_after(fs: FaultServer) -> None:
    fs.push(
        Reply(429, {"error": "The model is currently overloaded"}, headers={"Retry-After": "1"}),
        ok(),
    )
    result = client(fs).generate(REQ)
    assert result.retries == 1 and fs.seen[1].time - fs.seen[0].time >= 0.95


# ---- timing: both shapes, never more server time than total or wall ---------------------------

LIVE = {"inferenceDuration": 6191, "inferencePreprocessingTime": 6208, "inferenceQueueTime": 631,
        "total": 6839}  # fmt: skip  # a 2025-07 live capture, 7.3 s wall
GUIDE = {"inferenceDuration": 1840, "inferencePreprocessingTime": 22, "inferenceQueueTime": 31,
         "total": 1893}  # fmt: skip  # the docs' (additive) example


def test_live_cumulative_timing_is_read_as_nested() -> None:
    from venice_nb.result import Timing

    t = Timing.from_api(LIVE, wall_ms=7300.0)
    assert t.shape == "cumulative"
    seg = dict(t.segments())
    assert seg["queue"] == 631 and seg["inference"] == 6191 and seg["preprocessing"] == 17
    assert t.server_ms == pytest.approx(6839) and seg["rest"] == pytest.approx(461)
    assert sum(seg.values()) == pytest.approx(7300)


def test_additive_timing_is_read_as_parts() -> None:
    from venice_nb.result import Timing

    t = Timing.from_api(GUIDE, wall_ms=2000.0)
    assert t.shape == "additive" and t.server_ms == pytest.approx(1893)
    assert dict(t.segments())["preprocessing"] == 22


def test_server_time_never_exceeds_the_wall_time() -> None:
    from venice_nb.result import Timing

    t = Timing.from_api(LIVE, wall_ms=5000.0)  # a clock that disagrees: the wall wins
    assert t.server_ms == pytest.approx(5000) and t.rest_ms == 0
    odd = Timing.from_api({**GUIDE, "total": 900}, wall_ms=2000.0)  # parts above total
    assert odd.server_ms == pytest.approx(900)


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_the_bar_shows_a_retry_wait_as_its_own_segment(fs: FaultServer) -> None:
    from venice_nb.display.html import result_html

    fs.push(
        Reply(503, {"error": "The model is at capacity"}, headers={"Retry-After": "1"}),
        ok(timing=LIVE),
    )
    result = client(fs).generate(REQ)
    t = result.timing
    assert t.retry_wait_ms >= 1000 and t.shape == "cumulative"
    seg = dict(t.segments())
    assert seg["retry"] == t.retry_wait_ms
    assert seg["rest"] == pytest.approx(max(0.0, t.wall_ms - t.retry_wait_ms - t.server_ms))
    assert t.server_ms <= t.wall_ms - t.retry_wait_ms + 1e-6  # the server took 6.8 s "inside" 1 s
    html = result_html(result)
    assert "waiting to retry" in html and "venice-nb-seg-retry" in html


# ---- the catalogue moves ------------------------------------------------------------------------

ROW = {"id": "z-image-turbo", "type": "image", "model_spec": {"name": "Z", "traits": ["default"],
       "constraints": {"promptCharacterLimit": 7500, "steps": {"default": 8, "max": 8},
                       "widthHeightDivisor": 8},
       "pricing": {"generation": {"usd": 0.01, "diem": 0.01}}}}  # fmt: skip
NEW = {**ROW, "id": "z-image-2", "model_spec": {**ROW["model_spec"], "traits": []}}


def models_reply(*rows: dict) -> Reply:
    return Reply(200, {"object": "list", "type": "image", "data": list(rows)})


def test_a_model_released_after_the_fetch_is_found_by_one_refetch(fs: FaultServer) -> None:
    c = client(fs)
    fs.push(models_reply(ROW))
    assert "z-image-2" not in c.models()
    fs.push(models_reply(ROW, NEW), ok())
    review = c.review(REQ.with_(model="z-image-2"))
    assert review.warnings == () and c.models()["z-image-2"].id == "z-image-2"
    c.generate(review.request)
    assert [s.method for s in fs.seen] == ["GET", "GET", "POST"]
    assert posts(fs)[-1]["model"] == "z-image-2"


def test_an_unknown_id_is_sent_with_one_warning_not_refused(fs: FaultServer) -> None:
    c = client(fs)
    fs.push(models_reply(ROW), models_reply(ROW), ok())  # a retired id the service remaps
    review = c.review(REQ.with_(model="z-image-turbo-v0"))
    (warning,) = review.warnings
    assert "'z-image-turbo-v0' is not in the model list" in warning and "sending it" in warning
    result = c.generate(review.request)
    assert result.images and posts(fs)[-1]["model"] == "z-image-turbo-v0"
    fs.push(ok())
    c.review(REQ.with_(model="z-image-turbo-v0"))  # refetched once only, not on every call
    assert [s.method for s in fs.seen].count("GET") == 2


def test_the_catalogue_is_refetched_after_its_ttl(fs: FaultServer) -> None:
    c = client(fs)
    fs.push(models_reply(ROW), models_reply(ROW, NEW))
    first = c.models()
    assert c.models() is first and fs.count == 1  # fresh: the cached copy
    c.catalogue_ttl_s = 0.0
    assert "z-image-2" in c.models() and fs.count == 2
    fs.push(Reply(503, {"error": "down"}))
    c.retry = RetryPolicy(max_retries=0)
    assert "z-image-2" in c.models()  # a failed refresh keeps the copy in hand


def test_a_404_for_an_unknown_id_suggests_the_listed_one(fs: FaultServer) -> None:
    c = client(fs)
    fs.push(models_reply(ROW), models_reply(ROW))
    review = c.review(REQ.with_(model="z-image-turob"))
    fs.push(Reply(404, {"error": "Specified model not found: z-image-turob"}))
    with pytest.raises(E.NotFoundError) as info:
        c.generate(review.request)
    assert "did you mean 'z-image-turbo'" in info.value.one_line()


# ---- money ----------------------------------------------------------------------------------------


def test_an_applied_rewrite_costs_four_cents_and_the_balance_is_shown_after(
    fs: FaultServer,
) -> None:
    from venice_nb.display.html import result_html

    c = client(fs)
    fs.push(models_reply(ROW))
    c.models()
    headers = {"x-venice-enhanced-prompt": "a%20better%20gondola", "x-venice-balance-usd": "5.00"}
    fs.push(ok(headers=headers))
    result = c.generate(REQ.with_(enhance_prompt=True))
    assert result.enhanced_prompt == "a better gondola"
    assert result.cost_usd == pytest.approx(0.01 + 0.04)
    assert result.balance_after() == (pytest.approx(4.95), "USD", True)
    assert "key can spend $4.95 after this request" in result_html(result)
    fs.push(ok(headers={"x-venice-balance-usd": "5.00"}))  # asked, but no rewrite applied
    assert c.generate(REQ.with_(enhance_prompt=True)).cost_usd == pytest.approx(0.01)


def test_a_diem_account_sees_diem(fs: FaultServer) -> None:
    from venice_nb.display.html import result_html

    c = client(fs)
    fs.push(models_reply(ROW))
    c.models()
    fs.push(ok(headers={"x-venice-balance-usd": "0", "x-venice-balance-diem": "12.5"}))
    result = c.generate(REQ)
    assert result.pays_in_diem and result.cost_diem == pytest.approx(0.01)
    html = result_html(result)
    assert "0.01 DIEM" in html and "key can spend 12.49 DIEM after this request" in html


# ---- the Python API against the local server: what is ignored is not sent ---------------------


def test_python_api_drops_ignored_fields_and_says_so(local_server) -> None:
    c = VeniceClient("sk-local", base_url=local_server.base_url, read_timeout=30)
    request = GenerateRequest(
        model="nano-banana-pro", prompt="a gondola", seed=7, steps=30, negative_prompt="blur"
    )
    review = c.review(request)
    assert set(review.ignored) == {"seed", "steps", "negative_prompt"}
    result = c.generate(request)
    body = local_server.received[-1].body
    assert body == {"model": "nano-banana-pro", "prompt": "a gondola"}
    assert len(result.warnings) == 3 and result.seed is None
    assert result.provenance()["seed"] is None


# ---- the local server in its live mode, through the magic -----------------------------------------


@pytest.fixture
def live_cell(ip, server):
    from magics_harness import restored_traits, run, warm

    server.latency = 0.0
    server.edge_models = True  # the Pro/beta and offline rows
    with restored_traits(ip):
        warm(ip, server)
        yield lambda source: run(ip, source)
    server.clear_faults()
    server.edge_models = False


@pytest.mark.parametrize(
    ("model", "error", "words"),
    [
        ("local-pro-model", "ModelAccessError", "Your key works"),
        ("local-offline-model", "ModelOfflineError", "offline"),
        ("hidream", "ModelRetiredError", "-m qwen-image-2"),
        ("fluently-xl", "ModelRetiredError", "retired"),
    ],
)
def test_live_errors_reach_the_cell_explained(live_cell, server, model, error, words) -> None:
    from venice_nb.run import VeniceRunError

    before = server.generate_count
    outcome, _ = live_cell(f"%%venice -m {model}\na fox")
    assert isinstance(outcome.error_in_exec, VeniceRunError)
    line = str(outcome.error_in_exec)
    assert words in line and "%venice login" not in line
    assert server.generate_count - before == 1  # explained, not retried
    c = VeniceClient("sk-local", base_url=server.base_url, read_timeout=30)
    with pytest.raises(getattr(E, error)):  # the class behind the line
        c.generate(REQ.with_(model=model))


def test_a_remapped_retired_id_is_sent_and_answered(live_cell, server) -> None:
    outcome, cap = live_cell("%%venice -m flux-dev -o remapped\na fox")
    assert any("not in the model list" in t for t in texts(cap))  # sent with a note
    assert outcome.error_in_exec is None
    assert server.received[-1].body["model"] == "flux-dev"


@pytest.mark.parametrize("shape", ["cumulative", "additive"])
def test_both_timing_shapes_from_the_local_server(shape: str) -> None:
    from venice_nb.server import LocalServer

    with LocalServer(timing=shape) as srv:
        c = VeniceClient("sk-local", base_url=srv.base_url, read_timeout=30)
        t = c.generate(REQ).timing
    assert t.shape == shape and t.total_ms is not None
    assert t.server_ms <= t.total_ms + 1e-6 and t.server_ms <= t.wall_ms + 1e-6
    assert sum(ms for _, ms in t.segments()) <= t.wall_ms + 1e-6


def test_python_api_sweep_over_an_ignored_field_is_refused_before_sending(local_server) -> None:
    from venice_nb.session import VeniceSession
    from venice_nb.settings import Settings
    from venice_nb.sweep import Job, run_sweep

    session = VeniceSession(Settings(backend="venice", base_url=local_server.base_url))
    session.login("sk-local")
    base = GenerateRequest(model="nano-banana-pro", prompt="a fox")
    jobs = [Job(base.with_(seed=s), {"seed": s}) for s in (1, 2, 3)]
    with pytest.raises(E.ValidationError, match="cannot sweep --seed: nano-banana-pro ignores"):
        run_sweep(session, jobs, cols="seed")
    assert local_server.generate_count == 0
    steps = [Job(base.with_(model="venice-sd35", steps=s), {"steps": s}) for s in (10, 20)]
    sweep = run_sweep(session, steps, cols="steps")
    sent = [r.body["steps"] for r in local_server.received if r.path.endswith("/image/generate")]
    assert sorted(sent) == [10, 20] and len(sweep.results) == 2


def test_models_refresh_fetches_the_list_now(live_cell, server) -> None:
    def fetches() -> int:
        return sum(1 for r in server.received if r.path.endswith("/models"))

    before = fetches()
    live_cell("%venice models")
    assert fetches() == before  # the cached copy is fresh
    outcome, _ = live_cell("%venice models --refresh")
    assert outcome.error_in_exec is None and fetches() == before + 1
    outcome, _ = live_cell("%venice models --type edit --refresh")
    assert outcome.error_in_exec is None
    assert server.received[-1].query.get("type") == "inpaint"
    outcome, _ = live_cell("%venice models --all")
    assert "--type edit|upscale|image" in str(outcome.error_in_exec)


def test_a_diem_account_on_the_local_server_is_shown_in_diem() -> None:
    from venice_nb.display.html import result_html
    from venice_nb.server import LocalServer

    with LocalServer(balance_usd=0.0, balance_diem=10.0) as srv:
        c = VeniceClient("sk-local", base_url=srv.base_url, read_timeout=30)
        c.models()
        result = c.generate(REQ)
    assert result.pays_in_diem and result.balance_diem == pytest.approx(10.0)
    assert "key can spend 9.99 DIEM after this request" in result_html(result)


def test_an_account_with_diem_and_usd_is_shown_the_diem_it_spends_first() -> None:
    """DIEM is spent before USD (§0b.19): the footer counts DIEM down, not the untouched USD."""
    from venice_nb.display.html import result_html
    from venice_nb.server import LocalServer

    with LocalServer(balance_usd=100.0, balance_diem=50.0) as srv:
        c = VeniceClient("sk-local", base_url=srv.base_url, read_timeout=30)
        c.models()
        first, second = c.generate(REQ.with_(seed=1)), c.generate(REQ.with_(seed=2))
    assert first.pays_in_diem and second.balance_usd == pytest.approx(100.0)  # USD untouched
    assert second.balance_diem == pytest.approx(50.0 - first.cost_diem)  # the server billed DIEM
    assert "DIEM after this request" in result_html(first)
    assert "$99" not in result_html(first)
