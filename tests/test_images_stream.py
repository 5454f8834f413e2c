"""Images decoded in place while the body arrives: the same answer as json.loads + base64 for every body and
every way of cutting it into chunks, and the body as sent whenever anything is unusual."""

from __future__ import annotations

import base64
import json
import tracemalloc
from collections.abc import Iterator

import pytest
import requests
from factories import BODIES
from factories import image_json_reference as reference
from fault_server import FaultServer, Reply

from venice_nb.errors import InvalidResponseError
from venice_nb.images_stream import ImagesStream
from venice_nb.wire import parse_images_json, read_body

CHUNKS = [1, 2, 3, 4, 5, 7, 13, 64, 10**6]
STREAMED = {"compact", "spaced", "images-last", "unicode-meta", "images-key-in-a-string"}


def streamed(
    body: bytes, size: int, announced: bool = True
) -> tuple[bytearray, tuple[dict, list[bytes]] | None]:
    """As read_body fills its buffer: preallocated when the length is announced, else grown."""
    stream = ImagesStream()
    buf = bytearray(len(body)) if announced else bytearray()
    for start in range(0, len(body), size):
        chunk = body[start : start + size]
        if announced:
            buf[start : start + len(chunk)] = chunk
        else:
            buf += chunk
        stream.advance(buf, start + len(chunk))
    return stream.finish(buf)


@pytest.mark.parametrize("announced", [True, False])
@pytest.mark.parametrize("size", CHUNKS)
@pytest.mark.parametrize("name", sorted(BODIES))
def test_every_body_in_every_chunking_gives_the_json_answer(
    name: str, size: int, announced: bool
) -> None:
    body = BODIES[name]
    rest, decoded = streamed(body, size, announced)
    if name in STREAMED:
        assert decoded == reference(body)
        assert len(rest) < 400 and json.loads(rest)["images"] == [""] * len(decoded[1])
    else:  # escaped slashes, a nested "images" key first: the body as sent, for json to read
        assert decoded is None
        assert bytes(rest) == body
        assert parse_images_json(rest) == reference(body)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"images": ["QUJD!"]}', "image 1 is not valid base64"),
        (b'{"images": ["QUJDR"]}', "image 1 is not valid base64"),
        (b'{"images": ["QQ==QUJD"]}', "image 1 is not valid base64"),  # padding mid-string
        (b'{"images": ["QUJD", "QU JD"]}', "image 2 is not valid base64"),
        (b'{"images": ["\\u00e9\\u00e9\\u00e9\\u00e9"]}', "non-ASCII"),
        (b'{"images": []}', "no 'images' list"),
        (b'{"images": [5]}', "no 'images' list"),
        (b'{"images": ["QUJD"', "not valid JSON"),  # cut short inside the array
        (b'{"images": ["QUJD"]', "not valid JSON"),  # cut short after it
    ],
)
@pytest.mark.parametrize("size", CHUNKS)
def test_trouble_keeps_the_body_as_sent_and_the_usual_error(
    body: bytes, text: str, size: int
) -> None:
    rest, decoded = streamed(body, size)
    assert decoded is None and bytes(rest) == body
    with pytest.raises(InvalidResponseError, match=text):
        parse_images_json(rest)


def test_the_images_are_decoded_into_the_body_buffer_itself() -> None:
    """No second buffer while the body arrives: what is held is the body, then the image."""
    raw = bytes(range(256)) * 12_288  # 3 MiB, 4 MiB of base64
    body = b'{"id": "x", "images": ["' + base64.b64encode(raw) + b'"], "timing": {"total": 5}}'
    buf = bytearray(len(body))
    stream = ImagesStream()
    tracemalloc.start()
    try:
        for start in range(0, len(body), 65_536):
            buf[start : start + 65_536] = body[start : start + 65_536]
            stream.advance(buf, min(len(body), start + 65_536))
        arrived = tracemalloc.get_traced_memory()[1]
        rest, decoded = stream.finish(buf)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decoded == ({"id": "x", "timing": {"total": 5}}, [raw])
    assert json.loads(rest) == {"id": "x", "images": [""], "timing": {"total": 5}}
    assert arrived < 200_000, arrived  # one chunk's decode at a time, beside the body
    assert peak < len(raw) + 200_000, peak  # then the image's own bytes, once


# ---- fed by read_body over real HTTP ----------------------------------------------------------


@pytest.fixture
def fs() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.mark.parametrize("reply", ["whole", "chunked", "dripped"])
def test_read_body_feeds_the_stream_as_bytes_arrive(fs: FaultServer, reply: str) -> None:
    body = BODIES["spaced"]
    options = {"whole": {}, "chunked": {"chunked": True}, "dripped": {"drip_s": 0.001, "piece": 97}}
    fs.push(Reply(body=body, **options[reply]))
    resp = requests.get(fs.base_url + "/x", stream=True, timeout=(2, 5))
    stream = ImagesStream()
    rest, decoded = stream.finish(read_body(resp, 10**6, watcher=stream))
    assert decoded == reference(body) and json.loads(rest)["id"] == "generate-image-1"


def test_the_size_bound_still_holds_with_a_stream(fs: FaultServer) -> None:
    fs.push(Reply(body=BODIES["compact"]))
    resp = requests.get(fs.base_url + "/x", stream=True, timeout=(2, 5))
    with pytest.raises(InvalidResponseError, match="over the 100-byte limit"):
        read_body(resp, 100, watcher=ImagesStream())
