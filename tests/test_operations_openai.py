"""OpenAIImageRequest: what the OpenAI-compatible route can carry, checked before sending."""

from __future__ import annotations

import pytest

from venice_nb.errors import ValidationError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.operations.openai import OpenAIImageRequest


def req(**kw: object) -> GenerateRequest:
    return GenerateRequest(**{"model": "z-image-turbo", "prompt": "a gondola", **kw})  # type: ignore[arg-type]


def test_openai_mapping_from_a_native_request() -> None:
    o = OpenAIImageRequest.from_generate(
        req(width=1024, height=1536, format="png", safe_mode=False), response_format="url"
    )
    assert o.to_json() == {
        "prompt": "a gondola",
        "model": "z-image-turbo",
        "size": "1024x1536",
        "output_format": "png",
        "moderation": "low",
        "response_format": "url",
    }
    assert o.check() is o


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"seed": 1}, "--openai cannot send --seed"),
        ({"cfg_scale": 5}, "--cfg-scale"),
        ({"variants": 2}, "one image per request"),
        ({"width": 1000, "height": 1000}, "nearest"),
        ({"prompt": "x" * 1501}, "at most 1,500"),
        ({"return_binary": True}, "--binary"),
    ],
)
def test_openai_refuses_what_the_route_cannot_carry(changes: dict, text: str) -> None:
    with pytest.raises(ValidationError, match=text.replace("(", r"\(")):
        OpenAIImageRequest.from_generate(req(**changes))


@pytest.mark.parametrize(
    "kw",
    [
        {"size": "100x100"},
        {"output_format": "gif"},
        {"moderation": "off"},
        {"response_format": "file"},
        {"n": 2},
        {"prompt": ""},
        {"model": ""},
    ],
)
def test_openai_check_refuses_bad_direct_values(kw: dict) -> None:
    fields = {"prompt": "p", **kw}
    with pytest.raises(ValidationError):
        OpenAIImageRequest(**fields).check()
