"""Results: format from magic bytes, whole-image checks (image_format.py), timing, provenance
and repr."""

from __future__ import annotations

import pytest
from factories import encode, make_result

from venice_nb.errors import InvalidResponseError, VeniceError
from venice_nb.image_format import header_alpha, header_size, image_problem, sniff_format
from venice_nb.result import (
    GeneratedImage,
    SweepCell,
    SweepResult,
    Timing,
)

PNG, JPEG, WEBP = encode("PNG"), encode("JPEG"), encode("WEBP")


def test_sniff_format_from_magic_bytes_only() -> None:
    assert [sniff_format(x) for x in (PNG, JPEG, WEBP)] == ["png", "jpeg", "webp"]
    assert sniff_format(b"GIF89a....") is None
    assert sniff_format(b"RIFF\0\0\0\0AVI ") is None
    assert sniff_format(b"") is None
    assert sniff_format(memoryview(PNG)) == "png"


def test_generated_image_reads_size_lazily_and_knows_its_mime() -> None:
    im = GeneratedImage.from_bytes(WEBP, seed=3)
    assert (im.format, im.mime, im.extension, im.size) == ("webp", "image/webp", "webp", (48, 32))
    assert im.to_pil().size == (48, 32)
    assert repr(im).startswith("<GeneratedImage webp") and "seed=3" in repr(im)
    bundle = im._repr_mimebundle_()
    assert bundle["image/webp"] == WEBP


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"LOCAL PREVIEW: not an image" * 4, "not a PNG, JPEG or WebP image"),
        (b"", "0 bytes"),
        (PNG[: len(PNG) // 2], "no IEND"),
        (JPEG[: len(JPEG) - 40], "end-of-image"),
        (WEBP[: len(WEBP) - 10], "cut short"),
    ],
)
def test_from_bytes_refuses_what_is_no_whole_image(data: bytes, text: str) -> None:
    with pytest.raises(InvalidResponseError, match=text):
        GeneratedImage.from_bytes(data)


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
    assert GeneratedImage.from_bytes(webp).size == (64, 32)
    assert header_alpha(webp[:12] + b"JUNK" + webp[16:], "webp") is None


def test_image_problem_accepts_whole_images() -> None:
    assert [image_problem(d, f) for d, f in ((PNG, "png"), (JPEG, "jpeg"), (WEBP, "webp"))] == [
        None,
        None,
        None,
    ]
    big = encode("JPEG", (800, 600))
    assert image_problem(big + b"\0" * 100, "jpeg") is None  # trailing padding is tolerated


def test_timing_from_api_and_rest() -> None:
    t = Timing.from_api(
        {
            "inferenceQueueTime": 30,
            "inferencePreprocessingTime": 20,
            "inferenceDuration": 1800,
            "total": 1900,
        },
        wall_ms=2100.0,
    )
    assert (t.queue_ms, t.preprocessing_ms, t.inference_ms, t.total_ms) == (30, 20, 1800, 1900)
    assert t.server_ms == 1850 and t.rest_ms == 250
    assert [label for label, _ in t.segments()] == ["queue", "preprocessing", "inference", "rest"]
    odd = Timing.from_api({"total": "fast"}, wall_ms=10)
    assert odd.total_ms is None and odd.rest_ms == 10
    assert Timing.from_api(None, 5).segments()[-1] == ("rest", 5)


def test_provenance_and_repr() -> None:
    res = make_result(PNG, backend="local preview", cost_usd=0.01)
    info = res.provenance()
    assert info["request"] == {"model": "z-image-turbo", "prompt": "a gondola", "seed": 7}
    assert info["backend"] == "local preview" and info["cost_usd"] == 0.01
    assert "local preview" in repr(res) and "seed=7" in repr(res)
    assert len(res) == 1 and res.image is res.images[0] and res.model == "z-image-turbo"


def test_sweep_result_collects_cells() -> None:
    ok = make_result(PNG, cost_usd=0.01)
    sweep = SweepResult(
        [SweepCell({"seed": 1}, result=ok), SweepCell({"seed": 2}, error=VeniceError("boom"))],
        rows="seed",
    )
    assert sweep.results == [ok] and [c.params for c in sweep.errors] == [{"seed": 2}]
    assert sweep.cost_usd == 0.01 and len(sweep.images) == 1
    assert "1 failed" in repr(sweep)


def test_provenance_drops_credentials_in_the_base_url() -> None:
    res = make_result(PNG, base_url="https://user:s3cret@proxy.example:8443/api/v1")
    assert res.provenance()["base_url"] == "https://proxy.example:8443/api/v1"
    assert make_result(PNG, base_url="http://127.0.0.1:9/api/v1").provenance()["base_url"] == (
        "http://127.0.0.1:9/api/v1"
    )
