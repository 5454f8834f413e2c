"""Each HTTP failure maps to a class a user can tell apart, with one readable line."""

from __future__ import annotations

import json
import pickle

import pytest

from venice_nb import errors as E
from venice_nb.errors import from_response

ZOD = {
    "error": "Invalid request parameters",
    "details": {
        "_errors": [],
        "width": {"_errors": ["Number must be less than or equal to 1280"]},
        "style_references": {"0": {"image": {"_errors": ["Required"]}}},
    },
    "issues": [
        {
            "code": "too_big",
            "path": ["width"],
            "message": "Number must be less than or equal to 1280",
        },
        {"code": "invalid_type", "path": ["style_references", 0, "image"], "message": "Required"},
        {"code": "custom", "path": [], "message": "Unrecognized key(s) in object: 'foo'"},
    ],
}
HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1>\n<hr>cloudflare</body></html>"

# (status, body, class, text the one-line message must contain)
CASES = [
    (400, ZOD, E.BadRequestError, "width: Number must be less than or equal to 1280"),
    (
        400,
        {"error": "Invalid request", "details": "Image too big"},
        E.BadRequestError,
        "Image too big",
    ),
    (400, {"error": "model is required"}, E.BadRequestError, "model is required"),
    (401, {"error": "Authentication failed"}, E.AuthenticationError, "VENICE_API_KEY"),
    (402, {"error": "Insufficient USD or Diem balance"}, E.InsufficientBalanceError, "Top up"),
    (402, {"x402Version": 1, "accepts": []}, E.AuthenticationError, "no API key was sent"),
    (403, {"error": "Model not available in your region"}, E.PermissionDeniedError, "region"),
    (404, {"error": "Model not found"}, E.NotFoundError, "model 'qwen-image2'"),
    (
        413,
        {"code": "PAYLOAD_TOO_LARGE", "error": "Request too large"},
        E.PayloadTooLargeError,
        "25 MB",
    ),
    (415, {"error": "Unsupported Content-Type"}, E.UnsupportedMediaTypeError, "client bug"),
    (422, {"error": "Content policy violation"}, E.ContentPolicyError, "Rephrase"),
    (429, {"error": "Rate limit exceeded"}, E.RateLimitError, "Try again in 3 s"),
    (500, {"error": "Inference processing failed"}, E.ServerError, "Inference processing failed"),
    (502, HTML, E.ServerError, "HTML page titled '502 Bad Gateway'"),
    (503, {"error": "The model is at capacity."}, E.CapacityError, "at capacity"),
    (504, {"error": "Request timed out"}, E.ServerError, "timed out"),
    (500, b"", E.ServerError, "an empty body"),
    (500, b"upstream connect error\r\nor disconnect", E.ServerError, "non-JSON body"),
    (500, {"message": "nested"}, E.ServerError, "JSON without an error message"),
    (400, {"error": {"message": "nested message"}}, E.BadRequestError, "nested message"),
    (418, {"error": "I'm a teapot"}, E.APIError, "teapot"),
    (521, b"<!DOCTYPE html><html><body>down</body></html>", E.ServerError, "HTML page"),
]


def body_bytes(body: object) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.mark.parametrize(("status", "body", "cls", "text"), CASES)
def test_status_maps_to_its_class(status: int, body: object, cls: type, text: str) -> None:
    headers = {"Retry-After": "3", "CF-RAY": "abc-LHR"}
    err = from_response(status, headers, body_bytes(body), model="qwen-image2")
    assert type(err) is cls
    assert err.status == status and err.request_id == "abc-LHR"
    line = err.one_line()
    assert text in line, line
    assert "\n" not in line and "\r" not in line and len(line) <= 400
    assert isinstance(err, E.VeniceError)


def test_field_errors_from_zod_tree_and_issues() -> None:
    err = from_response(400, {}, body_bytes(ZOD))
    assert isinstance(err, E.BadRequestError)
    assert err.field_errors == {
        "width": ["Number must be less than or equal to 1280"],
        "style_references.0.image": ["Required"],
        "request": ["Unrecognized key(s) in object: 'foo'"],
    }
    assert err.message.startswith("Invalid request parameters: width:")
    only_issues = {"error": "Invalid", "issues": [{"path": ["seed"], "message": "too big"}]}
    assert from_response(400, {}, body_bytes(only_issues)).field_errors == {"seed": ["too big"]}
    assert from_response(400, {}, b"not json").field_errors == {}  # type: ignore[attr-defined]


def test_rate_limit_error_carries_the_wait() -> None:
    err = from_response(429, {"x-ratelimit-reset-requests": "12"}, b'{"error": "slow down"}')
    assert isinstance(err, E.RateLimitError) and err.retry_after == 12.0
    none = from_response(429, {}, b"{}")
    assert none.retry_after is None and "in a minute" in none.one_line()  # type: ignore[attr-defined]


def test_not_found_prefers_the_model_the_server_names() -> None:
    err = from_response(404, {}, b'{"error": "Unknown model", "model": "x-1"}', model="y")
    assert isinstance(err, E.NotFoundError) and err.model == "x-1"


def test_one_line_collapses_whitespace_and_bounds_length() -> None:
    err = E.VeniceError("first line\nsecond\tline  " + "x" * 1000, hint="Do this.\nThen that.")
    line = err.one_line()
    assert "\n" not in line and line.endswith("Do this. Then that.") and len(line) <= 400
    assert str(err) == line
    assert E.VeniceError("plain").one_line() == "plain"


def test_every_error_class_has_a_hint_and_one_line() -> None:
    classes = {E.VeniceError, *E.STATUS_ERRORS.values(), E.APITimeoutError, E.APIConnectionError}
    classes |= {E.InvalidResponseError, E.ConfigurationError, E.CancelledError}
    for cls in classes:
        err = cls("something happened")
        assert "\n" not in err.one_line()
        if cls not in (E.VeniceError, E.ConfigurationError, E.CancelledError):
            assert err.hint, cls
    assert E.CancelledError().message == "cancelled"


def test_validation_error_names_its_field_and_is_a_value_error() -> None:
    err = E.ValidationError("--seed is wrong", field="seed")
    assert err.field == "seed" and isinstance(err, ValueError)


def test_errors_survive_pickling() -> None:
    err = from_response(400, {"CF-RAY": "r"}, body_bytes(ZOD))
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is E.BadRequestError and back.field_errors == err.field_errors


def test_error_line_is_one_line_for_every_error() -> None:
    from venice_nb.errors import error_line

    assert error_line(None) == "the request did not run"
    assert (
        error_line(E.ValidationError("bad seed", hint="Use 0-999.")) == "bad seed. Use 0-999."
    )  # two sentences, not a run-on line
    assert error_line(RuntimeError("two\n  lines")) == "two lines"
    assert error_line(KeyError()) == "KeyError"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cret@proxy.example:8443/api/v1", "https://proxy.example:8443/api/v1"),
        ("https://u:p?ss#w@host/api?token=abc&n=1", "https://host/api?token=***&n=1"),
        ("https://u:p@ss@host", "https://host"),
        ("http://127.0.0.1:9/api/v1", "http://127.0.0.1:9/api/v1"),
        ("local-preview/0.1.0", "local-preview/0.1.0"),
    ],
)
def test_redact_url_drops_credentials(url: str, shown: str) -> None:
    from venice_nb.errors import redact_url

    assert redact_url(url) == shown
