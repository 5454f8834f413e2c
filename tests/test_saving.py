"""Saving results: image plus sidecar, never overwriting, atomic, never outside the directory."""

from __future__ import annotations

import json
import os
from io import BytesIO
from pathlib import Path

import pytest
from factories import encode, make_result
from PIL import Image

from venice_nb import saving
from venice_nb.errors import VeniceError
from venice_nb.metadata import read_metadata
from venice_nb.saving import safe_stem

PNG, JPEG, WEBP = encode("PNG"), encode("JPEG"), encode("WEBP")


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
    real = saving._link_new

    def flaky(tmp: str, path: Path) -> bool:
        calls["n"] += 1
        if calls["n"] == 4:  # image 1 + sidecar 1 done, image 2 linked, its sidecar fails
            raise OSError(28, "No space left on device")
        return real(tmp, path)

    monkeypatch.setattr(saving, "_link_new", flaky)
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
