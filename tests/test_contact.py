"""``contact.write_contact_sheet``: one picture or one self-contained page, labelled."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from venice_nb.contact import write_contact_sheet
from venice_nb.errors import ValidationError


def png(colour: tuple[int, int, int], size=(64, 48), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format="PNG")
    return out.getvalue()


ITEMS = [("seed=1", png((255, 0, 0))), ("seed=2", png((0, 0, 255))), ("seed=3", png((0, 255, 0)))]


def test_a_png_sheet_has_every_tile_in_its_place(tmp_path):
    path = write_contact_sheet(ITEMS, tmp_path / "sheet.png", title="a red door", tile=64)
    with Image.open(path) as im:
        assert im.format == "PNG"
        rgb = im.convert("RGB")
        assert rgb.getpixel((8 + 32, 28 + 8 + 32))[0] > 200  # the first tile is red
        assert rgb.getpixel((8 + 72 + 32, 28 + 8 + 32))[2] > 200  # the second blue


def test_a_jpeg_sheet_and_a_transparent_image(tmp_path):
    items = [*ITEMS, ("cut out", png((0, 0, 0, 0), mode="RGBA"))]
    with Image.open(write_contact_sheet(items, tmp_path / "sheet.jpg", tile=64)) as im:
        assert im.format == "JPEG"


def test_an_html_sheet_is_self_contained_and_labelled(tmp_path):
    page = write_contact_sheet(ITEMS, tmp_path / "s.html", title="<b>doors</b>").read_text()
    assert page.count('src="data:image/jpeg;base64,') == 3
    assert "seed=2" in page and "&lt;b&gt;doors&lt;/b&gt;" in page
    assert "http" not in page


def test_paths_are_read_when_drawn(tmp_path):
    (tmp_path / "a.png").write_bytes(png((9, 9, 9)))
    page = write_contact_sheet([("a", tmp_path / "a.png")], tmp_path / "s.html").read_text()
    assert page.count("<img") == 1


@pytest.mark.parametrize(
    "items, name, words",
    [(ITEMS, "s.gif", "must end in"), ([], "s.png", "nothing to put")],
)
def test_refusals(tmp_path, items, name, words):
    with pytest.raises(ValidationError, match=words):
        write_contact_sheet(items, tmp_path / name)
    assert not (tmp_path / name).exists()
