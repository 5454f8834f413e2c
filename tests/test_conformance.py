"""Every request body the client sends validates against the public OpenAPI spec.

The bodies are the ones the local server actually received (``server.received``), built by the
client from every option, for every model and sizing mode, on both generate routes.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from jsonschema import ValidationError as SchemaError

from venice_nb import errors as E
from venice_nb.client import VeniceClient
from venice_nb.operations.generate import GenerateRequest
from venice_nb.operations.openai import OpenAIImageRequest
from venice_nb.server import LocalServer

ALL_COMMON: dict[str, Any] = {
    "negative_prompt": "blurry, text",
    "format": "png",
    "variants": 2,
    "seed": -999_999_999,
    "cfg_scale": 7.5,
    "style_preset": "Cinematic",
    "safe_mode": False,
    "return_binary": False,
    "hide_watermark": True,
    "embed_exif_metadata": True,
    "lora_strength": 50,
    "enhance_prompt": True,
    "disable_prompt_optimization_thinking": True,
}
PER_MODEL: dict[str, dict[str, Any]] = {
    "z-image-turbo": {"width": 1280, "height": 720, "steps": 8},
    "venice-sd35": {"width": 1024, "height": 1024, "steps": 30},
    "lustify-v7": {"width": 832, "height": 1216, "steps": 50},
    "qwen-image-2": {"aspect_ratio": "21:9"},
    "nano-banana-2": {"aspect_ratio": "9:16", "resolution": "1k", "enable_web_search": True},
    "nano-banana-pro": {"aspect_ratio": "4:5", "resolution": "1K", "enable_web_search": False},
    "gpt-image-2": {"aspect_ratio": "3:2", "resolution": "1K", "quality": "Low"},
}


def sent_bodies(server: LocalServer, suffix: str) -> list[dict]:
    return [r.body for r in server.received if r.method == "POST" and r.path.endswith(suffix)]


@pytest.mark.slow  # every option on every model of the catalogue: the longest non-browser test
def test_every_option_on_every_model_conforms(local_server: LocalServer, spec_validator) -> None:
    client = VeniceClient("sk-conformance-key", base_url=local_server.base_url, read_timeout=30)
    client.models()
    results = []
    for model, sizing in PER_MODEL.items():
        request = GenerateRequest(
            model=model, prompt=f"every option on {model}", **ALL_COMMON, **sizing
        )
        request = client.validate(request)
        results.append(client.generate(request))
        binary = request.with_(variants=None, return_binary=True, format="webp", seed=0)
        results.append(client.generate(binary))
        minimal = GenerateRequest(model=model, prompt="just a prompt")
        results.append(client.generate(minimal))
    bodies = sent_bodies(local_server, "/image/generate")
    assert len(bodies) == 3 * len(PER_MODEL) and all(r.images for r in results)
    for body in bodies:
        spec_validator(body, "GenerateImageRequest")
    sent_keys = set().union(*bodies)
    expected = set(GenerateRequest.field_names()) - {"style_references"}
    assert sent_keys == expected  # every option really went over the wire


def test_style_references_conform(local_server: LocalServer, spec_validator) -> None:
    client = VeniceClient("sk-conformance-key", base_url=local_server.base_url)
    refs = [{"image": "https://example.com/a.png", "strength": 0.4}, {"image": "aGVsbG8="}]
    request = GenerateRequest(model="z-image-turbo", prompt="p", style_references=refs)
    with contextlib.suppress(E.BadRequestError):  # no local model takes them: a 400 is fine
        client.generate(request)
    [body] = sent_bodies(local_server, "/image/generate")
    assert body["style_references"] == refs
    spec_validator(body, "GenerateImageRequest")


@pytest.mark.parametrize("response_format", [None, "b64_json", "url"])
def test_openai_bodies_conform(local_server: LocalServer, spec_validator, response_format) -> None:
    client = VeniceClient("sk-conformance-key", base_url=local_server.base_url)
    native = GenerateRequest(
        model="z-image-turbo",
        prompt="a lagoon",
        width=1024,
        height=1536,
        format="jpeg",
        safe_mode=False,
    )
    client.generate_openai(
        OpenAIImageRequest.from_generate(native, response_format=response_format)
    )
    client.generate_openai(GenerateRequest(model="qwen-image-2", prompt="x"))
    client.generate_openai(OpenAIImageRequest(prompt="only a prompt"))
    full = OpenAIImageRequest(
        prompt="all", model="gpt-image-2", size="auto", output_format="webp", moderation="auto",
        response_format="b64_json", n=1,
    )  # fmt: skip
    client.generate_openai(full)
    bodies = sent_bodies(local_server, "/images/generations")
    assert len(bodies) == 4
    for body in bodies:
        spec_validator(body, "SimpleGenerateImageRequest")
    assert bodies[0]["size"] == "1024x1536" and bodies[0]["moderation"] == "low"


def test_the_validator_bites(spec_validator) -> None:
    """A body with an unknown key or a null fails, so the checks above mean something."""
    with pytest.raises(SchemaError):
        spec_validator({"model": "m", "prompt": "p", "nope": 1}, "GenerateImageRequest")
    with pytest.raises(SchemaError):
        spec_validator({"model": "m", "prompt": "p", "seed": None}, "GenerateImageRequest")
    with pytest.raises(SchemaError):
        spec_validator({"prompt": "p", "safe_mode": True}, "SimpleGenerateImageRequest")
