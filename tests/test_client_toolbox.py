"""VeniceClient.edit / multi_edit / upscale / remove_background over real HTTP on 127.0.0.1.

A scripted server (tests/fault_server.py) answers with the live service's shapes: the image bytes
with ``x-venice-model-id``, moderation and deprecation headers, or an error. Each test checks what
the client sent (JSON or multipart, parsed back here), what the result says (format from the
bytes, lineage, cost), and that a refused request sends nothing.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import pytest
from fault_server import FaultServer, Reply
from PIL import Image
from shared_data import CATALOGUE_PATH

from venice_nb.client import VeniceClient
from venice_nb.errors import ContentPolicyError, InvalidResponseError, ValidationError
from venice_nb.images_in import to_input
from venice_nb.metadata import read_metadata
from venice_nb.operations import (
    BackgroundRemoveRequest,
    EditRequest,
    MultiEditRequest,
    UpscaleRequest,
)
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GeneratedImage, GenerationResult

REAL = CATALOGUE_PATH
KEY = "sk-toolbox-canary-0123456789"


def image_bytes(size=(320, 256), mode="RGB", fmt="PNG", colour=(20, 120, 220)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour if mode == "RGB" else (0, 0, 0, 0)).save(buf, format=fmt)
    return buf.getvalue()


def rows(kind: str) -> dict[str, Any]:
    data = json.loads(REAL.read_text())["data"]
    return {"object": "list", "type": kind, "data": [r for r in data if r.get("type") == kind]}


def ok_image(data: bytes, **headers: str) -> Reply:
    return Reply(200, data, headers=headers, content_type="image/png")


@pytest.fixture
def fs() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def client(fs: FaultServer) -> VeniceClient:
    return VeniceClient(KEY, base_url=fs.base_url, read_timeout=10)


def source() -> GenerationResult:
    image = GeneratedImage.from_bytes(image_bytes(), index=0, seed=42)
    return GenerationResult(
        request=GenerateRequest("z-image-turbo", "a gondola"), images=[image], id="gen-1"
    )


def multipart(seen) -> dict[str, list[Any]]:
    """The parts of a multipart/form-data request: name -> [text or (filename, bytes)]."""
    head = f"Content-Type: {seen.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + seen.body)
    parts: dict[str, list[Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        parts.setdefault(name, []).append((filename, payload) if filename else payload.decode())
    return parts


def test_edit_json_sends_base64_and_reads_the_image_with_lineage(fs, client) -> None:
    edited = image_bytes(fmt="JPEG")
    fs.push(
        Reply(200, rows("inpaint")),
        ok_image(
            edited,
            **{
                "x-venice-model-id": "nano-banana-pro-edit",
                "x-venice-model-name": "Nano Banana Pro Edit",
                "x-venice-is-blurred": "true",
                "x-venice-enhanced-prompt": "make%20it%20a%20starry%20night",
                "x-venice-model-deprecation-warning": "retiring soon",
            },
        ),
    )
    shot = source()
    request = client.validate_operation(
        EditRequest(to_input(shot, "shot"), "make it night", model="nano-banana-pro-edit",
                    resolution="2k", enhance_prompt=True)
    )  # fmt: skip
    result = client.edit(request)
    sent = fs.seen[-1]
    assert (sent.method, sent.path) == ("POST", "/api/v1/image/edit")
    assert sent.headers["Content-Type"] == "application/json"
    body = json.loads(sent.body)
    assert base64.b64decode(body["image"]) == shot.image.data
    assert body["resolution"] == "2K" and body["model"] == "nano-banana-pro-edit"
    image = result.image
    assert image.format == "jpeg" and image.data == edited and image.blurred
    assert result.enhanced_prompt == "make it a starry night"
    assert result.deprecation == "retiring soon"
    assert result.cost_usd == 0.23 and result.route == "edit"
    lineage = result.lineage
    assert lineage is image.lineage and lineage.operation == "edit"
    assert lineage.model_id == "nano-banana-pro-edit" and lineage.sources[0].origin is shot.image
    prov = result.provenance()
    assert prov["lineage"]["sources"][0]["source"]["model"] == "z-image-turbo"
    assert prov["request"]["inputs"][0]["label"] == "shot" and "image" not in prov["request"]
    assert "Edit (nano-banana-pro-edit) of shot" in repr(image)


def test_multi_edit_multipart_sends_files_and_modelId(fs, client) -> None:
    fs.push(ok_image(image_bytes()))
    first, second = to_input(image_bytes(), "a"), to_input(image_bytes(colour=(250, 0, 0)), "b")
    request = MultiEditRequest((first, second), "combine them", quality="low",
                               model="gpt-image-2-edit", transport="multipart")  # fmt: skip
    result = client.multi_edit(request)
    sent = fs.seen[-1]
    assert sent.path == "/api/v1/image/multi-edit"
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = multipart(sent)
    assert parts["modelId"] == ["gpt-image-2-edit"] and "model" not in parts
    assert [p[1] for p in parts["images"]] == [first.data, second.data]
    assert parts["quality"] == ["low"] and parts["prompt"] == ["combine them"]
    assert result.lineage.source_labels() == ["a", "b"]
    assert result.cost_usd is None  # the edit catalogue was never fetched: no price claimed


def test_upscale_json_and_multipart_and_cost_without_catalogue(fs, client) -> None:
    big = image_bytes((640, 512))
    fs.push(ok_image(big), ok_image(big))
    src = to_input(image_bytes(), "shot[0]")
    result = client.upscale(UpscaleRequest(src, scale=2, creativity=0.01))
    assert json.loads(fs.seen[-1].body) == {"scale": 2, "creativity": 0.01, "image": src.base64()}
    assert result.image.size == (640, 512) and result.cost_usd == 0.02
    result = client.upscale(UpscaleRequest(src, scale=4, transport="multipart"))
    parts = multipart(fs.seen[-1])
    assert parts["scale"] == ["4"] and parts["image"][0][1] == src.data
    assert result.cost_usd == 0.08 and result.lineage.params == {"scale": 4}


def test_background_removal_by_bytes_and_url_sends_no_model(fs, client) -> None:
    cut = image_bytes(mode="RGBA")
    fs.push(ok_image(cut), ok_image(cut), ok_image(cut))
    src = to_input(image_bytes(), "shot")
    result = client.remove_background(BackgroundRemoveRequest(src))
    assert json.loads(fs.seen[-1].body) == {"image": src.base64()}
    client.remove_background(BackgroundRemoveRequest(to_input("https://example.com/a.png")))
    assert json.loads(fs.seen[-1].body) == {"image_url": "https://example.com/a.png"}
    client.remove_background(BackgroundRemoveRequest(src, transport="multipart"))
    assert list(multipart(fs.seen[-1])) == ["image"]
    assert result.image.to_pil().mode == "RGBA" and result.cost_usd == 0.03


def test_refusals_send_nothing(fs, client) -> None:
    tiny = to_input(image_bytes((100, 100)), "tiny")
    for call, request in (
        (client.edit, EditRequest(tiny, "x")),
        (client.upscale, UpscaleRequest(to_input("https://e.com/x.png"))),
        (client.upscale, UpscaleRequest(to_input(image_bytes()), scale=3)),
        (client.multi_edit, MultiEditRequest((), "x")),
        (client.remove_background, BackgroundRemoveRequest(tiny)),
    ):
        with pytest.raises(ValidationError):
            call(request)
    fs.push(Reply(200, rows("inpaint")))
    with pytest.raises(ValidationError, match="does not combine images"):
        client.validate_operation(
            MultiEditRequest([to_input(image_bytes())], "x", model="luma-uni-1-edit")
        )
    assert [s.path for s in fs.seen] == ["/api/v1/models?type=inpaint"]  # the list, no POST
    with pytest.raises(TypeError):
        client.edit(UpscaleRequest(to_input(image_bytes())))  # type: ignore[arg-type]


def test_content_policy_422_on_an_edit_is_said_as_such(fs, client) -> None:
    fs.push(Reply(422, {"error": "Your prompt violates the content policy of Venice.ai"}))
    with pytest.raises(ContentPolicyError) as info:
        client.edit(EditRequest(to_input(image_bytes()), "something refused"))
    assert str(info.value).startswith(
        "Venice refused this edit under its content policy (HTTP 422)"
    )
    assert "not charged" in info.value.hint
    fs.push(Reply(422, {"code": "IMAGE_TOO_LARGE", "error": "Image too large"}))
    with pytest.raises(ContentPolicyError, match="found the input image too large"):
        client.edit(EditRequest(to_input(image_bytes()), "x"))


def test_a_200_that_is_not_an_image_is_refused(fs, client) -> None:
    fs.push(Reply(200, {"images": []}))
    with pytest.raises(InvalidResponseError, match="not a PNG, JPEG or WebP"):
        client.upscale(UpscaleRequest(to_input(image_bytes())))
    fs.push(ok_image(image_bytes()[:-30]))
    with pytest.raises(InvalidResponseError, match="cut short"):
        client.upscale(UpscaleRequest(to_input(image_bytes())))


def test_lineage_is_saved_in_the_sidecar_and_embedded(fs, client, tmp_path: Path) -> None:
    fs.push(ok_image(image_bytes((640, 512))))
    result = client.upscale(UpscaleRequest(to_input(source(), "shot"), scale=2))
    (path,) = result.save(tmp_path)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["lineage"]["operation"] == "upscale"
    assert sidecar["lineage"]["sources"][0]["label"] == "shot"
    assert sidecar["lineage"]["sources"][0]["source"]["seed"] == 42
    embedded = read_metadata(path.read_bytes())
    assert embedded["lineage"]["params"] == {"scale": 2}
    assert KEY not in path.read_bytes().decode("latin-1") + json.dumps(sidecar)
