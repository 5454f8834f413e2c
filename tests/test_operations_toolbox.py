"""The four toolbox requests: checks against the real catalogue, bodies in JSON and multipart (by
size or forced), prices, and conformance of every body to the spec's request schemas."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image
from shared_data import CATALOGUE_PATH

from venice_nb.catalogue import Catalogue
from venice_nb.errors import ValidationError
from venice_nb.images_in import MB, InputImage, to_input
from venice_nb.operations import (
    BackgroundRemoveRequest,
    EditRequest,
    MultiEditRequest,
    UpscaleRequest,
)
from venice_nb.operations.common import JSON_MAX_BYTES, choose_transport

REAL = CATALOGUE_PATH


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return Catalogue.from_json(json.loads(REAL.read_text()))


def png(size: tuple[int, int] = (512, 384), colour: tuple[int, int, int] = (30, 90, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


IMG = to_input(png(), "shot[0]")
URL = to_input("https://example.com/cat.png")


def big(nbytes: int, label: str = "big.png") -> InputImage:
    """An input that claims ``nbytes`` (checks read sizes, not pixels)."""
    return InputImage(
        label, data=b"\x89PNG" + b"\0" * (nbytes - 4), format="png", size=(2000, 2000)
    )


def schema(spec_validator, path: str, content: str) -> dict[str, Any]:
    return spec_validator.spec["paths"][path]["post"]["requestBody"]["content"][content]["schema"]


def multipart_instance(body) -> dict[str, Any]:
    """A multipart body as the schema sees it: text fields, files as binary strings."""
    out: dict[str, Any] = {}
    for name, value in body.fields.items():
        out[name] = {"true": True, "false": False}.get(value, value)
        if name in ("scale", "creativity"):
            out[name] = float(value)
    for name, _fname, _data, _mime in body.files:
        if name == "images":
            out.setdefault("images", []).append("<binary>")
        else:
            out[name] = "<binary>"
    return out


# ---- edit -------------------------------------------------------------------------------------


def test_edit_json_body_conforms_and_carries_base64_or_url(cat, spec_validator) -> None:
    request = EditRequest(
        IMG, "make it night", model="nano-banana-pro-edit", aspect_ratio="auto",
        resolution="2k", output_format="jpg", enhance_prompt=True, safe_mode=False,
        disable_prompt_optimization_thinking=True,
    ).check_against(cat["nano-banana-pro-edit"])  # fmt: skip
    body = request.body()
    assert body.kind == "json" and request.resolution == "2K" and request.output_format == "jpeg"
    assert base64.b64decode(body.json["image"]) == IMG.data
    spec_validator(body.json, schema(spec_validator, "/image/edit", "application/json"))
    url_body = EditRequest(URL, "x").check().body()
    assert url_body.json["image"] == "https://example.com/cat.png"
    spec_validator(url_body.json, schema(spec_validator, "/image/edit", "application/json"))


def test_edit_multipart_body_conforms(spec_validator) -> None:
    body = EditRequest(IMG, "make it night", safe_mode=True, transport="multipart").check().body()
    assert body.kind == "multipart" and body.fields["safe_mode"] == "true"
    assert body.files[0][:2] == ("image", "image.png") and body.files[0][2] == IMG.data
    assert "image" not in body.fields
    spec_validator(
        multipart_instance(body), schema(spec_validator, "/image/edit", "multipart/form-data")
    )
    kwargs = body.requests_kwargs()
    assert kwargs["files"][0][0] == "image" and kwargs["data"]["model"] == "firered-image-edit"


def test_transport_is_chosen_by_size() -> None:
    assert choose_transport("auto", [IMG], 1000, "/image/edit") == "json"
    assert (
        choose_transport("auto", [big(20 * MB)], JSON_MAX_BYTES + 1, "/image/edit") == "multipart"
    )
    with pytest.raises(ValidationError, match="must be under 25 MB"):
        choose_transport("auto", [big(26 * MB)], 40 * MB, "/image/edit")
    with pytest.raises(ValidationError, match="over the 35 MB limit; send it as multipart"):
        choose_transport("json", [big(27 * MB)], 36 * MB, "/image/edit")
    with pytest.raises(ValidationError, match="is a URL, and multipart bodies carry only files"):
        choose_transport("multipart", [URL], 100, "/image/edit")
    with pytest.raises(ValidationError, match="transport must be one of"):
        choose_transport("xml", [IMG], 100, "/image/edit")
    # A 27 MB image: 36 MB as base64 JSON, so it would need multipart, where it is over 25 MB.
    request = EditRequest(big(27 * MB), "x")
    with pytest.raises(
        ValidationError,
        match=r"big\.png has 27\.0 MB; files sent to /image/edit must be under 25 MB",
    ):
        request.check()
    # One image under 25 MB always fits in 35 MB of JSON; two of 14 MB do not, so they go as files.
    pair = MultiEditRequest([big(14 * MB, "a"), big(14 * MB, "b")], "x").check()
    assert pair.body().kind == "multipart" and pair.body().size < 29 * MB


def test_edit_refusals_against_the_model(cat) -> None:
    with pytest.raises(ValidationError, match="the edit instruction is empty"):
        EditRequest(IMG, "  ").check()
    with pytest.raises(ValidationError, match="firered-image-edit takes at most 1,500"):
        EditRequest(IMG, "x" * 1501).check_against(cat["firered-image-edit"])
    EditRequest(IMG, "x" * 9000).check_against(cat["qwen-image-2-edit"])
    with pytest.raises(ValidationError, match="does not offer aspect ratio '21:9'"):
        EditRequest(IMG, "x", aspect_ratio="21:9").check_against(cat["grok-imagine-edit"])
    with pytest.raises(ValidationError, match="--aspect-ratio must be auto or a ratio"):
        EditRequest(IMG, "x", aspect_ratio="wide").check()
    EditRequest(IMG, "x", aspect_ratio="5:4").check()  # the model's row decides, not a list here
    with pytest.raises(ValidationError, match="does not offer aspect ratio '5:4'"):
        EditRequest(IMG, "x", aspect_ratio="5:4").check_against(cat["firered-image-edit"])
    with pytest.raises(
        ValidationError, match=r"does not offer resolution '4K' \(offered: 1K, 2K\)"
    ):
        EditRequest(IMG, "x", resolution="4K").check_against(cat["qwen-image-3-edit"])
    with pytest.raises(ValidationError, match="drop --resolution"):
        EditRequest(IMG, "x", resolution="2K").check_against(cat["firered-image-edit"])
    with pytest.raises(ValidationError, match="an edit needs at least 65,536"):
        EditRequest(to_input(png((200, 200)), "tiny"), "x").check()
    with pytest.raises(ValidationError, match="not an edit model"):
        EditRequest(IMG, "x", model="upscaler").check_against(cat["upscaler"])
    with pytest.raises(ValidationError, match="--format must be one of"):
        EditRequest(IMG, "x", output_format="gif").check()
    with pytest.raises(ValidationError, match="safe_mode must be True or False"):
        EditRequest(IMG, "x", safe_mode="no").check()  # type: ignore[arg-type]
    # 'auto' where the model lists no 'auto' means the same as leaving it out
    sent = EditRequest(IMG, "x", aspect_ratio="auto").check_against(cat["qwen-image-2-edit"])
    assert sent.aspect_ratio is None and "aspect_ratio" not in sent.body().json


def test_edit_prices(cat) -> None:
    assert EditRequest(IMG, "x").estimated_cost(cat["firered-image-edit"]) == 0.04
    nano = cat["nano-banana-pro-edit"]
    assert [EditRequest(IMG, "x", resolution=r).estimated_cost(nano) for r in ("1K", "2K", "4K")] == [
        0.18, 0.23, 0.35,
    ]  # fmt: skip
    assert EditRequest(IMG, "x").estimated_cost(cat["grok-imagine-edit"]) == pytest.approx(0.0323)


def test_provenance_never_holds_the_image_bytes() -> None:
    prov = EditRequest(IMG, "make it night").provenance_json()
    assert prov["inputs"][0]["label"] == "shot[0]" and prov["inputs"][0]["sha256"] == IMG.sha256
    assert IMG.base64()[:40] not in json.dumps(prov)
    key = EditRequest(to_input(IMG.data, "another name"), "make it night").cache_json()
    assert key == EditRequest(IMG, "make it night").cache_json()  # the bytes, not the label


# ---- multi-edit ------------------------------------------------------------------------------


def test_multi_edit_sends_modelId_in_json_and_multipart(cat, spec_validator) -> None:
    second = to_input(png((400, 400), (250, 200, 0)), "logo.png")
    request = MultiEditRequest(
        [IMG, second, URL], "put the logo on the wall", model="gpt-image-2-edit",
        resolution="1K", quality="Low", aspect_ratio="16:9",
    ).check_against(cat["gpt-image-2-edit"])  # fmt: skip
    body = request.body()
    assert body.json["modelId"] == "gpt-image-2-edit" and "model" not in body.json
    assert body.json["images"][2] == "https://example.com/cat.png" and body.json["quality"] == "low"
    spec_validator(body.json, schema(spec_validator, "/image/multi-edit", "application/json"))
    parts = MultiEditRequest([IMG, second], "x", transport="multipart").check().body()
    assert [f[0] for f in parts.files] == ["images", "images"] and parts.files[0][2] == IMG.data
    assert parts.fields["modelId"] == "firered-image-edit"
    spec_validator(
        multipart_instance(parts),
        schema(spec_validator, "/image/multi-edit", "multipart/form-data"),
    )
    assert request.estimated_cost(cat["gpt-image-2-edit"]) == pytest.approx(0.03 + 2 * 0.0092)


def test_multi_edit_refusals(cat) -> None:
    with pytest.raises(
        ValidationError, match=r"firered-image-edit takes at most 3 input images, got 4"
    ):
        MultiEditRequest([IMG] * 4, "x").check_against(cat["firered-image-edit"])
    for n in (1, 2):  # combineImages: false is refused on the route whatever the count (0b.16)
        with pytest.raises(ValidationError, match=r"luma-uni-1-edit does not combine images"):
            MultiEditRequest([IMG] * n, "x", model="luma-uni-1-edit").check_against(
                cat["luma-uni-1-edit"]
            )
    MultiEditRequest([IMG] * 6, "x", model="flux-2-max-edit").check_against(cat["flux-2-max-edit"])
    with pytest.raises(ValidationError, match="at least one image"):
        MultiEditRequest([], "x").check()
    with pytest.raises(
        ValidationError, match=r"does not take --quality 'high' \(offered: low, medium\)"
    ):
        MultiEditRequest([IMG], "x", quality="high").check_against(
            cat["grok-imagine-image-2-0-edit"]
        )
    with pytest.raises(ValidationError, match="is a URL, and multipart"):
        MultiEditRequest([IMG, URL], "x", transport="multipart").check()


# ---- upscale ---------------------------------------------------------------------------------


def test_upscale_json_and_multipart_conform(cat, spec_validator) -> None:
    request = UpscaleRequest(IMG, scale=4, creativity=0.02).check()
    body = request.body()
    assert body.json == {"scale": 4, "creativity": 0.02, "image": IMG.base64()}
    spec_validator(body.json, schema(spec_validator, "/image/upscale", "application/json"))
    parts = request.with_(transport="multipart").body()
    assert parts.fields == {"scale": "4", "creativity": "0.02"} and parts.files[0][0] == "image"
    spec_validator(
        multipart_instance(parts), schema(spec_validator, "/image/upscale", "multipart/form-data")
    )
    assert request.estimated_cost(cat["upscaler"]) == 0.08
    assert UpscaleRequest(IMG).estimated_cost(None) == 0.02
    assert request.output_size() == (2048, 1536)


def test_upscale_refusals_and_notes() -> None:
    with pytest.raises(ValidationError, match="--scale must be 2 or 4, got 3"):
        UpscaleRequest(IMG, scale=3).check()
    with pytest.raises(ValidationError, match="takes only image bytes; download it first"):
        UpscaleRequest(URL).check()
    with pytest.raises(ValidationError, match="an upscale needs at least 65,536"):
        UpscaleRequest(to_input(png((100, 100)), "tiny")).check()
    large = InputImage("large", data=png(), format="png", size=(2100, 2100))
    with pytest.raises(
        ValidationError, match="even 2x would pass the 16,777,216-pixel output limit"
    ):
        UpscaleRequest(large).check()
    mid = to_input(png((1536, 1024)), "mid")
    notes = UpscaleRequest(mid, scale=4, creativity=0.5).check().notes()
    assert notes[0].startswith(
        "mid is 1536x1024: 4x would pass 16,777,216 pixels, so the service reduces it to about 3.27x"
    )
    assert "clamps it to 0.02" in notes[1]
    assert UpscaleRequest(mid, scale=2).notes() == []


# ---- background removal ----------------------------------------------------------------------


def test_background_remove_bodies(cat, spec_validator) -> None:
    body = BackgroundRemoveRequest(IMG).check().body()
    assert body.json == {"image": IMG.base64()}
    spec_validator(
        body.json, schema(spec_validator, "/image/background-remove", "application/json")
    )
    url = BackgroundRemoveRequest(URL).check().body()
    assert url.json == {"image_url": "https://example.com/cat.png"}
    spec_validator(url.json, schema(spec_validator, "/image/background-remove", "application/json"))
    parts = BackgroundRemoveRequest(IMG, transport="multipart").check().body()
    assert parts.fields == {} and parts.files[0][0] == "image"
    with pytest.raises(ValidationError, match="is a URL, and multipart"):
        BackgroundRemoveRequest(URL, transport="multipart").check()
    assert BackgroundRemoveRequest(IMG).estimated_cost(cat["bria-bg-remover"]) == 0.03
    assert "model" not in body.json and "model" not in parts.fields


def test_a_request_refuses_a_path_instead_of_reading_it(tmp_path) -> None:
    """operations/ does no I/O: the surfaces read files (to_input, venice_nb.upscale(path))."""
    from venice_nb.errors import ValidationError
    from venice_nb.operations import BackgroundRemoveRequest, MultiEditRequest, UpscaleRequest

    path = tmp_path / "photo.png"
    path.write_bytes(b"not read")  # reading it would fail differently: not an image
    for build in (
        lambda: UpscaleRequest(str(path)),
        lambda: BackgroundRemoveRequest(path),
        lambda: MultiEditRequest((str(path), str(path)), "x"),
    ):
        with pytest.raises(
            ValidationError, match=r"^a request holds images, not paths: read "
        ) as e:
            build()
        assert "\n" not in str(e.value)
