"""Error answers have the real status codes and exactly the real body shapes."""

from __future__ import annotations

import time

import pytest
import requests

from venice_nb.server import LocalServer

AUTH = {"Authorization": "Bearer test-key"}
GEN = "/image/generate"


def post(
    server: LocalServer, body: object, path: str = GEN, headers: dict | None = None, **kw: object
) -> requests.Response:
    return requests.post(
        f"{server.base_url}{path}",
        json=body,
        headers=AUTH if headers is None else headers,
        timeout=30,
        **kw,
    )


def ok_body(**extra: object) -> dict:
    return {"model": "z-image-turbo", "prompt": "p", "width": 64, "height": 64, **extra}


def only_issue(r: requests.Response) -> dict:
    assert r.status_code == 400, r.text
    doc = r.json()
    assert set(doc) == {"error", "details", "issues"}
    assert doc["error"] == "Invalid request parameters"
    assert doc["details"]["_errors"] == [] or doc["issues"][0]["path"] == []
    assert len(doc["issues"]) == 1, doc
    issue = doc["issues"][0]
    node = doc["details"]
    for key in issue["path"]:
        node = node[str(key)]
    assert node["_errors"] == [issue["message"]]
    return issue


@pytest.mark.parametrize(
    ("extra", "field", "code", "message"),
    [
        ({"width": 0}, "width", "too_small", "Number must be greater than 0"),
        ({"width": 1281}, "width", "too_big", "Number must be less than or equal to 1280"),
        ({"height": 512.5}, "height", "invalid_type", "Expected integer, received float"),
        ({"height": "512"}, "height", "invalid_type", "Expected number, received string"),
        ({"cfg_scale": 0}, "cfg_scale", "too_small", "Number must be greater than 0"),
        ({"cfg_scale": 20.5}, "cfg_scale", "too_big", "Number must be less than or equal to 20"),
        (
            {"seed": 1_000_000_000},
            "seed",
            "too_big",
            "Number must be less than or equal to 999999999",
        ),
        (
            {"seed": -1_000_000_000},
            "seed",
            "too_small",
            "Number must be greater than or equal to -999999999",
        ),
        ({"variants": 5}, "variants", "too_big", "Number must be less than or equal to 4"),
        ({"variants": 0}, "variants", "too_small", "Number must be greater than or equal to 1"),
        (
            {"lora_strength": 101},
            "lora_strength",
            "too_big",
            "Number must be less than or equal to 100",
        ),
        (
            {"format": "gif"},
            "format",
            "invalid_enum_value",
            "Invalid enum value. Expected 'jpeg' | 'png' | 'webp', received 'gif'",
        ),
        (
            {"quality": "ultra"},
            "quality",
            "invalid_enum_value",
            "Invalid enum value. Expected 'low' | 'medium' | 'high', received 'ultra'",
        ),
        ({"prompt": ""}, "prompt", "too_small", "String must contain at least 1 character(s)"),
        ({"safe_mode": "true"}, "safe_mode", "invalid_type", "Expected boolean, received string"),
        ({"seed": None}, "seed", "invalid_type", "Expected number, received null"),
        (
            {"return_binary": 1},
            "return_binary",
            "invalid_type",
            "Expected boolean, received number",
        ),
    ],
)
def test_schema_violations(local_server: LocalServer, extra, field, code, message) -> None:
    issue = only_issue(post(local_server, ok_body(**extra)))
    assert issue["path"] == [field] and issue["code"] == code and issue["message"] == message


def test_unknown_key_and_missing_required(local_server: LocalServer) -> None:
    issue = only_issue(post(local_server, ok_body(colour="red")))
    assert issue == {
        "code": "unrecognized_keys",
        "keys": ["colour"],
        "path": [],
        "message": "Unrecognized key(s) in object: 'colour'",
    }
    for body in ({"prompt": "p"}, {"prompt": "p", "model": ""}):  # the router's words, not zod's
        r = post(local_server, body)
        assert r.status_code == 400 and r.json() == {"error": "model is required"}


def test_many_issues_reported_together(local_server: LocalServer) -> None:
    r = post(local_server, {"model": 5, "width": -1, "x": 1})
    assert r.status_code == 400
    paths = sorted(str(i["path"]) for i in r.json()["issues"])
    assert paths == ["['model']", "['prompt']", "['width']", "[]"]


def test_non_object_body(local_server: LocalServer) -> None:
    issue = only_issue(post(local_server, ["not", "an", "object"]))
    assert issue["message"] == "Expected object, received array"


@pytest.mark.parametrize(
    ("model", "extra", "field"),
    [
        ("venice-sd35", {"prompt": "x" * 1501}, "prompt"),
        ("venice-sd35", {"negative_prompt": "x" * 1501}, "negative_prompt"),
        ("z-image-turbo", {"variants": 2, "return_binary": True}, "variants"),
        ("z-image-turbo", {"style_preset": "cinematic"}, "style_preset"),
        ("nano-banana-2", {"resolution": "8K"}, "resolution"),
        ("gpt-image-2", {"quality": "medium", "resolution": "3K"}, "resolution"),
        ("venice-sd35", {"steps": 31}, "steps"),
        ("z-image-turbo", {"style_references": [{"image": "https://x/y.png"}]}, "style_references"),
        ("z-image-turbo", {"inpaint": {"mask": "x"}}, "inpaint"),
    ],
)
def test_model_specific_checks(local_server: LocalServer, model, extra, field) -> None:
    issue = only_issue(post(local_server, ok_body(model=model, **extra)))
    assert issue["path"] == [field]


def test_model_specific_passes(local_server: LocalServer) -> None:
    assert post(local_server, ok_body(prompt="x" * 7500)).status_code == 200
    assert post(local_server, ok_body(steps=50)).status_code == 200  # ignored by z-image-turbo
    assert post(local_server, ok_body(style_preset="Cinematic")).status_code == 200
    assert (
        post(
            local_server, ok_body(model="nano-banana-pro", prompt="x" * 20000, return_binary=True)
        ).status_code
        == 200
    )
    assert post(local_server, ok_body(quality="low")).status_code == 200  # ignored, no qualities


def test_style_suggestion_names_closest(local_server: LocalServer) -> None:
    r = post(local_server, ok_body(style_preset="cinematic"))
    assert "Did you mean 'Cinematic'?" in r.json()["issues"][0]["message"]


def test_unknown_model_404_in_the_live_words(local_server: LocalServer) -> None:
    """Live text (venice-api.md 0.9), not the earlier local "Did you mean" sentence."""
    r = post(local_server, ok_body(model="qwen-image2"))
    assert r.status_code == 404
    assert r.json() == {"error": "Specified model not found: qwen-image2"}
    r = post(local_server, ok_body(model="firered-image-edit"))  # an edit model, not type=image
    assert r.status_code == 404 and r.json()["error"].endswith("firered-image-edit")


def test_invalid_json_and_content_type(local_server: LocalServer) -> None:
    url = f"{local_server.base_url}{GEN}"
    js = {**AUTH, "Content-Type": "application/json"}
    for raw in (b"{not json", b"", b'{"model": NaN}', b"\xff\xfe"):
        r = requests.post(url, data=raw, headers=js)
        assert r.status_code == 400 and r.json() == {"error": "Invalid JSON request"}
    r = requests.post(
        url,
        data=b'{"model":"z-image-turbo","prompt":"p"}',
        headers={**AUTH, "Content-Type": "text/plain"},
    )
    # live: a wrong Content-Type is a 400 in these words (415 is for undecodable encodings)
    assert r.status_code == 400
    assert r.json() == {"error": "'Content-Type' must be 'application/json'"}
    r = requests.post(url, data={"model": "z-image-turbo"}, headers=AUTH)  # form-encoded
    assert r.status_code == 400
    r = requests.post(
        url,
        data=b'{"model":"z-image-turbo","prompt":"p","width":64,"height":64}',
        headers={**AUTH, "Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "test-key"},
    ],
)
def test_bad_authorization_is_401(local_server: LocalServer, headers) -> None:
    for path, body in ((GEN, ok_body()), ("/images/generations", {"prompt": "p"})):
        r = post(local_server, body, path=path, headers=headers)
        assert r.status_code == 401
        assert r.json() == {"error": "Authentication failed"}


def test_auth_checked_before_validation(local_server: LocalServer) -> None:
    assert post(local_server, {"junk": 1}, headers={"Authorization": "Basic x"}).status_code == 401
    assert post(local_server, {"junk": 1}, headers={}).status_code == 402


def test_api_keys_restrict_and_auth_off() -> None:
    with LocalServer(api_keys={"good"}) as srv:
        assert post(srv, ok_body(), headers={"Authorization": "Bearer good"}).status_code == 200
        bad = post(srv, ok_body(), headers={"Authorization": "Bearer secret-bad-key"})
        assert bad.status_code == 401 and "secret-bad-key" not in bad.text
    with LocalServer(auth=False) as srv:
        assert post(srv, ok_body(), headers={}).status_code == 200


def test_insufficient_balance_402() -> None:
    with LocalServer(balance_usd=0.025) as srv:
        assert post(srv, ok_body(variants=2)).status_code == 200
        r = post(srv, ok_body(variants=2))
        assert r.status_code == 402
        assert r.json() == {"error": "Insufficient USD or Diem balance to complete request"}
        assert srv.balance_usd == pytest.approx(0.005)
        assert post(srv, ok_body(model="gpt-image-2")).status_code == 402


def test_openai_route_errors(local_server: LocalServer) -> None:
    path = "/images/generations"
    m = {"model": "z-image-turbo"}
    issue = only_issue(post(local_server, {**m, "prompt": "p", "safe_mode": False}, path=path))
    assert issue["message"] == "Unrecognized key(s) in object: 'safe_mode'"
    assert only_issue(post(local_server, {**m, "prompt": "p", "n": 2}, path=path))["path"] == ["n"]
    too_long = post(local_server, {**m, "prompt": "x" * 1501}, path=path)
    assert only_issue(too_long)["code"] == "too_big"
    bad_size = post(local_server, {**m, "prompt": "p", "size": "100x100"}, path=path)
    assert only_issue(bad_size)["code"] == "invalid_enum_value"
    assert only_issue(post(local_server, {**m}, path=path))["message"] == "Required"
    for body in ({}, {"prompt": "p"}, {"prompt": "p", "model": ""}):  # live, not the spec default
        r = post(local_server, body, path=path)
        assert r.status_code == 400 and r.json() == {"error": "model is required"}
    nulls = {
        **m,
        "prompt": "p",
        "n": None,
        "size": None,
        "quality": None,
        "moderation": None,
        "response_format": None,
        "style": None,
        "background": None,
        "output_compression": None,
    }
    assert post(local_server, nulls, path=path).status_code == 200


def test_models_bad_type(local_server: LocalServer) -> None:
    r = requests.get(f"{local_server.base_url}/models?type=pictures")
    assert r.status_code == 400 and r.json()["issues"][0]["path"] == ["type"]


def test_rate_limit_enforced_with_retry_after() -> None:
    with LocalServer(rate_limit_rpm=2) as srv:
        first = post(srv, ok_body())
        assert first.headers["x-ratelimit-limit-requests"] == "2"
        assert first.headers["x-ratelimit-remaining-requests"] == "1"
        assert post(srv, ok_body()).headers["x-ratelimit-remaining-requests"] == "0"
        r = post(srv, ok_body())
        assert r.status_code == 429 and set(r.json()) == {"error"}
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert r.headers["x-ratelimit-remaining-requests"] == "0"
        reset = int(r.headers["x-ratelimit-reset-requests"]) / 1000  # Unix ms by default
        assert time.time() < reset <= time.time() + 61
        # discovery routes are not limited
        assert requests.get(f"{srv.base_url}/image/styles").status_code == 200


def test_rate_limit_window_is_configurable() -> None:
    """12 per 10 s scales the live 20 per minute down for benchmarks: the 3rd of 2 per 0.5 s is
    refused until the oldest leaves the window, then one more is allowed."""
    with LocalServer(rate_limit_rpm=2, rate_window_s=0.5, reset_unit="epoch_ms") as srv:
        started = time.time()
        assert post(srv, ok_body()).status_code == 200
        second = post(srv, ok_body())
        assert second.headers["x-ratelimit-remaining-requests"] == "0"
        reset_s = int(second.headers["x-ratelimit-reset-requests"]) / 1000
        assert started < reset_s <= started + 0.6
        assert post(srv, ok_body()).status_code == 429
        time.sleep(max(0.0, reset_s - time.time()) + 0.05)
        assert post(srv, ok_body()).status_code == 200
    with pytest.raises(ValueError, match="rate_window_s"):
        LocalServer(rate_limit_rpm=2, rate_window_s=0)


@pytest.mark.parametrize(
    ("unit", "low", "high"), [("epoch_s", 1e9, 1e10), ("epoch_ms", 1e12, 1e13), ("seconds", 0, 61)]
)
def test_reset_header_units(unit, low, high) -> None:
    with LocalServer(reset_unit=unit) as srv:
        value = float(post(srv, ok_body()).headers["x-ratelimit-reset-requests"])
    assert low <= value <= high


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError):
        LocalServer(reset_unit="minutes")
    with pytest.raises(ValueError):
        LocalServer(styles_shape="dict")
