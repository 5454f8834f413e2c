"""fuzzy.py: the "did you mean" of every one-line refusal."""

from __future__ import annotations

from venice_nb.fuzzy import closest, did_you_mean


def test_only_the_case_differs_is_the_one_answer() -> None:
    assert closest("ANIME", ["Anime", "Analog Film"]) == ["Anime"]
    assert did_you_mean("ANIME", ["Anime"]) == "did you mean 'Anime'?"


def test_only_the_near_best_are_suggested() -> None:
    models = ["qwen-image-2", "z-image-turbo", "qwen-image"]
    assert closest("qwen-image2", models) == ["qwen-image-2", "qwen-image"]
    assert closest("seeed", ["seed", "steps"]) == ["seed"]


def test_leading_dashes_do_not_count_and_a_typed_prefix_does() -> None:
    assert closest("--colour", ["--model", "--cfg-scale", "--color"]) == ["--color"]
    assert closest("--cfg", ["--cfg-scale", "--steps"]) == ["--cfg-scale"]


def test_nothing_close_suggests_nothing() -> None:
    assert closest("xyzzy", ["Anime"]) == [] and did_you_mean("xyzzy", ["Anime"]) == ""
    assert closest("anything", []) == []
    assert did_you_mean("a", ["b", "c"]) == ""
