"""Names and limits of files: every name on disk means something, every path problem is one
line before anything is paid.

Derived images were saved as ``upscaler-None.png`` (the upscaler model and a seed it has none
of); a ``--save`` directory whose name the file system cannot hold ended in a traceback after the
request was paid for.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import live_session
from IPython.core.error import UsageError
from magics_harness import cell, restored_traits, run, seen, warm

import venice_nb
from venice_nb.errors import ConfigurationError, VeniceError
from venice_nb.operations.generate import GenerateRequest
from venice_nb.preflight import check_save_target
from venice_nb.saving import path_problem
from venice_nb.session import VeniceSession
from venice_nb.settings import Settings

TOO_LONG = "x" * 300


@pytest.fixture
def session(local_server, tmp_path) -> VeniceSession:
    return live_session(local_server.base_url, tmp_path / "saved", "sk-saving-names-0123456789")


@pytest.fixture
def fox(session):
    return session.generate(
        GenerateRequest(model="z-image-turbo", prompt="a red fox in the snow", seed=4, width=256,
                        height=256)
    )  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "prefix"),
    [
        (lambda r, s: venice_nb.upscale(r, 2, session=s), "upscale-2x-of-"),
        (lambda r, s: venice_nb.upscale(r, 4, session=s), "upscale-4x-of-"),
        (lambda r, s: venice_nb.edit(r, "make it night", session=s), "edit-of-"),
        (lambda r, s: venice_nb.remove_background(r, session=s), "remove-background-of-"),
    ],
    ids=["upscale-2x", "upscale-4x", "edit", "remove-background"],
)
def test_derived_images_are_saved_under_what_made_them(session, fox, tmp_path, operation, prefix):
    result = operation(fox, session)
    (path,) = result.save(tmp_path / "out")
    assert path.name.startswith(prefix), path.name
    assert "None" not in path.name and "seed-4" in path.name
    assert path.with_suffix(".json").exists()


def test_an_edit_name_carries_its_instruction(session, fox, tmp_path):
    (path,) = venice_nb.edit(fox, "make it night", session=session).save(tmp_path)
    assert path.stem.endswith("make-it-night")


def test_the_magic_saves_derived_images_with_meaningful_names(ip, server, tmp_path):
    with restored_traits(ip):
        warm(ip, server)
        cell(ip, "-m z-image-turbo -s 11 -W 256 -H 256 -o shot", "a red fox")
        ip.run_line_magic("venice", f"upscale shot --scale 2 --save {tmp_path}")
        ip.run_line_magic("venice", f"remove-background shot --save {tmp_path}")
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(names) == 2 and not any("None" in n or "upscaler" in n for n in names), names
    assert names[0].startswith("remove-background-of-shot") and names[1].startswith("upscale-2x")


# ---- impossible directory names ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("directory", "words"),
    [
        (TOO_LONG, "at most 255"),
        (f"ok/{TOO_LONG}/deeper", "at most 255"),
        ("bad\0name", "NUL"),
        ("/".join(["d" * 200] * 22), "full path"),
    ],
    ids=["long-name", "long-inner-name", "nul", "long-path"],
)
def test_a_directory_the_file_system_cannot_hold_is_one_line(tmp_path, directory, words):
    target = tmp_path / directory if "\0" not in directory else str(tmp_path) + "/" + directory
    assert words in (path_problem(target) or "")
    with pytest.raises(VeniceError, match=words):
        check_save_target(target)


@pytest.mark.parametrize(
    "source",
    [
        "%%venice -m z-image-turbo -s 1 -W 256 -H 256 --save {bad}\na fox",
        "%venice upscale shot --save {bad}",
        "%%venice edit -i shot --save {bad}\nmake it night",
    ],
    ids=["generate", "upscale", "edit"],
)
def test_an_impossible_save_dir_is_refused_before_paying(ip, server, tmp_path, source):
    bad = tmp_path / TOO_LONG
    with restored_traits(ip):
        warm(ip, server)
        cell(ip, "-m z-image-turbo -s 11 -W 256 -H 256 -o shot", "a red fox")
        server.reset_counters()
        outcome, cap = run(ip, source.format(bad=bad))
    assert isinstance(outcome.error_in_exec, UsageError), seen(cap)
    assert "at most 255" in str(outcome.error_in_exec)
    assert "\n" not in str(outcome.error_in_exec)
    assert server.request_count == 0


def test_python_save_into_an_impossible_dir_is_one_line(fox, tmp_path):
    with pytest.raises(VeniceError, match="at most 255") as info:
        fox.save(tmp_path / TOO_LONG)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_the_save_dir_setting_refuses_a_name_no_file_system_holds():
    with pytest.raises(ConfigurationError, match="at most 255"):
        Settings(save_dir=TOO_LONG)
    with pytest.raises(ConfigurationError, match="NUL"):
        Settings(save_dir="a\0b")
    assert Settings(save_dir="images/2026").save_dir == "images/2026"


def test_an_ordinary_directory_passes(tmp_path: Path):
    assert path_problem(tmp_path / "new" / "dir") is None
    assert check_save_target(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"


def test_a_derived_image_downloads_under_the_same_meaningful_name(session, fox):
    from venice_nb.display.tiles import file_name

    up = venice_nb.upscale(fox, 2, session=session)
    cut = venice_nb.remove_background(fox, session=session)
    for result, prefix in ((up, "upscale-2x-of-"), (cut, "remove-background-of-")):
        name = file_name(result, result.images[0])
        assert name.startswith(prefix) and "None" not in name and "upscaler" not in name, name
        html = result._repr_mimebundle_()[0]["text/html"]
        assert f'download="{name}"' in html
