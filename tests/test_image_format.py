"""image_format.py: the format from magic bytes, the size and alpha read from the header (checked
against Pillow), and the whole-image check, all without decoding."""

from __future__ import annotations

import pytest
from factories import encode

from venice_nb.image_format import header_alpha, header_size, image_problem, sniff_format

PNG, JPEG, WEBP = encode("PNG"), encode("JPEG"), encode("WEBP")


def test_sniff_format_from_magic_bytes_only() -> None:
    assert [sniff_format(x) for x in (PNG, JPEG, WEBP)] == ["png", "jpeg", "webp"]
    assert sniff_format(b"GIF89a....") is None
    assert sniff_format(b"RIFF\0\0\0\0AVI ") is None
    assert sniff_format(b"") is None
    assert sniff_format(memoryview(PNG)) == "png"


HEADER_CASES = [
    ("PNG", "RGB", {}),
    ("PNG", "RGBA", {}),
    ("PNG", "L", {}),
    ("PNG", "P", {}),
    ("JPEG", "RGB", {}),
    ("JPEG", "RGB", {"progressive": True}),
    ("JPEG", "L", {"exif": "orientation 6"}),  # an APP1 segment before the frame
    ("WEBP", "RGB", {"quality": 80}),  # lossy: VP8
    ("WEBP", "RGB", {"lossless": True}),  # VP8L
    ("WEBP", "RGBA", {"quality": 80}),  # alpha: VP8X
    ("WEBP", "RGBA", {"lossless": True}),
]


@pytest.mark.parametrize("size", [(1, 1), (3, 7), (1024, 1024), (1365, 768), (3840, 2160)])
@pytest.mark.parametrize(("fmt", "mode", "options"), HEADER_CASES)
def test_header_size_agrees_with_pillow(fmt: str, mode: str, options: dict, size) -> None:
    import io

    from PIL import Image

    if "exif" in options:
        exif = Image.Exif()
        exif[0x0112] = 6  # rotated: the stored size is still the frame's
        options = {**options, "exif": exif.tobytes()}
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, fmt, **options)
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as im:
        expected = im.size
    assert expected == size
    assert header_size(data, sniff_format(data) or "") == size


def _alpha_cases():
    from PIL import Image

    opaque = Image.new("RGB", (40, 30), (10, 200, 30))
    clear = Image.new("RGBA", (40, 30), (10, 200, 30, 0))
    palette = opaque.convert("P")
    return [
        ("PNG", opaque, {}),
        ("PNG", clear, {}),
        ("PNG", clear.convert("LA"), {}),
        ("PNG", opaque.convert("L"), {}),
        ("PNG", opaque.convert("L"), {"transparency": 0}),  # tRNS on a grey image
        ("PNG", palette, {}),
        ("PNG", palette, {"transparency": 0}),  # tRNS on a palette
        ("PNG", opaque, {"transparency": (10, 200, 30)}),  # tRNS on RGB
        ("WEBP", opaque, {"quality": 80}),
        ("WEBP", opaque, {"lossless": True}),
        ("WEBP", clear, {"quality": 80}),
        ("WEBP", clear, {"lossless": True}),
        ("WEBP", opaque.convert("RGBA"), {"lossless": True}),
        ("JPEG", opaque, {}),
    ]


@pytest.mark.parametrize("case", range(14))
def test_header_alpha_agrees_with_pillow(case: int) -> None:
    import io

    from PIL import Image

    fmt, image, options = _alpha_cases()[case]
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as im:
        pillow = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    assert header_alpha(data, fmt.lower()) is pillow, (fmt, image.mode, options)


def test_header_size_says_none_for_headers_it_cannot_read() -> None:
    webp = encode("webp", (64, 32))
    assert header_size(webp[:12] + b"JUNK" + webp[16:], "webp") is None
    assert header_size(b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "png") is None
    assert header_size(b"\xff\xd8\xff\xe0\x00", "jpeg") is None  # cut before any frame
    assert header_size(b"\xff\xd8" + b"\x00" * 40, "jpeg") is None  # not a marker
    assert header_alpha(webp[:12] + b"JUNK" + webp[16:], "webp") is None


def test_image_problem_accepts_whole_images() -> None:
    assert [image_problem(d, f) for d, f in ((PNG, "png"), (JPEG, "jpeg"), (WEBP, "webp"))] == [
        None,
        None,
        None,
    ]
    big = encode("JPEG", (800, 600))
    assert image_problem(big + b"\0" * 100, "jpeg") is None  # trailing padding is tolerated
