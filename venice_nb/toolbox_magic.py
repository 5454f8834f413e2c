"""The toolbox's notebook grammar: ``%%venice edit``, ``%venice upscale``, ``remove-background``,
``--style-ref`` on a generation and ``%venice models --type edit|upscale``.

An operation word first on the line picks the endpoint; images come from ``-i`` (or the first
word after ``upscale``/``remove-background``): a result variable (``shot``), one of its images
(``shot[2]``), a ``GeneratedImage`` variable, a file path or a URL. The edit instruction is the
cell body; several instructions separated by lines of ``---`` sweep, as do comma lists of
``-m``/``--resolution`` (edit) and ``--scale 2,4`` (upscale). Everything here is parsing and
planning: the requests are built, checked against the catalogue and priced before ``magics.py``
runs them, and any refusal is one ``UsageError`` line with nothing sent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from .errors import ValidationError, VeniceError
from .fuzzy import did_you_mean
from .images_in import fit_for, style_reference, style_reference_value, to_input
from .jobs import Job
from .parse import (
    MAX_SWEEP_VALUES,
    SEPARATOR,
    combinations,
    interpolate,
    is_number,
    merge_duplicates,
    parse_once,
    unknown_option,
)
from .run import GenerationCancelled, VeniceRunError
from .verbs import TOOLS, WORDS

TOOLBOX_SWEEPS = ("model", "resolution", "scale")  # options a comma list sweeps (see plan)
MODEL_TYPES = {"image": "image", "edit": "inpaint", "inpaint": "inpaint", "upscale": "upscale"}
_REFERENCE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(-?\d+)\])?$")


@dataclass
class ToolboxPlan:
    """A toolbox cell, ready to run: validated jobs, the swept axes and the product flags."""

    jobs: list[Any]
    axes: list[tuple[str, list[Any]]] = field(default_factory=list)
    output: str | None = None
    save: str | None = None
    no_cache: bool = False
    yes: bool = False
    compare: bool = False
    notes: list[str] = field(default_factory=list)


# ---- parsers ---------------------------------------------------------------------------------


@functools.cache
def _parser(operation: str) -> MagicArgumentParser:
    """The argparse parser of one operation, built once: a parse leaves it unchanged."""
    parser = MagicArgumentParser(prog=f"%venice {operation}", add_help=False)
    if operation == "edit":
        parser.add_argument(
            "-i",
            "--image",
            action="append",
            default=[],
            metavar="IMAGE",
            help="input image; repeat for a multi-edit (the base first)",
        )
        parser.add_argument(
            "-m", "--model", help="edit model (%%venice models --type edit); a comma list sweeps"
        )
        parser.add_argument("-a", "--aspect-ratio", help="auto (follow the input), 1:1, 16:9...")
        parser.add_argument(
            "-r", "--resolution", help="1K, 2K or 4K (tiered models); a list sweeps"
        )
        parser.add_argument("-q", "--quality", help="low, medium or high (goes via multi-edit)")
        parser.add_argument("-f", "--format", help="output format: png, jpeg or webp")
        parser.add_argument("--enhance-prompt", action="store_true")
        parser.add_argument("--no-safe-mode", action="store_true")
        parser.add_argument("--no-prompt-thinking", action="store_true")
    else:
        parser.add_argument("-i", "--image", action="append", default=[], metavar="IMAGE")
    if operation == "upscale":
        parser.add_argument("--scale", default="2", help="2 or 4; 2,4 sweeps")
        parser.add_argument("--creativity", type=float, help="0 to 0.02 (default 0.01)")
    parser.add_argument("--multipart", action="store_true", help="send the image(s) as files")
    parser.add_argument("--downscale", action="store_true",
                        help="shrink inputs that are too large for the endpoint instead of refusing")  # fmt: skip
    parser.add_argument("-o", "--output", metavar="NAME")
    parser.add_argument("--save", nargs="?", const="", metavar="DIR")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--yes", action="store_true")
    parser.add_argument("--compare", action="store_true", help="show the source beside the result")
    return parser


def parse_options(operation: str, tokens: Sequence[str]) -> tuple[Any, list[str]]:
    """argparse for one operation, with a did-you-mean for unknown options; (args, positionals)."""
    parser = _parser(operation)
    try:  # the generation cells' rule: a single-valued option given twice is refused
        args, extra = parse_once(parser, list(tokens), sweepable=TOOLBOX_SWEEPS)
    except ValidationError as exc:
        raise UsageError(exc.one_line()) from None
    unknown = [t for t in extra if t.startswith("-") and not is_number(t)]
    if unknown:
        known = [s for a in parser._actions for s in a.option_strings]  # argparse's own list
        raise UsageError(unknown_option(unknown[0].split("=", 1)[0], known, operation))
    return args, [t for t in extra if t not in unknown]


# ---- images from the notebook ----------------------------------------------------------------


def resolve_image(text: str, namespace: Mapping[str, Any]) -> tuple[Any, str]:
    """(value, label) for an ``-i`` value: ``shot``, ``shot[2]``, a path or a URL."""
    match = _REFERENCE.match(text.strip())
    if match is None:
        return text, text  # a path or a URL: images_in reads and checks it
    name, index = match.group(1), match.group(2)
    if name not in namespace:
        if index is not None:
            raise UsageError(f"no variable {name!r} in this notebook (from {text!r})")
        return text, text  # maybe a file without an extension
    value = namespace[name]
    if index is None:
        return value, text
    images = getattr(value, "images", value)
    if not isinstance(images, (list, tuple)):
        raise UsageError(f"{name!r} is a {type(value).__name__}; it has no images to index")
    i = int(index)
    if not -len(images) <= i < len(images):
        raise UsageError(
            f"{text!r} is out of range: {name} has {len(images)} image"
            f"{'s' if len(images) != 1 else ''} ({name}[0] ... {name}[{len(images) - 1}])"
        )
    return images[i], text


def input_images(texts: Sequence[str], namespace: Mapping[str, Any]) -> list[Any]:
    out = []
    for text in texts:
        value, label = resolve_image(text, namespace)
        try:
            out.append(to_input(value, label))
        except ValidationError as exc:
            raise UsageError(exc.one_line()) from None
    return out


def style_references(
    refs: Sequence[str] | None, strengths: Sequence[float] | None, namespace: Mapping[str, Any]
) -> tuple[dict[str, Any], ...] | None:
    """``--style-ref`` values (repeatable) and their ``--style-ref-strength`` (one for all, or
    one each) as the ``style_references`` field of a generation; checked (8 MB, no SVG)."""
    if not refs:
        if strengths:
            raise UsageError("--style-ref-strength needs a --style-ref image")
        return None
    strengths = list(strengths or [])
    if len(strengths) not in (0, 1, len(refs)):
        raise UsageError(
            f"{len(refs)} --style-ref and {len(strengths)} --style-ref-strength: give one "
            "strength for all, or one per reference, in the same order"
        )
    out = []
    for i, text in enumerate(refs):
        value, label = resolve_image(text, namespace)
        try:
            image = style_reference(value, label)
        except ValidationError as exc:
            raise UsageError(exc.one_line()) from None
        # "name": how the cell named it, for the reproduce line (never sent: see to_json)
        entry: dict[str, Any] = {"image": style_reference_value(image), "name": text}
        if strengths:
            entry["strength"] = strengths[i] if len(strengths) > 1 else strengths[0]
        out.append(entry)
    return tuple(out)


# ---- plans -----------------------------------------------------------------------------------


def _values(text: str | None) -> list[str | None]:
    if text is None:
        return [None]
    values: list[str | None] = [v.strip() for v in text.split(",") if v.strip()]
    return values or [None]


def instructions(body: str, namespace: Mapping[str, Any]) -> list[str]:
    """The edit instructions of a cell body: blocks separated by lines of exactly ``---``."""
    blocks: list[list[str]] = [[]]
    for line in body.splitlines():
        if line.strip() == SEPARATOR:
            blocks.append([])
        else:
            blocks[-1].append(line)
    texts = ["\n".join(b).strip() for b in blocks]
    texts = [t for t in texts if t]
    try:
        return [interpolate(t, namespace) for t in texts]
    except ValidationError as exc:
        raise UsageError(exc.one_line()) from None


def plan(
    operation: str,
    tokens: Sequence[str],
    body: str,
    namespace: Mapping[str, Any],
    session: Any,
) -> ToolboxPlan:
    """Parse, build, check and validate one toolbox cell; every refusal is one UsageError."""
    operation = WORDS[operation].name
    args, positional = parse_options(operation, tokens)
    images = list(args.image)
    if operation == "edit":
        prompts = instructions(body, namespace) or [" ".join(positional).strip()]
        if images == [] and positional and not body.strip():
            raise UsageError("name the image with -i: %venice edit -i shot make it night")
        if not prompts[0]:
            raise UsageError(
                "the edit instruction is empty; write it in the cell body under %%venice edit"
            )
    else:
        images += positional
        prompts = [""]
        if body.strip():
            raise UsageError(f"{operation} takes no cell body; put everything on the line")
    if not images:
        example = {"edit": "%%venice edit -i shot", "upscale": "%venice upscale shot --scale 4"}
        raise UsageError(
            f"{operation} needs an input image: "
            + example.get(operation, f"%venice {operation} shot")
            + " (a result, shot[i], a file path or a URL)"
        )
    if operation != "edit" and len(images) > 1:
        raise UsageError(f"{operation} takes one image, got {len(images)}: {' '.join(images)}")
    inputs = input_images(images, namespace)
    if args.downscale:
        inputs = fit_for(operation, inputs)
    transport = "multipart" if args.multipart else "auto"
    axes_src: dict[str, list[Any]] = {}
    fixed: dict[str, Any] = {}
    if operation == "edit":
        axes_src = {"model": _values(args.model), "resolution": _values(args.resolution),
                    "prompt": prompts}  # fmt: skip
        fixed = {
            "aspect_ratio": args.aspect_ratio,
            "quality": args.quality,
            "output_format": args.format,
            "enhance_prompt": True if args.enhance_prompt else None,
            "safe_mode": False if args.no_safe_mode else None,
            "disable_prompt_optimization_thinking": True if args.no_prompt_thinking else None,
            "transport": transport,
        }
    elif operation == "upscale":
        scales = []
        for v in _values(args.scale):
            try:
                scales.append(int(v))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise UsageError(f"--scale must be 2 or 4 (or 2,4 to compare), got {v!r}") from None
        axes_src = {"scale": scales}
        fixed = {"creativity": args.creativity, "transport": transport}
    else:
        fixed = {"transport": transport}
    notes: list[str] = []
    for name, vals in axes_src.items():  # generation's rule: a repeated value is paid once
        axes_src[name], note = merge_duplicates(name, vals)
        if note:
            notes.append(note.replace("--prompt:", "the instructions:", 1))
    axes = [(name, vals) for name, vals in axes_src.items() if len(vals) > 1]
    if sum(len(v) for _, v in axes) > MAX_SWEEP_VALUES:
        raise UsageError(f"the sweep has too many values; a cell runs at most {MAX_SWEEP_VALUES}")
    singles = {name: vals[0] for name, vals in axes_src.items() if len(vals) == 1}
    jobs = []
    try:
        for combo in combinations(axes) if axes else iter([{}]):
            values = {**fixed, **singles, **combo}
            request = _build(operation, inputs, values).check()  # the catalogue: in preflight
            for note in request.notes():
                if note not in notes:
                    notes.append(note)
            jobs.append(_job(request, combo))
    except ValidationError as exc:
        raise UsageError(exc.one_line()) from None
    except VeniceError as exc:
        raise VeniceRunError(exc.one_line()) from None
    except KeyboardInterrupt:
        raise GenerationCancelled("cancelled while reading the model list") from None
    return ToolboxPlan(
        jobs, axes, output=args.output, save=args.save, no_cache=args.no_cache, yes=args.yes,
        compare=args.compare, notes=notes,
    )  # fmt: skip


def _build(operation: str, inputs: list[Any], values: dict[str, Any]) -> Any:
    return TOOLS[operation].build(inputs, **values)


def _job(request: Any, params: dict[str, Any]) -> Any:
    return Job(request, params)


# ---- %venice models --type -------------------------------------------------------------------


def models_type(rest: str) -> str:
    """The model type of ``%venice models --type edit|upscale|image`` (API spelling)."""
    tokens = rest.split()
    if len(tokens) == 1 and tokens[0].startswith("--type="):
        tokens = ["--type", tokens[0].split("=", 1)[1]]
    if len(tokens) != 2 or tokens[0] not in ("--type", "-t"):
        raise UsageError(f"%venice models takes --type edit|upscale|image, got {rest.strip()!r}")
    wanted = tokens[1].lower()
    if wanted not in MODEL_TYPES:
        hint = did_you_mean(wanted, MODEL_TYPES)
        raise UsageError(
            f"unknown model type {wanted!r}; " + (hint or "use edit, upscale or image")
        )
    return MODEL_TYPES[wanted]


def models_text(catalogue: Any, kind: str) -> str:
    lines = []
    for spec in catalogue.values():
        if kind == "inpaint":
            extra = (
                f"up to {spec.input_image_limit} image{'s' if spec.input_image_limit != 1 else ''}"
            )
            lines.append(
                f"{spec.id}: {spec.name}; {', '.join(spec.aspect_ratios) or 'any ratio'}"
                f"{' @ ' + '/'.join(spec.resolutions) if spec.resolutions else ''}; {extra}; "
                f"prompt <= {spec.prompt_limit:,}; {spec.pricing.describe()}"
            )
        elif spec.pricing.by_scale:  # the upscaler: a price per scale factor
            prices = ", ".join(f"{k} ${v:.2f}" for k, v in spec.pricing.by_scale.items())
            lines.append(f"{spec.id}: {spec.name}; {prices}")
        else:
            lines.append(f"{spec.id}: {spec.name}; {spec.pricing.describe()}")
    return "\n".join(lines) or f"the server lists no {kind} models"
