"""Issue 7 faults over real HTTP: bounded time, one clear error, nothing lost, no key anywhere.

Faults come from the local server's injection, or from ``fault_server.FaultServer`` for what it
cannot produce (a drip-fed body, a chunked body with no length, a gzip bomb, a short body, a
redirect). Every case runs with small timeouts so it ends by itself.
"""

from __future__ import annotations

import base64
import gc
import json
import logging
import pickle
import signal
import socket
import threading
import time
import traceback
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from factories import encode
from fault_server import FaultServer, Reply
from PIL import Image

from venice_nb import errors as E
from venice_nb.client import VeniceClient
from venice_nb.metadata import read_metadata
from venice_nb.operations.generate import GenerateRequest
from venice_nb.operations.openai import OpenAIImageRequest
from venice_nb.ratelimit import RetryPolicy
from venice_nb.server import LocalServer

FAST = RetryPolicy(max_retries=2, backoff_factor=0.01, backoff_max_s=0.02, jitter_s=0.0)
REQ = GenerateRequest(model="z-image-turbo", prompt="a gondola", width=64, height=64)
BIN = REQ.with_(return_binary=True, format="png")
OPENAI = OpenAIImageRequest(prompt="a gondola", model="z-image-turbo", size="256x256")
OPENAI_URL = OpenAIImageRequest(prompt="a gondola", size="256x256", response_format="url")


def make(server: LocalServer | FaultServer, **kw: object) -> VeniceClient:
    kw.setdefault("read_timeout", 1.0)
    kw.setdefault("retry", FAST)
    return VeniceClient("sk-fault-test-key-00", base_url=server.base_url, **kw)  # type: ignore[arg-type]


@pytest.fixture
def fs() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


# ---- time is bounded ------------------------------------------------------------------------------


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_stall_past_the_read_timeout_is_a_prompt_timeout(local_server: LocalServer) -> None:
    local_server.inject("stall", seconds=5)
    started = time.monotonic()
    with pytest.raises(E.APITimeoutError) as info:
        make(local_server).generate(REQ)
    assert time.monotonic() - started < 3  # ~1 s read timeout, not the 5 s stall, no retries
    assert local_server.generate_count == 1
    assert "within 1 s" in info.value.one_line() and "read_timeout" in info.value.one_line()


def test_a_slow_body_within_the_deadline_arrives_whole(local_server: LocalServer) -> None:
    local_server.inject("slow_body", seconds=0.4)
    result = make(local_server).generate(REQ.with_(format="png"))
    assert result.image.format == "png" and result.image.size == (64, 64)


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_a_body_trickling_past_the_deadline_is_a_timeout(local_server: LocalServer) -> None:
    local_server.inject("slow_body", seconds=4)  # 20 pieces, 0.2 s apart: no single read times out
    started = time.monotonic()
    with pytest.raises(E.APITimeoutError, match="still arriving after 1 s"):
        make(local_server).generate(BIN)
    assert time.monotonic() - started < 3.5
    assert local_server.generate_count == 1


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_a_byte_by_byte_drip_is_a_timeout(fs: FaultServer) -> None:
    fs.push(Reply(body=b'{"images": ["' + b"A" * 400 + b'"]}', drip_s=0.05, piece=4))
    started = time.monotonic()
    with pytest.raises(E.APITimeoutError):
        make(fs).generate(REQ)
    assert time.monotonic() - started < 3.5 and fs.count == 1


# ---- 200s that are not what they claim --------------------------------------------------------------


BAD_200 = [
    ("malformed", {}, REQ, "not valid JSON"),
    ("malformed", {"body": "[]"}, REQ, "not an object"),
    ("no_images", {}, REQ, "no 'images' list"),
    ("bad_base64", {"mode": "truncated"}, REQ, "not valid base64"),
    ("bad_base64", {"mode": "garbage"}, REQ, "not valid base64"),
    ("not_image", {}, REQ, "not a PNG, JPEG or WebP image"),
    ("not_image", {}, BIN, "not a PNG, JPEG or WebP image"),
    ("no_images", {}, OPENAI, "no 'data' list"),
    ("bad_base64", {"mode": "truncated"}, OPENAI, "not valid base64"),
    ("bad_base64", {"mode": "garbage"}, OPENAI_URL, "not valid base64"),
    ("not_image", {}, OPENAI_URL, "not a PNG, JPEG or WebP image"),
]


@pytest.mark.parametrize(("kind", "params", "request_", "text"), BAD_200)
def test_a_200_that_lies_is_one_clear_error_and_not_retried(
    local_server: LocalServer, kind: str, params: dict, request_: object, text: str
) -> None:
    local_server.inject(kind, **params)
    client = make(local_server)
    with pytest.raises(E.InvalidResponseError) as info:
        if isinstance(request_, OpenAIImageRequest):
            client.generate_openai(request_)
        else:
            client.generate(request_)  # type: ignore[arg-type]
    line = info.value.one_line()
    assert text in line and "\n" not in line and len(line) <= 400
    assert local_server.generate_count == 1  # a paid answer is never silently re-bought
    assert client.generate(REQ).images  # and the client is fine afterwards


@pytest.mark.parametrize(
    "request_", [REQ.with_(format="png"), BIN, OPENAI.__class__(prompt="p", output_format="png")]
)
def test_image_bytes_under_a_wrong_content_type_are_accepted(
    local_server: LocalServer, request_: object
) -> None:
    """Decision: bytes that sniff as an image are an image whatever the Content-Type says (the API
    itself sets the type from the bytes). Anything else under a wrong type is refused."""
    local_server.inject("wrong_content_type")
    client = make(local_server)
    if isinstance(request_, OpenAIImageRequest):
        result = client.generate_openai(request_)
    else:
        result = client.generate(request_)  # type: ignore[arg-type]
    assert result.image.format == "png" and result.image.to_pil().size[0] > 0


def test_truncated_image_bytes_in_valid_base64_are_refused(fs: FaultServer) -> None:
    whole = encode("png", (64, 64))
    cut = whole[: len(whole) // 2 // 3 * 3]  # base64 of this is valid, the PNG is not whole
    fs.push(Reply(body={"id": "x", "images": [base64.b64encode(cut).decode()], "timing": {}}))
    with pytest.raises(E.InvalidResponseError, match="no IEND chunk"):
        make(fs).generate(REQ)


def test_empty_200_and_redirects_are_clear(fs: FaultServer) -> None:
    fs.push(Reply(200, b"", content_type="application/json"))
    with pytest.raises(E.InvalidResponseError, match="0 bytes"):
        make(fs).generate(REQ)
    fs.push(Reply(302, b"", headers={"Location": "https://elsewhere.example/login"}))
    with pytest.raises(
        E.InvalidResponseError, match=r"redirecting to https://elsewhere\.example/login"
    ):
        make(fs).generate(REQ)
    assert fs.count == 2


def test_html_502_from_a_proxy_is_a_server_error_not_a_json_traceback(
    local_server: LocalServer,
) -> None:
    local_server.inject("html502", count=5)
    with pytest.raises(E.ServerError) as info:
        make(local_server).generate(REQ)
    assert info.value.status == 502 and info.value.body is None
    assert "HTML page titled '502 Bad Gateway'" in info.value.one_line()
    assert (
        "Traceback" not in info.value.one_line() and "JSONDecodeError" not in info.value.one_line()
    )


def test_a_body_cut_short_is_a_dropped_connection(fs: FaultServer) -> None:
    fs.push(*[Reply(body=b'{"images": ["QUJD"]}', content_length=5000)] * 3)
    with pytest.raises(E.APIConnectionError, match="failed or was dropped"):
        make(fs).generate(REQ)
    assert fs.count == 3  # retried like a drop, up to the bound


# ---- size bounds ----------------------------------------------------------------------------------------

LIMIT = 5 * 1024 * 1024


def _peak_during(call) -> tuple[BaseException | None, int]:
    gc.collect()
    tracemalloc.start()
    error = None
    try:
        call()
    except BaseException as exc:
        error = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return error, peak


@pytest.mark.parametrize("request_", [REQ, BIN])
def test_a_huge_announced_body_is_refused_before_reading(
    local_server: LocalServer, request_
) -> None:
    local_server.inject("huge_body", size=300 * 1024 * 1024)
    client = make(local_server, max_response_bytes=LIMIT)
    error, peak = _peak_during(lambda: client.generate(request_))
    assert isinstance(error, E.InvalidResponseError)
    assert "announced a 314,572,800-byte response" in error.one_line()
    assert peak < LIMIT  # nothing of the body was read or preallocated
    assert local_server.generate_count == 1


def test_a_huge_streamed_body_is_cut_at_the_bound(fs: FaultServer) -> None:
    fs.push(Reply(endless=True))
    client = make(fs, max_response_bytes=LIMIT, read_timeout=5)
    error, peak = _peak_during(lambda: client.generate(REQ))
    assert isinstance(error, E.InvalidResponseError)
    assert "passed the 5,242,880-byte limit" in error.one_line()
    assert peak < 3 * LIMIT  # bounded by the limit, not by what the server would send


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_a_gzip_bomb_is_cut_at_the_bound(fs: FaultServer) -> None:
    fs.push(Reply(gzip_bomb=200 * 1024 * 1024))
    client = make(fs, max_response_bytes=LIMIT, read_timeout=5)
    error, peak = _peak_during(lambda: client.generate(REQ))
    assert isinstance(error, E.InvalidResponseError) and "byte limit" in error.one_line()
    assert peak < 3 * LIMIT


# ---- server-provided ids and saving -------------------------------------------------------------------


EVIL_IDS = ["../../etc/passwd", "/tmp/abs", "a/b/../../c", "nul\x00byte", "z" * 300, "..", "CON"]


@pytest.mark.parametrize("evil", EVIL_IDS)
def test_evil_ids_are_saved_inside_the_directory(
    local_server: LocalServer, tmp_path: Path, evil: str
) -> None:
    local_server.inject("evil_id", id=evil)
    result = make(local_server).generate(REQ.with_(format="jpeg", variants=2))
    assert result.id == evil  # kept as received...
    target = tmp_path / "saved"
    paths = result.save(target)
    for p in paths + [p.with_suffix(".json") for p in paths]:
        assert p.exists() and p.resolve().parent == target.resolve()  # ...but never a path
        assert "\x00" not in p.name and ".." not in p.name and len(p.name) < 100
    assert [p.name for p in tmp_path.iterdir()] == ["saved"]
    assert len(list(target.iterdir())) == 4


def test_saving_twice_never_overwrites_and_embeds_parameters(
    local_server: LocalServer, tmp_path: Path
) -> None:
    client = make(local_server)
    for fmt in ("png", "jpeg", "webp"):
        result = client.generate(REQ.with_(format=fmt, seed=9))
        first = result.save(tmp_path)
        second = result.save(tmp_path)
        assert first[0] != second[0] and first[0].read_bytes() == second[0].read_bytes()
        record = read_metadata(second[0].read_bytes())
        assert record is not None and record["request"]["seed"] == 9 and record["seed"] == 9
        with Image.open(second[0]) as saved:
            saved.load()
            assert saved.tobytes() == result.image.to_pil().tobytes()  # pixels untouched
    assert len(list(tmp_path.iterdir())) == 3 * 2 * 2
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]


def test_a_colliding_sidecar_name_is_skipped(local_server: LocalServer, tmp_path: Path) -> None:
    local_server.inject("evil_id", id="fixed-id")
    result = make(local_server).generate(REQ)
    (tmp_path / "fixed-id.json").write_text("someone else's")
    [path] = result.save(tmp_path)
    assert (
        path.name == "fixed-id-2.webp"
        and (tmp_path / "fixed-id.json").read_text() == "someone else's"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fixed-id-2.json",
        "fixed-id-2.webp",
        "fixed-id.json",
    ]


# ---- the key never leaks ----------------------------------------------------------------------------------


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # includes formatted exc_info, if any
        self.lines.append(repr(record.__dict__))


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_a_canary_key_appears_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    canary = f"sk-canary-{uuid.uuid4()}"
    handler = Collect()
    loggers = [logging.getLogger(), logging.getLogger("urllib3"), logging.getLogger("venice_nb")]
    old_levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    texts: list[str] = []
    blobs: list[bytes] = []
    errors: list[BaseException] = []
    try:
        with LocalServer(api_keys=[canary]) as server:
            monkeypatch.setenv("VENICE_API_KEY", canary)
            env_client = VeniceClient(base_url=server.base_url, read_timeout=1, retry=FAST)
            explicit = VeniceClient(canary, base_url=server.base_url, read_timeout=1, retry=FAST)
            for client in (env_client, explicit):
                texts += [repr(client), str(client), repr(vars(client)), client.masked_key]
                with pytest.raises(TypeError):
                    pickle.dumps(client)
                client.models()
                client.styles()
                result = client.generate(REQ.with_(format="png", seed=3))
                openai = client.generate_openai(OPENAI)
                for r in (result, openai):
                    texts += [
                        repr(r),
                        str(r),
                        repr(vars(r)),
                        json.dumps(r.provenance(), default=str),
                    ]
                    texts += [repr(im) for im in r.images]
                    blobs.append(pickle.dumps(r))
                    for p in r.save(tmp_path):
                        blobs += [p.read_bytes(), p.with_suffix(".json").read_bytes()]
                server.inject("500", count=5)
                server.inject("429", retry_after=0.01)
                server.inject("drop")
                server.inject("stall", seconds=3)
                for _ in range(3):
                    try:
                        client.generate(REQ)
                    except E.VeniceError as exc:
                        errors.append(exc)
            for bad in (
                VeniceClient(f"{canary}-wrong", base_url=server.base_url),  # 401
                VeniceClient("sk-nobody-1234567", base_url=server.base_url),  # 401
            ):
                with pytest.raises(E.AuthenticationError) as info:
                    bad.generate(REQ)
                errors.append(info.value)
        with LocalServer(api_keys=[canary], balance_usd=0) as poor:
            with pytest.raises(E.InsufficientBalanceError) as info:
                VeniceClient(canary, base_url=poor.base_url).generate(REQ)  # 402
            errors.append(info.value)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}/api/v1"
        with pytest.raises(E.APIConnectionError) as info:
            VeniceClient(canary, base_url=dead, retry=FAST).generate(REQ)
        errors.append(info.value)
    finally:
        for lg, level in zip(loggers, old_levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
    kinds = {type(e) for e in errors}
    assert {E.ServerError, E.APIConnectionError, E.APITimeoutError, E.AuthenticationError} <= kinds
    assert E.InsufficientBalanceError in kinds
    for err in errors:
        texts += [repr(err), str(err), err.one_line(), repr(vars(err))]
        texts += ["".join(traceback.format_exception(type(err), err, err.__traceback__))]
        texts += [repr(e) for e in _chain(err)]
        assert err.__cause__ is None and err.__context__ is None  # no requests exception chained
        blobs.append(pickle.dumps(err))
    out, errs = capfd.readouterr()
    texts += [out, errs, *handler.lines]
    assert any("urllib3" in line for line in handler.lines)  # the logs were really captured
    hits = [t for t in texts if canary in t] + [b for b in blobs if canary.encode() in b]
    assert hits == []
    saved = list(tmp_path.iterdir())
    assert len(saved) == 8 and not [p for p in saved if canary.encode() in p.read_bytes()]


def test_requests_own_connection_error_holds_the_url_not_the_headers() -> None:
    """Why our errors do not chain requests exceptions: their message is safe, the object is not."""
    canary = f"sk-canary-{uuid.uuid4()}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        requests.post(
            f"http://127.0.0.1:{port}/api/v1/image/generate",
            headers={"Authorization": f"Bearer {canary}"},
            timeout=2,
        )
    exc = info.value
    text = (
        str(exc)
        + repr(exc)
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    assert f"127.0.0.1', port={port}" in text or f"127.0.0.1:{port}" in text
    assert canary not in text
    assert canary in exc.request.headers["Authorization"]  # the object itself does hold it


def test_an_interrupt_mid_request_stops_promptly_and_its_frames_hide_the_key() -> None:
    """Ctrl-C while waiting for the server: the call stops at once, and what %xmode Verbose would
    print (the variables of every frame, requests/urllib3/http.client included) holds no key."""
    canary = f"sk-canary-{uuid.uuid4()}"
    with LocalServer(api_keys=[canary]) as server:
        server.inject("stall", seconds=5)
        client = VeniceClient(canary, base_url=server.base_url, read_timeout=10)
        main = threading.main_thread().ident
        timer = threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT))
        started = time.monotonic()
        timer.start()
        try:
            client.generate(REQ)
        except KeyboardInterrupt as exc:
            interrupted = exc
        else:  # pragma: no cover
            pytest.fail("the interrupt did not reach the call")
        finally:
            timer.cancel()
        assert time.monotonic() - started < 3
        texts = []
        tb = interrupted.__traceback__.tb_next  # from the client down (not this test's frame)
        frames = 0
        while tb is not None:
            frames += 1
            for name, value in tb.tb_frame.f_locals.items():
                texts.append(f"{name} = {value!r}")
                if hasattr(value, "__dict__"):
                    texts.append(repr(vars(value)))
            tb = tb.tb_next
        assert frames > 5 and any("Authorization" in t for t in texts)  # the headers were there
        assert [t for t in texts if canary in t] == []
        assert client.generate(REQ.with_(seed=1)).images  # the client still works afterwards
