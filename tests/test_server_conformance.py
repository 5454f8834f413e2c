"""Every answer of the local server validates against the public OpenAPI spec (and the validator bites)."""

from __future__ import annotations

import pytest
import requests
from jsonschema import ValidationError

from venice_nb.server import LocalServer, catalogue

AUTH = {"Authorization": "Bearer test-key"}
SMALL = {"width": 64, "height": 64}


def post(
    server: LocalServer, path: str, body: object, headers: dict | None = None
) -> requests.Response:
    return requests.post(
        f"{server.base_url}{path}",
        json=body,
        headers=AUTH if headers is None else headers,
        timeout=30,
    )


def test_generate_200_variants_and_modes(local_server, spec_validator) -> None:
    schema = spec_validator.response("/image/generate", 200)
    for body in (
        {"model": "z-image-turbo", "prompt": "a", **SMALL},
        {"model": "qwen-image-2", "prompt": "b", "variants": 2, "aspect_ratio": "16:9"},
        {"model": "gpt-image-2", "prompt": "c", "quality": "low", "style_preset": "Anime"},
        {"model": "lustify-v7", "prompt": "nsfw", **SMALL},
        {"model": "z-image-turbo", "prompt": "violation-test", **SMALL},
    ):
        r = post(local_server, "/image/generate", body)
        assert r.status_code == 200, r.text
        spec_validator(r.json(), schema)


@pytest.mark.slow  # a second or more: outside the fast loop, still in CI
def test_every_real_image_row_generates_with_the_minimal_body(local_server, spec_validator) -> None:
    """{model, prompt} is a valid request for every generation row of the real catalogue: no row
    crashes the server (flux-2-max's "auto" ratio did), and every answer is spec-valid."""
    schema = spec_validator.response("/image/generate", 200)
    local_server.edge_models = True
    for model in catalogue.models():
        body = {"model": model.id, "prompt": "a"}
        if model.is_pixel:
            body |= {"width": 64, "height": 64}
        r = post(local_server, "/image/generate", body)
        if model.only_on_route or model.offline or model.pro_only:
            assert r.status_code in (400, 401, 503), model.id
            continue
        assert r.status_code == 200, (model.id, r.text)
        spec_validator(r.json(), schema)
        assert r.json()["request"]["data"]["model"] == model.id


def test_request_bodies_we_send_are_spec_valid(spec_validator) -> None:
    spec_validator(
        {
            "model": "z-image-turbo",
            "prompt": "a",
            "seed": -5,
            "variants": 4,
            "cfg_scale": 7.5,
            "format": "png",
        },
        "GenerateImageRequest",
    )
    spec_validator(
        {"prompt": "a", "size": "1024x1024", "response_format": "url"}, "SimpleGenerateImageRequest"
    )


def test_openai_200_both_formats(local_server, spec_validator) -> None:
    schema = spec_validator.response("/images/generations", 200)
    for fmt in ("b64_json", "url"):
        r = post(
            local_server,
            "/images/generations",
            {"model": "z-image-turbo", "prompt": "x", "size": "256x256", "response_format": fmt},
        )
        spec_validator(r.json(), schema)


def test_discovery_200(local_server, spec_validator) -> None:
    styles = requests.get(f"{local_server.base_url}/image/styles").json()
    spec_validator(styles, spec_validator.response("/image/styles", 200, method="get"))
    models_schema = spec_validator.response("/models", 200, method="get")
    for query in ("?type=image", "", "?type=all", "?type=video"):
        doc = requests.get(f"{local_server.base_url}/models{query}").json()
        spec_validator(doc, models_schema)
    for row in requests.get(f"{local_server.base_url}/models?type=image").json()["data"]:
        spec_validator(row, "ModelResponse")


@pytest.mark.parametrize(
    ("status", "path", "body", "headers"),
    [
        (400, "/image/generate", {"model": "z-image-turbo", "prompt": "", "x": 1}, None),
        (400, "/image/generate", {"model": "venice-sd35", "prompt": "p", "steps": 99}, None),
        (400, "/images/generations", {"model": "m", "prompt": "p", "safe_mode": True}, None),
        (400, "/images/generations", {"prompt": "p"}, None),
        (400, "/image/generate", {"prompt": "p"}, None),
        (401, "/image/generate", {"model": "z-image-turbo", "prompt": "p"}, {"Authorization": "x"}),
        (
            401,
            "/images/generations",
            {"model": "z-image-turbo", "prompt": "p"},
            {"Authorization": "x"},
        ),
        (401, "/image/generate", {"model": "local-pro-model", "prompt": "p"}, None),
        (503, "/image/generate", {"model": "local-offline-model", "prompt": "p"}, None),
        (404, "/image/generate", {"model": "nope", "prompt": "p"}, None),
        (404, "/image/generate", {"model": "hidream", "prompt": "p"}, None),
        (410, "/image/generate", {"model": "fluently-xl", "prompt": "p"}, None),
    ],
)
def test_error_bodies(local_server, spec_validator, status, path, body, headers) -> None:
    local_server.edge_models = True  # the Pro/beta and offline rows
    r = post(local_server, path, body, headers)
    assert r.status_code == status
    if str(status) in spec_validator.spec["paths"][path]["post"]["responses"]:
        spec_validator(r.json(), spec_validator.response(path, status))
    schema = "DetailedError" if status == 400 else "StandardError"
    spec_validator(r.json(), schema)


def test_402_400_429_5xx_bodies(spec_validator) -> None:
    with LocalServer(balance_usd=0.0, rate_limit_rpm=2) as srv:
        body = {"model": "z-image-turbo", "prompt": "p"}
        r402 = post(srv, "/image/generate", body)
        assert r402.status_code == 402
        spec_validator(r402.json(), spec_validator.response("/image/generate", 402))
        r400 = requests.post(
            f"{srv.base_url}/image/generate",
            data=b"{}",
            headers={**AUTH, "Content-Type": "text/plain"},
        )
        assert r400.status_code == 400  # live: a wrong Content-Type is 400, not the spec's 415
        spec_validator(r400.json(), spec_validator.response("/image/generate", 400))
        keyless = post(srv, "/image/generate", body, headers={})
        assert keyless.status_code == 402 and "x402Version" in keyless.json()
        spec_validator(keyless.json(), spec_validator.response("/image/generate", 402))
        spec_validator(keyless.json(), "X402InferencePaymentRequired")
        r429 = post(srv, "/image/generate", body)
        assert r429.status_code == 429
        spec_validator(r429.json(), spec_validator.response("/image/generate", 429))
        for kind in ("500", "503", "429"):
            srv.inject(kind)
            r = post(srv, "/images/generations", {"model": "z-image-turbo", "prompt": "p"})
            spec_validator(r.json(), spec_validator.response("/images/generations", kind))


def test_validator_rejects_wrong_bodies(spec_validator) -> None:
    gen200 = spec_validator.response("/image/generate", 200)
    with pytest.raises(ValidationError):  # images must be strings
        spec_validator(
            {
                "id": "x",
                "images": [1],
                "timing": {
                    "inferenceDuration": 1,
                    "inferencePreprocessingTime": 1,
                    "inferenceQueueTime": 1,
                    "total": 1,
                },
            },
            gen200,
        )
    with pytest.raises(ValidationError):  # timing is required
        spec_validator({"id": "x", "images": []}, gen200)
    with pytest.raises(ValidationError):  # OpenAI answer is strict
        spec_validator(
            {"created": 1, "data": [], "id": "x"},
            spec_validator.response("/images/generations", 200),
        )
    with pytest.raises(ValidationError):
        spec_validator({"message": "no error key"}, "StandardError")
    with pytest.raises(ValidationError):  # unknown model type, missing privacy
        spec_validator(
            {
                "id": "m",
                "object": "model",
                "owned_by": "venice.ai",
                "type": "picture",
                "model_spec": {},
            },
            "ModelResponse",
        )
    with pytest.raises(ValidationError):
        spec_validator(
            {"object": "list", "data": "Anime"},
            spec_validator.response("/image/styles", 200, method="get"),
        )
    assert not spec_validator.is_valid(
        {"prompt": "p", "safe_mode": True}, "SimpleGenerateImageRequest"
    )
    assert not spec_validator.is_valid(
        {"model": "m", "prompt": "p", "seed": 10**10}, "#/components/schemas/GenerateImageRequest"
    )
