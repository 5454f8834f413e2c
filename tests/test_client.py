"""VeniceClient against the local preview server over real HTTP: every endpoint, both modes."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from io import BytesIO

import pytest
from factories import encode
from fault_server import FaultServer, Reply
from PIL import Image

from venice_nb import errors as E
from venice_nb.client import VeniceClient, resolve_base_url
from venice_nb.operations.generate import GenerateRequest
from venice_nb.operations.openai import OpenAIImageRequest
from venice_nb.ratelimit import RetryPolicy
from venice_nb.server import LocalServer

KEY = "sk-test-key-0123456789"


def client_for(server: LocalServer | FaultServer, **kw: object) -> VeniceClient:
    kw.setdefault("read_timeout", 10)
    return VeniceClient(KEY, base_url=server.base_url, **kw)  # type: ignore[arg-type]


def req(**kw: object) -> GenerateRequest:
    return GenerateRequest(**{"model": "z-image-turbo", "prompt": "a gondola at dusk", **kw})  # type: ignore[arg-type]


@pytest.fixture
def client(local_server: LocalServer) -> Iterator[VeniceClient]:
    with client_for(local_server) as c:
        yield c


def pil(data: bytes) -> Image.Image:
    im = Image.open(BytesIO(data))
    im.load()
    return im


# ---- /image/generate ------------------------------------------------------------------------------


@pytest.mark.parametrize("variants", [1, 2, 4])
def test_generate_json_variants(
    client: VeniceClient, local_server: LocalServer, variants: int
) -> None:
    result = client.generate(req(width=256, height=192, variants=variants, format="png"))
    assert len(result.images) == variants
    for i, image in enumerate(result.images):
        assert image.format == "png" and image.index == i
        assert pil(image.data).size == (256, 192)
    assert result.id and result.id.startswith("generate-image-")
    assert result.backend == "local preview" and result.is_local_preview
    assert result.route == "generate" and result.retries == 0
    assert local_server.generate_count == 1


def test_generate_binary(client: VeniceClient) -> None:
    result = client.generate(req(width=320, height=240, format="jpeg", return_binary=True, seed=5))
    [image] = result.images
    assert image.format == "jpeg" and image.mime == "image/jpeg"
    assert pil(image.data).size == (320, 240)
    assert result.id is None and result.seed == 5
    assert result.timing.wall_ms > 0 and result.timing.inference_ms is None


@pytest.mark.parametrize("fmt", ["webp", "png", "jpeg"])
def test_format_comes_from_the_bytes(client: VeniceClient, fmt: str) -> None:
    result = client.generate(req(width=64, height=64, format=fmt))
    assert result.image.format == fmt and pil(result.image.data).format == fmt.upper()


def test_timing_seed_and_headers(client: VeniceClient, local_server: LocalServer) -> None:
    local_server.latency = 0.05
    result = client.generate(req(width=128, height=128))
    t = result.timing
    assert t.inference_ms is not None and t.queue_ms is not None and t.total_ms is not None
    assert t.wall_ms >= 50 and t.wall_ms >= t.server_ms
    assert t.shape == "cumulative" and t.server_ms == t.total_ms  # the live shape, read as such
    echoed = local_server.received[-1].body
    assert "seed" not in echoed  # we did not send one...
    assert isinstance(result.seed, int) and result.image.seed == result.seed  # ...but learnt it
    assert result.rate_limit.limit == 1000 and result.rate_limit.remaining == 999
    assert 0 < result.rate_limit.reset_in_s <= 61  # epoch ms, rounded up  # type: ignore[operator]
    assert result.balance_usd == pytest.approx(100.0)
    assert result.request_id and result.request_id.endswith("-LCL")
    again = client.generate(req(width=128, height=128, seed=result.seed))
    assert again.image.data == result.image.data  # the echoed seed reproduces the image
    assert again.balance_usd == pytest.approx(99.99)


def test_seed_applies_to_the_first_variant_only(client: VeniceClient) -> None:
    result = client.generate(req(width=64, height=64, variants=2, seed=11))
    assert result.seed == 11 and [im.seed for im in result.images] == [11, None]


def test_moderation_flags(client: VeniceClient) -> None:
    blurred = client.generate(req(prompt="an nsfw scene", width=64, height=64))
    assert blurred.blurred and blurred.image.blurred and not blurred.content_violation
    blocked = client.generate(req(prompt="violation-test please", width=64, height=64))
    assert blocked.content_violation and blocked.image.content_violation
    assert blocked.cost_usd == 0.0
    binary = client.generate(req(prompt="violation-test", return_binary=True, format="webp"))
    assert binary.content_violation and binary.image.format == "png"  # placeholder is a PNG
    clean = client.generate(req(prompt="an nsfw scene", safe_mode=False, width=64, height=64))
    assert not clean.blurred


def test_deprecation_warning(client: VeniceClient) -> None:
    result = client.generate(req(model="lustify-v7", width=64, height=64))
    assert result.deprecation and "lustify-v7" in result.deprecation
    assert "z-image-turbo" in result.deprecation
    assert client.generate(req(width=64, height=64)).deprecation is None


def test_enhanced_prompt_is_decoded(client: VeniceClient) -> None:
    result = client.generate(req(prompt="café «x»", enhance_prompt=True, width=64, height=64))
    assert result.enhanced_prompt and result.enhanced_prompt.startswith("café «x»")


def test_estimated_cost_per_sizing_mode(client: VeniceClient) -> None:
    assert client.generate(req(width=64, height=64)).cost_usd is None  # catalogue not loaded
    client.models()
    cases = [
        (req(width=64, height=64, variants=3), 0.03),
        (req(model="qwen-image-2", aspect_ratio="16:9"), 0.05),
        (req(model="nano-banana-pro", resolution="2k"), 0.23),
        (req(model="gpt-image-2", resolution="1K", quality="low"), 0.02),
        (req(model="gpt-image-2"), 0.26),
    ]
    for request, cost in cases:
        assert client.generate(request).cost_usd == pytest.approx(cost), request


def test_resolution_case_is_sent_as_the_model_spells_it(
    client: VeniceClient, local_server: LocalServer
) -> None:
    client.models()
    result = client.generate(req(model="nano-banana-2", resolution="2k", aspect_ratio="1:1"))
    assert local_server.received[-1].body["resolution"] == "2K"
    assert pil(result.image.data).size == (2048, 2048)


# ---- /images/generations ------------------------------------------------------------------------


@pytest.mark.parametrize("response_format", [None, "b64_json", "url"])
def test_generate_openai(
    client: VeniceClient, local_server: LocalServer, response_format: str | None
) -> None:
    request = OpenAIImageRequest(
        prompt="a lagoon", model="z-image-turbo", size="512x512", output_format="webp",
        response_format=response_format,
    )  # fmt: skip
    result = client.generate_openai(request)
    assert result.route == "openai" and result.image.format == "webp"
    assert pil(result.image.data).size == (512, 512)
    assert result.id is None and result.backend == "local preview"
    assert local_server.received[-1].path.endswith("/images/generations")


def test_generate_openai_from_a_native_request(
    client: VeniceClient, local_server: LocalServer
) -> None:
    result = client.generate_openai(req(prompt="an nsfw lagoon", format="png"))
    assert result.image.format == "png" and result.blurred
    assert local_server.received[-1].body == {
        "prompt": "an nsfw lagoon",
        "model": "z-image-turbo",
        "output_format": "png",
    }


def test_openai_route_refuses_native_only_fields_before_sending(
    client: VeniceClient, local_server: LocalServer
) -> None:
    with pytest.raises(E.ValidationError, match="--openai cannot send --seed"):
        client.generate_openai(req(seed=3))
    assert local_server.request_count == 0


# ---- styles, models, validate ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["object", "list"])
def test_styles_in_both_shapes(shape: str) -> None:
    with LocalServer(styles_shape=shape) as server, client_for(server) as c:
        styles = c.styles()
        assert len(styles) > 50 and {"3D Model", "Anime", "Cinematic"} <= set(styles)
        assert c.styles() == styles and server.request_count == 1  # cached
        c.styles(refresh=True)
        assert server.request_count == 2


def test_models_are_typed_specs(client: VeniceClient, local_server: LocalServer) -> None:
    cat = client.models()
    assert {s.sizing for s in cat.values()} == {"pixels", "aspect_ratio", "resolution", "quality"}
    assert cat["z-image-turbo"].pricing.flat == pytest.approx(0.01)
    assert cat["nano-banana-2"].pricing.by_resolution == {"1K": 0.1, "2K": 0.14, "4K": 0.19}
    assert cat["gpt-image-2"].pricing.by_quality["4K"]["high"] == pytest.approx(0.83)
    assert cat["z-image-turbo"].traits == ("default", "fastest")
    assert (
        cat["lustify-v7"].deprecation
        and cat["lustify-v7"].deprecation.replacement == "z-image-turbo"
    )
    assert cat.default_id == "z-image-turbo"
    assert local_server.received[-1].query == {"type": "image"}
    assert client.models() is cat and local_server.request_count == 1


def test_styles_and_models_need_no_key(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VENICE_API_KEY", raising=False)
    with VeniceClient(base_url=local_server.base_url) as c:
        assert c.styles() and len(c.models()) == 38  # the real image rows, no edge cases
    assert not any(r.has_auth for r in local_server.received)


def test_validate_against_the_live_catalogue(
    client: VeniceClient, local_server: LocalServer
) -> None:
    review = client.review(req(model="qwen-image2"))  # unknown even after one refetch: a note
    assert (
        "did you mean 'qwen-image-2'" in review.warnings[0]
        and review.request.model == "qwen-image2"
    )
    with pytest.raises(E.ValidationError, match="did you mean 'Anime'"):
        client.validate(req(style_preset="anime"))
    checked = client.validate(req(model="gpt-image-2", resolution="4k", style_preset="Anime"))
    assert checked.resolution == "4K"
    assert local_server.generate_count == 0


def test_generate_sends_the_validated_request_as_is(
    client: VeniceClient, local_server: LocalServer
) -> None:
    """client.generate(client.validate(req)) is the Python API's validate-once path."""
    checked = client.validate(req(model="nano-banana-pro", resolution="2k"))
    assert checked.validated == "generate" and checked.resolution == "2K"
    result = client.generate(checked)
    assert result.request is checked and local_server.received[-1].body["resolution"] == "2K"
    unchecked = client.generate(req(model="nano-banana-pro", resolution="2k"))  # still checked
    assert unchecked.request.resolution == "2K" and unchecked.request is not checked


# ---- key handling -----------------------------------------------------------------------------------


def test_key_is_read_from_the_environment_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalServer(api_keys=["sk-env-key-1", "sk-env-key-2"]) as server:
        monkeypatch.delenv("VENICE_API_KEY", raising=False)
        c = VeniceClient(base_url=server.base_url, read_timeout=10)
        assert not c.has_key and c.masked_key == "<not set>"
        with pytest.raises(E.ConfigurationError, match="no Venice API key"):
            c.generate(req(width=64, height=64))
        assert server.request_count == 0  # refused before any request
        monkeypatch.setenv("VENICE_API_KEY", "sk-env-key-1")
        assert c.generate(req(width=64, height=64)).images
        monkeypatch.setenv("VENICE_API_KEY", "sk-wrong-key-9")
        with pytest.raises(E.AuthenticationError):
            c.generate(req(width=64, height=64))
        monkeypatch.setenv("VENICE_API_KEY", "sk-env-key-2")
        assert c.generate(req(width=64, height=64)).images
        explicit = VeniceClient("sk-env-key-1", base_url=server.base_url)
        monkeypatch.setenv("VENICE_API_KEY", "sk-wrong-key-9")
        assert explicit.generate(req(width=64, height=64)).images  # explicit wins
        explicit.set_key(None)
        with pytest.raises(E.AuthenticationError):
            explicit.generate(req(width=64, height=64))


def test_missing_key_is_refused_before_any_request_on_every_route(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VENICE_API_KEY", raising=False)
    c = VeniceClient(base_url=local_server.base_url)
    for call in (lambda: c.generate(req()), lambda: c.generate_openai(req())):
        with pytest.raises(E.ConfigurationError) as info:
            call()
        assert "VENICE_API_KEY" in info.value.one_line()
    assert local_server.request_count == 0


def test_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENICE_BASE_URL", "http://127.0.0.1:9/api/v1/")
    assert resolve_base_url() == "http://127.0.0.1:9/api/v1"
    assert resolve_base_url("https://x.test/api/v1") == "https://x.test/api/v1"
    monkeypatch.delenv("VENICE_BASE_URL")
    assert resolve_base_url() == "https://api.venice.ai/api/v1"
    with pytest.raises(E.ConfigurationError, match="http:// or https://"):
        resolve_base_url("ftp://x")
    with pytest.raises(E.ConfigurationError):
        VeniceClient(read_timeout=0)


# ---- errors from the local server -------------------------------------------------------------------


def test_server_side_errors_map_to_their_classes(local_server: LocalServer) -> None:
    c = client_for(local_server)
    with pytest.raises(E.BadRequestError) as bad:
        c.generate(req(style_preset="Not A Style"))
    assert "style_preset" in bad.value.field_errors and "style_preset" in bad.value.one_line()
    with pytest.raises(E.BadRequestError) as res:
        c.generate(req(model="nano-banana-2", resolution="8K"))
    assert "resolution" in res.value.field_errors
    with pytest.raises(E.NotFoundError) as nf:
        c.generate(req(model="qwen-image2"))
    assert nf.value.model == "qwen-image2" and "qwen-image2" in nf.value.one_line()
    assert local_server.generate_count == 3  # one request each: none retried


def test_401_and_402(monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalServer(api_keys=["sk-only-this-one"], balance_usd=0.0) as server:
        with pytest.raises(E.AuthenticationError) as auth:
            client_for(server).generate(req(width=64, height=64))
        assert "VENICE_API_KEY" in auth.value.one_line() and auth.value.status == 401
        with pytest.raises(E.InsufficientBalanceError) as broke:
            VeniceClient("sk-only-this-one", base_url=server.base_url).generate(req())
        assert broke.value.status == 402 and "balance" in broke.value.one_line().lower()
        assert server.generate_count == 2


def test_x402_discovery_without_auth_means_no_key() -> None:
    x402 = {"x402Version": 1, "error": "Payment required", "accepts": [{"scheme": "exact"}]}
    with FaultServer() as fs:
        fs.push(Reply(402, x402, headers={"PAYMENT-REQUIRED": "x402"}))
        with pytest.raises(E.AuthenticationError, match="no API key was sent"):
            client_for(fs).generate(req())
        assert fs.count == 1


# ---- wire details -----------------------------------------------------------------------------------


def test_request_is_strict_json_with_bearer_and_user_agent() -> None:
    body = {
        "id": "generate-image-1",
        "images": [base64.b64encode(encode("png", (8, 8))).decode()],
        "timing": {},
    }
    with FaultServer() as fs:
        fs.push(Reply(200, body))
        client_for(fs).generate(req(seed=1))
        [seen] = fs.seen
        assert seen.method == "POST" and seen.path == "/api/v1/image/generate"
        assert seen.headers["Authorization"] == f"Bearer {KEY}"
        assert seen.headers["Content-Type"] == "application/json"
        assert seen.headers["User-Agent"].startswith("venice-nb/")
        assert "gzip" in seen.headers["Accept-Encoding"]
        assert json.loads(seen.body) == {
            "model": "z-image-turbo",
            "prompt": "a gondola at dusk",
            "seed": 1,
        }


def test_connection_is_reused(local_server: LocalServer, client: VeniceClient) -> None:
    for _ in range(3):
        client.generate(req(width=64, height=64))
    client.styles()
    pool = next(iter(client._session.adapters["http://"].poolmanager.pools._container.values()))
    assert pool.num_connections == 1


def test_credentials_in_the_base_url_are_never_shown() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://user:proxy-s3cret@127.0.0.1:{port}/api/v1"
    c = VeniceClient(KEY, base_url=url, retry=RetryPolicy(max_retries=0))
    assert "proxy-s3cret" not in repr(c)
    with pytest.raises(E.APIConnectionError) as info:
        c.generate(req())
    assert (
        "proxy-s3cret" not in info.value.one_line() and f"127.0.0.1:{port}" in info.value.one_line()
    )
    with pytest.raises(E.ConfigurationError) as bad:
        resolve_base_url("ftp://u:proxy-s3cret@x")
    assert "proxy-s3cret" not in bad.value.one_line()


# ---- public entry points say what they expected (issue 13, class 9) ---------------------------


def test_a_plain_prompt_is_a_request_for_the_default_model(client, local_server):
    result = client.generate("a lighthouse at dusk")
    assert result.images and result.request.prompt == "a lighthouse at dusk"
    assert result.request.model == client.models().default_id
    checked = client.validate("a gondola")
    assert isinstance(checked, GenerateRequest) and checked.prompt == "a gondola"
    assert client.generate_openai("a harbour").images
    assert local_server.generate_count == 2


@pytest.mark.parametrize(
    "value, expect",
    [
        (42, "got int; build one with GenerateRequest(model="),
        (None, "got NoneType; build one with GenerateRequest(model="),
        ({"model": "z-image-turbo", "prompt": "p"}, "GenerateRequest(**fields)"),
        (["a prompt"], "got list"),
    ],
)
def test_anything_else_is_a_type_error_that_says_how_to_build_one(
    client, local_server, value, expect
):
    for call, name in (
        (client.generate, "VeniceClient.generate"),
        (client.validate, "VeniceClient.validate"),
        (client.generate_openai, "VeniceClient.generate_openai"),
    ):
        with pytest.raises(TypeError) as info:
            call(value)
        message = str(info.value)
        assert message.startswith(f"{name} expects a GenerateRequest"), message
        assert expect in message and "\n" not in message
    assert local_server.generate_count == 0


def test_a_base_url_that_is_not_the_api_root_says_so(local_server):
    """A 404 on GET /models means the base URL is wrong, not the model: the hint says what to
    paste instead of pointing at %venice models (which fails the same way)."""
    root = local_server.base_url.removesuffix("/api/v1")
    with VeniceClient(KEY, base_url=root) as wrong, pytest.raises(E.NotFoundError) as info:
        wrong.models()
    message = info.value.one_line()
    assert "has no /models: the base URL should be the API root" in message, message
    assert "%venice models" not in message
