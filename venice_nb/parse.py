"""The cell body and the sweep values of ``%%venice``: text in, typed values out, no I/O.

The body is a prompt, not a format string: prompts contain code and JSON, so only ``{name}`` and
``{name.attr}`` are filled from the user namespace, ``{{``/``}}`` are literal braces, and every other
brace stays exactly as typed (never ``str.format_map`` on the whole body). Sweep values are comma
lists or inclusive ``start:stop[:step]`` ranges, typed per field and bounded in length before a
single value is built.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ValidationError
from .operations.generate import GenerateRequest, flag

SEPARATOR = "---"
MAX_SWEEP_VALUES = 256  # per axis, and for the whole grid (see ``combinations``)

# The fields a sweep may vary, with the type of one value.
SWEEPABLE: dict[str, type] = {
    "seed": int,
    "cfg_scale": float,
    "steps": int,
    "style_preset": str,
    "model": str,
    "aspect_ratio": str,
}

# {{ | }} | {identifier(.identifier)*}
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
_MISSING = object()


def split_body(body: str) -> tuple[str, str | None]:
    """(prompt, negative prompt or None): a line that is exactly ``---`` splits them.

    Only the first such line splits; a later one belongs to the negative prompt. Surrounding
    blank lines and spaces are trimmed; a ``---`` inside a line is just text.
    """
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == SEPARATOR:
            prompt = "\n".join(lines[:i]).strip()
            negative = "\n".join(lines[i + 1 :]).strip()
            return prompt, negative or None
    return body.strip(), None


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Fill ``{name}``/``{name.attr}`` from ``namespace``; ``{{``/``}}`` become single braces.

    Anything else in braces (``{"a": 1}``, ``{0}``, ``{x+1}``, ``{}``, ``{ x }``) is left as typed.
    An undefined name or attribute raises a ValidationError naming it.
    """

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        path = match.group(1)
        head, *attrs = path.split(".")
        value = namespace.get(head, _MISSING)
        if value is _MISSING:
            raise ValidationError(
                f"{{{path}}} in the cell body: name {head!r} is not defined; define it in an "
                f"earlier cell, or write {{{{{path}}}}} for literal braces",
                field="prompt",
            )
        done = head
        for attr in attrs:
            try:
                value = getattr(value, attr)
            except AttributeError:
                raise ValidationError(
                    f"{{{path}}} in the cell body: {done!r} has no attribute {attr!r}",
                    field="prompt",
                ) from None
            done += "." + attr
        return str(value)

    return _TOKEN.sub(fill, text)


# ---- sweep values ------------------------------------------------------------------------------


def _convert(field: str, kind: type, text: str) -> Any:
    text = text.strip()
    if not text:
        raise ValidationError(f"{flag(field)} has an empty value; write e.g. 1,2,3", field=field)
    if kind is str:
        return text
    try:
        if kind is int:
            return int(text)
        value = float(text)
    except ValueError:
        what = "whole numbers" if kind is int else "numbers"
        raise ValidationError(f"{flag(field)} takes {what}, got {text!r}", field=field) from None
    if not math.isfinite(value):
        raise ValidationError(f"{flag(field)} takes finite numbers, got {text!r}", field=field)
    return value


def _range(field: str, kind: type, text: str) -> list[Any]:
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise ValidationError(
            f"{flag(field)} range {text!r} must be start:stop or start:stop:step, e.g. 1:8",
            field=field,
        )
    start, stop = (_convert(field, kind, p) for p in parts[:2])
    step = _convert(field, kind, parts[2]) if len(parts) == 3 else 1
    if step <= 0:
        raise ValidationError(f"{flag(field)} range {text!r} needs a step above 0", field=field)
    if stop < start:
        raise ValidationError(
            f"{flag(field)} range {text!r} ends before it starts; write {parts[1]}:{parts[0]}"
            + (f":{parts[2]}" if len(parts) == 3 else ""),
            field=field,
        )
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_SWEEP_VALUES:
        raise ValidationError(
            f"{flag(field)} range {text!r} has {count:,} values; a sweep takes at most "
            f"{MAX_SWEEP_VALUES} per cell",
            field=field,
        )
    if kind is int:
        return [start + i * step for i in range(count)]
    return [_tidy(start + i * step) for i in range(count)]


def _tidy(value: float) -> float:
    """4.6000000001 -> 4.6 after float steps."""
    return round(value, 9)


def parse_values(field: str, text: str) -> list[Any]:
    """The values of one option: ``a,b,c``, ``start:stop[:step]`` (stop included), or both mixed.

    Ranges apply to the numeric fields (seed, cfg scale, steps); for the others a colon is part of
    the value (``16:9``). A single value gives a one-item list.
    """
    kind = SWEEPABLE.get(field, str)
    values: list[Any] = []
    items = text.split(",")
    for item in items:
        item = item.strip()
        if kind is not str and ":" in item:
            values.extend(_range(field, kind, item))
        else:
            values.append(_convert(field, kind, item))
        if len(values) > MAX_SWEEP_VALUES:
            raise ValidationError(
                f"{flag(field)} has more than {MAX_SWEEP_VALUES} values; split the sweep",
                field=field,
            )
    return values


def merge_duplicates(field: str, values: list[Any]) -> tuple[list[Any], str | None]:
    """``values`` without repeats (first occurrence kept), and a one-line note if any were
    merged: ``--seed 707,707,707`` is one request, not three paid for the same image."""
    unique: list[Any] = []
    for value in values:
        if value not in unique:
            unique.append(value)
    if len(unique) == len(values):
        return values, None
    repeated = [v for v in unique if values.count(v) > 1]
    shown = ", ".join(f"{_label(v)} x{values.count(v)}" for v in repeated[:5])
    kept = f"{len(unique)} value{'s' if len(unique) != 1 else ''}"
    return unique, (
        f"{flag(field)}: repeated values merged ({shown}); {kept} left, each requested once"
    )


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def combinations(
    axes: list[tuple[str, list[Any]]], limit: int = MAX_SWEEP_VALUES
) -> Iterator[dict[str, Any]]:
    """Every combination of the axes, the first axis varying slowest (row-major grid order)."""
    total = math.prod(len(values) for _, values in axes)
    if total > limit:
        sizes = " x ".join(f"{len(v)} {flag(name)}" for name, v in axes)
        raise ValidationError(
            f"the sweep has {total:,} combinations ({sizes}); a cell runs at most "
            f"{limit}: split it into several cells",
            field=axes[0][0],
        )

    def walk(i: int, acc: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if i == len(axes):
            yield dict(acc)
            return
        name, values = axes[i]
        for value in values:
            acc[name] = value
            yield from walk(i + 1, acc)

    yield from walk(0, {})


def option_order(tokens: list[str], options: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The fields in the order their options first appear in ``tokens`` (the magic's line).

    ``options`` maps a field to its option strings (``("-s", "--seed")``); forms like
    ``--seed=3`` and ``-s3`` count. Fields never seen are left out.
    """
    seen: dict[str, int] = {}
    for position, token in enumerate(tokens):
        for name, strings in options.items():
            if name in seen:
                continue
            for opt in strings:
                if opt.startswith("--"):
                    hit = token == opt or token.startswith(opt + "=")
                else:
                    hit = token.startswith(opt) and not token.startswith("--")
                if hit:
                    seen[name] = position
                    break
    return sorted(seen, key=seen.__getitem__)


# ---- a cell's plan -----------------------------------------------------------------------------


@dataclass
class Plan:
    """What one ``%%venice`` cell asks for: fixed request fields and the swept axes, in order."""

    fields: dict[str, Any]
    axes: list[tuple[str, list[Any]]] = field(default_factory=list)
    route: str = "generate"
    notes: list[str] = field(default_factory=list)  # one line each, shown before running
    # Prompt axes (prompts.py): field -> (template, term); an axis value replaces the term.
    templates: dict[str, tuple[str, str]] = field(default_factory=dict)
    limit: int = MAX_SWEEP_VALUES  # combinations a cell may run (more in a batch)
    batch: str | None = None  # a batch directory asked for (--batch DIR), "" for the default
    title: str | None = None  # the prompt template of a search/replace grid
    source: str | None = None  # where listed prompts come from (--prompts NAME or path)

    def combos(self) -> list[dict[str, Any]]:
        """Each combination of the axes (one empty one without a sweep), in grid order."""
        return list(combinations(self.axes, self.limit)) if self.axes else [{}]

    def request_fields(self, combo: Mapping[str, Any]) -> dict[str, Any]:
        """The request fields of one combination, prompt axes filled into their templates (a
        listed prompt, ``prompts.PromptRow``, also brings the fields of its row; a swept value
        is never overridden by a row's: ``prompts.add_prompt_axes`` refuses such a clash)."""
        fields = {**self.fields, **combo}
        for name, (template, term) in self.templates.items():
            if name in combo:
                row = dict(getattr(combo[name], "fields", ()))
                fields.update({k: v for k, v in row.items() if k not in combo})
                fields[name] = template.replace(term, str(combo[name]))
        return fields


def make_plan(
    fields: Mapping[str, Any],
    sweep_texts: Mapping[str, str | None],
    tokens: list[str],
    sweep_options: Mapping[str, tuple[str, ...]],
    *,
    route: str = "generate",
    need_prompt: bool = True,
    limit: int = MAX_SWEEP_VALUES,
) -> Plan:
    """Fixed fields plus the sweepable options' texts -> a Plan, checked without any network.

    A sweepable option with one value is a plain field; with several it is an axis. Axes keep the
    order their options have on the line (``tokens``). Every combination passes
    ``GenerateRequest.check()`` here, so a typo fails before the catalogue is even fetched.
    """
    fixed = dict(fields)
    swept: dict[str, list[Any]] = {}
    notes: list[str] = []
    for name in SWEEPABLE:
        text = sweep_texts.get(name)
        if text is None:
            fixed[name] = None
            continue
        values, note = merge_duplicates(name, parse_values(name, text))
        if note:
            notes.append(note)
        if len(values) == 1:
            fixed[name] = values[0]
        else:
            swept[name] = values
    order = option_order(tokens, {n: sweep_options[n] for n in swept if n in sweep_options})
    order += [n for n in SWEEPABLE if n in swept and n not in order]
    plan = Plan(fixed, [(n, swept[n]) for n in order], route=route, notes=notes, limit=limit)
    for combo in plan.combos():
        fields = {**fixed, **combo}
        fields["model"] = fields.get("model") or "-"  # the default model is filled in later
        if not need_prompt:
            fields["prompt"] = fields.get("prompt") or "-"
        GenerateRequest(**fields).check()
    return plan


# ---- options given twice -------------------------------------------------------------------------


class _Recording(argparse.Namespace):
    """A namespace that keeps every value assigned to each name, in order (default first)."""

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "assigned", {})

    def __setattr__(self, name: str, value: Any) -> None:
        self.assigned.setdefault(name, []).append(value)
        super().__setattr__(name, value)


# Options that may be given several times by design: each use adds a value (or counts).
_REPEATABLE = (argparse._AppendAction, argparse._AppendConstAction, argparse._CountAction)


def unknown_option(name: str, known: Sequence[str], where: str = "") -> str:
    """The one line for an option no parser knows, the same for generation and toolbox cells:
    a did-you-mean when one is close, else where the options are listed."""
    from .catalogue import did_you_mean

    hint = did_you_mean(name, known)
    place = f" for {where}" if where else ""
    fix = hint or (f"options: {' '.join(known)}" if where else "see %%venice? for the options")
    return f"unknown option {name!r}{place}; {fix}"


def suggest_word(word: str, words: Sequence[str]) -> str:
    """ "did you mean 'x'?" for a near miss: a typo (``upscael``), another separator
    (``remove_background``) or the words in the API's order (``background-remove``)."""
    from .catalogue import did_you_mean

    parts = sorted(word.lower().replace("_", "-").split("-"))
    same = [w for w in words if sorted(w.split("-")) == parts and w != word]
    return f"did you mean {same[0]!r}?" if same else did_you_mean(word, words)


def unknown_word(word: str, subcommands: Sequence[str], operations: Sequence[str]) -> str:
    """The one line for a word that is neither a ``%venice`` subcommand nor a toolbox operation
    (``%venice upscael shot``, ``%%venice edti -i shot``): the nearest of *both* lists, and both
    lists, so a mistyped operation is never answered from the subcommands alone."""
    hint = suggest_word(word, [*operations, *subcommands])
    nearest = next((w for w in (*operations, *subcommands) if repr(w) in hint), None)
    what = "operation" if nearest in operations else "subcommand"
    return (
        f"unknown {what} {word!r}; "
        + (f"{hint} " if hint else "")
        + f"valid: {', '.join(subcommands)}; operations: {', '.join(operations)}"
    )


def is_number(token: str) -> bool:
    """Whether a token is a number (``-1``, ``-0.5``): a negative value, not an unknown option."""
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_once(
    parser: argparse.ArgumentParser, tokens: list[str], sweepable: Sequence[str] | None = None
) -> tuple[Any, list[str]]:
    """``parser.parse_known_args(tokens)``, refusing a single-valued option given two different
    values (``--seed 1 --seed 2``, ``-m a --model b``), which argparse would settle silently by
    keeping the last. Works for every option of the parser, abbreviations included, because it
    watches what argparse assigns rather than reading the tokens again. ``sweepable`` names the
    parser's options that take comma lists (default: the generation cell's ``SWEEPABLE``; a
    toolbox cell passes its own, so the hint never suggests a list that cell refuses)."""
    namespace = _Recording()
    args, extra = parser.parse_known_args(tokens, namespace)
    for action in parser._actions:
        if not action.option_strings or action.dest == argparse.SUPPRESS:
            continue
        if isinstance(action, _REPEATABLE):  # -i a -i b, --style-ref x --style-ref y: by design
            continue
        given = namespace.assigned.get(action.dest, [])[1:]  # the first is the default
        distinct = [v for i, v in enumerate(given) if v not in given[:i]]
        if len(distinct) > 1:
            name = max(action.option_strings, key=len)
            shown = " and ".join(repr(v) for v in distinct[:3])
            fix = f"give {name} once"
            field = {"style": "style_preset"}.get(action.dest, action.dest)
            if field in (SWEEPABLE if sweepable is None else sweepable):
                fix += f" (a comma list sweeps: {name} {','.join(str(v) for v in distinct)})"
            times = "twice" if len(given) == 2 else f"{len(given)} times"
            raise ValidationError(f"{name} is given {times} ({shown}); {fix}")
    del namespace.assigned
    return args, extra
