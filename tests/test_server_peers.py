"""What other Venice clients send and see (venice-api.md 0b.13-21), over real HTTP to the local server.

``llm-venice`` sends ``enhance=false`` with every upscale, ``venice-cli`` replays echoes and gates
style references on row flags, the newer spec adds ``anon_user_id``, ``transparent_background``, 4:3
edits and three edit ids. Each case here failed against the server before issue 20.
"""

from __future__ import annotations

import base64
import io
import json
import socket
from collections.abc import Iterator

import pytest
import requests
from PIL import Image

from venice_nb.server import LocalServer

AUTH = {"Authorization": "Bearer test-key"}
GEN = {"model": "z-image-turbo", "prompt": "a gondola", "width": 256, "height": 256}


def _png(size: tuple[int, int] = (320, 256)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (40, 160, 90)).save(buf, "PNG")
    return buf.getvalue()


PNG = _png()
B64 = base64.b64encode(PNG).decode()


@pytest.fixture(scope="module")
def srv() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


def post(server: LocalServer, path: str, body: dict) -> requests.Response:
    return requests.post(f"{server.base_url}{path}", json=body, headers=AUTH, timeout=60)


def form(server: LocalServer, path: str, files: object, data: dict) -> requests.Response:
    return requests.post(
        f"{server.base_url}{path}", files=files, data=data, headers=AUTH, timeout=60
    )


def issue_paths(r: requests.Response) -> list[list]:
    assert r.status_code == 400, r.text
    return [i["path"] for i in r.json()["issues"]]


def image(r: requests.Response) -> Image.Image:
    assert r.status_code == 200, r.text
    return Image.open(io.BytesIO(r.content))


# ---- 0b.13: upscale and multipart multi-edit ignore unknown fields ---------------------------


def test_upscale_ignores_unknown_and_retired_fields_json_and_multipart(srv: LocalServer) -> None:
    retired = {"enhance": False, "enhanceCreativity": 0.5, "enhancePrompt": "x", "replication": 0.3}
    plain = post(srv, "/image/upscale", {"image": B64, "scale": 2})
    lenient = post(srv, "/image/upscale", {"image": B64, "scale": 2, **retired, "whatever": 1})
    assert image(lenient).size == image(plain).size == (640, 512)
    assert lenient.content == plain.content  # ignored, not used
    sent = form(
        srv,
        "/image/upscale",
        {"image": ("in.png", PNG, "image/png")},
        {"enhance": "false", "scale": "2"},
    )
    assert image(sent).size == (640, 512)
    bad = post(srv, "/image/upscale", {"image": B64, "scale": 3, "enhance": False})
    assert issue_paths(bad) == [["scale"]]  # known fields are still checked


def test_multipart_multi_edit_ignores_unknown_fields_json_stays_strict(srv: LocalServer) -> None:
    files = [("images", ("a.png", PNG, "image/png")), ("images", ("b.png", PNG, "image/png"))]
    r = form(srv, "/image/multi-edit", files, {"prompt": "merge", "unknownThing": "1"})
    assert image(r).size == (1024, 816)
    strict = post(srv, "/image/multi-edit", {"images": [B64], "prompt": "p", "unknownThing": 1})
    assert strict.json()["issues"][0]["code"] == "unrecognized_keys"


# ---- 0b.14: anon_user_id on generate and the toolbox -------------------------------------------

ANON_OK = ["u", "user-42 with spaces ~!", "x" * 128]
ANON_BAD = ["", "x" * 129, "naïve", "tab\there", "emoji 🎨"]


@pytest.mark.parametrize("value", ANON_OK)
def test_anon_user_id_accepted_everywhere(srv: LocalServer, value: str) -> None:
    assert post(srv, "/image/generate", {**GEN, "anon_user_id": value}).status_code == 200
    assert image(post(srv, "/image/edit", {"image": B64, "prompt": "p", "anon_user_id": value}))
    multi = {"images": [B64, B64], "prompt": "p", "anon_user_id": value}
    assert image(post(srv, "/image/multi-edit", multi))
    assert image(post(srv, "/image/background-remove", {"image": B64, "anon_user_id": value}))
    upload = {"image": ("in.png", PNG, "image/png")}
    assert image(form(srv, "/image/background-remove", upload, {"anon_user_id": value}))
    assert image(form(srv, "/image/edit", upload, {"prompt": "p", "anon_user_id": value}))


@pytest.mark.parametrize("value", ANON_BAD)
def test_anon_user_id_outside_printable_ascii_or_1_to_128_is_400(
    srv: LocalServer, value: str
) -> None:
    assert issue_paths(post(srv, "/image/generate", {**GEN, "anon_user_id": value})) == [
        ["anon_user_id"]
    ]
    edit = post(srv, "/image/edit", {"image": B64, "prompt": "p", "anon_user_id": value})
    assert issue_paths(edit) == [["anon_user_id"]]
    cut = post(srv, "/image/background-remove", {"image": B64, "anon_user_id": value})
    assert issue_paths(cut) == [["anon_user_id"]]
    upload = {"image": ("in.png", PNG, "image/png")}
    assert issue_paths(form(srv, "/image/background-remove", upload, {"anon_user_id": value})) == [
        ["anon_user_id"]
    ]


# ---- 0b.16-17: 4:3, the new edit ids, the multi-edit enum, transparent_background ------------


def test_new_edit_ids_and_four_three(srv: LocalServer) -> None:
    for model in ("gpt-image-2-5-flare-edit", "gpt-image-2-5-sunburst-edit", "muse-image-edit"):
        r = post(
            srv, "/image/edit", {"image": B64, "prompt": "p", "model": model, "aspect_ratio": "4:3"}
        )
        assert image(r).size == (1024, 768) and r.headers["x-venice-model-id"] == model
    refused = post(srv, "/image/edit", {"image": B64, "prompt": "p", "aspect_ratio": "4:3"})
    assert issue_paths(refused) == [["aspect_ratio"]]  # the enum has it; firered's row does not
    multi = {
        "images": [B64, B64],
        "prompt": "p",
        "modelId": "muse-image-edit",
        "aspect_ratio": "4:3",
    }
    assert image(post(srv, "/image/multi-edit", multi)).size == (1024, 768)


@pytest.mark.parametrize("model", ["luma-uni-1-edit", "luma-uni-1-max-edit"])
def test_multi_edit_refuses_models_that_do_not_combine(srv: LocalServer, model: str) -> None:
    before = srv.balance_usd
    r = post(srv, "/image/multi-edit", {"images": [B64], "prompt": "p", "modelId": model})
    issue = r.json()["issues"][0]
    assert r.status_code == 400 and issue["code"] == "invalid_enum_value"
    assert model not in issue["options"] and "firered-image-edit" in issue["options"]
    assert srv.balance_usd == before
    assert image(post(srv, "/image/edit", {"image": B64, "prompt": "p", "model": model}))


def test_transparent_background_where_the_row_allows_it(srv: LocalServer) -> None:
    edit = {
        "image": B64,
        "prompt": "p",
        "model": "gpt-image-2-edit",
        "transparent_background": True,
    }
    out = image(post(srv, "/image/edit", edit))
    assert out.format == "PNG" and out.mode == "RGBA"  # PNG by default with it
    assert out.getchannel("A").getextrema()[0] == 0  # and really transparent somewhere
    webp = image(post(srv, "/image/edit", {**edit, "output_format": "webp"}))
    assert webp.format == "WEBP" and webp.mode == "RGBA"
    assert issue_paths(post(srv, "/image/edit", {**edit, "output_format": "jpeg"})) == [
        ["transparent_background"]
    ]
    assert issue_paths(post(srv, "/image/edit", {**edit, "model": "firered-image-edit"})) == [
        ["transparent_background"]
    ]
    multi = {
        "images": [B64, B64],
        "prompt": "p",
        "modelId": "firered-image-edit",
        "transparent_background": True,
    }
    assert issue_paths(post(srv, "/image/multi-edit", multi)) == [["transparent_background"]]
    gen = {"model": "gpt-image-2", "prompt": "p", "transparent_background": True}
    assert post(srv, "/image/generate", {**gen, "format": "png"}).status_code == 200
    assert issue_paths(post(srv, "/image/generate", {**gen, "format": "jpeg"})) == [
        ["transparent_background"]
    ]
    assert issue_paths(post(srv, "/image/generate", {**GEN, "transparent_background": True})) == [
        ["transparent_background"]
    ]
    assert post(srv, "/image/generate", {**GEN, "transparent_background": False}).status_code == 200


def test_models_type_decision_and_all(srv: LocalServer) -> None:
    decision = requests.get(f"{srv.base_url}/models", params={"type": "decision"}, timeout=10)
    assert decision.status_code == 200 and decision.json() == {
        "object": "list",
        "type": "decision",
        "data": [],
    }
    every = requests.get(f"{srv.base_url}/models", params={"type": "all"}, timeout=10).json()
    assert {r["type"] for r in every["data"]} == {"image", "inpaint", "upscale"}


# ---- local edge-case rows only when asked for ---------------------------------------------------


def test_edge_rows_served_only_when_asked_for() -> None:
    with LocalServer() as server:
        ids = {
            r["id"]
            for r in requests.get(f"{server.base_url}/models?type=all", timeout=10).json()["data"]
        }
        assert not {"local-offline-model", "local-pro-model"} & ids
        assert (
            post(server, "/image/generate", {**GEN, "model": "local-offline-model"}).status_code
            == 404
        )
        server.edge_models = True
        assert (
            post(server, "/image/generate", {**GEN, "model": "local-offline-model"}).status_code
            == 503
        )


# ---- methods nobody serves answer JSON ----------------------------------------------------------


def _raw(server: LocalServer, request: bytes) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return lines[0], headers, body


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PROPFIND"])
def test_unserved_methods_answer_json(srv: LocalServer, method: str) -> None:
    status, headers, body = _raw(
        srv,
        f"{method} /api/v1/image/generate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
    )
    assert status.split()[1] == "405", status
    assert headers["content-type"].startswith("application/json")
    assert "error" in json.loads(body)


def test_an_oversized_header_answers_json(srv: LocalServer) -> None:
    huge = b"X-Big: " + b"a" * 70_000
    status, headers, body = _raw(srv, b"GET /api/v1/models HTTP/1.1\r\n" + huge + b"\r\n\r\n")
    assert status.split()[1] == "431"
    assert headers["content-type"].startswith("application/json") and b"<html" not in body.lower()


# ---- 0b.15: fewer images than variants ----------------------------------------------------------


def test_one_variant_refused_by_the_prompt_marker(srv: LocalServer) -> None:
    before = srv.balance_usd
    doc = post(
        srv, "/image/generate", {**GEN, "prompt": "refuse-one-test", "variants": 3, "seed": 5}
    )
    assert doc.status_code == 200 and doc.headers["x-venice-is-content-violation"] == "false"
    body = doc.json()
    assert len(body["images"]) == 2 and body["content_policy_violation_count"] == 1
    assert round(before - srv.balance_usd, 6) == 0.02  # the refused variant is not charged
    seeded = post(srv, "/image/generate", {**GEN, "prompt": "refuse-one-test", "seed": 5}).json()
    assert seeded["images"] == [] and seeded["content_policy_violation_count"] == 1
    plain = post(srv, "/image/generate", {**GEN, "variants": 2}).json()
    assert "content_policy_violation_count" not in plain and len(plain["images"]) == 2


def test_all_variants_refused(srv: LocalServer) -> None:
    before = srv.balance_usd
    r = post(srv, "/image/generate", {**GEN, "prompt": "refuse-all-test", "variants": 2})
    assert r.status_code == 200 and r.headers["x-venice-is-content-violation"] == "true"
    assert r.json()["images"] == [] and r.json()["content_policy_violation_count"] == 2
    assert srv.balance_usd == before


def test_refused_fault(srv: LocalServer) -> None:
    srv.inject("refused", images=1)
    doc = post(srv, "/image/generate", {**GEN, "variants": 2}).json()
    assert len(doc["images"]) == 1 and doc["content_policy_violation_count"] == 1
    srv.inject("refused")
    doc = post(srv, "/image/generate", {**GEN, "variants": 2}).json()
    assert doc["images"] == [] and doc["content_policy_violation_count"] == 2
