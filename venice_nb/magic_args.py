"""The ``%%venice`` line: its option parser (built on first use), its words, and which option
fills which request field.

IPython's ``magic_arguments`` builds a magic's argparse parser when the class is defined; that was
a good part of what ``%load_ext`` cost, so ``lazy_magic_arguments`` defers it to the first cell.
Light on purpose: ``magics.py`` imports this at ``%load_ext``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import construct_parser, magic_arguments
from IPython.utils.process import arg_split

# Sweepable request fields and their option strings, to find the axes' order on the line.
SWEEP_OPTIONS = {
    "model": ("-m", "--model"),
    "aspect_ratio": ("-a", "--aspect-ratio"),
    "seed": ("-s", "--seed"),
    "cfg_scale": ("-c", "--cfg-scale"),
    "steps": ("--steps",),
    "style_preset": ("--style",),
}
SWEEP_DEST = {"style_preset": "style"}  # request field -> argparse dest, where they differ
# argparse dest -> request field: options that take one value, and switches (True or unset)
VALUE_FIELDS = {
    "width": "width",
    "height": "height",
    "resolution": "resolution",
    "quality": "quality",
    "format": "format",
    "variants": "variants",
    "lora_strength": "lora_strength",
}
SWITCH_FIELDS = {
    "binary": "return_binary",
    "web_search": "enable_web_search",
    "hide_watermark": "hide_watermark",
    "embed_exif": "embed_exif_metadata",
    "enhance_prompt": "enhance_prompt",
}


class LazyParser:
    """The argparse parser of a magic, built the first time anything asks for it.

    IPython reaches the parser only through attributes (``func.parser.parse_argstring``...), so a
    proxy can defer building it (and formatting its help) to the first cell.
    """

    def __init__(self, func: Any) -> None:
        self._func = func
        self._parser: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._parser is None:
            self._parser = construct_parser(self._func)  # also sets the full help as __doc__
        return getattr(self._parser, name)


class lazy_magic_arguments(magic_arguments):  # named like the decorator it extends
    """``@magic_arguments`` with the parser built on first use (``LazyParser``).

    ``%%venice?`` asks the function's ``getdoc()`` (IPython's inspector tries it first), which
    returns the full option help as ``magic_arguments`` would have put in ``__doc__``.
    """

    def __call__(self, func: Any) -> Any:
        if not getattr(func, "has_arguments", False):
            func.has_arguments = True
            func.decorators = []
        if self.name is not None:
            func.argcmd_name = self.name
        func.parser = LazyParser(func)
        func.getdoc = lambda: func.parser.format_help()
        return func


def whole(text: str) -> int:
    """argparse ``type=`` for options that take one whole number (a list there is a mistake)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"takes one whole number, got {text!r} (lists and ranges work on "
            "--seed, --cfg-scale, --steps, --style, --model, --aspect-ratio)"
        ) from None


def split_line(line: str) -> list[str]:
    """The line's words as a shell would split them (quotes group, backslashes escape)."""
    try:
        tokens = arg_split(line, posix=os.name != "nt", strict=True)
        if os.name == "nt":  # non-POSIX splitting keeps the quotes (and the backslashes)
            tokens = [t[1:-1] if len(t) > 1 and t[0] == t[-1] in "'\"" else t for t in tokens]
    except ValueError as exc:
        raise UsageError(f"cannot read the options: {exc} (unbalanced quotes?)") from None
    return tokens


class Tokens:
    """The magic line's words, and those argparse left as positional."""

    def __init__(self, all: list[str], positional: list[str]) -> None:
        self.all = all
        self.positional = positional
