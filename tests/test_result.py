"""Results: images from bytes (refused unless whole), timing, provenance and repr; the header
reading itself is tested in test_image_format.py."""

from __future__ import annotations

import pytest
from factories import encode, make_result

from venice_nb.errors import InvalidResponseError, VeniceError
from venice_nb.result import (
    GeneratedImage,
    SweepCell,
    SweepResult,
    Timing,
)

PNG, JPEG, WEBP = encode("PNG"), encode("JPEG"), encode("WEBP")


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
