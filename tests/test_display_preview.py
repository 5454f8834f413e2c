"""Notebook previews (display/preview.py): smaller copies made once, for every format and size."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image

from venice_nb.display.preview import downscale, image_preview, make_preview, preview_dimensions


def _photo(fmt: str, size: tuple[int, int], mode: str = "RGB") -> bytes:
    """A smooth picture (a preview of it is lighter than it, as for a real photo)."""
    grey = Image.linear_gradient("L").resize(size)
    across = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size)
    im = Image.merge("RGB", (grey, across, grey)) if mode == "RGB" else grey.convert(mode)
    out = BytesIO()
    im.save(out, format=fmt.upper(), **({"quality": 95} if fmt != "png" else {}))
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "side", "max_side"),
    [
        # a JPEG whose draft() lands on the target exactly: the case that used a closed file
        ("jpeg", 1024, 512),
        ("jpeg", 2048, 1024),
        ("jpeg", 2048, 512),
        ("jpeg", 1000, 512),
        ("webp", 1024, 512),
    ],
)
def test_make_preview_shrinks_to_the_long_side(fmt: str, side: int, max_side: int) -> None:
    data = _photo(fmt, (side, side // 2))
    preview = make_preview(data, fmt, max_side)
    assert preview.size == (max_side, max_side // 2)
    assert len(preview.data) < len(data)
    with Image.open(BytesIO(preview.data)) as im:
        assert im.size == preview.size and im.format.lower() == preview.format


@pytest.mark.parametrize(("fmt", "side", "max_side"), [("jpeg", 1024, 512), ("jpeg", 2048, 1024)])
def test_downscale_of_an_exact_jpeg_draft_is_a_whole_image(fmt: str, side: int, max_side: int):
    data = _photo(fmt, (side, side))
    small, size = downscale(data, fmt, max_side)
    assert size == (max_side, max_side)
    with Image.open(BytesIO(small)) as im:
        im.load()
        assert im.size == size and im.format == "JPEG"


def test_a_flat_png_whose_preview_would_be_heavier_is_kept_as_it_is() -> None:
    data = _photo("png", (1024, 512))  # a gradient: PNG stores it in a few KB, JPEG would not
    preview = make_preview(data, "png", 300)
    assert preview.data is data and preview.size == (1024, 512)  # the browser scales it


def test_a_small_image_is_its_own_preview_and_is_not_decoded() -> None:
    data = _photo("png", (200, 100))
    preview = make_preview(data, "png", 512)
    assert preview.data is data and preview.size == (200, 100) and preview.format == "png"


def test_a_png_preview_is_a_jpeg_and_one_with_alpha_a_webp() -> None:
    assert make_preview(_photo("png", (1024, 1024)), "png", 256).format == "jpeg"
    rgba = Image.linear_gradient("L").resize((1024, 1024)).convert("RGBA")
    rgba.putalpha(128)
    out = BytesIO()
    rgba.save(out, format="PNG")
    assert make_preview(out.getvalue(), "png", 256).format == "webp"


def test_image_preview_is_made_once_per_size() -> None:
    class Held:
        def __init__(self, data: bytes) -> None:
            self.data, self.format = data, "jpeg"

    held = Held(_photo("jpeg", (1024, 1024)))
    first = image_preview(held, 512)
    assert image_preview(held, 512) is first
    assert image_preview(held, 256) is not first and image_preview(held, 256).size == (256, 256)


def test_preview_dimensions_keep_the_ratio_and_ignore_no_limit() -> None:
    assert preview_dimensions((2048, 1024), 512) == (512, 256)
    assert preview_dimensions((300, 200), 512) == (300, 200)
    assert preview_dimensions((3000, 7), 1000) == (1000, 2)
    assert preview_dimensions((3000, 2000), None) == (3000, 2000)
