"""Style references: checked like the live service (400 corrupt/SVG/too many, 422 over 7680x4320)."""

from __future__ import annotations

import base64
import io

import pytest
import requests
from PIL import Image

from venice_nb.server import LocalServer

AUTH = {"Authorization": "Bearer test-key"}


def png(width: int, height: int) -> str:
    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, "PNG", compress_level=9)
    return base64.b64encode(out.getvalue()).decode()


def gen(server: LocalServer, *refs: dict) -> requests.Response:
    body = {"model": "krea-v2-medium", "prompt": "p", "style_references": list(refs)}
    return requests.post(f"{server.base_url}/image/generate", json=body, headers=AUTH, timeout=60)


@pytest.fixture(scope="module")
def srv():
    with LocalServer() as server:
        yield server


def test_good_references_in_every_form(srv: LocalServer) -> None:
    small = png(64, 48)
    r = gen(
        srv,
        {"image": small, "strength": 0.3},
        {"image": "data:image/png;base64," + small},
        {"image": "https://example.com/ref.png"},  # off this machine: not fetched, not refused
    )
    assert r.status_code == 200, r.text
    assert "style_references" not in r.json()["request"]["data"]  # left out of the echo, as live


def test_oversize_reference_is_the_routes_only_422(srv: LocalServer) -> None:
    before = srv.balance_usd
    r = gen(srv, {"image": png(64, 64)}, {"image": png(7681, 16)})
    assert r.status_code == 422
    assert "style_references[1]" in r.json()["error"] and "7680x4320" in r.json()["error"]
    assert gen(srv, {"image": png(7680, 16)}).status_code == 200
    assert srv.balance_usd == pytest.approx(before - 0.04)  # the 422 was not charged


@pytest.mark.parametrize(
    ("image", "words"),
    [
        (base64.b64encode(b"not an image at all").decode(), "could not be read"),
        (base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode(), "SVG"),
        ("%%%not-base64%%%", "base64"),
    ],
)
def test_bad_references_are_400(srv: LocalServer, image: str, words: str) -> None:
    r = gen(srv, {"image": image})
    assert r.status_code == 400 and words in r.text


def test_loopback_urls_are_fetched_and_checked(srv: LocalServer) -> None:
    ok = f"{srv.base_url}/image/styles"  # a loopback URL that is not an image
    r = gen(srv, {"image": ok})
    assert r.status_code == 400 and "could not be read" in r.json()["error"]
