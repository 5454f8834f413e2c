"""The cell body grammar and sweep values: pure text handling, no shell and no network."""

from __future__ import annotations

import types

import pytest

from venice_nb.errors import ValidationError
from venice_nb.parse import (
    MAX_SWEEP_VALUES,
    combinations,
    interpolate,
    option_order,
    parse_values,
    split_body,
)

# ---- body ------------------------------------------------------------------------------------


def test_split_body_on_a_line_that_is_exactly_three_dashes():
    assert split_body("a fox\nin snow\n---\nblurry, text\n") == ("a fox\nin snow", "blurry, text")


def test_split_body_without_separator_and_with_inline_dashes():
    assert split_body("  a fox --- in snow \n") == ("a fox --- in snow", None)
    assert split_body("a ---- b\n----\nc") == ("a ---- b\n----\nc", None)


def test_split_body_only_first_separator_splits_and_empty_negative_is_none():
    assert split_body("p\n---\nn1\n---\nn2") == ("p", "n1\n---\nn2")
    assert split_body("p\n  ---  \n\n") == ("p", None)
    assert split_body("") == ("", None)


# ---- interpolation ---------------------------------------------------------------------------


NS = {
    "time": "dusk",
    "cfg": types.SimpleNamespace(light="golden", inner=types.SimpleNamespace(tone="warm")),
    "n": 3,
}


def test_names_and_attributes_are_filled():
    assert interpolate("canal at {time}, {cfg.light} light", NS) == "canal at dusk, golden light"
    assert interpolate("{cfg.inner.tone} tones x{n}", NS) == "warm tones x3"


def test_double_braces_are_literal():
    assert interpolate("{{time}} and {{ }}", NS) == "{time} and { }"
    assert interpolate("{{{time}}}", NS) == "{dusk}"


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": [1, 2]}',
        "def f(x): return {x+1}",
        "{0} {} { time } {time!r} {time:>5} {1.5}",
        "a lone { and a lone } stay",
        "dict(a={'k': v})",
        "{-1}",
    ],
)
def test_everything_else_in_braces_stays_as_typed(text):
    assert interpolate(text, NS) == text


def test_mixed_code_json_and_names():
    body = 'render {"style": "x"} as {time}; code: for i in {{range}}: pass'
    assert interpolate(body, NS) == 'render {"style": "x"} as dusk; code: for i in {range}: pass'


def test_undefined_name_is_one_error_naming_it():
    with pytest.raises(ValidationError) as info:
        interpolate("a {colour} fox", NS)
    message = info.value.one_line()
    assert "'colour' is not defined" in message and "{{colour}}" in message
    assert "\n" not in message


def test_missing_attribute_is_named():
    with pytest.raises(ValidationError, match="'cfg' has no attribute 'dark'"):
        interpolate("{cfg.dark}", NS)


def test_interpolation_never_formats_values_again():
    assert interpolate("{time}", {"time": "{n}"}) == "{n}"


# ---- sweep values ----------------------------------------------------------------------------


def test_single_values_are_typed_per_field():
    assert parse_values("seed", "42") == [42]
    assert parse_values("cfg_scale", "7") == [7.0] and isinstance(
        parse_values("cfg_scale", "7")[0], float
    )
    assert parse_values("steps", "20") == [20]
    assert parse_values("aspect_ratio", "16:9") == ["16:9"]
    assert parse_values("style_preset", "Analog Film") == ["Analog Film"]


def test_comma_lists():
    assert parse_values("seed", "1, 2,3") == [1, 2, 3]
    assert parse_values("model", "z-image-turbo,qwen-image-2") == ["z-image-turbo", "qwen-image-2"]
    assert parse_values("aspect_ratio", "1:1,16:9") == ["1:1", "16:9"]
    assert parse_values("seed", "-5,5") == [-5, 5]


def test_ranges_include_stop():
    assert parse_values("seed", "1:4") == [1, 2, 3, 4]
    assert parse_values("seed", "1:12") == list(range(1, 13))
    assert parse_values("cfg_scale", "4:10:3") == [4.0, 7.0, 10.0]
    assert parse_values("cfg_scale", "4:10:2") == [4.0, 6.0, 8.0, 10.0]
    assert parse_values("cfg_scale", "1:2:0.1")[-1] == 2.0
    assert len(parse_values("cfg_scale", "1:2:0.1")) == 11
    assert parse_values("steps", "10:20:5") == [10, 15, 20]
    assert parse_values("seed", "1:6:2") == [1, 3, 5]  # stop not on the grid: last below it
    assert parse_values("seed", "-3:-1") == [-3, -2, -1]
    assert parse_values("seed", "1:2,10") == [1, 2, 10]


@pytest.mark.parametrize(
    ("field", "text", "fragment"),
    [
        ("seed", "1.5", "whole numbers"),
        ("seed", "abc", "whole numbers"),
        ("cfg_scale", "high", "numbers"),
        ("cfg_scale", "nan", "finite"),
        ("seed", "1,,2", "empty value"),
        ("seed", "5:1", "ends before it starts"),
        ("seed", "1:5:0", "step above 0"),
        ("seed", "1:5:-1", "step above 0"),
        ("seed", "1:2:3:4", "start:stop"),
        ("seed", "1:100000000", "at most"),
        ("seed", ",".join(["1"] * (MAX_SWEEP_VALUES + 1)), "more than"),
    ],
)
def test_bad_sweep_values_name_the_option(field, text, fragment):
    with pytest.raises(ValidationError) as info:
        parse_values(field, text)
    assert fragment in str(info.value)
    assert ("--seed" if field == "seed" else "--cfg-scale") in str(info.value)


def test_combinations_first_axis_varies_slowest():
    combos = list(combinations([("seed", [1, 2]), ("cfg_scale", [4.0, 6.0, 8.0])]))
    assert combos == [
        {"seed": 1, "cfg_scale": 4.0},
        {"seed": 1, "cfg_scale": 6.0},
        {"seed": 1, "cfg_scale": 8.0},
        {"seed": 2, "cfg_scale": 4.0},
        {"seed": 2, "cfg_scale": 6.0},
        {"seed": 2, "cfg_scale": 8.0},
    ]


def test_combinations_are_bounded_before_they_are_built():
    with pytest.raises(ValidationError, match="combinations"):
        next(combinations([("seed", list(range(100))), ("cfg_scale", [1.0, 2.0, 3.0])]))


def test_option_order_follows_the_line():
    options = {"seed": ("-s", "--seed"), "cfg_scale": ("-c", "--cfg-scale"), "steps": ("--steps",)}
    assert option_order(["--cfg-scale", "4,5", "-s", "1,2"], options) == ["cfg_scale", "seed"]
    assert option_order(["-s1,2", "--steps=3,4"], options) == ["seed", "steps"]
    assert option_order(["--seed=1,2", "-c", "4:6"], options) == ["seed", "cfg_scale"]
    assert option_order(["-m", "x"], options) == []
