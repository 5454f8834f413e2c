"""The multipart/form-data reader keeps file bytes exact and refuses what is not a form."""

from __future__ import annotations

import random

import pytest
import requests

from venice_nb.server.multipart import boundary_of, parse_form
from venice_nb.server.responses import ApiError


def encoded(files: object = None, data: object = None) -> tuple[bytes, str]:
    """The body and Content-Type that ``requests`` itself sends for this form."""
    req = requests.Request("POST", "http://127.0.0.1/", files=files, data=data).prepare()
    assert isinstance(req.body, bytes)
    return req.body, req.headers["Content-Type"]


def test_file_bytes_survive_exactly_with_line_breaks_and_boundary_lookalikes() -> None:
    rng = random.Random(7)
    blob = rng.randbytes(200_000) + b"\r\n--\r\n\r\n--x\n\r" + rng.randbytes(999)
    body, ctype = encoded(
        files=[
            ("images", ("a.png", blob, "image/png")),
            ("images", ("b.bin", b"\r\n")),
            ("images", ("empty.png", b"", "image/png")),
        ],
        data={"prompt": "héllo\r\nwörld", "scale": "4"},
    )
    form = parse_form(body, ctype)
    assert [u.data for u in form.files["images"]] == [blob, b"\r\n", b""]
    assert [u.filename for u in form.files["images"]] == ["a.png", "b.bin", "empty.png"]
    assert form.files["images"][0].content_type == "image/png"
    assert form.fields == {"prompt": ["héllo\r\nwörld"], "scale": ["4"]}
    assert form.names == ["prompt", "scale", "images"]
    assert repr(form.files["images"][0]) == f"Upload('a.png', image/png, {len(blob)} bytes)"


def test_boundary_is_read_from_the_content_type() -> None:
    assert boundary_of('multipart/form-data; boundary="abc def"') == "abc def"
    assert boundary_of("multipart/form-data; boundary=xyz") == "xyz"
    assert boundary_of("multipart/form-data") is None


@pytest.mark.parametrize(
    ("raw", "ctype", "words"),
    [
        (b"--b\r\n\r\nx\r\n--b--\r\n", "multipart/form-data", "boundary"),
        (b"garbage", "multipart/form-data; boundary=b", "Malformed"),
        (b"", "multipart/form-data; boundary=b", "Malformed"),
        (
            b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
            "no field name",
        ),
        (
            b'--b\r\nContent-Disposition: form-data; name="p"\r\n\r\n\xff\xfe\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            "UTF-8",
        ),
    ],
)
def test_what_is_not_a_form_is_a_400(raw: bytes, ctype: str, words: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_form(raw, ctype)
    assert info.value.status == 400 and words in info.value.body["error"]


def test_a_hand_written_form_with_rfc2231_filename() -> None:
    raw = (
        b"--b\r\n"
        b"Content-Disposition: form-data; name=\"image\"; filename*=UTF-8''caf%C3%A9.png\r\n"
        b"Content-Type: image/png\r\n\r\n"
        b"\x89PNG data\r\n"
        b"--b\r\n"
        b'Content-Disposition: form-data; name="prompt"\r\n\r\n'
        b"p\r\n"
        b"--b--\r\n"
    )
    form = parse_form(raw, "multipart/form-data; boundary=b")
    assert form.files["image"][0].filename == "café.png"
    assert form.files["image"][0].data == b"\x89PNG data"
    assert form.fields["prompt"] == ["p"]
