"""The ``%%venice`` line's parser (built on first use), its words and its option -> field maps."""

from __future__ import annotations

import argparse

import pytest
from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from venice_nb.magic_args import (
    SWEEP_DEST,
    SWEEP_OPTIONS,
    SWITCH_FIELDS,
    VALUE_FIELDS,
    LazyParser,
    lazy_magic_arguments,
    split_line,
    whole,
)
from venice_nb.magics import VeniceMagics
from venice_nb.operations.generate import GenerateRequest


def test_the_parser_is_built_on_first_use_and_then_kept() -> None:
    @lazy_magic_arguments(name="%probe")
    @argument("-n", type=whole)
    def probe(line: str) -> None:
        """A probe."""

    assert isinstance(probe.parser, LazyParser)
    assert probe.parser._parser is None  # nothing built when the class is defined
    args = probe.parser.parse_argstring("-n 3")
    built = probe.parser._parser
    assert args.n == 3 and built is not None
    probe.parser.parse_argstring("-n 4")
    assert probe.parser._parser is built  # once
    assert "-n N" in probe.getdoc()  # %probe? shows the option help


def test_whole_takes_one_number_and_names_the_options_that_take_lists() -> None:
    assert whole("-7") == -7
    with pytest.raises(argparse.ArgumentTypeError, match=r"got '1,2'.*--seed, --cfg-scale"):
        whole("1,2")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('-m qwen-image-2 --style "Analog Film"', ["-m", "qwen-image-2", "--style", "Analog Film"]),
        ("--negative 'no text' -s 1:4", ["--negative", "no text", "-s", "1:4"]),
        (r"--save my\ dir", ["--save", "my dir"]),
        ("", []),
    ],
)
def test_split_line_splits_as_a_shell_does(line: str, words: list[str]) -> None:
    assert split_line(line) == words


def test_unbalanced_quotes_are_one_line() -> None:
    with pytest.raises(UsageError, match=r"cannot read the options: .*\(unbalanced quotes\?\)"):
        split_line('--style "Analog Film')


def test_every_mapped_option_exists_and_every_field_is_a_request_field() -> None:
    """The maps are names in two worlds: argparse dests of %%venice, fields of GenerateRequest."""
    parser = VeniceMagics.venice_cell.parser
    dests = {action.dest for action in parser._actions}
    strings = {s for action in parser._actions for s in action.option_strings}
    fields = set(GenerateRequest.__dataclass_fields__)
    for dest, field in {**VALUE_FIELDS, **SWITCH_FIELDS}.items():
        assert dest in dests and field in fields, (dest, field)
    for field, options in SWEEP_OPTIONS.items():
        assert field in fields and set(options) <= strings
        assert SWEEP_DEST.get(field, field) in dests
