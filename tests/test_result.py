"""Results: format from magic bytes, whole-image checks, timing, and safe atomic saving."""

from __future__ import annotations

import json
import os
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from venice_nb import result as result_mod
from venice_nb.errors import InvalidResponseError, VeniceError
from venice_nb.metadata import read_metadata
from venice_nb.operations.generate import GenerateRequest
from venice_nb.result import (
    GeneratedImage,
    GenerationResult,
    SweepCell,
    SweepResult,
    Timing,
    image_problem,
    safe_stem,
    sniff_format,
)


def encode(fmt: str, size: tuple[int, int] = (48, 32)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(out, fmt)
    return out.getvalue()


PNG, JPEG, WEBP = encode("PNG"), encode("JPEG"), encode("WEBP")


def make_result(
    *datas: bytes, id: str | None = "generate-image-abc", **kw: object
) -> GenerationResult:
    request = GenerateRequest(model="z-image-turbo", prompt="a gondola", seed=7)
    images = [
        GeneratedImage.from_bytes(d, index=i, seed=7 if i == 0 else None)
        for i, d in enumerate(datas)
    ]
    return GenerationResult(request=request, images=images, id=id, seed=7, **kw)  # type: ignore[arg-type]


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


def test_image_problem_accepts_whole_images() -> None:
    assert [image_problem(d, f) for d, f in ((PNG, "png"), (JPEG, "jpeg"), (WEBP, "webp"))] == [
        None,
        None,
        None,
    ]
    big = encode("JPEG", (800, 600))
    assert image_problem(big + b"\0" * 100, "jpeg") is None  # trailing padding is tolerated


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("generate-image-123", "generate-image-123"),
        ("../../etc/passwd", "etc-passwd"),
        ("..", "image"),
        ("/abs/path", "abs-path"),
        ("a/../b", "a-.-b"),
        ("nul\x00byte", "nul-byte"),
        ("x" * 300, "x" * 80),
        ("C:\\Windows\\evil", "C-Windows-evil"),
        (".hidden", "hidden"),
        ("-rf", "rf"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("", "image"),
        (None, "image"),
        ("日本語", "image"),
        ("a..b", "a.b"),
    ],
)
def test_safe_stem(raw: str | None, expected: str) -> None:
    stem = safe_stem(raw)
    assert stem == expected
    assert "/" not in stem and "\\" not in stem and "\0" not in stem and ".." not in stem


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


# ---- save ---------------------------------------------------------------------------------------


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_save_writes_image_and_sidecar_with_the_parameters(tmp_path: Path) -> None:
    res = make_result(PNG)
    [path] = res.save(tmp_path)
    assert path == tmp_path.resolve() / "generate-image-abc.png"
    assert path.read_bytes() != PNG  # metadata embedded...
    with Image.open(path) as a, Image.open(BytesIO(PNG)) as b:
        assert a.tobytes() == b.tobytes()  # ...without touching the pixels
    embedded = read_metadata(path.read_bytes())
    assert embedded is not None and embedded["request"]["prompt"] == "a gondola"
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["file"] == path.name and sidecar["request"]["seed"] == 7
    assert sidecar["format"] == "png" and sidecar["id"] == "generate-image-abc"
    assert listing(tmp_path) == ["generate-image-abc.json", "generate-image-abc.png"]


def test_save_variants_in_each_format(tmp_path: Path) -> None:
    paths = make_result(PNG, JPEG, WEBP).save(tmp_path)
    assert [p.name for p in paths] == [
        "generate-image-abc-1.png",
        "generate-image-abc-2.jpg",
        "generate-image-abc-3.webp",
    ]
    for p in paths:
        assert read_metadata(p.read_bytes())["id"] == "generate-image-abc"  # type: ignore[index]
        assert p.with_suffix(".json").exists()


def test_save_never_overwrites(tmp_path: Path) -> None:
    res = make_result(JPEG)
    first = res.save(tmp_path)
    second = res.save(tmp_path)
    assert first != second and second[0].name == "generate-image-abc-2.jpg"
    assert len(listing(tmp_path)) == 4
    assert first[0].read_bytes() == second[0].read_bytes()


def test_save_skips_a_name_whose_sidecar_is_taken(tmp_path: Path) -> None:
    (tmp_path / "generate-image-abc.json").write_text("not ours")
    (tmp_path / "generate-image-abc-2.json").mkdir()  # even a directory in the way
    [path] = make_result(PNG).save(tmp_path)
    assert path.name == "generate-image-abc-3.png"
    assert (tmp_path / "generate-image-abc.json").read_text() == "not ours"
    assert not (tmp_path / "generate-image-abc.png").exists()
    assert json.loads((tmp_path / "generate-image-abc-3.json").read_text())["file"] == path.name


@pytest.mark.parametrize(
    "evil", ["../escape", "../../../../tmp/x", "/etc/passwd", "a/b/c", "nul\x00id", "y" * 300, ".."]
)
def test_server_ids_cannot_leave_the_directory(tmp_path: Path, evil: str) -> None:
    target = tmp_path / "out"
    [path] = make_result(WEBP, id=evil).save(target)
    assert path.resolve().parent == target.resolve()
    assert len(path.name) <= 80 + len("-99.webp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing beside it
    assert all(p.parent == target.resolve() for p in target.resolve().iterdir())


def test_save_failing_midway_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real = result_mod._link_new

    def flaky(tmp: str, path: Path) -> bool:
        calls["n"] += 1
        if calls["n"] == 4:  # image 1 + sidecar 1 done, image 2 linked, its sidecar fails
            raise OSError(28, "No space left on device")
        return real(tmp, path)

    monkeypatch.setattr(result_mod, "_link_new", flaky)
    with pytest.raises(VeniceError, match="No space left on device; nothing was written") as info:
        make_result(PNG, PNG).save(tmp_path)
    assert "\n" not in info.value.one_line()
    assert listing(tmp_path) == []  # no image, no sidecar, no .part file


def test_save_into_an_unwritable_place_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(VeniceError, match="cannot create the save directory"):
        make_result(PNG).save(blocker / "sub")


def test_save_without_hard_links_still_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: str, dst: Path) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    res = make_result(PNG)
    a, b = res.save(tmp_path)[0], res.save(tmp_path)[0]
    assert (a.name, b.name) == ("generate-image-abc.png", "generate-image-abc-2.png")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    assert read_metadata(b.read_bytes()) is not None


def test_saved_files_are_readable_by_others(tmp_path: Path) -> None:
    [path] = make_result(PNG).save(tmp_path)
    assert path.stat().st_mode & 0o044


def test_stem_from_model_and_seed_without_id(tmp_path: Path) -> None:
    [path] = make_result(PNG, id=None).save(tmp_path)
    assert path.name == "z-image-turbo-7.png"


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
