"""The local server's toolbox routes over real HTTP: edit, multi-edit, upscale, background removal,
in JSON and multipart, with the live refusals and pictures that show what happened."""

from __future__ import annotations

import base64
import http.server
import io
import threading
import zlib
from collections.abc import Iterator

import pytest
import requests
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from venice_nb.server import LocalServer
from venice_nb.server.render import palette

AUTH = {"Authorization": "Bearer test-key"}
GREEN, RED, BLUE = (20, 200, 30), (200, 20, 20), (30, 30, 220)


def picture(size: tuple[int, int] = (320, 240), colour=GREEN, disc=RED, fmt="PNG") -> bytes:
    """A flat background with a contrasting disc in the middle (and some edges to sharpen)."""
    img = Image.new("RGB", size, colour)
    w, h = size
    draw = ImageDraw.Draw(img)
    draw.ellipse((w * 0.3, h * 0.25, w * 0.7, h * 0.75), fill=disc)
    for x in range(int(w * 0.35), int(w * 0.65), 8):
        draw.line((x, h * 0.4, x, h * 0.6), fill=(255, 255, 255), width=2)
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


PNG = picture()
B64 = base64.b64encode(PNG).decode()


@pytest.fixture(scope="module")
def srv() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


def post(server: LocalServer, path: str, body: object = None, **kw: object) -> requests.Response:
    kw.setdefault("headers", AUTH)
    return requests.post(f"{server.base_url}{path}", json=body, timeout=60, **kw)  # type: ignore[arg-type]


def form(server: LocalServer, path: str, files: object, data: object = None) -> requests.Response:
    return requests.post(
        f"{server.base_url}{path}", files=files, data=data, headers=AUTH, timeout=60
    )


def image_of(r: requests.Response) -> Image.Image:
    assert r.status_code == 200, r.text
    img = Image.open(io.BytesIO(r.content))
    assert r.headers["Content-Type"] == f"image/{img.format.lower()}"
    return img


def issues(r: requests.Response) -> list[dict]:
    assert r.status_code == 400, r.text
    doc = r.json()
    assert doc["error"] == "Invalid request parameters" and doc["issues"], doc
    return doc["issues"]


def mean_distance(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB").resize(a.size))
    return sum(ImageStat.Stat(diff).mean) / 3


def sharpness(img: Image.Image) -> float:
    """Edge energy: the mean of the Laplacian-like FIND_EDGES response."""
    return sum(ImageStat.Stat(img.convert("L").filter(ImageFilter.FIND_EDGES)).mean)


# --- upscale --------------------------------------------------------------------------------------


def test_upscale_json_and_multipart_are_bigger_and_sharper(srv: LocalServer) -> None:
    source = Image.open(io.BytesIO(PNG))
    for r in (
        post(srv, "/image/upscale", {"image": B64, "creativity": 0}),
        form(srv, "/image/upscale", {"image": ("in.png", PNG, "image/png")}, {"creativity": "0"}),
    ):
        out = image_of(r)
        assert out.format == "PNG" and out.size == (640, 480)
        assert r.headers["x-venice-upscale-scale-applied"] == "2"
        assert r.headers["x-venice-model-id"] == "upscaler"
        plain = source.resize(out.size, Image.LANCZOS)
        top = (0, 0, 640, 380)  # above the stamp
        assert sharpness(out.crop(top)) > sharpness(plain.crop(top)) * 1.15
    assert srv.received[-1].body["creativity"] == 0  # form values are recorded as numbers
    assert base64.b64decode(srv.received[-1].body["image"]) == PNG


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_upscale_4x_is_reduced_to_stay_within_16_megapixels(srv: LocalServer) -> None:
    big = picture((2560, 1440), fmt="JPEG")
    r = post(srv, "/image/upscale", {"image": base64.b64encode(big).decode(), "scale": 4})
    out = image_of(r)
    assert out.width * out.height <= 16_777_216
    assert out.width > 2560 * 2 and abs(out.width / out.height - 16 / 9) < 0.01
    assert r.headers["x-venice-upscale-scale-requested"] == "4"
    assert 2 < float(r.headers["x-venice-upscale-scale-applied"]) < 4


def test_upscale_creativity_is_clamped_and_deterministic(srv: LocalServer) -> None:
    a = post(srv, "/image/upscale", {"image": B64, "creativity": 0.5})
    b = post(srv, "/image/upscale", {"image": B64, "creativity": 0.02})
    c = post(srv, "/image/upscale", {"image": B64, "creativity": None})
    assert a.status_code == b.status_code == c.status_code == 200
    assert a.content == b.content  # 0.5 is clamped to 0.02
    assert c.content != a.content  # default 0.01


@pytest.mark.parametrize(
    ("extra", "path", "code"),
    [
        ({"scale": 1}, ["scale"], "too_small"),
        ({"scale": 3}, ["scale"], "custom"),
        ({"scale": 8}, ["scale"], "too_big"),
        ({"creativity": "a lot"}, ["creativity"], "invalid_type"),
    ],
)
def test_upscale_refusals(srv: LocalServer, extra: dict, path: list, code: str) -> None:
    found = issues(post(srv, "/image/upscale", {"image": B64, **extra}))
    assert [(i["path"], i["code"]) for i in found] == [(path, code)]


def test_upscale_missing_image_and_url_image(srv: LocalServer) -> None:
    assert issues(post(srv, "/image/upscale", {"scale": 2}))[0]["message"] == "Required"
    r = post(srv, "/image/upscale", {"image": "http://127.0.0.1:1/x.png"})
    assert r.status_code == 400 and "not a URL" in r.json()["error"]


def test_a_cut_out_stays_transparent_when_upscaled(srv: LocalServer) -> None:
    cut = post(srv, "/image/background-remove", {"image": B64}).content
    out = image_of(form(srv, "/image/upscale", {"image": ("cut.png", cut, "image/png")}))
    assert out.mode == "RGBA" and out.size == (640, 480)
    assert out.getchannel("A").getpixel((10, 10)) == 0
    assert out.getchannel("A").getpixel((320, 160)) == 255


# --- background removal ---------------------------------------------------------------------------


def test_background_remove_leaves_real_alpha_json_and_multipart(srv: LocalServer) -> None:
    for r in (
        post(srv, "/image/background-remove", {"image": B64}),
        form(srv, "/image/background-remove", {"image": ("in.png", PNG, "image/png")}),
    ):
        out = image_of(r)
        assert out.format == "PNG" and out.mode == "RGBA" and out.size == (320, 240)
        alpha = out.getchannel("A")
        assert alpha.getpixel((5, 5)) == 0 and alpha.getpixel((315, 5)) == 0  # background
        assert alpha.getpixel((160, 80)) == 255  # the disc
        assert out.getpixel((160, 80))[:3] == RED
        assert r.headers["x-venice-model-id"] == "bria-bg-remover"


def test_background_remove_from_a_loopback_url(srv: LocalServer) -> None:
    with _serve(PNG) as url:
        out = image_of(post(srv, "/image/background-remove", {"image_url": url}))
    assert out.mode == "RGBA" and out.getchannel("A").getpixel((5, 5)) == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"image": B64, "image_url": "http://127.0.0.1/x.png"}, {"image": None}],
)
def test_background_remove_needs_exactly_one_source(srv: LocalServer, body: dict) -> None:
    found = issues(post(srv, "/image/background-remove", body))
    assert "exactly one of image" in found[0]["message"]


def test_background_remove_refuses_a_model_and_bad_urls(srv: LocalServer) -> None:
    found = issues(post(srv, "/image/background-remove", {"image": B64, "model": "bria"}))
    assert found[0]["code"] == "unrecognized_keys" and found[0]["keys"] == ["model"]
    found = issues(post(srv, "/image/background-remove", {"image_url": "ftp://x/y.png"}))
    assert found[0]["path"] == ["image_url"]
    r = post(srv, "/image/background-remove", {"image_url": "https://example.com/cat.png"})
    assert r.status_code == 400
    assert "only from this machine" in r.json()["error"] and "example.com" in r.json()["error"]
    r = form(srv, "/image/background-remove", {"other": ("a.png", PNG)})
    assert r.status_code == 400


# --- edit -----------------------------------------------------------------------------------------


def test_edit_moves_the_input_toward_the_instructions_palette(srv: LocalServer) -> None:
    prompt = "turn it into a moonlit night"
    r = post(srv, "/image/edit", {"image": B64, "prompt": prompt})
    out = image_of(r)
    assert out.format == "PNG" and out.size == (1024, 768)  # 1K, the input's 4:3 shape
    source = Image.open(io.BytesIO(PNG)).convert("RGB").resize(out.size)
    assert mean_distance(out, source) > 20  # visibly changed
    target = Image.new("RGB", out.size, palette(prompt)[0])
    centre = (0, 0, 1024, 600)
    assert mean_distance(out.crop(centre), target.crop(centre)) < mean_distance(
        source.crop(centre), target.crop(centre)
    )
    assert r.headers["x-venice-model-id"] == "firered-image-edit"
    assert r.headers["x-venice-model-name"] == "FireRed Edit"
    assert r.headers["x-venice-is-content-violation"] == "false"
    again = post(srv, "/image/edit", {"image": B64, "prompt": prompt})
    assert again.content == r.content  # deterministic


def test_edit_multipart_model_alias_ratio_resolution_and_format(srv: LocalServer) -> None:
    files = {"image": ("in.png", PNG, "image/png")}
    data = {"prompt": "make it autumn", "modelId": "nano-banana-2-edit", "resolution": "2k"}
    r = form(srv, "/image/edit", files, {**data, "aspect_ratio": "16:9"})
    out = image_of(r)
    assert out.format == "JPEG" and out.size == (2048, 1152)  # 2K defaults to JPEG
    assert r.headers["x-venice-model-id"] == "nano-banana-2-edit"
    r = post(
        srv,
        "/image/edit",
        {"image": B64, "prompt": "p", "model": "qwen-image-2-edit", "output_format": "webp"},
    )
    out = image_of(r)
    assert out.format == "WEBP" and out.size == (1024, 688)  # no auto: snapped to 3:2


def test_edit_from_a_loopback_url_and_not_from_the_internet(srv: LocalServer) -> None:
    with _serve(PNG) as url:
        assert image_of(post(srv, "/image/edit", {"image": url, "prompt": "p"})).size == (
            1024,
            768,
        )
    r = post(srv, "/image/edit", {"image": "https://example.com/x.png", "prompt": "p"})
    assert r.status_code == 400 and "serve it on loopback" in r.json()["error"]
    r = post(srv, "/image/edit", {"image": "http://127.0.0.1:9/gone.png", "prompt": "p"})
    assert r.status_code == 400 and "could not fetch" in r.json()["error"]


@pytest.mark.parametrize(
    ("extra", "path", "code"),
    [
        ({"quality": "high"}, [], "unrecognized_keys"),
        ({"aspect_ratio": "5:4"}, ["aspect_ratio"], "invalid_enum_value"),
        (
            {"model": "gpt-image-2-edit", "aspect_ratio": "auto", "resolution": "8K"},
            ["resolution"],
            "custom",
        ),
        ({"resolution": "2K"}, ["resolution"], "custom"),  # firered has no tiers
        ({"model": "grok-imagine-edit", "aspect_ratio": "21:9"}, ["aspect_ratio"], "custom"),
        ({"prompt": "x" * 1501}, ["prompt"], "too_big"),
        ({"prompt": ""}, ["prompt"], "too_small"),
        ({"output_format": "gif"}, ["output_format"], "invalid_enum_value"),
        ({"safe_mode": "yes"}, ["safe_mode"], "invalid_type"),
        ({"model": "a", "modelId": "b"}, ["modelId"], "custom"),
    ],
)
def test_edit_refusals(srv: LocalServer, extra: dict, path: list, code: str) -> None:
    found = issues(post(srv, "/image/edit", {"image": B64, "prompt": "p", **extra}))
    assert [(i["path"], i["code"]) for i in found] == [(path, code)]


def test_edit_models_retired_unknown_and_prompt_limits(srv: LocalServer) -> None:
    r = post(srv, "/image/edit", {"image": B64, "prompt": "p", "model": "qwen-edit"})
    assert r.status_code == 404 and "use qwen-image-2-edit instead" in r.json()["error"]
    r = post(srv, "/image/edit", {"image": B64, "prompt": "p", "model": "firered-edit"})
    assert r.status_code == 404
    assert r.json()["error"].startswith("Specified model not found: firered-edit")
    assert "firered-image-edit" in r.json()["error"]
    body = {"image": B64, "prompt": "x" * 1501, "model": "qwen-image-2-edit"}
    assert post(srv, "/image/edit", body).status_code == 200  # its limit is 10,000


def test_edit_content_policy_blur_and_enhance(srv: LocalServer) -> None:
    r = post(srv, "/image/edit", {"image": B64, "prompt": "violation-test please"})
    assert r.status_code == 422 and "content policy" in r.json()["error"]
    assert r.headers["x-venice-is-content-violation"] == "true"
    r = post(srv, "/image/edit", {"image": B64, "prompt": "nsfw", "enhance_prompt": True})
    assert image_of(r) and r.headers["x-venice-is-blurred"] == "true"
    assert "local%20preview" in r.headers["x-venice-enhanced-prompt"]
    r = post(srv, "/image/edit", {"image": B64, "prompt": "nsfw", "safe_mode": False})
    assert r.headers["x-venice-is-blurred"] == "false"


# --- multi-edit -----------------------------------------------------------------------------------


def test_multi_edit_combines_its_inputs_json_and_multipart(srv: LocalServer) -> None:
    blue = picture((300, 300), BLUE, BLUE)
    b64_blue = base64.b64encode(blue).decode()
    for r in (
        post(srv, "/image/multi-edit", {"images": [B64, b64_blue], "prompt": "merge"}),
        form(
            srv,
            "/image/multi-edit",
            [("images", ("a.png", PNG, "image/png")), ("images", ("b.png", blue, "image/png"))],
            {"prompt": "merge"},
        ),
    ):
        out = image_of(r).convert("RGB")
        assert out.size == (1024, 768)  # auto: the first image's shape
        r_, g, b = out.getpixel((1000, 300))  # the tile column: the blue input
        assert b > r_ + 60 and b > g + 60
        r_, g, b = out.getpixel((40, 40))  # the base: green background, edited
        assert g > b
    assert len(srv.received[-1].body["images"]) == 2
    single = post(srv, "/image/multi-edit", {"images": [B64], "prompt": "merge"})
    assert image_of(single).size == (1024, 768)


def test_multi_edit_takes_data_urls_in_json_and_only_files_in_multipart(srv: LocalServer) -> None:
    body = {"images": [f"data:image/png;base64,{B64}", B64], "prompt": "p"}
    assert image_of(post(srv, "/image/multi-edit", body)).size == (1024, 768)
    r = form(srv, "/image/multi-edit", {"images": (None, B64)}, {"prompt": "p"})
    assert r.status_code == 400 and "file uploads only" in r.json()["error"]


def test_multi_edit_refusals(srv: LocalServer) -> None:
    body = {"images": [B64], "prompt": "p"}
    found = issues(post(srv, "/image/multi-edit", {**body, "model": "firered-image-edit"}))
    assert found[0]["code"] == "unrecognized_keys" and found[0]["keys"] == ["model"]
    found = issues(post(srv, "/image/multi-edit", {**body, "images": [B64] * 4}))
    assert "at most 3" in found[0]["message"]  # maxInputImages absent: 3
    assert image_of(
        post(srv, "/image/multi-edit", {**body, "images": [B64] * 6, "modelId": "flux-2-max-edit"})
    )
    found = issues(
        post(srv, "/image/multi-edit", {**body, "images": [B64] * 2, "modelId": "luma-uni-1-edit"})
    )
    # combineImages: false is outside the spec's modelId enum (0b.16), whatever the count
    assert found[0]["code"] == "invalid_enum_value" and found[0]["path"] == ["modelId"]
    assert issues(post(srv, "/image/multi-edit", {**body, "images": []}))[0]["code"] == "too_small"
    found = issues(post(srv, "/image/multi-edit", {**body, "quality": "high"}))
    assert found[0]["path"] == ["quality"]
    r = post(srv, "/image/multi-edit", {**body, "modelId": "gpt-image-2-edit", "quality": "low"})
    assert image_of(r)
    found = issues(
        post(
            srv,
            "/image/multi-edit",
            {**body, "modelId": "grok-imagine-image-2-0-edit", "quality": "high"},
        )
    )
    assert found[0]["path"] == ["quality"]
    r = requests.post(f"{srv.base_url}/image/multi-edit", headers=AUTH, timeout=10)
    assert r.status_code == 415 and set(r.json()) == {"error"}


# --- shared refusals ------------------------------------------------------------------------------

ROUTES = {
    "/image/edit": {"prompt": "p"},
    "/image/multi-edit": {"prompt": "p"},
    "/image/upscale": {},
    "/image/background-remove": {},
}


def _with_image(path: str, value: str) -> dict:
    key = "images" if path == "/image/multi-edit" else "image"
    return {**ROUTES[path], key: [value] if key == "images" else value}


@pytest.mark.parametrize("path", list(ROUTES))
def test_image_bounds_and_corruption(srv: LocalServer, path: str) -> None:
    tiny = base64.b64encode(picture((255, 256))).decode()
    r = post(srv, path, _with_image(path, tiny))
    assert r.status_code == 400 and r.json()["code"] == "IMAGE_TOO_SMALL"
    assert "255x256" in r.json()["error"]
    r = post(srv, path, _with_image(path, base64.b64encode(PNG[: len(PNG) // 2]).decode()))
    assert r.status_code == 400 and r.json()["code"] == "CORRUPTED_IMAGE"
    r = post(srv, path, _with_image(path, "definitely not an image"))
    assert r.status_code == 400 and r.json()["code"] == "CORRUPTED_IMAGE"


@pytest.mark.parametrize("path", ["/image/edit", "/image/multi-edit"])
def test_edit_input_above_33_megapixels_is_422(srv: LocalServer, path: str) -> None:
    buf = io.BytesIO()
    Image.new("L", (7681, 4320)).save(buf, "PNG")  # 33,181,920 pixels, a small file
    r = post(srv, path, _with_image(path, base64.b64encode(buf.getvalue()).decode()))
    assert r.status_code == 422 and r.json()["code"] == "IMAGE_TOO_LARGE"


@pytest.mark.parametrize("path", list(ROUTES))
def test_content_type_json_errors_and_auth(srv: LocalServer, path: str) -> None:
    url = f"{srv.base_url}{path}"
    r = requests.post(url, data=b"{}", headers={**AUTH, "Content-Type": "text/plain"}, timeout=10)
    assert r.status_code == 400
    assert r.json() == {
        "error": "'Content-Type' must be 'application/json' or 'multipart/form-data'"
    }
    r = requests.post(
        url, data=b"{", headers={**AUTH, "Content-Type": "application/json"}, timeout=10
    )
    assert r.status_code == 400 and r.json() == {"error": "Invalid JSON request"}
    r = requests.post(
        url, data=b"x", headers={**AUTH, "Content-Type": "multipart/form-data"}, timeout=10
    )
    assert r.status_code == 400 and "boundary" in r.json()["error"]
    r = post(srv, path, _with_image(path, B64), headers={})
    assert r.status_code == 402 and "x402Version" in r.json()  # no key at all: x402 discovery
    assert r.json()["resource"]["url"].endswith(path)
    assert requests.get(url, timeout=10).status_code == 405


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_files_over_25_mb_are_413(srv: LocalServer) -> None:
    blob = b"\x89PNG\r\n\x1a\n" + bytes(25 * 1024 * 1024)
    r = form(srv, "/image/upscale", {"image": ("big.png", blob, "image/png")})
    assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_json_bodies_over_35_mb_are_413(srv: LocalServer) -> None:
    r = requests.post(
        f"{srv.base_url}/image/edit",
        data=b"{" + b" " * (35 * 1024 * 1024) + b"}",
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_counters_prices_and_faults_apply(local_server: LocalServer) -> None:
    local_server.balance_usd = 1.0
    assert image_of(post(local_server, "/image/upscale", {"image": B64, "scale": 4}))
    assert image_of(post(local_server, "/image/background-remove", {"image": B64}))
    body = {"images": [B64] * 3, "prompt": "p", "modelId": "flux-2-max-edit"}
    assert image_of(post(local_server, "/image/multi-edit", body))
    # 0.08 (4x) + 0.03 + 0.12 + 2 x 0.0345 (two images beyond the one included)
    assert local_server.balance_usd == pytest.approx(1.0 - 0.08 - 0.03 - 0.12 - 0.069)
    assert local_server.generate_count == 3 and local_server.request_count == 3
    assert [r.path for r in local_server.received] == [
        "/api/v1/image/upscale",
        "/api/v1/image/background-remove",
        "/api/v1/image/multi-edit",
    ]
    local_server.inject("503")
    r = post(local_server, "/image/upscale", {"image": B64})
    assert r.status_code == 503 and "capacity" in r.json()["error"]
    local_server.inject("not_image")
    r = post(local_server, "/image/upscale", {"image": B64})
    assert r.status_code == 200 and not r.content.startswith(b"\x89PNG")
    local_server.balance_usd = 0.0
    r = post(local_server, "/image/edit", {"image": B64, "prompt": "p"})
    assert r.status_code == 402


def _serve(data: bytes):
    """A one-file HTTP server on loopback (the image URL the local server may fetch)."""

    class One(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    class Ctx:
        def __enter__(self) -> str:
            self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), One)
            threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
            return f"http://127.0.0.1:{self.httpd.server_address[1]}/img.png"

        def __exit__(self, *exc: object) -> None:
            self.httpd.shutdown()
            self.httpd.server_close()

    return Ctx()


# --- conformance with the spec ----------------------------------------------------------------


def _request_schema(spec_validator, path: str, ctype: str) -> dict:
    return spec_validator.spec["paths"][path]["post"]["requestBody"]["content"][ctype]["schema"]


def test_bodies_the_server_accepts_are_spec_valid(srv: LocalServer, spec_validator) -> None:
    accepted = [
        ("/image/edit", {"image": B64, "prompt": "p", "model": "gpt-image-2-edit"}),
        ("/image/edit", {"image": B64, "prompt": "p", "modelId": "qwen-image-2-edit"}),
        (
            "/image/multi-edit",
            {
                "images": [B64, B64],
                "prompt": "p",
                "quality": "low",
                "modelId": "gpt-image-2-edit",
                "aspect_ratio": "3:2",
            },
        ),
        ("/image/upscale", {"image": B64, "scale": 4, "creativity": 0.02}),
        ("/image/background-remove", {"image": B64}),
        ("/image/background-remove", {"image_url": "http://127.0.0.1:1/never-fetched.png"}),
    ]
    for path, body in accepted:
        spec_validator(body, _request_schema(spec_validator, path, "application/json"))
    multipart = [
        (
            "/image/edit",
            {"image": ("a.png", PNG, "image/png")},
            {"prompt": "p", "safe_mode": "false"},
        ),
        (
            "/image/multi-edit",
            [("images", ("a.png", PNG)), ("images", ("b.png", PNG))],
            {"prompt": "p"},
        ),
        ("/image/upscale", {"image": ("a.png", PNG)}, {"scale": "2"}),
        ("/image/background-remove", {"image": ("a.png", PNG)}, None),
    ]
    for path, files, data in multipart:
        r = form(srv, path, files, data)
        assert r.status_code == 200, r.text
        assert (
            r.headers["Content-Type"]
            in spec_validator.spec["paths"][path]["post"]["responses"]["200"]["content"]
        )
        recorded = srv.received[-1].body
        spec_validator(recorded, _request_schema(spec_validator, path, "multipart/form-data"))
    assert srv.received[-4].body["safe_mode"] is False


def test_error_bodies_are_spec_valid(local_server: LocalServer, spec_validator) -> None:
    cases = [
        (400, "/image/edit", {"image": B64, "prompt": "p", "x": 1}, AUTH),
        (400, "/image/upscale", {"image": "bad"}, AUTH),
        (402, "/image/multi-edit", {"images": [B64], "prompt": "p"}, {}),
        (404, "/image/edit", {"image": B64, "prompt": "p", "model": "nope"}, AUTH),
        (422, "/image/edit", {"image": B64, "prompt": "violation-test"}, AUTH),
    ]
    for status, path, body, headers in cases:
        r = post(local_server, path, body, headers=headers)
        assert r.status_code == status, r.text
        responses = spec_validator.spec["paths"][path]["post"]["responses"]
        if str(status) in responses:
            spec_validator(r.json(), spec_validator.response(path, status))
        if status != 402:  # the keyless 402 is the x402 form of the spec's oneOf
            spec_validator(r.json(), "DetailedError" if status == 400 else "StandardError")
    local_server.inject("429")
    r = post(local_server, "/image/background-remove", {"image": B64})
    spec_validator(r.json(), spec_validator.response("/image/background-remove", 429))
    r = requests.post(f"{local_server.base_url}/image/multi-edit", headers=AUTH, timeout=10)
    spec_validator(r.json(), spec_validator.response("/image/multi-edit", 415))


def test_the_spec_validator_bites_on_toolbox_bodies(spec_validator) -> None:
    edit = _request_schema(spec_validator, "/image/edit", "application/json")
    assert not spec_validator.is_valid({"image": B64, "prompt": "p", "quality": "high"}, edit)
    assert not spec_validator.is_valid({"image": B64}, edit)
    multi = _request_schema(spec_validator, "/image/multi-edit", "application/json")
    assert not spec_validator.is_valid({"images": [B64], "prompt": "p", "model": "m"}, multi)
    assert not spec_validator.is_valid({"images": [], "prompt": "p"}, multi)
    upscale = _request_schema(spec_validator, "/image/upscale", "application/json")
    assert not spec_validator.is_valid({"image": B64, "scale": 1}, upscale)
    bg = _request_schema(spec_validator, "/image/background-remove", "application/json")
    assert not spec_validator.is_valid({"image": B64, "model": "bria-bg-remover"}, bg)


def test_toolbox_calls_share_the_image_rate_limit() -> None:
    with LocalServer(rate_limit_rpm=2) as server:
        ok = post(server, "/image/background-remove", {"image": B64})
        assert ok.status_code == 200 and ok.headers["x-ratelimit-remaining-requests"] == "1"
        assert post(server, "/image/upscale", {"image": "not checked yet"}).status_code == 400
        r = post(server, "/image/edit", {"image": B64, "prompt": "p"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.json() == {"error": "Rate limit exceeded"}


def test_failed_toolbox_calls_use_up_the_error_budget_per_model() -> None:
    with LocalServer(error_budget=3) as server:
        bad = {"image": B64, "prompt": "p", "resolution": "8K"}
        for _ in range(4):  # more than 3 failures lock the key and model out
            assert post(server, "/image/edit", bad).status_code == 400
        r = post(server, "/image/edit", {"image": B64, "prompt": "p"})
        assert r.status_code == 429 and "Too many failed attempts" in r.json()["error"]
        assert "Retry-After" not in r.headers
        other = {"image": B64, "prompt": "p", "model": "qwen-image-2-edit"}
        assert post(server, "/image/edit", other).status_code == 200  # another model's budget
        wrong = {**AUTH, "Content-Type": "text/plain"}
        for _ in range(4):  # a wrong Content-Type does not count
            r = requests.post(
                f"{server.base_url}/image/upscale", data=b"x", headers=wrong, timeout=10
            )
            assert r.status_code == 400
        assert post(server, "/image/upscale", {"image": B64}).status_code == 200


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_every_listed_edit_model_edits_and_the_upscaler_is_listed(srv: LocalServer) -> None:
    rows = requests.get(f"{srv.base_url}/models?type=inpaint", timeout=10).json()["data"]
    assert len(rows) == 21 + 3  # the snapshot's, and the three ids of the 2026-09 spec
    square = base64.b64encode(picture((256, 256))).decode()
    for row in rows:  # auto: the square input's shape, snapped to 1:1 where auto is not listed
        body = {"image": square, "prompt": "p", "model": row["id"], "aspect_ratio": "auto"}
        r = post(srv, "/image/edit", body)
        assert r.status_code == 200 and r.headers["x-venice-model-id"] == row["id"], r.text
        assert Image.open(io.BytesIO(r.content)).size == (1024, 1024)
    upscale = requests.get(f"{srv.base_url}/models?type=upscale", timeout=10).json()["data"]
    assert [r["id"] for r in upscale] == ["upscaler"]


def padded_png(size_mb: int) -> bytes:
    """A valid PNG made ``size_mb`` MB large by a private ancillary chunk that readers skip."""
    chunk_type, data = b"prVt", bytes(size_mb * 1024 * 1024)
    chunk = (
        len(data).to_bytes(4, "big")
        + chunk_type
        + data
        + zlib.crc32(chunk_type + data).to_bytes(4, "big")
    )
    end_of_ihdr = 8 + 25
    return PNG[:end_of_ihdr] + chunk + PNG[end_of_ihdr:]


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_a_form_may_carry_more_than_35_mb_in_files_under_25_mb_each(srv: LocalServer) -> None:
    big = padded_png(20)
    assert Image.open(io.BytesIO(big)).size == (320, 240)
    files = [("images", ("a.png", big, "image/png")), ("images", ("b.png", big, "image/png"))]
    r = form(srv, "/image/multi-edit", files, {"prompt": "merge"})
    assert image_of(r).size == (1024, 768)


def test_a_diem_account_pays_toolbox_calls_in_diem() -> None:
    with LocalServer(balance_usd=1.0, balance_diem=1.0) as server:
        r = post(server, "/image/edit", {"image": B64, "prompt": "p", "enhance_prompt": True})
        assert image_of(r) and r.headers["x-venice-balance-diem"] == "1.00"
        assert server.balance_diem == pytest.approx(1.0 - 0.04 - 0.04)  # firered + enhance
        assert server.balance_usd == 1.0


def test_upscale_of_an_image_already_at_the_output_cap_is_422(srv: LocalServer) -> None:
    buf = io.BytesIO()
    Image.new("L", (4096, 4097)).save(buf, "PNG")
    r = post(srv, "/image/upscale", {"image": base64.b64encode(buf.getvalue()).decode()})
    assert r.status_code == 422 and r.json()["code"] == "IMAGE_TOO_LARGE"
    assert "16,777,216" in r.json()["error"]


def test_a_base64_image_over_25_mb_in_a_json_body_under_35_mb_is_413(srv: LocalServer) -> None:
    body = {"image": base64.b64encode(padded_png(26)).decode()}
    r = post(srv, "/image/background-remove", body)
    assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert "26.0 MB" in r.json()["error"]
