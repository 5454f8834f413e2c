"""The teacher's rules, checked before anything is reserved or forwarded."""

from __future__ import annotations

import json

import pytest

from venice_nb.classroom.policy import Policy, Refusal, check


def test_policy_refusals_say_what_the_class_allows():
    policy = Policy(models=("z-image-turbo",), max_variants=1, max_resolution="1K", toolbox=False)
    cases = [
        (
            "/image/generate",
            {"model": "gpt-image-2", "prompt": "x"},
            403,
            "use one of: z-image-turbo",
        ),
        ("/image/generate", {"prompt": "x"}, 403, "name a model; this class allows: z-image-turbo"),
        (
            "/images/generations",
            {"model": "z-image-turbo", "prompt": "x", "n": 2},
            403,
            "limit of 1",
        ),
        ("/image/upscale", {"image": "aGk="}, 403, "toolbox (/image/upscale) is switched off"),
        ("/image/generate", [1, 2], 400, "the body must be a JSON object"),
    ]
    for route, body, status, message in cases:
        with pytest.raises(Refusal) as info:
            check(policy, route, json.dumps(body).encode(), "application/json")
        assert (info.value.status, message in info.value.message) == (status, True), info.value


def test_safe_mode_is_written_in_and_turning_it_off_is_refused_in_json_as_in_multipart():
    out = check(Policy(), "/image/generate", b'{"model":"m","prompt":"x"}', "application/json")
    assert json.loads(out.content)["safe_mode"] is True
    for off in (b"false", b'"false"', b"0"):
        with pytest.raises(Refusal) as info:
            check(Policy(), "/image/generate", b'{"model":"m","safe_mode":%s}' % off,
                  "application/json")  # fmt: skip
        assert (info.value.status, info.value.message) == (
            403, "safe mode is on for this class; leave safe_mode out or set it true"
        )  # fmt: skip
    with pytest.raises(Refusal, match="leave moderation out or set it auto"):
        check(Policy(), "/images/generations", b'{"prompt":"x","moderation":"low"}',
              "application/json")  # fmt: skip
    free = check(Policy(allow_unsafe=True), "/image/generate", b'{"model":"m","safe_mode":false}',
                 "application/json")  # fmt: skip
    assert json.loads(free.content)["safe_mode"] is False


def test_a_multipart_body_is_forwarded_untouched_unless_it_turns_safe_mode_off():
    boundary = "b0undary"
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nnight\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        f"Content-Type: image/png\r\n\r\nPNGDATA\r\n--{boundary}--\r\n"
    ).encode()
    ctype = f"multipart/form-data; boundary={boundary}"
    out = check(Policy(), "/image/edit", form, ctype)
    assert (out.content, out.prompt, out.images_in) == (form, "night", 1)
    off = form.replace(b"night", b"night\r\n--b0undary\r\nContent-Disposition: form-data; "
                       b'name="safe_mode"\r\n\r\nfalse')  # fmt: skip
    with pytest.raises(Refusal) as info:
        check(Policy(), "/image/edit", off, ctype)
    assert (
        info.value.message == "safe mode is on for this class; leave safe_mode out or set it true"
    )
    assert check(Policy(allow_unsafe=True), "/image/edit", off, ctype).content == off


def test_refusal_bodies_are_the_live_shapes():
    assert Refusal(403, "no").body() == {"error": "no"}
    assert Refusal(413, "big").body() == {"code": "PAYLOAD_TOO_LARGE", "error": "big"}
    with pytest.raises(Refusal, match="Invalid JSON request"):
        check(Policy(), "/image/generate", b"{nope", "application/json")


def test_policy_values_are_checked_and_described():
    with pytest.raises(ValueError, match="max resolution must be one of 1K, 2K, 4K"):
        Policy(max_resolution="8K")
    text = Policy(models=("a", "b"), class_budget_usd=40, per_minute=5).describe()
    assert text == (
        "models: a, b; at most 4 variant(s); resolution up to 2K; toolbox on; safe mode forced "
        "on; class budget $40; 5 requests per student per minute"
    )
