"""Generation parameters embedded in PNG/JPEG/WebP without touching the pixels."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image

from venice_nb.metadata import embed_metadata, read_metadata

INFO = {"route": "generate", "request": {"prompt": 'gondola 🌊 «Venezia» "q"', "seed": 42}}


def encode(fmt: str, mode: str = "RGB", **kw: object) -> bytes:
    im = Image.new(mode, (67, 41))
    im.putdata(
        [((x * 7) % 256, (x * 13) % 256, (x * 3) % 256, 200)[: len(mode)] for x in range(67 * 41)]
    )
    out = BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(BytesIO(data)) as im:
        im.load()
        return im.mode, im.size, im.tobytes()


VARIANTS = {
    "png-rgb": ("png", encode("PNG")),
    "png-rgba": ("png", encode("PNG", "RGBA")),
    "jpeg": ("jpeg", encode("JPEG", quality=90)),
    "jpeg-with-exif": ("jpeg", encode("JPEG", exif=Image.Exif())),
    "webp-lossy": ("webp", encode("WEBP", quality=80)),
    "webp-lossy-alpha": ("webp", encode("WEBP", "RGBA", quality=80)),
    "webp-lossless": ("webp", encode("WEBP", lossless=True)),
    "webp-lossless-alpha": ("webp", encode("WEBP", "RGBA", lossless=True)),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_embedded_record_reads_back_and_pixels_are_unchanged(name: str) -> None:
    fmt, data = VARIANTS[name]
    out = embed_metadata(data, fmt, INFO)
    assert out != data
    assert read_metadata(out) == INFO
    assert pixels(out) == pixels(data)


def test_existing_jpeg_exif_is_kept_and_extended() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Venice camera"  # Make
    out = embed_metadata(encode("JPEG", exif=exif), "jpeg", INFO)
    with Image.open(BytesIO(out)) as im:
        assert im.getexif()[0x010F] == "Venice camera"
    assert out.count(b"Exif\x00\x00") == 1 and read_metadata(out) == INFO


def test_jpeg_app1_follows_the_jfif_app0() -> None:
    data = encode("JPEG")
    assert data[2:4] == b"\xff\xe0"  # Pillow writes JFIF first
    out = embed_metadata(data, "jpeg", INFO)
    app0_end = 4 + int.from_bytes(data[4:6], "big")
    assert out[2:app0_end] == data[2:app0_end] and out[app0_end : app0_end + 2] == b"\xff\xe1"


def test_webp_gets_a_vp8x_header_with_the_exif_flag_and_right_canvas() -> None:
    out = embed_metadata(encode("WEBP"), "webp", INFO)
    assert out[12:16] == b"VP8X" and out[20] & 0x08
    width = int.from_bytes(out[24:27], "little") + 1
    height = int.from_bytes(out[27:30], "little") + 1
    assert (width, height) == (67, 41)
    assert int.from_bytes(out[4:8], "little") + 8 == len(out)
    twice = embed_metadata(out, "webp", {"again": True})
    assert twice.count(b"EXIF") == 1 and read_metadata(twice) == {"again": True}


def test_a_record_too_big_for_jpeg_or_an_odd_file_leaves_bytes_unchanged() -> None:
    data = encode("JPEG")
    assert embed_metadata(data, "jpeg", {"prompt": "x" * 70_000}) == data
    assert embed_metadata(b"\xff\xd8\xff junk", "jpeg", INFO) == b"\xff\xd8\xff junk"
    assert embed_metadata(b"RIFF\x04\x00\x00\x00WEBP", "webp", INFO) == b"RIFF\x04\x00\x00\x00WEBP"
    assert embed_metadata(b"\x89PNG\r\n\x1a\nnope", "png", INFO) == b"\x89PNG\r\n\x1a\nnope"
    assert embed_metadata(b"GIF89a", "gif", INFO) == b"GIF89a"


def test_read_metadata_absent() -> None:
    assert read_metadata(encode("PNG")) is None
    assert read_metadata(encode("JPEG")) is None
