"""The toolbox from Python (``venice_nb.edit``, ``img.upscale(4)``, ``img.remove_background()``)
through a real session and HTTP on 127.0.0.1: routing edit vs multi-edit, the cache of every
operation (an edit is paid once too), costs, the before/after view and the checkerboard."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_server import FaultServer, Reply
from PIL import Image
from shared_data import CATALOGUE_PATH

import venice_nb
from venice_nb.display.lineage import compare_html, has_alpha
from venice_nb.errors import ValidationError, VeniceError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GeneratedImage, GenerationResult
from venice_nb.session import VeniceSession, operation_cost
from venice_nb.settings import Settings
from venice_nb.verbs import build_edit

REAL = CATALOGUE_PATH
KEY = "sk-toolbox-api-canary-42"


def png(size=(320, 256), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (10, 80, 160) if mode == "RGB" else (0, 0, 0, 0)).save(buf, "PNG")
    return buf.getvalue()


def rows(kind: str) -> dict[str, Any]:
    data = json.loads(REAL.read_text())["data"]
    return {"object": "list", "data": [r for r in data if r.get("type") == kind]}


def image_reply(data: bytes) -> Reply:
    return Reply(200, data, headers={"x-venice-model-id": "upscaler"}, content_type="image/png")


@pytest.fixture
def fs() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def session(fs: FaultServer, tmp_path: Path) -> VeniceSession:
    s = VeniceSession(
        Settings(backend="venice", base_url=fs.base_url, cache_dir=str(tmp_path / "cache"))
    )
    s.login(KEY)
    return s


def shot() -> GenerationResult:
    image = GeneratedImage.from_bytes(png(), index=0, seed=9)
    return GenerationResult(request=GenerateRequest("z-image-turbo", "a kite"), images=[image])


def posts(fs: FaultServer) -> list[str]:
    return [s.path for s in fs.seen if s.method == "POST"]


def test_build_edit_routes_one_image_to_edit_and_more_or_a_quality_to_multi_edit() -> None:
    one = build_edit(shot(), "make it night")
    assert one.operation == "edit" and one.model == "firered-image-edit"
    assert build_edit([shot(), shot()], "x").operation == "multi-edit"
    assert build_edit(shot(), "x", quality="low").operation == "multi-edit"
    with pytest.raises(
        ValidationError, match="edit\\(\\) takes no argument 'qualty'; did you mean 'quality'"
    ):
        build_edit(shot(), "x", qualty="low")


def test_image_methods_run_through_the_session_and_cache_upscales(fs, session) -> None:
    fs.push(Reply(200, rows("upscale")), image_reply(png((640, 512))))
    image = shot().image
    first = image.upscale(2, session=session)
    again = image.upscale(2, session=session)
    assert posts(fs) == ["/api/v1/image/upscale"]  # the second came from the cache
    assert (first.cached, again.cached) == (False, True)
    assert again.lineage.operation == "upscale" and again.lineage.params == {"scale": 2}
    assert again.image.data == first.image.data and again.cost_usd == 0.0
    fs.push(image_reply(png((640, 512))))
    image.upscale(2, session=session, use_cache=False)  # --no-cache sends again
    fs.push(image_reply(png((1280, 1024))))
    image.upscale(4, session=session)  # another scale is another key
    assert len(posts(fs)) == 3
    cache_files = [p.read_text() for p in (Path(session.settings.cache_dir)).rglob("meta.json")]
    assert len(cache_files) == 2 and all(KEY not in t for t in cache_files)
    assert '"inputs"' in cache_files[0] and len(cache_files[0]) < 5000  # described, not embedded


def test_background_removal_is_cached_by_bytes_not_by_name(fs, session) -> None:
    fs.push(Reply(200, rows("image")), image_reply(png(mode="RGBA")))
    a = venice_nb.remove_background(png(), session=session)
    b = venice_nb.remove_background(Image.open(io.BytesIO(png())), session=session)
    assert posts(fs) == ["/api/v1/image/background-remove"] and b.cached
    assert a.cost_usd == 0.03  # bria-bg-remover's row (listed under type=image)
    assert (
        has_alpha(a.image.data, "png")
        and "repeating-conic-gradient" in (a._repr_mimebundle_()[0]["text/html"])
    )


def test_an_edit_is_paid_once_then_comes_from_the_cache_and_says_its_cost(fs, session) -> None:
    fs.push(Reply(200, rows("inpaint")), image_reply(png()))
    one = venice_nb.edit(shot(), "make it night", model="qwen-image-2-edit", session=session)
    two = venice_nb.edit(shot(), "make it night", model="qwen-image-2-edit", session=session)
    assert posts(fs) == ["/api/v1/image/edit"] and (one.cached, two.cached) == (False, True)
    assert two.image.data == one.image.data and two.cost_usd == 0.0
    assert two.lineage.operation == "edit"
    assert one.cost_usd == 0.05
    assert "$0.05" in one._repr_mimebundle_()[0]["text/html"]
    fs.push(image_reply(png()), image_reply(png()))
    three = shot().edit(
        "make it night", model="qwen-image-2-edit", session=session, use_cache=False
    )
    venice_nb.edit(shot(), "make it dawn", model="qwen-image-2-edit", session=session)
    assert len(posts(fs)) == 3 and not three.cached  # a new take, and another instruction


def test_a_multi_edit_is_cached_by_every_input_in_order(fs, session) -> None:
    fs.push(Reply(200, rows("inpaint")), image_reply(png()), image_reply(png()))
    base, lamp = shot(), Image.new("RGB", (300, 300), (200, 10, 10))
    args = dict(model="flux-2-max-edit", session=session)
    venice_nb.edit([base, lamp], "put the lamp in", **args)
    again = venice_nb.edit([base, lamp], "put the lamp in", **args)
    assert again.cached and posts(fs) == ["/api/v1/image/multi-edit"]
    venice_nb.edit([lamp, base], "put the lamp in", **args)  # another base image
    assert len(posts(fs)) == 2
    with pytest.raises(TypeError, match="use_cache"):
        venice_nb.edit(base, "x", use_cache="no", session=session)


def test_an_edit_of_a_url_is_cached_without_its_credentials(fs, session) -> None:
    fs.push(Reply(200, rows("inpaint")), image_reply(png()))
    url = "https://ann:hunter2secret@images.example/room.png"
    venice_nb.edit(url, "make it night", model="qwen-image-2-edit", session=session)
    again = venice_nb.edit(url, "make it night", model="qwen-image-2-edit", session=session)
    assert again.cached and len(posts(fs)) == 1
    stored = "".join(p.read_text() for p in Path(session.settings.cache_dir).rglob("meta.json"))
    assert "room.png" in stored and "hunter2secret" not in stored and KEY not in stored


def test_costs_for_the_guard(fs, session) -> None:
    fs.push(Reply(200, rows("inpaint")), Reply(200, rows("upscale")))
    multi = build_edit([shot(), shot(), shot()], "x", "flux-2-max-edit")
    assert operation_cost(session.client(), multi) == pytest.approx(0.12 + 2 * 0.0345)
    assert session.estimated_cost(multi) == pytest.approx(0.189)
    up = venice_nb.UpscaleRequest(shot().image, scale=4)
    assert session.estimated_cost(up) == 0.08


def test_compare_shows_source_and_result_side_by_side(fs, session) -> None:
    fs.push(Reply(200, rows("upscale")), image_reply(png((640, 512))))
    result = shot().upscale(2, session=session)
    html = compare_html(result)
    assert (
        "before: the z-image-turbo seed 9 result · 320x256" in html
        and "after: upscale · 640x512" in html
    )
    assert html.count("<img") == 2 and "\u2192" in html
    _, meta = result.compare()._repr_mimebundle_()
    assert meta["venice_nb"]["lineage"]["operation"] == "upscale"
    with pytest.raises(VeniceError, match="not derived from another image"):
        shot().compare()


def test_a_refused_call_sends_nothing(fs, session) -> None:
    with pytest.raises(ValidationError, match="holds 2 images"):
        GenerationResult(
            request=GenerateRequest("z-image-turbo", "x"), images=[shot().image, shot().image]
        ).upscale(2, session=session)
    with pytest.raises(ValidationError, match="needs at least 65,536"):
        venice_nb.upscale(Image.new("RGB", (64, 64)), session=session)
    assert posts(fs) == []


def test_lineage_html_uses_only_styles_an_untrusted_notebook_keeps(fs, session) -> None:
    from display_support import Parsed
    from test_display_html import SANITIZER_KEEPS

    fs.push(Reply(200, rows("image")), image_reply(png(mode="RGBA")))
    result = venice_nb.remove_background(shot(), session=session)
    for html in (result._repr_mimebundle_()[0]["text/html"], compare_html(result)):
        for _tag, attrs in Parsed(html).tags:
            for decl in filter(None, (d.strip() for d in attrs.get("style", "").split(";"))):
                assert decl.partition(":")[0] in SANITIZER_KEEPS, decl
