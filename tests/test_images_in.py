"""Images going in: every kind a user holds becomes checked bytes or a URL, and every refusal is
one line before anything is sent."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from venice_nb.errors import ValidationError
from venice_nb.images_in import (
    EDIT_MAX_PIXELS,
    MB,
    InputImage,
    check_bytes,
    check_pixels,
    style_reference,
    style_reference_value,
    to_input,
    upscale_outcome,
)
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import GeneratedImage, GenerationResult


def png_bytes(size: tuple[int, int] = (320, 240), mode: str = "RGB", fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (200, 40, 40) if mode == "RGB" else None).save(buf, format=fmt)
    return buf.getvalue()


def a_result(n: int = 1) -> GenerationResult:
    images = [GeneratedImage.from_bytes(png_bytes(), index=i, seed=7 + i) for i in range(n)]
    return GenerationResult(request=GenerateRequest("z-image-turbo", "a cat"), images=images)


def test_a_single_image_result_is_its_image_with_where_it_came_from() -> None:
    image = to_input(a_result(), "shot")
    assert (image.label, image.format, image.size) == ("shot", "png", (320, 240))
    assert image.origin_info == {
        "route": "generate",
        "model": "z-image-turbo",
        "prompt": "a cat",
        "seed": 7,
    }
    assert image.describe()["source"]["model"] == "z-image-turbo"
    assert "data" not in image.describe() and image.describe()["bytes"] == image.nbytes


def test_a_result_gives_its_header_size_and_unreadable_bytes_are_still_one_line() -> None:
    image = GeneratedImage.from_bytes(png_bytes((64, 48)))
    assert to_input(image, "shot").size == (64, 48)
    truncated = png_bytes((64, 48))
    broken = GeneratedImage(data=truncated[:33] + b"\0" * (len(truncated) - 33), format="png")
    with pytest.raises(ValidationError, match="shot") as caught:
        to_input(broken, "shot")
    assert "\n" not in str(caught.value)
    webp = png_bytes((64, 48), fmt="WEBP")
    garbled = webp[:12] + b"JUNK" + webp[16:]  # whole by its RIFF size, no header anyone reads
    with pytest.raises(ValidationError, match=r"^garbled cannot be read as an image"):
        to_input(garbled, "garbled")


def test_a_result_with_several_images_asks_which_one() -> None:
    with pytest.raises(
        ValidationError, match=r"shot holds 3 images; pick one with shot\[0\] ... shot\[2\]"
    ):
        to_input(a_result(3), "shot")
    assert to_input(a_result(3).images[2], "shot[2]").origin_info["seed"] == 9


def test_file_path_and_pathlike(tmp_path: Path) -> None:
    path = tmp_path / "cat.jpg"
    path.write_bytes(png_bytes(fmt="JPEG"))
    for value in (str(path), path):
        image = to_input(value)
        assert image.format == "jpeg" and image.size == (320, 240) and image.label == str(path)
    assert image.mime == "image/jpeg" and image.filename == "image.jpg"


def test_missing_file_and_directory_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not a result in this notebook nor an existing file"):
        to_input(str(tmp_path / "nope.png"))
    with pytest.raises(ValidationError, match="is a directory"):
        to_input(tmp_path)


def test_url_is_kept_unfetched_and_data_uri_is_decoded() -> None:
    image = to_input("https://example.com/cat.png")
    assert image.is_url and image.data is None and image.size is None
    data = png_bytes()
    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    assert to_input(uri).data == data
    with pytest.raises(ValidationError, match="base64"):
        to_input("data:image/png,rawtext")


def test_pil_image_is_encoded_losslessly_with_alpha() -> None:
    pil = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    image = to_input(pil)
    assert image.format == "png" and image.size == (300, 300)
    assert Image.open(io.BytesIO(image.data)).mode == "RGBA"
    cmyk = to_input(Image.new("CMYK", (300, 300)))
    assert cmyk.format == "png"


def test_bytes_of_other_formats_are_reencoded_and_svg_and_junk_refused() -> None:
    gif = to_input(png_bytes(fmt="GIF"))
    assert gif.format == "png" and gif.converted_from == "gif"
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'
    with pytest.raises(ValidationError, match="is an SVG; Venice takes PNG, JPEG or WebP"):
        to_input(svg)
    with pytest.raises(ValidationError, match="not an image Venice can take"):
        to_input(b"hello world, not an image")
    with pytest.raises(ValidationError, match="empty"):
        to_input(b"")
    with pytest.raises(ValidationError, match="not a whole image"):
        to_input(png_bytes()[:-20])


def test_unknown_kinds_name_what_is_accepted() -> None:
    with pytest.raises(ValidationError, match="cannot use int as an image; pass a result"):
        to_input(42)


def test_pixel_bounds() -> None:
    small = to_input(png_bytes((200, 200)), "tiny")
    with pytest.raises(
        ValidationError, match=r"tiny is 200x200 \(40,000 pixels\); an edit needs at least 65,536"
    ):
        check_pixels(small, "an edit")
    check_pixels(to_input(png_bytes((256, 256))), "an edit")
    huge = InputImage("huge", data=b"x", format="png", size=(8000, 5000))
    with pytest.raises(
        ValidationError, match=r"takes at most 33,177,600. Downscale it first, e.g. to 7285x4553"
    ):
        check_pixels(huge, "an edit", EDIT_MAX_PIXELS)
    check_pixels(to_input("https://example.com/x.png"), "an edit", EDIT_MAX_PIXELS)  # not known


def test_byte_limits_and_style_references() -> None:
    big = InputImage("big.png", data=b"\0" * (8 * MB + 1), format="png", size=(1000, 1000))
    with pytest.raises(
        ValidationError, match=r"big\.png has 8\.0 MB; a style reference must be under 8 MB"
    ):
        check_bytes(big, 8 * MB, "a style reference")
    with pytest.raises(ValidationError, match="SVG"):
        style_reference(b"<svg></svg>", "ref")
    ref = style_reference(a_result(), "shot")
    assert style_reference_value(ref).startswith("data:image/png;base64,")
    assert style_reference_value(style_reference("https://e.com/a.png")) == "https://e.com/a.png"


def test_upscale_outcome_says_when_4x_is_reduced() -> None:
    assert upscale_outcome(to_input(png_bytes((1024, 1024))), 4) == (4.0, (4096, 4096))
    effective, size = upscale_outcome(to_input(png_bytes((1500, 1000))), 4)
    assert effective < 4 and size[0] * size[1] <= 16_777_216
    assert upscale_outcome(to_input("https://e.com/x.png"), 2) == (2.0, None)


def test_downscale_with_consent_fits_the_operation() -> None:
    from venice_nb.images_in import downscaled, fit_for

    big = to_input(png_bytes((2400, 2000)), "big")
    (fitted,) = fit_for("upscale", [big])
    assert fitted.pixels <= 4_194_304 and fitted.label.startswith("big (downscaled from 2400x2000")
    assert Image.open(io.BytesIO(fitted.data)).size == fitted.size
    small = to_input(png_bytes((512, 512)), "small")
    assert fit_for("edit", [small]) == [small]  # fits already: untouched
    url = to_input("https://e.com/x.png")
    assert downscaled(url, 100) is url
