"""Python calls answered in Python words: a wrong argument is a TypeError or ValueError naming
the parameter, what it takes and what it got.

The request checks speak the magic's language ("pass -m MODEL", "write it in the cell body"),
right for a cell and puzzling for ``img.edit(123)`` or ``Panel(seed="abc")``, where the latter
used to end in a bare ``'>=' not supported`` comparison error. The Python surfaces (the toolbox
functions, the result methods, ``Panel``) check their arguments here first, from the request
dataclasses' own type hints, so the rules live in one place.
"""

from __future__ import annotations

import functools
import numbers
import types
import typing
from collections.abc import Mapping
from typing import Any

_NAMES = {int: "an int", float: "a number", str: "a str", bool: "True or False",
          dict: "a dict", tuple: "a tuple", list: "a list"}  # fmt: skip


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _allowed(hint: Any) -> tuple[type, ...]:
    """The plain Python types a field's annotation admits (None left out)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(hint) for t in _allowed(arg))
    if origin is typing.Literal:
        return tuple({type(v) for v in typing.get_args(hint)})
    if origin is not None:
        return (origin,) if isinstance(origin, type) else ()
    if hint is type(None) or not isinstance(hint, type):
        return ()
    return (hint,)


def _fits(value: Any, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # a bool is an int to Python, never to the API
        return bool in allowed
    if isinstance(value, numbers.Integral) and (int in allowed or float in allowed):
        return True  # numpy integers too
    if isinstance(value, numbers.Real) and float in allowed:
        return True
    if isinstance(value, list) and tuple in allowed:
        return True  # the requests turn lists into tuples
    return isinstance(value, allowed)


@functools.cache
def field_types(cls: type) -> dict[str, tuple[type, ...]]:
    """name -> the Python types a request dataclass's field takes (from its annotations)."""
    hints = typing.get_type_hints(cls)
    return {name: _allowed(hint) for name, hint in hints.items() if not name.startswith("_")}


def check_types(
    where: str, values: Mapping[str, Any], types_: Mapping[str, tuple[type, ...]]
) -> None:
    """A TypeError for the first value (not None) whose type its field does not take."""
    for name, value in values.items():
        allowed = types_.get(name) or ()
        if value is None or not allowed or _fits(value, allowed):
            continue
        wanted = " or ".join(dict.fromkeys(_NAMES.get(t, t.__name__) for t in allowed))
        raise TypeError(f"{where}: {name} must be {wanted}, got {_shown(value)}")


def need_text(where: str, name: str, value: Any, example: str, optional: bool = False) -> None:
    """A TypeError unless ``value`` is a str (or None when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise TypeError(f"{where}: {name} must be a str, e.g. {example!r}; got {_shown(value)}")
    if not optional and not value.strip():
        raise ValueError(f"{where}: {name} is empty; give one, e.g. {example!r}")


def need_choice(where: str, name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """A TypeError for the wrong type, a ValueError for a value not among ``choices``."""
    kinds = {type(c) for c in choices}
    if isinstance(value, bool) or not isinstance(value, tuple(kinds)):
        raise TypeError(
            f"{where}: {name} must be one of {', '.join(map(repr, choices))}; got {_shown(value)}"
        )
    if value not in choices:
        raise ValueError(
            f"{where}: {name} must be one of {', '.join(map(repr, choices))}; got {value!r}"
        )


def need_flag(where: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be True or False, got {_shown(value)}")


def need_number(where: str, name: str, value: Any, optional: bool = True) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where}: {name} must be a number, got {_shown(value)}")
