"""The procedural renderer: deterministic, and every knob visibly changes the picture."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import requests
from PIL import Image, ImageChops, ImageStat

from venice_nb.server import LocalServer
from venice_nb.server.render import RenderSpec, render, render_image

BASE = RenderSpec(prompt="a lighthouse on a cliff at dawn", seed=1234, width=256, height=256)
ART = (0, 0, 256, 150)  # above the caption band


def diff(a: RenderSpec, b: RenderSpec, box: tuple[int, int, int, int] = ART) -> float:
    ia, ib = render_image(a).crop(box), render_image(b).crop(box)
    return sum(ImageStat.Stat(ImageChops.difference(ia, ib)).mean) / 3


def test_same_spec_same_bytes_every_format() -> None:
    for fmt in ("webp", "png", "jpeg"):
        spec = replace(BASE, format=fmt)
        assert render(spec) == render(spec)


def test_over_http_same_request_same_bytes(local_server: LocalServer) -> None:
    body = {
        "model": "venice-sd35",
        "prompt": "determinism",
        "seed": 77,
        "width": 128,
        "height": 128,
        "return_binary": True,
        "format": "png",
        "negative_prompt": "fog",
    }
    url = f"{local_server.base_url}/image/generate"
    auth = {"Authorization": "Bearer k"}
    first = requests.post(url, json=body, headers=auth).content
    assert requests.post(url, json=body, headers=auth).content == first
    assert requests.post(url, json={**body, "seed": 78}, headers=auth).content != first
    assert requests.post(url, json={**body, "prompt": "other"}, headers=auth).content != first


def test_seed_and_prompt_change_composition() -> None:
    assert diff(BASE, replace(BASE, seed=1235)) > 8
    assert diff(BASE, replace(BASE, prompt="a red tram in the rain")) > 8


def test_cfg_scale_changes_contrast_and_saturation() -> None:
    low = render_image(replace(BASE, cfg_scale=1)).crop(ART)
    high = render_image(replace(BASE, cfg_scale=18)).crop(ART)
    sat = [ImageStat.Stat(im.convert("HSV")).mean[1] for im in (low, high)]
    spread = [ImageStat.Stat(im.convert("L")).stddev[0] for im in (low, high)]
    assert sat[1] > sat[0] * 1.3
    assert spread[1] > spread[0] * 1.2


@pytest.mark.parametrize(
    "style",
    [
        "Pixel Art",
        "Film Noir",
        "Line Art",
        "Watercolor",
        "Pop Art",
        "Analog Film",
        "Neon Punk",
        "3D Model",
        "Cinematic",
    ],
)
def test_style_presets_visibly_change_treatment(style: str) -> None:
    assert diff(BASE, replace(BASE, style_preset=style)) > 4


def test_monochrome_style_is_grey() -> None:
    img = render_image(replace(BASE, style_preset="Monochrome")).crop(ART)
    r, g, b = img.split()
    assert ImageChops.difference(r, g).getextrema()[1] <= 1
    assert ImageChops.difference(g, b).getextrema()[1] <= 1


def test_negative_prompt_is_subtle_but_real() -> None:
    d = diff(BASE, replace(BASE, negative_prompt="fog, people"))
    assert 0 < d < diff(BASE, replace(BASE, seed=99))


def test_negative_prompt_ignored_by_models_that_drop_it(local_server: LocalServer) -> None:
    url = f"{local_server.base_url}/image/generate"
    auth = {"Authorization": "Bearer k"}

    def get(model: str, **extra: object) -> bytes:
        body = {
            "model": model,
            "prompt": "neg",
            "seed": 5,
            "width": 64,
            "height": 64,
            "return_binary": True,
            "format": "png",
            **extra,
        }
        return requests.post(url, json=body, headers=auth).content

    assert get("z-image-turbo") == get("z-image-turbo", negative_prompt="trees")
    assert get("venice-sd35") != get("venice-sd35", negative_prompt="trees")


def test_caption_band_is_drawn() -> None:
    img = render_image(BASE)
    band = img.crop((0, 200, 256, 256)).convert("L")
    assert band.getextrema()[1] >= 230  # white "LOCAL PREVIEW" text on a dark band
    assert ImageStat.Stat(band).mean[0] < ImageStat.Stat(img.crop(ART).convert("L")).mean[0] + 40


def test_exact_sizes_including_tiny_and_4k_tier() -> None:
    for w, h in ((1, 1), (7, 300), (1280, 16)):
        assert render_image(replace(BASE, width=w, height=h)).size == (w, h)
    big = Image.open(io.BytesIO(render(replace(BASE, width=4096, height=2304, format="jpeg"))))
    assert big.size == (4096, 2304)
