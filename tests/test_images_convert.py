"""Images as notebooks hold them: every Pillow mode, numpy arrays and binary streams.

Each is sent as an 8-bit PNG with the picture intact (a 16-bit gradient stays a gradient; before,
``convert("RGB")`` clipped it to a white square that was paid for), or refused in one line before
any request. numpy is only a test dependency: the package duck-types ``__array_interface__``.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from factories import live_session
from magics_harness import cell, restored_traits, warm
from PIL import Image

import venice_nb
from venice_nb.errors import ValidationError
from venice_nb.images_in import to_input
from venice_nb.session import VeniceSession

SIZE = (320, 256)


def decoded(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def gradient16() -> Image.Image:
    """A 16-bit greyscale left-to-right ramp over the whole 0..65535 range."""
    w, h = SIZE
    ramp = (np.tile(np.linspace(0, 65535, w), (h, 1))).astype(np.uint16)
    return Image.fromarray(ramp)


@pytest.fixture
def session(local_server, tmp_path) -> VeniceSession:
    return live_session(local_server.base_url, tmp_path / "saved", "sk-images-convert-0123456789")


def sent_image(server) -> Image.Image:
    body = server.received[-1].body
    return decoded(base64.b64decode(body["image"]))


# ---- 16-bit and other modes -------------------------------------------------------------------


def test_a_16_bit_greyscale_picture_is_sent_as_its_picture_not_white(session, local_server):
    venice_nb.remove_background(gradient16(), session=session)
    sent = sent_image(local_server).convert("L")
    left, right = sent.getpixel((2, 10)), sent.getpixel((SIZE[0] - 3, 10))
    assert left < 10 and right > 245  # the ramp survives (clipped, it was 255 nearly everywhere)
    assert 100 < sent.getpixel((SIZE[0] // 2, 10)) < 155


def test_a_16_bit_png_file_is_scaled_too(tmp_path):
    path = tmp_path / "scan.png"
    gradient16().save(path)
    assert path.read_bytes()[24] == 16  # really a 16-bit PNG
    image = to_input(str(path))
    im = decoded(image.data)
    assert im.mode == "L" and im.getextrema() == (0, 255)
    assert "16-bit" in (image.converted_from or "")


def test_a_cmyk_jpeg_file_is_sent_as_rgb_with_its_colours(tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("RGB", SIZE, (200, 30, 60)).convert("CMYK").save(path, "JPEG", quality=95)
    image = to_input(str(path))
    out = decoded(image.data)
    assert out.mode == "RGB" and image.converted_from and "jpeg" in image.converted_from
    r, g, b = out.getpixel((10, 10))
    assert r > 170 and g < 70 and b < 100  # the red it was, not inverted


@pytest.mark.parametrize(
    "mode",
    ["1", "L", "P", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "LA", "PA", "RGBX",
     "RGBa", "La", "I", "I;16", "I;16B", "F"],
)  # fmt: skip
def test_every_pillow_mode_becomes_a_png_the_endpoints_take(mode):
    base = Image.new("RGB", SIZE, (128, 128, 128))
    if mode in ("I", "I;16", "I;16B"):
        im = Image.new(mode, SIZE, 32896)  # mid-grey in 16 bits
    elif mode == "F":
        im = Image.new("F", SIZE, 0.5)
    elif mode in ("RGBa", "La", "PA", "LAB", "HSV"):
        im = Image.new(mode, SIZE)
    else:
        im = base.convert(mode)
    image = to_input(im, "picture")
    out = decoded(image.data)
    assert image.format == "png" and out.mode in ("1", "L", "LA", "P", "RGB", "RGBA")
    assert out.size == SIZE
    if mode in ("L", "RGB", "RGBA", "CMYK", "YCbCr", "I", "I;16", "I;16B", "F", "RGBX"):
        grey = out.convert("L").getpixel((5, 5))
        assert 100 <= grey <= 156, (mode, grey)  # mid-grey stays mid-grey


# ---- arrays -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.full((256, 300), 77, np.uint8),
        np.dstack([np.full((256, 300), v, np.uint8) for v in (10, 120, 230)]),
        np.dstack([np.full((256, 300), v, np.uint8) for v in (10, 120, 230, 128)]),
        np.full((256, 300, 1), 77, np.uint8),
    ],
    ids=["HxW", "HxWx3", "HxWx4", "HxWx1"],
)
def test_uint8_arrays_are_sent_pixel_for_pixel(array):
    image = to_input(array)
    back = np.asarray(decoded(image.data))
    assert back.shape[:2] == (256, 300)
    assert np.array_equal(back.reshape(array.shape), array)


def test_float_arrays_in_0_to_1_are_scaled_and_bools_are_black_and_white():
    ramp = np.tile(np.linspace(0.0, 1.0, 300), (256, 1))
    rgb = np.dstack([ramp, ramp, 1 - ramp])
    back = np.asarray(decoded(to_input(rgb).data)).astype(int)
    assert back[0, 0].tolist() == [0, 0, 255] and back[0, -1].tolist() == [255, 255, 0]
    mask = np.zeros((256, 300), bool)
    mask[:, 150:] = True
    assert np.asarray(decoded(to_input(mask).data)).max() == 255


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.full((256, 256, 3), 200.0), "float pictures must be in 0..1"),
        (np.zeros((3, 256, 256)), "shape (3, 256, 256)"),
        (np.zeros((256, 256, 2), np.uint8), "HxWx3 (RGB)"),
        (np.full((256, 256), -1, np.int16), "negative values"),
        (np.array([["a"]]), "uint8 (0..255) or float (0..1)"),
        (np.full((256, 256), np.nan), "NaN"),
    ],
)
def test_arrays_that_are_no_picture_are_refused_in_one_line_before_paying(
    session, local_server, array, message
):
    before = local_server.request_count
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        venice_nb.upscale(array, session=session)
    assert local_server.request_count == before


def test_an_array_from_python_is_edited_and_its_pixels_are_what_was_sent(session, local_server):
    array = np.dstack([np.full((256, 320), v, np.uint8) for v in (200, 40, 90)])
    result = venice_nb.edit(array, "make it night", session=session)
    assert result.images
    assert np.array_equal(np.asarray(sent_image(local_server).convert("RGB")), array)


# ---- streams ----------------------------------------------------------------------------------


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", SIZE, (30, 160, 90)).save(buf, "PNG")
    return buf.getvalue()


def test_a_bytesio_and_an_open_binary_file_are_images(tmp_path):
    stream = io.BytesIO(png_bytes())
    stream.seek(10)
    image = to_input(stream)
    assert image.data == png_bytes() and stream.tell() == 10  # read whole, not moved
    path = tmp_path / "leaf.png"
    path.write_bytes(png_bytes())
    with path.open("rb") as fh:
        fh.read(5)
        image = to_input(fh)
        assert image.data == png_bytes() and fh.tell() == 5
    assert image.label.endswith("leaf.png")


def test_a_text_stream_is_refused_with_how_to_open_it(tmp_path):
    path = tmp_path / "leaf.png"
    path.write_bytes(png_bytes())
    with path.open("r", encoding="latin-1") as fh, pytest.raises(ValidationError, match="'rb'"):
        to_input(fh)


# ---- the magic --------------------------------------------------------------------------------


def test_the_magic_takes_arrays_streams_and_16_bit_images_from_the_namespace(ip, server):
    with restored_traits(ip):
        warm(ip, server)
        ip.user_ns["arr"] = np.dstack([np.full((256, 256), v, np.uint8) for v in (9, 99, 199)])
        ip.user_ns["buf"] = io.BytesIO(png_bytes())
        ip.user_ns["scan"] = gradient16()
        cell(ip, "edit -i arr -o from_array", "make it night")
        assert sent_image(server).convert("RGB").getpixel((0, 0)) == (9, 99, 199)
        cell(ip, "edit -i buf -o from_stream", "make it night")
        assert base64.b64decode(server.received[-1].body["image"]) == png_bytes()
        ip.run_line_magic("venice", "remove-background scan -o from_scan")
        assert sent_image(server).convert("L").getextrema()[1] == 255
        assert sent_image(server).convert("L").getextrema()[0] == 0
