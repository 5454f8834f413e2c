"""Body reading (bounded in bytes and time) and the image-JSON parser (fast path == json path)."""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Iterator

import pytest
import requests
from factories import B64, BODIES, IMG
from factories import image_json_reference as reference
from fault_server import FaultServer, Reply

from venice_nb.errors import InvalidResponseError
from venice_nb.wire import BodyTimeout, decode_b64, parse_images_json, read_body


@pytest.mark.parametrize("name", sorted(BODIES))
def test_fast_path_equals_json_path(name: str) -> None:
    body = BODIES[name]
    assert parse_images_json(bytearray(body)) == reference(body)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"id": "x"}', "no 'images' list"),
        (b'{"images": []}', "no 'images' list"),
        (b'{"images": [5]}', "no 'images' list"),
        (b'{"images": ["QUJD!"]}', "image 1 is not valid base64"),
        (b'{"images": ["QUJDR"]}', "image 1 is not valid base64"),  # truncated
        (b'{"images": ["QUJD", "QU JD"]}', "image 2 is not valid base64"),
        (b'{"images": ["\\u00e9\\u00e9\\u00e9\\u00e9"]}', "non-ASCII"),
        (b"", "not valid JSON (0 bytes)"),
    ],
)
def test_bad_image_json_is_one_clear_error(body: bytes, text: str) -> None:
    with pytest.raises(InvalidResponseError) as info:
        parse_images_json(bytearray(body))
    assert text in info.value.message and "\n" not in info.value.one_line()


def test_decode_b64_accepts_str_bytes_and_memoryview() -> None:
    for value in (B64[0], B64[0].encode(), memoryview(B64[0].encode())):
        assert decode_b64(value, "x") == IMG[0]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="binascii's strict_mode is 3.11+")
def test_decoding_a_view_into_the_body_makes_no_copy_of_the_base64() -> None:
    """A 4K PNG arrives as ~20 MB of base64: decoding must not hold a second copy of it."""
    import tracemalloc

    raw = bytes(range(256)) * 12_288  # 3 MiB
    body = bytearray(b'{"images": ["' + base64.b64encode(raw) + b'"]}')
    view = memoryview(body)[13:-3]
    tracemalloc.start()
    try:
        assert decode_b64(view, "image 1") == raw
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(raw) + len(view) // 2, (peak, len(raw), len(view))
    with pytest.raises(InvalidResponseError, match="not valid base64"):
        decode_b64(memoryview(bytearray(b"abc!")), "image 1")


# ---- read_body over real HTTP -------------------------------------------------------------------


@pytest.fixture
def fs() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def get(fs: FaultServer, reply: Reply, timeout: float = 2.0) -> requests.Response:
    fs.push(reply)
    return requests.get(fs.base_url + "/x", stream=True, timeout=(2, timeout))


def test_read_body_whole_with_and_without_content_length(fs: FaultServer) -> None:
    data = bytes(range(256)) * 5000
    assert read_body(get(fs, Reply(body=data)), 10**7) == data
    assert read_body(get(fs, Reply(body=data, chunked=True)), 10**7) == data
    assert read_body(get(fs, Reply(body=b"")), 10) == b""


def test_read_body_decodes_gzip_and_bounds_the_inflated_size(fs: FaultServer) -> None:
    with pytest.raises(InvalidResponseError, match="passed the 1,000,000-byte limit"):
        read_body(get(fs, Reply(gzip_bomb=50_000_000)), 1_000_000)


def test_read_body_refuses_an_announced_oversize_without_reading(fs: FaultServer) -> None:
    resp = get(fs, Reply(body=b"x" * 100, content_length=10**9))
    with pytest.raises(InvalidResponseError, match="announced a 1,000,000,000-byte response"):
        read_body(resp, 10**6)


def test_read_body_stops_an_endless_stream_at_the_bound(fs: FaultServer) -> None:
    with pytest.raises(InvalidResponseError, match="passed the 2,000,000-byte limit"):
        read_body(get(fs, Reply(endless=True)), 2_000_000)


def test_read_body_deadline_stops_a_drip_feed(fs: FaultServer) -> None:
    resp = get(fs, Reply(body=b"x" * 1000, drip_s=0.05), timeout=1.0)
    started = time.monotonic()
    with pytest.raises(BodyTimeout, match=r"still arriving after 0\.5 s"):
        read_body(resp, 10**6, deadline_s=0.5)
    assert time.monotonic() - started < 5  # bounded: a per-read timeout alone never fires here


def test_read_body_short_body_is_an_error(fs: FaultServer) -> None:
    resp = get(fs, Reply(body=b"x" * 100, content_length=1000))
    with pytest.raises((InvalidResponseError, requests.exceptions.ChunkedEncodingError)):
        read_body(resp, 10**6)
