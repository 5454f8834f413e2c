"""The persisted HTML: data URIs as received, previews, captions, badges, timing bar, the other
surfaces; escaping and sanitizer checks cover sweeps too (the grid itself: test_display_grid.py)."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from display_support import Parsed, decode_src, html_of, segment_widths
from factories import TIMING, encode_image, image, sample_sweep
from factories import make_result as build_result
from PIL import Image

from venice_nb.catalogue import Catalogue
from venice_nb.display import html as display
from venice_nb.errors import CapacityError
from venice_nb.image_format import sniff_format
from venice_nb.operations.generate import GenerateRequest
from venice_nb.operations.openai import OpenAIImageRequest
from venice_nb.result import (
    LOCAL_PREVIEW,
    GeneratedImage,
    GenerationResult,
    SweepCell,
    SweepResult,
    Timing,
)

CANARY = "vn-canary-display-5b1e07c3d9a2"
EVIL = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


# ---- helpers -----------------------------------------------------------------------------------


def make_result(images=None, **kw) -> GenerationResult:
    """The factory's result with this module's prompt, id and timing."""
    kw.setdefault("timing", TIMING)
    return build_result(*(images or []), prompt="a gondola at dusk", id="gen-1", **kw)


# ---- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["webp", "png", "jpeg"])
def test_small_image_is_embedded_exactly_as_received(fmt):
    result = make_result([image(fmt, (80, 60))])
    data, _ = display.result_bundle(result, preview_size=512)
    assert set(data) == {"text/html", "text/plain"}
    assert data["text/plain"] == repr(result)
    [img] = Parsed(data["text/html"]).imgs
    mime, payload = decode_src(img["src"])
    assert mime == f"image/{fmt}" == result.images[0].mime
    assert sniff_format(payload) == fmt
    assert payload == result.images[0].data
    assert (img["width"], img["height"]) == ("80", "60")


def test_large_image_is_downscaled_for_the_notebook_only():
    original = image("webp", (1024, 768))
    before = bytes(original.data)
    result = make_result([original])
    parsed = Parsed(html_of(result, preview_size=256))
    [img] = parsed.imgs
    mime, payload = decode_src(img["src"])
    assert mime == "image/webp"
    with Image.open(io.BytesIO(payload)) as shown:
        assert shown.format == "WEBP"
        assert shown.size == (256, 192)
    assert len(payload) < len(before)
    assert result.images[0].data == before  # the result keeps full size
    assert result.images[0].size == (1024, 768)
    assert "1024x768" in parsed.all_text  # caption names the real size
    assert "1024x768" in img["title"] and "full size" in img["title"]


def test_jpeg_preview_keeps_jpeg_and_portrait_orientation():
    result = make_result([image("jpeg", (600, 900))])
    [img] = Parsed(html_of(result, preview_size=300)).imgs
    mime, payload = decode_src(img["src"])
    assert mime == "image/jpeg"
    with Image.open(io.BytesIO(payload)) as shown:
        assert (shown.format, shown.size) == ("JPEG", (200, 300))


def test_big_png_previews_as_jpeg_made_once_and_transparent_ones_as_webp():
    """A photo's PNG preview took seconds to encode as PNG; it is a JPEG now, made once per image
    and size (a second display reuses it), and a PNG with transparency keeps it as a WebP."""
    from venice_nb.display.preview import image_preview

    photo = image("png", (1200, 800))
    first = Parsed(html_of(make_result([photo]), preview_size=300))
    mime, payload = decode_src(first.imgs[0]["src"])
    assert mime == "image/jpeg" and "preview (jpeg)" in first.imgs[0]["title"]
    with Image.open(io.BytesIO(payload)) as shown:
        assert (shown.format, shown.size) == ("JPEG", (300, 200))
    made = image_preview(photo, 300)
    second = Parsed(html_of(make_result([photo]), preview_size=300))
    assert image_preview(photo, 300) is made and decode_src(second.imgs[0]["src"])[1] == payload
    assert photo.data == encode_image_bytes_unchanged(photo)  # the result keeps its PNG
    clear = Image.new("RGBA", (900, 600), (0, 0, 0, 0))
    clear.paste((200, 30, 30, 255), (100, 100, 800, 500))
    cutout = GeneratedImage.from_bytes(encode_image(clear, "png"), seed=2)
    mime, payload = decode_src(
        Parsed(html_of(make_result([cutout]), preview_size=300)).imgs[0]["src"]
    )
    assert mime == "image/webp"
    with Image.open(io.BytesIO(payload)) as shown:
        assert shown.mode == "RGBA" and shown.getpixel((0, 0))[3] == 0


def encode_image_bytes_unchanged(img: GeneratedImage) -> bytes:
    with Image.open(io.BytesIO(img.data)) as im:
        assert im.format == "PNG"
    return img.data


def test_preview_that_would_be_heavier_keeps_the_original_bytes_scaled_by_the_browser():
    flat = Image.new("RGB", (800, 800), (20, 120, 200))
    for x in range(0, 800, 50):  # hard edges: resampling adds colours and PNG grows
        flat.paste((250, 250, 0), (x, 0, x + 2, 800))
    data = encode_image(flat, "png")
    result = make_result([GeneratedImage.from_bytes(data, seed=1)])
    [img] = Parsed(html_of(result, preview_size=400)).imgs
    _, payload = decode_src(img["src"])
    assert len(payload) <= len(data)
    assert (img["width"], img["height"]) == ("400", "400")


def test_unreadable_pixels_still_display_as_received():
    webp = image("webp", (64, 64)).data
    # from_bytes refuses cut images; built directly, as a hand-made or old cached result could be
    cut = GeneratedImage(webp[: len(webp) // 2], "webp", seed=5)
    jpeg = image("jpeg", (900, 600)).data
    cut_jpeg = GeneratedImage(jpeg[: len(jpeg) // 2], "jpeg", seed=6)
    for img_obj in (cut, cut_jpeg):
        parsed = Parsed(html_of(make_result([img_obj]), preview_size=300))
        [img] = parsed.imgs
        assert decode_src(img["src"])[1] == img_obj.data
        assert "seed" in parsed.all_text
    # the size comes from the header, as for the cut JPEG; a header no one can read says so
    assert "64x64" in Parsed(html_of(make_result([cut]), preview_size=300)).all_text
    garbled = GeneratedImage(webp[:12] + b"JUNK" + webp[16 : len(webp) // 2], "webp", seed=7)
    parsed = Parsed(html_of(make_result([garbled]), preview_size=300))
    assert (
        "size unknown" in parsed.all_text and decode_src(parsed.imgs[0]["src"])[1] == garbled.data
    )
    [img] = Parsed(html_of(make_result([cut_jpeg]), preview_size=300)).imgs
    assert (img["width"], img["height"]) == ("300", "200")  # the browser scales it down


def test_preview_size_comes_from_the_session_setting():
    from venice_nb.session import get_session

    session = get_session()
    old = session.settings.preview_size
    try:
        session.configure(preview_size=128)
        [img] = Parsed(html_of(make_result([image("png", (512, 256))]))).imgs
        with Image.open(io.BytesIO(decode_src(img["src"])[1])) as shown:
            assert shown.size == (128, 64)
        session.configure(preview_size=0)  # 0 turns previews off
        [img] = Parsed(html_of(make_result([image("png", (512, 256))]))).imgs
        assert (img["width"], img["height"]) == ("512", "256")
    finally:
        session.configure(preview_size=old)


def test_captions_name_seed_and_size_and_later_variants():
    images = [
        image("webp", (96, 64), seed=42, index=0),
        image("webp", (96, 64), seed=None, index=1),
    ]
    parsed = Parsed(html_of(make_result(images), preview_size=512))
    assert "seed 42 \u00b7 96x64" in parsed.all_text
    # the API echoes the first image's seed only: a later variant's seed is not claimed
    assert "variant 2 \u00b7 not reproducible alone \u00b7 96x64" in parsed.all_text
    assert parsed.all_text.count("variant") == 1
    assert [i["alt"] for i in parsed.imgs] == ["seed 42", "variant 2 \u00b7 not reproducible alone"]


def test_blurred_and_blocked_badges_only_when_flagged():
    plain = Parsed(html_of(make_result([image()]), preview_size=512))
    assert not plain.by_class("venice-nb-badge")
    assert "blurred" not in plain.all_text and "blocked" not in plain.all_text

    blurred = make_result([image(blurred=True)], blurred=True)
    text = Parsed(html_of(blurred, preview_size=512)).all_text
    assert "blurred" in text and "blocked" not in text

    blocked = make_result([image(content_violation=True)], content_violation=True)
    text = Parsed(html_of(blocked, preview_size=512)).all_text
    assert "blocked" in text and "blurred" not in text


# ---- footer ------------------------------------------------------------------------------------


def test_footer_cost_balance_retries_deprecation():
    result = make_result(
        cost_usd=0.01,
        balance_usd=12.5,
        retries=2,
        deprecation="lustify-v7 is deprecated (use lustify-sdxl)",
    )
    text = Parsed(html_of(result, preview_size=512)).all_text
    assert "z-image-turbo" in text
    assert "$0.01" in text
    assert "key can spend $12.49 after this request" in text  # the header is the balance before
    html = html_of(result, preview_size=512)
    assert "the lesser of the account&#x27;s balance and the key&#x27;s own spend limit" in html
    unknown_cost = Parsed(html_of(make_result(balance_usd=3.0), preview_size=512)).all_text
    assert "key can spend $3.00 before this request" in unknown_cost
    assert "2 retries" in text
    assert "lustify-v7 is deprecated (use lustify-sdxl)" in text
    assert "cached" not in text and "local preview" not in text


def test_footer_cached_and_local_preview():
    cached = Parsed(html_of(make_result(cost_usd=0.01, cached=True), preview_size=512))
    assert "cached: $0" in cached.all_text and "$0.01" not in cached.all_text
    assert cached.by_class("venice-nb-badge") and cached.all_text.count("cached") == 1
    local_cached = Parsed(
        html_of(make_result(cached=True, backend=LOCAL_PREVIEW), preview_size=512)
    ).all_text
    assert "local preview \u2014 not billed" in local_cached and "cached" in local_cached

    local = make_result(cost_usd=0.01, backend=LOCAL_PREVIEW, balance_usd=99.0)
    text = Parsed(html_of(local, preview_size=512)).all_text
    assert "local preview \u2014 not billed" in text
    assert "$0.01" not in text
    assert "key can spend $98.99 after this request (simulated)" in text
    plain = Parsed(html_of(make_result(), preview_size=512)).all_text
    assert "retr" not in plain and "balance" not in plain and "\u26a0" not in plain


# ---- timing ------------------------------------------------------------------------------------


def test_timing_bar_widths_follow_the_segments():
    timing = Timing(queue_ms=120.0, preprocessing_ms=30.0, inference_ms=1500.0, wall_ms=2000.0)
    html = html_of(make_result(timing=timing), preview_size=512)
    widths = segment_widths(html)
    segments = dict(timing.segments())
    total = sum(segments.values())
    assert set(widths) == {"queue", "preprocessing", "inference", "rest"}
    for name, ms in segments.items():
        assert widths[name] == pytest.approx(ms / total * 100, abs=0.006)
    assert widths["rest"] == pytest.approx(350 / 2000 * 100, abs=0.006)
    text = Parsed(html).all_text
    assert "2.00 s wall" in text
    assert "inference 1.50 s" in text and "queue 120 ms" in text
    assert "network & decoding 350 ms" in text


def test_cached_result_does_not_pretend_the_server_just_ran():
    timing = Timing(queue_ms=40.0, inference_ms=700.0, wall_ms=3.0)  # as the cache hands it back
    html = html_of(make_result(timing=timing, cached=True), preview_size=512)
    assert segment_widths(html) == {"wall": 100.0}
    text = Parsed(html).all_text
    assert "3 ms wall (served from the cache, no request made; generated in 740 ms" in text
    assert "inference" not in text


def test_timing_bar_without_api_timing_shows_wall_time_honestly():
    binary = make_result(
        request=GenerateRequest(model="z-image-turbo", prompt="x", return_binary=True),
        timing=Timing(wall_ms=640.0),
    )
    html = html_of(binary, preview_size=512)
    assert segment_widths(html) == {"wall": 100.0}
    text = Parsed(html).all_text
    assert "640 ms wall (binary responses carry no server timing)" in text
    assert "inference" not in text

    openai = make_result(
        request=OpenAIImageRequest(prompt="x", model="z-image-turbo"),
        timing=Timing(wall_ms=900.0),
        route="openai",
    )
    assert (
        "OpenAI-compatible route reports no server timing"
        in Parsed(html_of(openai, preview_size=512)).all_text
    )


# ---- escaping ----------------------------------------------------------------------------------


def test_untrusted_text_is_escaped_everywhere():
    req = GenerateRequest(model=EVIL, prompt=EVIL, seed=1)
    result = make_result(
        request=req,
        deprecation=EVIL,
        enhanced_prompt=EVIL,
        cost_usd=0.01,
    )
    result.id = EVIL
    outputs = [
        html_of(result, preview_size=512),
        html_of(
            SweepResult(
                [SweepCell({"style_preset": EVIL}, error=CapacityError(EVIL))], cols="style_preset"
            ),
            preview_size=512,
        ),
        display.status_html(EVIL, "error"),
        display.error_html(EVIL),
        display.notice_html(EVIL),
        display.styles_html([EVIL, "Anime"]),
        display.config_html({"default_model": EVIL}),
    ]
    for html in outputs:
        assert "<script" not in html.lower()
        tags = {t for t, _ in Parsed(html).tags}
        assert "script" not in tags
        assert EVIL in Parsed(html).all_text or any(
            EVIL in v for _, a in Parsed(html).tags for v in a.values()
        )
        assert len(Parsed(html).imgs) <= 1  # the injected <img> never became an element


# ---- untrusted notebooks ----------------------------------------------------------------------

# Inline CSS properties that JupyterLab's HTML sanitizer (packages/apputils/src/sanitizer.ts) keeps
# when a notebook is opened untrusted; anything else is silently dropped there. The subset in use.
SANITIZER_KEEPS = {
    "background", "border", "border-bottom", "border-collapse", "border-left", "border-radius",
    "color", "display", "font-family", "font-size", "height", "line-height", "margin",
    "margin-left", "margin-top", "max-width", "opacity", "overflow", "padding", "text-align",
    "vertical-align", "white-space", "width",
    # the gallery and the comparison grid (checked in Chromium against Lab 4's sanitizer)
    "align-items", "column-gap", "flex-direction", "flex-wrap", "font-weight", "gap",
    "grid-template-columns", "justify-content", "justify-items", "list-style", "margin-bottom",
    "min-height", "min-width", "position", "z-index",
    # the zoom's close bar, wrapping galleries, grids that scroll (checked in Lab 4, untrusted)
    "top", "left", "flex", "overflow-x", "background-color",
}  # fmt: skip


def test_styles_survive_jupyterlab_sanitizer_of_untrusted_notebooks():
    sweep = sample_sweep()
    outputs = [
        html_of(
            make_result(cost_usd=0.01, balance_usd=3.0, deprecation="old", retries=1),
            preview_size=512,
        ),
        html_of(make_result(cached=True, backend=LOCAL_PREVIEW), preview_size=512),
        html_of(sweep, preview_size=512),
        display.status_html("x", "running"),
        display.error_html("x"),
        display.notice_html("x"),
        display.models_table_html(Catalogue.from_json(CATALOGUE_JSON)),
        display.styles_html(["a"]),
        display.config_html({"a": 1}),
    ]
    outputs.append(display.timing_html(Timing(inference_ms=5.0, wall_ms=9.0)))  # the panel's
    for html in outputs:
        assert "<style" not in html and "<script" not in html
        # "$0.01 ... $12.34" must not be typeset as maths by MathJax 3 or 2
        root_classes = Parsed(html).tags[0][1]["class"].split()
        assert {"mathjax_ignore", "tex2jax_ignore"} <= set(root_classes), html[:120]
        for tag, attrs in Parsed(html).tags:
            for decl in filter(None, (d.strip() for d in attrs.get("style", "").split(";"))):
                prop, _, value = decl.partition(":")
                assert prop in SANITIZER_KEEPS, (tag, decl)
                if prop == "opacity":
                    assert re.fullmatch(r"0\.\d+|1|0", value), decl
                for alpha in re.findall(r"rgba\([^)]*,\s*([^,)]+)\)", value):
                    assert re.fullmatch(r"0\.\d+|1|0", alpha), decl


# ---- bundle hygiene and weight -----------------------------------------------------------------


def test_bundle_has_no_png_fallback_and_key_free_metadata():
    result = make_result([image("webp"), image("webp", seed=None, index=1)])
    data, meta = display.result_bundle(result, preview_size=512)
    assert "image/png" not in data and not any(k.startswith("image/") for k in data)
    assert meta == {"venice_nb": result.provenance()}
    assert meta["venice_nb"]["request"] == result.request.to_json()


def test_weight_of_four_webp_images_is_close_to_base64():
    images = [
        image("webp", (side, side), seed=i, index=i) for i, side in enumerate((260, 340, 420, 500))
    ]
    raw = sum(len(im.data) for im in images)
    assert all(40_000 < len(im.data) < 320_000 for im in images), [len(im.data) for im in images]
    result = make_result(images, cost_usd=0.04, balance_usd=10.0)
    data, meta = display.result_bundle(result, preview_size=512)
    # One copy of each image: the download link borrows the picture's data: URI when clicked.
    html_ratio = len(data["text/html"]) / raw
    assert html_ratio <= 1.40, html_ratio
    # what the .ipynb gains: the output as nbformat writes it (indent=1, sorted, UTF-8)
    output = {"output_type": "display_data", "data": data, "metadata": meta}
    written = len(json.dumps(output, indent=1, sort_keys=True, ensure_ascii=False).encode())
    assert written / raw <= 1.40, written / raw
    # and the markup around the images is small: about 1.5 KB per image (zoom, close bar, download,
    # caption; the footer's balance tooltip and the reproduce cell are shared by the four)
    b64 = sum(len(base64.b64encode(im.data)) for im in images)
    assert (len(data["text/html"]) - b64) / len(images) < 1664


# ---- the other surfaces ------------------------------------------------------------------------


def test_status_error_notice_lines():
    running = Parsed(display.status_html("z-image-turbo: 1 image, 3 s", "running"))
    assert running.all_text.endswith("z-image-turbo: 1 image, 3 s")
    assert running.by_class("venice-nb-running")
    assert "#3c9a40" in display.status_html("done", "done")
    assert "#d93025" in display.status_html("failed", "error")
    err = display.error_html("model 'x' not found; did you mean 'y'?")
    assert "\n" not in err and "#d93025" in err
    assert Parsed(err).all_text == "\u2717 model 'x' not found; did you mean 'y'?"
    from_exc = display.error_html(CapacityError("at capacity"))
    assert "at capacity" in from_exc and "try again in a minute" in from_exc
    assert "local preview" in Parsed(display.notice_html("local preview in use")).all_text


CATALOGUE_JSON = {
    "data": [
        {
            "id": "z-image-turbo",
            "model_spec": {
                "name": "Z-Image Turbo",
                "traits": ["default", "fastest"],
                "constraints": {"widthHeightDivisor": 8, "promptCharacterLimit": 1500},
                "pricing": {"generation": {"usd": 0.01}},
            },
        },
        {
            "id": "nano-banana-pro",
            "model_spec": {
                "name": "Nano Banana Pro",
                "constraints": {
                    "aspectRatios": ["1:1", "16:9"],
                    "resolutions": ["1K", "2K", "4K"],
                },
                "pricing": {"resolutions": {"1K": {"usd": 0.18}, "4K": {"usd": 0.35}}},
            },
        },
        {
            "id": "lustify-v7",
            "model_spec": {
                "name": "Lustify v7",
                "constraints": {"widthHeightDivisor": 8},
                "deprecation": {"date": "2026-01-01", "replacementModelId": "lustify-sdxl"},
            },
        },
    ]
}


def test_models_table():
    html = display.models_table_html(Catalogue.from_json(CATALOGUE_JSON))
    # spread over the output's width, names and prices on one line: not a tall narrow column
    assert "width:100%" in Parsed(html).tags[0][1]["style"]
    assert '<span style="white-space:nowrap">Z-Image Turbo</span>' in html
    rows = re.findall(r"<tr>(.*?)</tr>", html)
    assert len(rows) == 4
    assert Parsed(rows[0]).text == [
        "id",
        "name",
        "sizes",
        "price / image",
        "traits",
        "ignores",
        "deprecation",
    ]
    first = Parsed(rows[1]).all_text
    assert "z-image-turbo" in first and "Z-Image Turbo" in first and "$0.01" in first
    assert "width x height" in first and "multiple of 8" in first and "default, fastest" in first
    second = Parsed(rows[2]).all_text
    assert "1:1, 16:9 @ 1K/2K/4K" in second and "1K $0.18, 4K $0.35" in second
    third = Parsed(rows[3]).all_text
    assert "deprecated 1 Jan 2026; use lustify-sdxl" in third and "n/a" in third


def test_styles_and_config():
    styles = Parsed(display.styles_html(["3D Model", "Analog Film", "Anime"]))
    assert styles.all_text.startswith("3 styles")
    assert "3D Model \u00b7 Analog Film \u00b7 Anime" in styles.all_text
    config = display.config_html({"api_key": "****ab", "base_url": None, "preview_size": 512})
    rows = re.findall(r"<tr>(.*?)</tr>", config)
    assert [Parsed(r).text for r in rows[1:]] == [
        ["api_key", "****ab"],
        ["base_url", "(not set)"],
        ["preview_size", "512"],
    ]


# ---- end to end against the local preview server -----------------------------------------------


def test_real_generation_bundle_over_http(local_server):
    from venice_nb.client import VeniceClient

    with VeniceClient(CANARY, base_url=local_server.base_url) as client:
        client.models()  # prices come from the catalogue
        request = GenerateRequest(
            model="z-image-turbo", prompt="a gondola <b>at</b> dusk", width=1024, height=768,
            seed=1234, format="webp", variants=2,
        )  # fmt: skip
        result = client.generate(request)
    full = [bytes(im.data) for im in result.images]
    data, meta = display.result_bundle(result, preview_size=256)
    html = data["text/html"]
    parsed = Parsed(html)
    assert len(parsed.imgs) == 2
    for img, original in zip(parsed.imgs, result.images, strict=True):
        mime, payload = decode_src(img["src"])
        assert mime == "image/webp" == original.mime
        with Image.open(io.BytesIO(payload)) as shown:
            assert shown.size == (256, 192)
    assert [im.data for im in result.images] == full
    text = parsed.all_text
    assert "seed 1234 \u00b7 1024x768" in text
    assert "variant 2 \u00b7 not reproducible alone \u00b7 1024x768" in text
    assert "local preview \u2014 not billed" in text
    assert "a gondola <b>at</b> dusk" in parsed.by_class("venice-nb-result")[0]["title"]
    assert "<b>at</b>" not in html
    # what the server said is in the timing bar: its API timing plus the rest of the wall
    if any(v is not None for v in (result.timing.inference_ms, result.timing.queue_ms)):
        widths = segment_widths(html)
        total = sum(ms for _, ms in result.timing.segments())
        for name, ms in result.timing.segments():
            if ms > 0:
                assert widths[name] == pytest.approx(ms / total * 100, abs=0.006)
    # provenance, and the key nowhere
    assert "image/png" not in data
    assert meta["venice_nb"]["request"] == request.to_json()
    assert meta["venice_nb"]["backend"] == LOCAL_PREVIEW
    blob = json.dumps([data, meta])
    assert CANARY not in blob and CANARY[-12:] not in blob


def test_real_flags_from_the_server(local_server):
    from venice_nb.client import VeniceClient

    with VeniceClient(CANARY, base_url=local_server.base_url) as client:
        blurred = client.generate(
            GenerateRequest(model="z-image-turbo", prompt="nsfw test", seed=3)
        )
        binary = client.generate(
            GenerateRequest(
                model="z-image-turbo",
                prompt="plain",
                seed=4,
                width=256,
                height=256,
                return_binary=True,
            )
        )
    text = Parsed(html_of(blurred, preview_size=512)).all_text
    assert blurred.blurred and "blurred" in text and "blocked" not in text
    html = html_of(binary, preview_size=512)
    _, payload = decode_src(Parsed(html).imgs[0]["src"])
    assert payload == binary.images[0].data
    assert segment_widths(html) == {"wall": 100.0}
    assert "binary responses carry no server timing" in Parsed(html).all_text


def test_download_link_names_the_file_and_holds_no_second_copy():
    im = image("webp", (300, 200), seed=42)
    html = display.result_bundle(make_result([im]), preview_size=1024)[0]["text/html"]
    b64 = base64.b64encode(im.data).decode()
    assert html.count(b64) == 1  # the picture only; the link borrows its src at click time
    link = re.search(r'<a class="venice-nb-download"[^>]*>[^<]*</a>', html).group(0)
    assert 'download="z-image-turbo-seed-42.webp"' in link and ">download<" in link
    assert "querySelector('img').src" in link and "data:" not in link


def test_download_of_a_downscaled_image_is_its_preview_and_says_so():
    im = image("png", (600, 300), seed=7)
    html = display.result_bundle(make_result([im]), preview_size=128)[0]["text/html"]
    link = re.search(r'<a class="venice-nb-download"[^>]*>[^<]*</a>', html).group(0)
    assert ">download preview<" in link and "-preview." in link
    assert base64.b64encode(im.data).decode() not in html


def test_an_untrusted_reader_gets_a_hint_where_the_download_would_be_dead():
    """Lab's sanitizer keeps ``hidden`` and drops handlers: the link starts hidden with no
    target, the hint beside it shows, and only the picture's ``onload`` (which runs where the
    link's ``onclick`` runs too) swaps them."""
    html = html_of(make_result([image("webp", (300, 200), seed=42)]), preview_size=1024)
    link = re.search(r'<a class="venice-nb-download"[^>]*>[^<]*</a>(<span[^>]*>[^<]*</span>)', html)
    assert link is not None
    assert ' hidden="hidden"' in link.group(0) and " href=" not in link.group(0)
    assert link.group(1) == (
        '<span class="venice-nb-save-hint">right-click \u2192 Save image as</span>'
    )
    img = Parsed(html).imgs[0]
    assert img["onload"] == (
        "var a=this.closest('figure').querySelector('a');a.hidden=0;a.nextSibling.hidden=1"
    )
    # without a caption there is no link, so no handler either
    bare = display.image_html(image("webp", (300, 200)), preview_size=1024, caption=False)
    assert "onload" not in bare and "venice-nb-save-hint" not in bare
