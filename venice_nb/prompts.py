"""The prompt as a sweep axis: search/replace (``--prompt-sr``) and prompts from a list or a file.

No I/O beyond reading the file a person named, no network. Search/replace follows the AUTOMATIC1111
convention: ``--prompt-sr "dusk,dawn,noon"`` searches the prompt for ``dusk`` and makes one column
per value, ``dusk`` included. A prompt list is a Python list, anything list-like (a pandas Series),
a DataFrame (its ``prompt`` column and any of the per-row columns below), or a text/CSV file; pandas
is duck-typed, never imported. Each row becomes a ``PromptRow``: its prompt and the request fields
it carries (seed, model, negative prompt, size...).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ValidationError
from .operations.generate import GenerateRequest
from .parse import flag, interpolate, option_order

MAX_BATCH = (
    10_000  # requests in one batch (a sweep without a batch stays at parse.MAX_SWEEP_VALUES)
)
PROMPT_SLOT = "{prompt}"

# Per-row columns of a CSV file or DataFrame -> (request field, type of a value).
ROW_COLUMNS: dict[str, tuple[str, type]] = {
    "prompt": ("prompt", str),
    "negative_prompt": ("negative_prompt", str),
    "negative": ("negative_prompt", str),
    "seed": ("seed", int),
    "model": ("model", str),
    "width": ("width", int),
    "height": ("height", int),
    "size": ("size", str),  # "1024x768" -> width, height
    "aspect_ratio": ("aspect_ratio", str),
    "cfg_scale": ("cfg_scale", float),
    "steps": ("steps", int),
    "style": ("style_preset", str),
    "style_preset": ("style_preset", str),
}


@dataclass(frozen=True)
class PromptRow:
    """One prompt of a list and the request fields its row carries; shown as the prompt."""

    prompt: str
    fields: tuple[tuple[str, Any], ...] = ()
    index: int = 0

    def __str__(self) -> str:
        return self.prompt

    def __repr__(self) -> str:
        extra = "".join(f" {k}={v!r}" for k, v in self.fields)
        return f"<PromptRow {self.index}: {self.prompt[:40]!r}{extra}>"


# ---- search / replace --------------------------------------------------------------------------


def split_values(text: str) -> list[str]:
    """``a, b, "c, d"`` -> ``['a', 'b', 'c, d']`` (CSV rules, so a value may hold a comma)."""
    try:
        row = next(csv.reader([text], skipinitialspace=True), [])
    except csv.Error as exc:
        raise ValidationError(f"cannot read the values {text!r}: {exc}") from None
    return [value.strip() for value in row]


def search_replace(option: str, text: str, template: str | None, what: str) -> list[str]:
    """The values of ``--prompt-sr``/``--negative-sr``, the first being the term searched.

    Refused in one line: an empty value, a single value (nothing to compare), a term that is not
    in the prompt. Repeated values are kept once (each would be the same image paid again).
    """
    values = split_values(text)
    if any(not v for v in values):
        raise ValidationError(f'{option} has an empty value; write e.g. {option} "dusk,dawn,noon"')
    if len(values) < 2:
        raise ValidationError(
            f"{option} {text!r} needs the term to search and at least one value to put in its "
            f'place, e.g. {option} "dusk,dawn,noon"'
        )
    term = values[0]
    if not template or term not in template:
        shown = f"{template[:60]!r}" if template else "empty"
        raise ValidationError(
            f"{option}: {term!r} is not in the {what} ({shown}); the first value is the text "
            "to replace, so it must appear there as written"
        )
    unique: list[str] = []
    for value in values:
        if value not in unique:
            unique.append(value)
    return unique


def substitute(template: str, term: str, value: Any) -> str:
    """``template`` with every ``term`` replaced by ``value``."""
    return template.replace(term, str(value))


# ---- prompt lists ------------------------------------------------------------------------------


def load_prompts(
    source: Any, namespace: Mapping[str, Any] | None = None, notes: list[str] | None = None
) -> list[PromptRow]:
    """Rows from a list, a Series, a DataFrame, or a text/CSV file (a name in ``namespace``
    first, else a path). Refused in one line: nothing to read, a missing file, an empty list,
    a value of the wrong type. Columns that are no request field are ignored, named in one
    line appended to ``notes``."""
    ignored: dict[str, str] = {}
    if (
        isinstance(source, str)
        and namespace is not None
        and not source.isidentifier()
        and not Path(source).expanduser().exists()
        and any(mark in source for mark in "[](). ")
        and not source.lower().endswith((".csv", ".txt"))
    ):
        raise ValidationError(
            f"--prompts {source}: give the name of a variable (e.g. ps = {source}, then "
            "--prompts ps) or a .txt/.csv path; an expression is not evaluated"
        )
    if isinstance(source, str) and namespace is not None and source.isidentifier():
        if source in namespace:
            source = namespace[source]
        elif not Path(source).exists():
            raise ValidationError(
                f"--prompts {source}: no variable and no file of that name; give a list "
                "variable or a .txt/.csv path"
            )
    if isinstance(source, (str, os.PathLike)):
        rows = _read_file(Path(source).expanduser(), ignored)
    elif hasattr(source, "columns") and hasattr(source, "to_dict"):  # a pandas DataFrame
        rows = _from_records(source.to_dict("records"), "the DataFrame", ignored)
    elif hasattr(source, "tolist"):  # a pandas Series, a numpy array
        rows = _from_items(source.tolist(), ignored)
    elif isinstance(source, (list, tuple)):
        rows = _from_items(list(source), ignored)
    else:
        raise ValidationError(
            f"prompts must be a list of strings, a pandas Series or DataFrame, or a .txt/.csv "
            f"path; got {type(source).__name__}"
        )
    if ignored and notes is not None:
        names = ", ".join(repr(c) for c in ignored)
        notes.append(
            f"column{'s' if len(ignored) > 1 else ''} {names} ignored: not a request field "
            f"(the columns read: {', '.join(sorted(ROW_COLUMNS))})"
        )
    if not rows:
        raise ValidationError("the prompt list is empty; give at least one prompt")
    if len(rows) > MAX_BATCH:
        raise ValidationError(
            f"the prompt list has {len(rows):,} prompts; a batch takes at most {MAX_BATCH:,}: "
            "split it"
        )
    return rows


def _from_items(items: list[Any], ignored: dict[str, str]) -> list[PromptRow]:
    if items and all(isinstance(item, Mapping) for item in items):
        return _from_records(items, "the list", ignored)
    rows: list[PromptRow] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ValidationError(
                f"prompt {i + 1} of the list is {type(item).__name__}, not text; give strings "
                "(or dicts with a 'prompt' key)"
            )
        if item.strip():
            rows.append(PromptRow(item.strip(), (), len(rows)))
    return rows


def _from_records(
    records: Sequence[Mapping[str, Any]], where: str, ignored: dict[str, str]
) -> list[PromptRow]:
    rows: list[PromptRow] = []
    for n, record in enumerate(records, start=1):
        row = _row(record, f"row {n} of {where}", len(rows), ignored)
        if row is not None:
            rows.append(row)
    return rows


def _row(
    record: Mapping[str, Any], where: str, index: int, ignored: dict[str, str]
) -> PromptRow | None:
    values: dict[str, Any] = {}
    for column, raw in record.items():
        name = str(column).strip().lower().replace("-", "_").replace(" ", "_")
        if name not in ROW_COLUMNS:
            ignored.setdefault(str(column), where)
            continue
        if raw is None or (isinstance(raw, float) and raw != raw) or str(raw).strip() == "":
            continue  # an empty cell (or pandas' NaN): the default
        field, kind = ROW_COLUMNS[name]
        values.update(_typed(field, kind, raw, where))
    prompt = str(values.pop("prompt", "")).strip()
    if not prompt:
        if values:
            raise ValidationError(f"{where} has no prompt; every row needs one")
        return None
    return PromptRow(prompt, tuple(sorted(values.items())), index)


def _typed(field: str, kind: type, raw: Any, where: str) -> dict[str, Any]:
    text = str(raw).strip()
    if field == "size":
        parts = text.lower().replace("*", "x").split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValidationError(f"{where}: size {text!r} must be WIDTHxHEIGHT, e.g. 1024x768")
        return {"width": int(parts[0]), "height": int(parts[1])}
    if kind is str:
        return {field: text}
    try:
        number = float(text)
        if kind is int:
            if not number.is_integer():
                raise ValueError
            return {field: int(number)}
        return {field: number}
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ValidationError(f"{where}: {field} takes {what}, got {text!r}") from None


TEXT_SUFFIXES = ("", ".txt", ".md", ".text", ".prompts")  # one prompt per line


def _read_file(path: Path, ignored: dict[str, str]) -> list[PromptRow]:
    suffix = path.suffix.lower()
    if suffix != ".csv" and suffix not in TEXT_SUFFIXES:
        raise ValidationError(
            f"--prompts {path.name}: a {suffix} file is not read as prompts; give a .txt file "
            "(one prompt per line) or a .csv file with a 'prompt' column (for JSON, load it "
            "into a list and give the variable)"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"--prompts: no file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"--prompts: cannot read {str(path)!r}: {exc}") from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
        header = [str(c).strip().lower() for c in reader.fieldnames or []]
        if "prompt" not in header:
            raise ValidationError(
                f"{path.name}: a CSV file needs a 'prompt' column (header row), got "
                f"{', '.join(header) or 'no header'}"
            )
        try:
            records = list(reader)
        except csv.Error as exc:
            raise ValidationError(f"{path.name}: {exc}") from None
        for n, record in enumerate(records, start=2):
            if None in record:
                raise ValidationError(f"{path.name} line {n}: more values than columns")
        return _from_records(records, path.name, ignored)
    lines = [line.strip() for line in text.splitlines()]
    return _from_items([line for line in lines if line and not line.startswith("#")], ignored)


# ---- a cell's prompt axes ------------------------------------------------------------------------


def _note_merged(plan: Any, option: str, text: str, kept: list[str]) -> None:
    """A note when a search/replace list repeats a value (each is requested once), as the
    numeric sweeps say it (``parse.merge_duplicates``)."""
    given = split_values(text)
    if len(given) == len(kept):
        return
    shown = ", ".join(f"{v} x{given.count(v)}" for v in kept if given.count(v) > 1)
    plan.notes.append(
        f"{option}: repeated values merged ({shown}); {len(kept)} values left, each requested once"
    )


def fill_row(row: PromptRow, namespace: Mapping[str, Any], source: Any) -> PromptRow:
    """``{name}`` in a listed prompt filled from ``namespace``; a mistake names the row."""
    try:
        return PromptRow(interpolate(row.prompt, namespace), row.fields, row.index)
    except ValidationError as exc:
        shown = f"{source!r}" if isinstance(source, str) else "the list"
        raise ValidationError(
            exc.message.replace("in the cell body", f"in prompt {row.index + 1} of {shown}")
        ) from None


PROMPT_OPTIONS = {"prompt": ("--prompt-sr", "--prompts"), "negative_prompt": ("--negative-sr",)}


def add_prompt_axes(
    plan: Any,
    tokens: list[str],
    options: Mapping[str, tuple[str, ...]],
    *,
    prompt_sr: str | None = None,
    negative_sr: str | None = None,
    prompts: Any = None,
    namespace: Mapping[str, Any] | None = None,
) -> Any:
    """Put ``--prompt-sr``, ``--negative-sr`` and ``--prompts`` into ``plan`` (a ``parse.Plan``)
    as axes, in the order of their options on the line, and check every combination."""
    if prompts is not None and prompt_sr is not None:
        raise ValidationError(
            "--prompts and --prompt-sr both vary the prompt; use one of them per cell"
        )
    new: dict[str, list[Any]] = {}
    if prompt_sr is not None:
        template = plan.fields.get("prompt") or ""
        values = search_replace("--prompt-sr", prompt_sr, template, "prompt")
        _note_merged(plan, "--prompt-sr", prompt_sr, values)
        new["prompt"] = values
        plan.templates["prompt"] = (template, values[0])
        plan.title = f"prompt: {template}"
    if negative_sr is not None:
        template = plan.fields.get("negative_prompt") or ""
        values = search_replace("--negative-sr", negative_sr, template, "negative prompt")
        _note_merged(plan, "--negative-sr", negative_sr, values)
        new["negative_prompt"] = values
        plan.templates["negative_prompt"] = (template, values[0])
        plan.title = (plan.title + " · " if plan.title else "") + f"negative: {template}"
    if prompts is not None:
        template = plan.fields.get("prompt") or PROMPT_SLOT
        if PROMPT_SLOT not in template:
            raise ValidationError(
                "with --prompts the cell body is a template: put {prompt} where each prompt "
                "goes (e.g. 'a watercolour of {prompt}'), or leave the body empty"
            )
        rows = load_prompts(prompts, namespace, plan.notes)
        if namespace is not None:
            rows = [fill_row(r, namespace, prompts) for r in rows]
        swept = sorted(({name for name, _ in plan.axes} | set(new)) - {"prompt"})
        carried = {name for row in rows for name, _ in row.fields}
        clash = [name for name in swept if name in carried]
        if clash:
            shown = prompts if isinstance(prompts, str) else "the list"
            option = "--negative-sr" if clash[0] == "negative_prompt" else flag(clash[0])
            raise ValidationError(
                f"{option} is swept, and the rows of {shown!r} carry their own {clash[0]}: "
                "drop one of the two (each row would be paid once per swept value)"
            )
        new["prompt"] = rows
        plan.templates["prompt"] = (template, PROMPT_SLOT)
        plan.source = str(prompts) if isinstance(prompts, (str, os.PathLike)) else "a list"
        plan.limit = MAX_BATCH
        if template != PROMPT_SLOT:
            plan.title = f"prompt: {template}"
    if not new:
        return plan
    axes = dict(plan.axes)
    axes.update(new)
    wanted = {**options, **PROMPT_OPTIONS}
    order = option_order(tokens, {name: wanted[name] for name in axes if name in wanted})
    order += [name for name in axes if name not in order]
    plan.axes = [(name, axes[name]) for name in order]
    for combo in plan.combos():
        fields = plan.request_fields(combo)
        fields["model"] = fields.get("model") or "-"  # the default model is filled in later
        GenerateRequest(**fields).check()
    return plan
