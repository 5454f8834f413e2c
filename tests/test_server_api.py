"""The local server speaks Venice's protocol: documented usage works with only the base URL changed."""

from __future__ import annotations

import base64
import io
import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from venice_nb.server import LocalServer, catalogue

DATA = Path(__file__).resolve().parents[1] / "venice_nb" / "server" / "data"
AUTH = {"Authorization": "Bearer test-key"}
SMALL = {"width": 256, "height": 256}


def generate(server: LocalServer, **body: object) -> requests.Response:
    body.setdefault("model", "z-image-turbo")
    body.setdefault("prompt", "a gondola at dusk")
    return requests.post(f"{server.base_url}/image/generate", json=body, headers=AUTH, timeout=30)


def decode(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64, validate=True)))


# --- documented usage, unchanged but for the base URL -------------------------------------------


def test_documented_json_script_runs_unchanged(local_server: LocalServer, tmp_path) -> None:
    script = textwrap.dedent(f"""
        import base64, requests
        url = "{local_server.base_url}/image/generate"
        headers = {{"Authorization": "Bearer YOUR_API_KEY", "Content-Type": "application/json"}}
        payload = {{"model": "z-image-turbo", "prompt": "A beautiful sunset over a mountain range",
                    "width": 512, "height": 512, "format": "png"}}
        response = requests.post(url, json=payload, headers=headers)
        response.raise_for_status()
        data = response.json()
        with open("out.png", "wb") as fh:
            fh.write(base64.b64decode(data["images"][0]))
        print(data["id"])
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("generate-image-")
    assert (tmp_path / "out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_documented_binary_call_writes_png(local_server: LocalServer, tmp_path) -> None:
    r = requests.post(
        f"{local_server.base_url}/image/generate",
        headers=AUTH,
        json={
            "model": "z-image-turbo",
            "prompt": "A red fox in snow",
            "return_binary": True,
            "format": "png",
            **SMALL,
        },
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "image/png"
    target = tmp_path / "fox.png"
    target.write_bytes(r.content)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(target).size == (256, 256)


# --- /image/generate -----------------------------------------------------------------------------


def test_generate_json_shape_and_echo(local_server: LocalServer) -> None:
    r = generate(local_server, seed=42, **SMALL)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert set(doc) == {"id", "images", "timing", "request"}
    assert doc["id"].startswith("generate-image-") and len(doc["id"]) > 20
    assert len(doc["images"]) == 1 and not doc["images"][0].startswith("data:")
    img = decode(doc["images"][0])
    assert img.format == "WEBP" and img.size == (256, 256)
    timing = doc["timing"]
    assert set(timing) == {
        "inferenceDuration",
        "inferencePreprocessingTime",
        "inferenceQueueTime",
        "total",
    }
    assert all(isinstance(v, (int, float)) and v >= 0 for v in timing.values())
    assert timing["total"] >= timing["inferenceDuration"]
    echo = doc["request"]
    assert echo["success"] is True
    data = echo["data"]
    assert data["seed"] == 42 and data["model"] == "z-image-turbo"
    assert data["width"] == 256 and "steps" not in data and "format" not in data  # as sent


def timed(server: LocalServer) -> tuple[dict, float]:
    started = time.perf_counter()
    doc = generate(server, **SMALL).json()
    return doc["timing"], (time.perf_counter() - started) * 1000


def test_timing_is_cumulative_by_default() -> None:
    """Live: total = queue + preprocessing, and preprocessing already contains inference."""
    with LocalServer(latency=0.08) as srv:
        srv.inject("stall", seconds=0.05)  # waits before the work starts: queue time
        t, wall = timed(srv)
    assert t["inferenceDuration"] >= 80 and t["inferenceQueueTime"] >= 50
    assert t["inferencePreprocessingTime"] >= t["inferenceDuration"]
    assert t["total"] == t["inferenceQueueTime"] + t["inferencePreprocessingTime"]
    assert (
        t["total"]
        < t["inferenceQueueTime"] + t["inferencePreprocessingTime"] + t["inferenceDuration"]
    )
    assert t["total"] <= wall + 1  # never more server time than the client waited


def test_timing_additive_switch() -> None:
    with LocalServer(latency=0.08, timing="additive") as srv:
        srv.inject("stall", seconds=0.05)
        t, wall = timed(srv)
        assert t["inferenceDuration"] >= 80 and t["inferenceQueueTime"] >= 50
        assert t["inferencePreprocessingTime"] < t["inferenceDuration"]
        parts = t["inferenceQueueTime"] + t["inferencePreprocessingTime"] + t["inferenceDuration"]
        assert t["total"] == parts and t["total"] <= wall + 1
        srv.timing = "cumulative"
        again, _ = timed(srv)
        assert again["total"] == again["inferenceQueueTime"] + again["inferencePreprocessingTime"]
    with pytest.raises(ValueError):
        LocalServer(timing="sum")


def test_omitted_seed_is_chosen_and_echoed(local_server: LocalServer) -> None:
    seeds = {generate(local_server, **SMALL).json()["request"]["data"]["seed"] for _ in range(3)}
    assert len(seeds) == 3
    assert all(isinstance(s, int) and -999_999_999 <= s <= 999_999_999 for s in seeds)


def test_headers_on_success(local_server: LocalServer) -> None:
    r = generate(local_server, **SMALL)
    h = r.headers
    assert h["x-venice-is-blurred"] == "false"
    assert h["x-venice-is-content-violation"] == "false"
    assert h["x-ratelimit-limit-requests"] == "1000"
    assert h["x-ratelimit-remaining-requests"] == "999"
    assert int(h["x-ratelimit-reset-requests"]) > 1_600_000_000_000  # Unix ms, as live
    assert h["x-venice-balance-usd"] == "100.00"
    assert h["x-venice-balance-diem"] == "0.00"
    assert h["x-venice-version"] and h["CF-RAY"] and h["x-venice-local-preview"] == "true"
    assert "x-venice-deprecated" not in h
    second = generate(local_server, **SMALL).headers
    assert second["x-venice-balance-usd"] == "99.99"  # balance before this request
    assert second["CF-RAY"] != h["CF-RAY"]


def test_balance_charged_per_image_and_price(local_server: LocalServer) -> None:
    generate(local_server, variants=3, **SMALL)
    assert local_server.balance_usd == pytest.approx(99.97)
    generate(local_server, model="gpt-image-2", quality="low", aspect_ratio="16:9")
    assert local_server.balance_usd == pytest.approx(99.95)
    generate(local_server, model="nano-banana-pro", resolution="2k")
    assert local_server.balance_usd == pytest.approx(99.72)


def test_variants_after_the_first_are_random(local_server: LocalServer) -> None:
    """Live: only the first image uses the seed; the others are drawn at random."""
    doc = generate(local_server, variants=3, seed=999_999_998, **SMALL).json()
    assert len(doc["images"]) == 3
    assert len(set(doc["images"])) == 3
    assert doc["request"]["data"]["seed"] == 999_999_998  # only the first seed is reported
    again = generate(local_server, variants=3, seed=999_999_998, **SMALL).json()
    assert again["images"][0] == doc["images"][0]
    assert not set(again["images"][1:]) & set(doc["images"][1:])
    single = generate(local_server, seed=999_999_998, **SMALL).json()
    assert single["images"][0] == doc["images"][0]


def test_binary_mode_formats(local_server: LocalServer) -> None:
    magic = {"png": b"\x89PNG", "jpeg": b"\xff\xd8\xff", "webp": b"RIFF"}
    for fmt, head in magic.items():
        r = generate(local_server, return_binary=True, format=fmt, width=320, height=200)
        assert r.status_code == 200
        assert r.headers["Content-Type"] == f"image/{fmt}"
        assert r.content.startswith(head)
        img = Image.open(io.BytesIO(r.content))
        assert img.size == (320, 200) and img.format == fmt.upper()
        assert r.headers["x-venice-is-blurred"] == "false"


def test_json_mode_formats_and_sizes(local_server: LocalServer) -> None:
    for fmt, (w, h) in {"png": (1280, 64), "jpeg": (8, 8), "webp": (1024, 1024)}.items():
        doc = generate(local_server, format=fmt, width=w, height=h).json()
        img = decode(doc["images"][0])
        assert img.format == fmt.upper() and img.size == (w, h)


@pytest.mark.parametrize(
    ("model", "extra", "size"),
    [
        ("qwen-image-2", {}, (1024, 1024)),
        ("qwen-image-2", {"aspect_ratio": "16:9", "width": 200}, (1024, 576)),
        ("qwen-image-2", {"aspect_ratio": "9:16"}, (576, 1024)),
        ("qwen-image-2", {"aspect_ratio": "7:3"}, (1024, 1024)),  # unknown ratio -> default
        (
            "gpt-image-2",
            {"aspect_ratio": "3:2", "resolution": "2K", "quality": "low"},
            (2048, 1360),
        ),
        ("nano-banana-2", {"aspect_ratio": "21:9", "resolution": "1k"}, (1024, 432)),
        ("venice-sd35", {"width": 640, "height": 384, "steps": 30}, (640, 384)),
    ],
)
def test_sizing_modes(local_server: LocalServer, model, extra, size) -> None:
    r = generate(local_server, model=model, return_binary=True, format="jpeg", **extra)
    assert r.status_code == 200, r.text
    assert Image.open(io.BytesIO(r.content)).size == size


def test_ratio_model_echo_is_what_was_sent_and_replays(local_server: LocalServer) -> None:
    """The echo holds the request as sent plus the seed used (0b.21); a client that replays it
    (venice-cli does) got a 400 on qwen-image-3 when the echo carried derived width/height."""
    sent = {"model": "gpt-image-2", "prompt": "echo", "aspect_ratio": "16:9", "resolution": "1k"}
    data = generate(local_server, **sent).json()["request"]["data"]
    assert isinstance(data.pop("seed"), int) and data == sent
    for model in ("qwen-image-3", "qwen-image-2"):
        first = generate(local_server, model=model, aspect_ratio="16:9").json()["request"]["data"]
        assert "width" not in first and "cfg_scale" not in first and "steps" not in first
        replay = requests.post(
            f"{local_server.base_url}/image/generate", json=first, headers=AUTH, timeout=30
        )
        assert replay.status_code == 200, replay.text
        assert replay.json()["request"]["data"]["seed"] == first["seed"]


def test_web_search_ignored_where_unsupported(local_server: LocalServer) -> None:
    assert generate(local_server, enable_web_search=True, **SMALL).status_code == 200
    assert (
        generate(
            local_server,
            model="nano-banana-2",
            enable_web_search=True,
            return_binary=True,
            format="jpeg",
        ).status_code
        == 200
    )


def test_moderation_triggers(local_server: LocalServer) -> None:
    blurred = generate(local_server, prompt="an NSFW scene", seed=1, **SMALL)
    assert blurred.headers["x-venice-is-blurred"] == "true"
    assert blurred.headers["x-venice-is-content-violation"] == "false"
    clear = generate(local_server, prompt="an NSFW scene", seed=1, safe_mode=False, **SMALL)
    assert clear.headers["x-venice-is-blurred"] == "false"
    assert blurred.json()["images"] != clear.json()["images"]

    # the blurred picture has much less detail than the sharp one
    def edges(resp: requests.Response) -> float:
        from PIL import ImageFilter, ImageStat

        img = decode(resp.json()["images"][0]).convert("L").crop((0, 0, 256, 150))
        return ImageStat.Stat(img.filter(ImageFilter.FIND_EDGES)).mean[0]

    assert edges(blurred) < edges(clear) / 2

    before = local_server.balance_usd
    bad = generate(local_server, prompt="please violation-test now", **SMALL)
    assert bad.status_code == 200
    assert bad.headers["x-venice-is-content-violation"] == "true"
    assert bad.headers["x-venice-is-blurred"] == "false"
    assert local_server.balance_usd == before  # not charged
    top = decode(bad.json()["images"][0]).convert("L").crop((0, 0, 256, 120))
    assert top.getextrema() == (0, 0)  # black placeholder
    binary = generate(local_server, prompt="violation-test", return_binary=True, format="webp")
    assert binary.headers["Content-Type"] == "image/png"  # placeholder is PNG, as on the real API
    assert binary.content.startswith(b"\x89PNG")


def test_deprecated_model_headers(local_server: LocalServer) -> None:
    r = generate(local_server, model="lustify-v7", **SMALL)
    assert r.status_code == 200
    assert r.headers["x-venice-deprecated"] == "true"
    assert r.headers["x-venice-deprecated-replacement"] == "z-image-turbo"
    assert r.headers["x-venice-model-deprecation-date"].startswith("20")
    assert "z-image-turbo" in r.headers["x-venice-model-deprecation-warning"]


def test_exif_metadata_embedded(local_server: LocalServer) -> None:
    for fmt in ("jpeg", "png", "webp"):
        r = generate(
            local_server,
            prompt="exif check prompt",
            embed_exif_metadata=True,
            return_binary=True,
            format=fmt,
            seed=7,
            width=64,
            height=64,
        )
        exif = Image.open(io.BytesIO(r.content)).getexif()
        assert exif.get(0x010E) == "exif check prompt"
        comment = exif.get_ifd(0x8769)[0x9286]
        assert json.loads(comment[8:])["seed"] == 7
    plain = generate(local_server, return_binary=True, format="jpeg", width=64, height=64)
    assert 0x010E not in Image.open(io.BytesIO(plain.content)).getexif()


def test_enhance_prompt_header(local_server: LocalServer) -> None:
    r = generate(local_server, enhance_prompt=True, **SMALL)
    assert "gondola" in requests.utils.unquote(r.headers["x-venice-enhanced-prompt"])


def test_gzip_when_asked(local_server: LocalServer) -> None:
    r = generate(local_server, **SMALL)  # requests asks for gzip by default
    assert r.headers.get("Content-Encoding") == "gzip"
    raw = requests.post(
        f"{local_server.base_url}/image/generate",
        headers={**AUTH, "Accept-Encoding": "identity"},
        json={"model": "z-image-turbo", "prompt": "x", **SMALL},
    )
    assert "Content-Encoding" not in raw.headers and raw.json()["images"]


# --- /images/generations (OpenAI-compatible) -----------------------------------------------------


def openai(server: LocalServer, **body: object) -> requests.Response:
    body.setdefault("prompt", "a lighthouse")
    body.setdefault("model", "z-image-turbo")
    return requests.post(
        f"{server.base_url}/images/generations", json=body, headers=AUTH, timeout=30
    )


def test_openai_b64_default_png(local_server: LocalServer) -> None:
    r = openai(local_server, size="256x256")
    assert r.status_code == 200
    doc = r.json()
    assert set(doc) == {"created", "data"} and isinstance(doc["created"], int)
    img = decode(doc["data"][0]["b64_json"])
    assert img.format == "PNG" and img.size == (256, 256)
    assert r.headers["x-venice-is-blurred"] == "false"
    assert r.headers["x-venice-balance-usd"] == "100.00"


def test_openai_url_mode_and_options(local_server: LocalServer) -> None:
    doc = openai(
        local_server,
        model="dall-e-3",
        size="512x512",
        response_format="url",
        output_format="jpeg",
        quality="hd",
        style="vivid",
        background="auto",
        output_compression=50,
        user="u1",
        n=1,
    ).json()
    url = doc["data"][0]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    assert decode(url.split(",", 1)[1]).size == (512, 512)


def test_openai_size_mapping(local_server: LocalServer) -> None:
    wide = decode(
        openai(local_server, size="1792x1024", output_format="jpeg").json()["data"][0]["b64_json"]
    )
    assert wide.size == (1280, 728)  # clamped to the 1280 px pixel-model cap, ratio kept
    ratio = decode(
        openai(local_server, model="qwen-image-2", size="1024x1792", output_format="jpeg").json()[
            "data"
        ][0]["b64_json"]
    )
    assert ratio.size == (1024, 1024)  # ratio models ignore size


def test_openai_moderation(local_server: LocalServer) -> None:
    assert (
        openai(local_server, prompt="nsfw", size="256x256").headers["x-venice-is-blurred"] == "true"
    )
    low = openai(local_server, prompt="nsfw", size="256x256", moderation="low")
    assert low.headers["x-venice-is-blurred"] == "false"


# --- discovery -----------------------------------------------------------------------------------


def test_styles_object_shape_without_auth(local_server: LocalServer) -> None:
    r = requests.get(f"{local_server.base_url}/image/styles")
    assert r.status_code == 200
    doc = r.json()
    assert doc["object"] == "list"
    assert 60 <= len(doc["data"]) <= 76
    assert {"3D Model", "Cinematic", "Tilt-Shift", "Pixel Art"} <= set(doc["data"])


def test_styles_list_shape_option() -> None:
    with LocalServer(styles_shape="list") as srv:
        body = requests.get(f"{srv.base_url}/image/styles").json()
    assert isinstance(body, list) and "Anime" in body


def test_models_image_and_default_text(local_server: LocalServer) -> None:
    doc = requests.get(f"{local_server.base_url}/models", params={"type": "image"}).json()
    assert doc["object"] == "list" and doc["type"] == "image"
    ids = [m["id"] for m in doc["data"]]
    snapshot = json.loads((DATA / "venice-models-2026-08-20.json").read_text())["data"]
    real = [r["id"] for r in snapshot if r["type"] == "image"]
    assert len(real) == 38
    assert ids == real  # the real rows, in order; the local edge cases only when asked for
    local_server.edge_models = True
    asked = requests.get(f"{local_server.base_url}/models", params={"type": "image"}).json()
    assert [m["id"] for m in asked["data"]] == [*real, "local-offline-model", "local-pro-model"]
    by_id = {m["id"]: m for m in doc["data"]}
    zit = by_id["z-image-turbo"]
    assert zit["object"] == "model" and zit["owned_by"] == "venice.ai" and zit["type"] == "image"
    spec = zit["model_spec"]
    assert spec["traits"] == ["default", "fastest"]
    assert spec["constraints"] == {
        "promptCharacterLimit": 7500,
        "steps": {"default": 8, "max": 8},
        "widthHeightDivisor": 8,
    }
    assert spec["model_sets"] == ["venice_recommendations"]  # the live row's flags (0b.18)
    assert spec["supportsWebSearch"] is False and spec["supportsStyleReferences"] is False
    assert spec["supportsOptimizePromptThinking"] is False
    assert by_id["krea-v2-large"]["model_spec"]["supportsStyleReferences"] is True
    assert by_id["krea-v2-large"]["model_spec"]["supportsStyleReferenceStrength"] is True
    assert by_id["luma-uni-1"]["model_spec"]["supportsStyleReferenceStrength"] is False
    assert by_id["nano-banana-pro"]["model_spec"]["supportsWebSearch"] is True
    assert spec["pricing"]["generation"] == {"usd": 0.01, "diem": 0.01}
    assert all("upscale" in m["model_spec"]["pricing"] for m in doc["data"])
    gpt = by_id["gpt-image-2"]["model_spec"]
    assert gpt["pricing"]["quality"]["2K"]["medium"] == {"usd": 0.13, "diem": 0.13}
    assert gpt["constraints"]["aspectRatios"][:3] == ["1:1", "3:2", "16:9"]
    assert gpt["constraints"]["qualities"] == ["low", "medium", "high"]
    assert by_id["lustify-v7"]["model_spec"]["deprecation"]["replacementModelId"] == "z-image-turbo"
    assert not any(k.startswith("_") for m in doc["data"] for k in m)

    text = requests.get(f"{local_server.base_url}/models").json()
    assert text == {"object": "list", "type": "text", "data": []}


def test_models_traits(local_server: LocalServer) -> None:
    doc = requests.get(f"{local_server.base_url}/models/traits?type=image").json()
    assert doc["data"]["default"] == "z-image-turbo"


def test_catalogue_prices() -> None:
    gpt = catalogue.get_model("gpt-image-2")
    assert gpt is not None
    assert gpt.price("4K", "high") == (0.83, 0.83)
    assert gpt.price(None, None) == (0.26, 0.26)
    pro = catalogue.get_model("nano-banana-pro")
    assert pro is not None and pro.price("2K", None) == (0.23, 0.23)


# --- HTTP behaviour ------------------------------------------------------------------------------


def test_keep_alive_reuses_one_connection(local_server: LocalServer) -> None:
    host, port = "127.0.0.1", local_server.port
    body = json.dumps(
        {"model": "z-image-turbo", "prompt": "k", "width": 64, "height": 64, "return_binary": True}
    ).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        f = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(
                b"POST /api/v1/image/generate HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer k\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            status = f.readline()
            assert status.startswith(b"HTTP/1.1 200")
            headers = {}
            while (line := f.readline()) not in (b"\r\n", b""):
                k, v = line.decode().split(":", 1)
                headers[k.strip().lower()] = v.strip()
            assert "close" not in headers.get("connection", "")
            assert f.read(int(headers["content-length"]))[:4] == b"RIFF"
    assert local_server.generate_count == 3


def test_counters_and_received_records(local_server: LocalServer) -> None:
    generate(local_server, **SMALL)
    requests.get(f"{local_server.base_url}/image/styles")
    assert local_server.request_count == 2 and local_server.generate_count == 1
    rec = local_server.received[0]
    assert rec.method == "POST" and rec.path == "/api/v1/image/generate"
    assert rec.body["prompt"] == "a gondola at dusk" and rec["has_auth"] is True
    assert "test-key" not in repr(local_server.received)
    local_server.reset_counters()
    assert (local_server.request_count, local_server.generate_count, local_server.received) == (
        0,
        0,
        [],
    )


def test_unknown_route_and_method(local_server: LocalServer) -> None:
    r = requests.get(f"{local_server.base_url}/nope")
    assert r.status_code == 404 and "error" in r.json()
    r = requests.get(f"{local_server.base_url}/image/generate")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"


def test_stop_is_idempotent_and_closes_port() -> None:
    srv = LocalServer().start()
    port = srv.port
    assert srv.base_url == f"http://127.0.0.1:{port}/api/v1"
    srv.stop()
    srv.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/api/v1/image/styles", timeout=2)


def test_shared_server_is_one_instance() -> None:
    from venice_nb.server import shared_server

    a = shared_server()
    assert a is shared_server() and a.running
    r = requests.post(
        f"{a.base_url}/image/generate",
        headers={"Authorization": "Bearer any"},
        json={"model": "z-image-turbo", "prompt": "shared", **SMALL},
    )
    assert r.status_code == 200


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_official_openai_sdk_works_with_only_base_url_changed(local_server: LocalServer) -> None:
    openai_sdk = pytest.importorskip("openai")
    client = openai_sdk.OpenAI(base_url=local_server.base_url, api_key="any-key", max_retries=0)
    result = client.images.generate(
        model="dall-e-3", prompt="a fox", size="256x256", response_format="b64_json"
    )
    assert decode(result.data[0].b64_json).size == (256, 256)
    with LocalServer(api_keys={"right"}) as strict, pytest.raises(openai_sdk.AuthenticationError):
        openai_sdk.OpenAI(base_url=strict.base_url, api_key="wrong", max_retries=0).images.generate(
            prompt="x"
        )
