"""``%%venice`` and ``%venice``: the notebook surface of venice_nb.

Options are parsed by ``IPython.core.magic_arguments`` (``%%venice?`` shows them); configuration is
traitlets on ``VeniceMagics`` (``%config VeniceMagics.concurrency = 8``), pushed into the shared
``VeniceSession``. Every bad input becomes one ``UsageError`` line before any generation request;
failures from the server become one line too (``VeniceRunError``, which IPython prints without a
traceback). Generation runs on worker threads while this thread ticks one status line, so
Ctrl-C / the stop button cancels at once. The cell returns the result (IPython shows its HTML grid
as the cell's output) and ``-o NAME`` also binds it.

``%load_ext`` costs next to nothing: this module imports only the settings (for the traits) and the
errors; the option parser is built on first use and the machinery (parse, session, run, catalogue,
requests, PIL) is imported by the magic that needs it (``tests/test_load.py`` holds this).
"""

from __future__ import annotations

import contextlib
import functools
import keyword
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, argument_group
from traitlets import TraitError, default, observe, validate

from .errors import ConfigurationError, ValidationError, VeniceError
from .magic_args import (
    SWEEP_DEST,
    SWEEP_OPTIONS,
    SWITCH_FIELDS,
    VALUE_FIELDS,
    Tokens,
    lazy_magic_arguments,
    split_line,
    whole,
)
from .settings import Settings, setting_trait
from .urls import BASE_URL_ENV

if TYPE_CHECKING:  # pragma: no cover
    from .parse import Plan
    from .result import GenerationResult, SweepResult
    from .run import GenerationCancelled, VeniceRunError
    from .session import VeniceSession
    from .sweep import Job

__all__ = [
    "GenerationCancelled",
    "VeniceMagics",
    "VeniceRunError",
    "load_ipython_extension",
    "unload_ipython_extension",
]


T = TypeVar("T")


def __getattr__(name: str) -> Any:
    """``VeniceRunError`` and ``GenerationCancelled`` live in ``run``, imported on first use."""
    if name in ("VeniceRunError", "GenerationCancelled"):
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def show(html: str, text: str) -> None:
    """One HTML output with its plain-text twin (``run.show``, imported on first use)."""
    from .run import show as show_output

    show_output(html, text)


def did_you_mean(name: str, choices: Any) -> str:
    from .fuzzy import did_you_mean as suggest

    return suggest(name, choices)


SUBCOMMANDS = (
    "styles",
    "models",
    "balance",
    "config",
    "login",
    "logout",
    "classroom",
    "panel",
    "help",
)
# Operation words that start a toolbox line (grammar and planning live in toolbox_magic.py).
TOOLBOX_OPERATIONS = ("edit", "multi-edit", "upscale", "remove-background", "remove-bg")


@magics_class
class VeniceMagics(Magics):
    """``%%venice`` / ``%venice``. Traits mirror ``session.Settings`` one to one."""

    backend = setting_trait("backend")
    base_url = setting_trait("base_url")
    default_model = setting_trait("default_model")
    default_format = setting_trait("default_format")
    connect_timeout = setting_trait("connect_timeout")
    read_timeout = setting_trait("read_timeout")
    max_retries = setting_trait("max_retries")
    concurrency = setting_trait("concurrency")
    save_dir = setting_trait("save_dir")
    cache_dir = setting_trait("cache_dir")
    cache_enabled = setting_trait("cache_enabled")
    cache_max_mb = setting_trait("cache_max_mb")
    preview_size = setting_trait("preview_size")
    thumb_size = setting_trait("thumb_size")
    cost_limit_usd = setting_trait("cost_limit_usd")
    batch_threshold = setting_trait("batch_threshold")

    def __init__(self, shell: Any = None, session: VeniceSession | None = None, **kw: Any) -> None:
        # The kernel's session (client, cache...) is made when first needed, not at %load_ext
        # (unless the configuration already changes a setting, which must reach it now).
        self._session = session
        self._initialising = True
        refused: dict[str, str] = {}
        if shell is not None and "config" not in kw and getattr(shell, "config", None) is not None:
            kw["config"], refused = _valid_config(shell.config)
        super().__init__(shell, **kw)
        self._initialising = False
        for name, reason in refused.items():  # ipython_config.py, or a %config before a reload
            self.session.refuse(name, reason)
        defaults = Settings()
        changes = {
            name: value
            for name in Settings.names()
            if (value := self._setting(name)) != getattr(defaults, name)
        }
        if changes:
            self.session.configure(**changes)

    @property
    def session(self) -> VeniceSession:
        """The session cells use: the kernel's (``get_session()``) unless one was given."""
        if self._session is None:
            from .session import get_session

            self._session = get_session()
        return self._session

    def _load_config(self, cfg: Any, section_names: Any = None, traits: Any = None) -> None:
        """``%config VeniceMagics.x = v`` lands here; a valid ``v`` equal to the value in use
        changes nothing, so traitlets skips ``_check_setting``: clear a refusal of ``x`` here."""
        super()._load_config(cfg, section_names=section_names, traits=traits)
        if not self._initialising:
            section = cfg.get(type(self).__name__) if hasattr(cfg, "get") else None
            for name in section or {}:
                if name in Settings.names():
                    self.session.accept(name)

    def __setattr__(self, name: str, value: Any) -> None:
        """A value of the wrong type is refused by traitlets before ``_check_setting`` sees it;
        the session remembers it too (see ``_check_setting``)."""
        try:
            super().__setattr__(name, value)
        except TraitError as exc:
            if name in Settings.names():
                self.session.refuse(name, str(exc))
            raise

    @property
    def user_ns(self) -> dict[str, Any]:
        """The notebook's namespace (``{name}`` fills and ``-o`` bindings)."""
        if self.shell is None:
            raise RuntimeError("VeniceMagics is not registered on an IPython shell")
        return self.shell.user_ns

    def __repr__(self) -> str:
        return f"<VeniceMagics backend={self.session.backend} key={self.session.masked_key}>"

    # ---- configuration: traits generated from settings.Settings, checked by its rules ---------

    @default("base_url")
    def _default_base_url(self) -> str:
        return os.environ.get(BASE_URL_ENV, "")

    def _setting(self, name: str) -> Any:
        return Settings.check(name, getattr(self, name))

    @validate(*Settings.names())
    def _check_setting(self, proposal: Any) -> Any:
        """``Settings.check``, and the session told: a refusal is remembered (IPython's
        ``%config`` only logs it and the cell succeeds, so Run All would go on with the old value)
        until the setting gets a valid value, even the one it has."""
        name = proposal["trait"].name
        try:
            value = Settings.check(name, proposal["value"])
        except ConfigurationError as exc:
            self.session.refuse(name, exc.one_line())
            raise TraitError(exc.one_line()) from None
        if not self._initialising:
            self.session.accept(name)
        if name == "base_url" and value:
            from .urls import RedactedURL

            return RedactedURL(value)  # %config shows values with %r: no credentials
        return "" if value is None else value

    @observe(*Settings.names())
    def _push(self, change: Any) -> None:
        if self._initialising:  # __init__ pushes the configured values once, at its end
            return
        self.session.configure(**{change["name"]: self._setting(change["name"])})

    # ---- %%venice --------------------------------------------------------------------------------

    @lazy_magic_arguments(name="%venice")
    @argument_group("Request (one option per field of POST /image/generate)")
    @argument("-m", "--model", help="model id (see %%venice models); a comma list sweeps")
    @argument("--negative", metavar="TEXT", help="negative prompt (or below a --- line)")
    @argument("-W", "--width", type=whole, help="width in pixels (pixel-sized models)")
    @argument("-H", "--height", type=whole, help="height in pixels (pixel-sized models)")
    @argument("-a", "--aspect-ratio", help="e.g. 16:9 (aspect-ratio models); a list sweeps")
    @argument("-r", "--resolution", help="1K, 2K or 4K (tiered models)")
    @argument("-q", "--quality", help="low, medium or high (models that take it)")
    @argument("-f", "--format", help="webp (API default), png or jpeg")
    @argument("-n", "--variants", type=whole, help="images per request, 1-4")
    @argument("-s", "--seed", help="seed, +-999999999; a list or range sweeps (1:8)")
    @argument("-c", "--cfg-scale", help="prompt adherence, above 0 up to 20; sweeps (4:10:2)")
    @argument("--steps", help="inference steps (models that use them); sweeps")
    @argument("--style", metavar="NAME", help='style preset (see %%venice styles); "A,B" sweeps')
    @argument("--no-safe-mode", action="store_true", help="do not blur adult content")
    @argument("--binary", action="store_true", help="ask for raw image bytes (one image)")
    @argument("--web-search", action="store_true", help="let the model search the web")
    @argument("--hide-watermark", action="store_true", help="ask for no watermark")
    @argument("--embed-exif", action="store_true", help="embed the prompt in EXIF")
    @argument("--lora-strength", type=whole, metavar="0-100", help="LoRA strength")
    @argument("--enhance-prompt", action="store_true", help="let the server rewrite the prompt")
    @argument("--style-ref", action="append", metavar="IMAGE",
              help="style reference image (shot, shot[1], file, URL); repeatable")  # fmt: skip
    @argument("--style-ref-strength", action="append", type=float, metavar="0.1-1",
              help="strength of the style references (one for all, or one each)")  # fmt: skip
    @argument("--prompt-sr", metavar="TERM,V1,V2",
              help='vary the prompt: the first value is searched in it, every value is a column')  # fmt: skip
    @argument("--negative-sr", metavar="TERM,V1,V2", help="the same for the negative prompt")
    @argument("--prompts", metavar="NAME_OR_PATH",
              help="one request per prompt of a list variable or a .txt/.csv file; the body "
              "may be empty or a template with {prompt}")  # fmt: skip
    @argument_group("Product")
    @argument("--batch", nargs="?", const="", metavar="DIR",
              help="run as a resumable batch saved into DIR (automatic above "
              "VeniceMagics.batch_threshold images)")  # fmt: skip
    @argument("-o", "--output", metavar="NAME", help="bind the result to this variable")
    @argument(
        "--save",
        nargs="?",
        const="",
        metavar="DIR",
        help="save the images and a JSON sidecar into DIR (default: VeniceMagics.save_dir)",
    )
    @argument("--openai", action="store_true", help="use the OpenAI-compatible route")
    @argument("--no-cache", action="store_true", help="do not reuse a cached result")
    @argument(
        "--thumb", type=whole, metavar="PX",
        help="thumbnail size of this output (0: full preview; default VeniceMagics.thumb_size)",
    )  # fmt: skip
    @argument("--panel", action="store_true", help="open the interactive panel instead")
    @argument("--yes", action="store_true", help="confirm a cell above the cost limit")
    @cell_magic("venice")  # type: ignore[arg-type]  # IPython types it as an uncallable union
    def venice_cell(self, line: str, cell: str) -> Any:
        """Generate images with Venice.ai from the prompt in the cell body.

        The body is the prompt; a line that is exactly --- starts the negative prompt.
        {name} and {name.attr} are filled from the notebook's variables, {{ and }} are literal
        braces, and anything else in braces (code, JSON) stays as typed.

        Sweeps: --model, --aspect-ratio, --seed, --cfg-scale, --steps and --style take comma
        lists (--seed 1,2,3); the numeric ones also take ranges start:stop[:step] that include
        stop (--seed 1:4 is 1,2,3,4; --cfg-scale 4:10:3 is 4,7,10; negative starts need
        --seed=-5:5). Every combination runs, concurrently, and shows as one grid whose rows and
        columns are the first two swept options. A cell whose estimated cost is above
        VeniceMagics.cost_limit_usd runs only with --yes.

        The API key comes from VENICE_API_KEY or %venice login, never from an option.
        """
        operation = line.split(None, 1)[0].lower() if line.strip() else ""
        if operation in TOOLBOX_OPERATIONS:  # %%venice edit / upscale / remove-background
            return self._toolbox(operation, line.split(None, 1)[1:], cell or "")
        from .parse import suggest_word, unknown_word

        if not operation.startswith("-") and suggest_word(operation, TOOLBOX_OPERATIONS):
            # %%venice upscael -i shot: a mistyped operation, named from the toolbox's words
            raise UsageError(unknown_word(operation, SUBCOMMANDS, TOOLBOX_OPERATIONS))
        args, tokens = self._parse(self.venice_cell, line)
        if tokens.positional:
            raise UsageError(
                f"unexpected {' '.join(tokens.positional)!r} on the %%venice line; the prompt "
                "goes in the cell body, options start with - or --"
            )
        from .parse import interpolate, split_body

        prompt, negative = split_body(cell or "")
        names: Any = self.user_ns
        if args.prompts:  # the body is a template: {prompt} is each listed prompt
            from collections import ChainMap

            names = ChainMap({"prompt": "{prompt}"}, self.user_ns)
        try:
            prompt = interpolate(prompt, names) or ("{prompt}" if args.prompts else "")
            negative = interpolate(negative, self.user_ns) if negative else None
        except ValidationError as exc:
            raise UsageError(exc.one_line()) from None
        if negative and args.negative:
            raise UsageError("two negative prompts: --negative and a --- line; keep one of them")
        plan = self._plan(
            args, tokens.all, prompt, negative or args.negative, need_prompt=not args.panel
        )
        if args.panel:
            if args.openai or args.save is not None:
                raise UsageError("--panel opens the panel; drop --openai/--save, it has its own")
            return self._open_panel(plan, args.output)
        self._check_output_name(args.output)
        thumb = None
        if args.thumb is not None:
            try:
                thumb = Settings.check("thumb_size", args.thumb)
            except ConfigurationError as exc:
                raise UsageError(
                    f"--thumb {args.thumb} is not a thumbnail size: 0, or 64 to 4096 pixels"
                ) from exc
        batch = plan.batch is not None or self._images(plan) > self.session.settings.batch_threshold
        return self._carry_out(
            plan, None, plan.notes, plan.axes, route=plan.route, save=args.save,
            no_cache=args.no_cache, confirmed=args.yes, output=args.output, thumb=thumb,
            batch=batch,
        )  # fmt: skip

    def _carry_out(
        self,
        plan: Plan | None,
        jobs: list[Job] | None,
        notes: list[str],
        axes: list[tuple[str, list[Any]]],
        *,
        route: str,
        save: str | None,
        no_cache: bool,
        confirmed: bool,
        output: str | None,
        thumb: int | None = None,
        batch: bool = False,
    ) -> Any:
        """The one sequence of a cell, generation, batch or toolbox: preflight (nothing paid for
        until everything passed), the notes, run with the live line, bind ``-o``, then save (a
        failed save must not lose a paid result). A batch (batches.py) has its own checks (the
        directory, the manifest, the disk) and saves each image as it lands."""
        from .display.html import notice_html
        from .run import execute

        use_cache = not no_cache
        save_dir = None if save is None else save or self.session.settings.save_dir
        go: Callable[[], Any]
        if batch and plan is not None:  # own checks (directory, manifest, disk); saves as it lands
            from .batches import BatchRun

            if plan.batch and save and Path(plan.batch) != Path(save):
                raise UsageError(
                    f"--batch {plan.batch} saves into {plan.batch}; drop --save {save} (or give "
                    "the folder once, as --batch DIR)"
                )
            directory = plan.batch or save or None
            swept = {name for name, _ in plan.axes}
            name_by = {
                "route": route, "axes": sorted(swept), "source": plan.source,
                "templates": plan.templates,
                "fields": {k: v for k, v in plan.fields.items() if k not in swept and v is not None},
            }  # fmt: skip
            run = self._refusing(
                lambda: BatchRun(
                    self.session, self._jobs(plan), directory, route=route, use_cache=use_cache,
                    title=plan.title, name_by=name_by,
                )
            )  # fmt: skip
            checked = self._refusing(lambda: run.prepare(confirmed=confirmed))
            if plan.batch is None:  # switched to a batch by its size: say so, and where
                threshold = self.session.settings.batch_threshold
                notes = [
                    *notes,
                    f"{self._images(plan)} images is more than VeniceMagics.batch_threshold "
                    f"({threshold}): running as a resumable batch, each image saved into "
                    f"{run.directory} as it lands",
                ]
            go, save_dir = run.run, None
        else:
            from .preflight import preflight

            checked = self._refusing(
                lambda: preflight(
                    self.session, jobs if jobs is not None else (lambda: self._jobs(plan)),  # type: ignore[arg-type]
                    route=route, use_cache=use_cache, save_dir=save_dir, confirmed=confirmed,
                )
            )  # fmt: skip
            go = functools.partial(execute, self.session, checked.jobs, axes, route, use_cache)
        notice = self.session.take_notice()
        for note in ([notice] if notice else []) + notes + checked.notes:
            show(notice_html(note), note)
        result: Any
        with self._binding_partial(output):
            result = go()
        if plan is not None and plan.title and hasattr(result, "title"):
            result.title = plan.title  # the search/replace template, as the grid's title
        if thumb is not None and hasattr(result, "thumb_size"):
            result.thumb_size = thumb  # this output's gallery size; the setting stays as it is
        if output:
            self.user_ns[output] = result
        if save_dir:
            self._save(result, save_dir)
        return result

    @contextlib.contextmanager
    def _binding_partial(self, output: str | None) -> Iterator[None]:
        """A cell that stops with something in hand binds it to ``-o`` before the exception goes
        on: Ctrl-C's ``GenerationCancelled``/``BatchCancelled`` carry what landed (paid for, so
        nothing is paid again to get it back), and the ``VeniceRunError`` of a sweep whose every
        cell failed carries its grid, so ``retry_failed()`` is at hand."""
        try:
            yield
        except (KeyboardInterrupt, UsageError) as stop:
            partial = getattr(stop, "partial", None)
            if output and partial is not None:
                self.user_ns[output] = partial
            raise

    # ---- batches: long runs to disk, resumable (batches.py) ---------------------------------------

    @staticmethod
    def _images(plan: Plan) -> int:
        return len(plan.combos()) * (plan.fields.get("variants") or 1)

    # ---- the toolbox: edit, upscale, remove-background (grammar in toolbox_magic.py) ------------

    def _toolbox(self, operation: str, rest: list[str], body: str) -> Any:
        from . import toolbox_magic

        tokens = split_line(rest[0] if rest else "")
        plan = toolbox_magic.plan(operation, tokens, body, self.user_ns, self.session)
        self._check_output_name(plan.output)
        result = self._carry_out(
            None, plan.jobs, plan.notes, plan.axes, route="generate", save=plan.save,
            no_cache=plan.no_cache, confirmed=plan.yes, output=plan.output,
        )  # fmt: skip
        if plan.compare and getattr(result, "lineage", None) is not None:
            from IPython.display import display

            display(result.compare())
        return result

    # ---- building the requests -------------------------------------------------------------------

    def _parse(self, func: Any, line: str) -> tuple[Any, Tokens]:
        """argparse through magic_arguments, with a did-you-mean for unknown options."""
        from .parse import is_number, parse_once, unknown_option

        tokens = split_line(line)
        parser = func.parser
        try:
            args, extra = parse_once(parser, tokens)
        except ValidationError as exc:
            raise UsageError(exc.one_line()) from None
        unknown = [t for t in extra if t.startswith("-") and not is_number(t)]
        if unknown:
            known = [s for a in parser._actions for s in a.option_strings]
            raise UsageError(unknown_option(unknown[0].split("=", 1)[0], known))
        return args, Tokens(tokens, [t for t in extra if t not in unknown])

    def _plan(
        self,
        args: Any,
        tokens: list[str],
        prompt: str,
        negative: str | None,
        need_prompt: bool = True,
    ) -> Plan:
        """Request fields and sweep axes from the options, checked without any network."""
        from .parse import MAX_SWEEP_VALUES, SWEEPABLE, make_plan

        fields: dict[str, Any] = {"prompt": prompt, "negative_prompt": negative or None}
        for dest, name in VALUE_FIELDS.items():
            fields[name] = getattr(args, dest)
        for dest, name in SWITCH_FIELDS.items():
            fields[name] = True if getattr(args, dest) else None
        fields["safe_mode"] = False if args.no_safe_mode else None
        from .toolbox_magic import style_references

        fields["style_references"] = style_references(
            args.style_ref, args.style_ref_strength, self.shell.user_ns if self.shell else {}
        )
        texts = {name: getattr(args, SWEEP_DEST.get(name, name)) for name in SWEEPABLE}
        from .prompts import MAX_BATCH, add_prompt_axes

        try:
            plan = make_plan(
                fields,
                texts,
                tokens,
                SWEEP_OPTIONS,
                route="openai" if args.openai else "generate",
                need_prompt=need_prompt,
                limit=MAX_BATCH if args.batch is not None else MAX_SWEEP_VALUES,
            )
            plan.batch = args.batch
            return add_prompt_axes(
                plan, tokens, SWEEP_OPTIONS, prompt_sr=args.prompt_sr,
                negative_sr=args.negative_sr, prompts=args.prompts, namespace=self.user_ns,
            )  # fmt: skip
        except ValidationError as exc:
            raise UsageError(exc.one_line()) from None

    def _refusing(self, step: Callable[[], T]) -> T:
        """``step`` (a check before paying) with its refusals as one line each."""
        from .run import GenerationCancelled, VeniceRunError

        try:
            return step()
        except (ValidationError, ConfigurationError) as exc:
            raise UsageError(exc.one_line()) from None
        except VeniceError as exc:
            raise VeniceRunError(exc.one_line()) from None
        except KeyboardInterrupt:
            raise GenerationCancelled("cancelled while reading the model list") from None

    def _jobs(self, plan: Plan) -> list[Job]:
        """One request per combination, defaults filled in (checked by ``preflight``)."""
        from .sweep import Job

        return [
            Job(self.session.build_request(**plan.request_fields(combo)), combo)
            for combo in plan.combos()
        ]

    def _check_output_name(self, name: str | None) -> None:
        if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
            raise UsageError(f"-o {name!r} is not a valid variable name; e.g. -o shots")

    def _save(self, result: GenerationResult | SweepResult, directory: str) -> None:
        """Save after binding ``-o``: a failed save must not lose a paid result."""
        from .display.html import error_html, notice_html
        from .result import SweepResult
        from .text import plural

        results = result.results if isinstance(result, SweepResult) else [result]
        kept = [r for r in results if not r.content_violation]
        try:
            paths = [p for r in kept for p in r.save(directory)]
        except (OSError, VeniceError) as exc:
            message = f"could not save to {directory}: {exc}; the result is still returned"
            show(error_html(message), message)
            return
        where = Path(directory).expanduser().resolve()
        text = f"saved {plural(len(paths), 'image')} (+ .json sidecars) to {where}"
        if len(kept) < len(results):
            text += f"; {plural(len(results) - len(kept), 'blocked result')} not saved"
        show(notice_html(text), text)

    # ---- the panel -------------------------------------------------------------------------------

    def _open_panel(self, plan: Plan, output: str | None) -> None:
        if plan.axes:
            names = ", ".join(n for n, _ in plan.axes)
            raise UsageError(f"the panel takes one value per option; {names} has a list")
        self._check_output_name(output)
        try:
            self.session.check_refusals()
        except ConfigurationError as exc:
            raise UsageError(exc.one_line()) from None
        initial = {k: v for k, v in plan.fields.items() if v is not None and v != ""}
        from .run import VeniceRunError

        try:
            from .panel.app import Panel
        except ImportError as exc:
            raise UsageError(f"the panel is not available: {exc}") from None
        try:
            panel = Panel(session=self.session, **initial)
        except ValidationError as exc:
            raise UsageError(exc.one_line()) from None
        except VeniceError as exc:
            raise VeniceRunError(exc.one_line()) from None
        from IPython.display import display

        display(panel)
        if output:
            self.user_ns[output] = panel

    # ---- %venice ---------------------------------------------------------------------------------

    @line_magic("venice")  # type: ignore[arg-type]  # IPython types it as an uncallable union
    def venice_line(self, line: str = "") -> None:
        """%venice styles | models | balance | config | login | logout | classroom | panel [options] |
        help, or %venice --prompts NAME_OR_PATH [options]: one image per listed prompt (no body)"""
        command, _, rest = line.strip().partition(" ")
        command = command.lower()
        if command in ("", "help", "-h", "--help"):
            from .line_commands import show_help

            return show_help()
        if command in TOOLBOX_OPERATIONS:
            return self._toolbox(command, [rest], "")
        if command.startswith("-") and any(w.split("=")[0] == "--prompts" for w in line.split()):
            return self.venice_cell(line, "")  # IPython refuses a %%venice cell with no body
        if command not in SUBCOMMANDS:
            from .parse import suggest_word, unknown_word

            if suggest_word(command, [*SUBCOMMANDS, *TOOLBOX_OPERATIONS]):
                raise UsageError(unknown_word(command, SUBCOMMANDS, TOOLBOX_OPERATIONS))
            raise UsageError(
                f"%venice takes a subcommand ({', '.join(SUBCOMMANDS)}) or an operation "
                f"({', '.join(TOOLBOX_OPERATIONS)}), not {command!r}; to "
                "generate, write %%venice (two %) on the cell's first line and the prompt below"
            )
        if command == "classroom":  # a student's one line: the class gateway and their token
            from .classroom.student import connect

            return connect(self, rest)
        if command == "panel":
            args, tokens = self._parse(self.venice_cell, rest)
            prompt = " ".join(tokens.positional)
            plan = self._plan(args, tokens.all, prompt, args.negative, need_prompt=False)
            return self._open_panel(plan, args.output)
        from . import line_commands

        if command == "models":  # [--type edit|upscale|image] [--refresh]
            words = rest.split()
            refresh = any(w in ("--refresh", "-r") for w in words)
            rest = " ".join(w for w in words if w not in ("--refresh", "-r"))
            from .toolbox_magic import models_type

            kind = models_type(rest) if rest else "image"
            return line_commands.models(self.session, kind, refresh=refresh)
        if command == "balance":  # [MODEL ...]: the limits of those models (default: the default)
            return line_commands.balance(self.session, rest.split())
        if rest.strip():
            raise UsageError(f"%venice {command} takes no arguments, got {rest.strip()!r}")
        return line_commands.PLAIN[command](self.session)


def _valid_config(config: Any) -> tuple[Any, dict[str, str]]:
    """``config`` without the VeniceMagics values that fail validation, each logged once, and
    why each was refused (the session refuses to generate until they are set right).

    A refused ``%config VeniceMagics.x = bad`` stays in the shell's config; without this filter
    the next ``%reload_ext venice_nb`` would fail on it instead of using the default.
    """
    from copy import deepcopy

    section = config.get(VeniceMagics.__name__) if hasattr(config, "get") else None
    if not section:
        return config, {}
    from traitlets.config import Config

    from .session import VeniceSession

    probe = VeniceMagics(None, session=VeniceSession(), config=Config())
    cleaned = deepcopy(config)
    refused: dict[str, str] = {}
    for name, value in list(section.items()):
        try:
            setattr(probe, name, value)
        except Exception as exc:  # TraitError, or an unknown trait name
            import logging

            logging.getLogger(__name__).warning("ignoring VeniceMagics.%s: %s", name, exc)
            del cleaned[VeniceMagics.__name__][name]
            if name in Settings.names():
                refused[name] = str(exc)
    return cleaned, refused


# ---- extension hooks ---------------------------------------------------------------------------------


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (``%load_ext venice_nb``)."""
    ipython.register_magics(VeniceMagics(ipython))


def unload_ipython_extension(ipython: Any) -> None:
    """Remove exactly what ``load_ipython_extension`` added."""
    manager = ipython.magics_manager
    instance = manager.registry.pop(VeniceMagics.__name__, None)
    for kind, name in (("line", "venice"), ("cell", "venice")):
        func = manager.magics[kind].get(name)
        if func is not None and getattr(func, "__self__", None) is instance:
            del manager.magics[kind][name]
    if instance is not None and instance in getattr(ipython, "configurables", []):
        ipython.configurables.remove(instance)
