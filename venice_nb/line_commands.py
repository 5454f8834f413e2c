"""``%venice styles | models | balance | config | login | logout | help``: the line magic's
subcommands, each a function of the session it reads.

Imported by ``magics.py`` on the first line-magic call (not at ``%load_ext``). A subcommand that
asks the server turns its failures into one line (``VeniceRunError``); none of them is paid for.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, TypeVar

from IPython.core.error import StdinNotImplementedError, UsageError

from .classroom.student import disconnect
from .display.html import config_html, models_table_html, styles_html
from .errors import VeniceError
from .run import GenerationCancelled, VeniceRunError, show
from .toolbox_magic import models_text

if TYPE_CHECKING:  # pragma: no cover
    from .session import VeniceSession

T = TypeVar("T")

HELP_TEXT = """\
%%venice [options]      generate from the prompt in the cell body (%%venice? lists the options)
%venice styles          the style presets for --style
%venice models          the image models: sizes, prices, traits (--refresh: fetch now)
%venice balance [MODEL ...]   the key's tier, what it can spend (USD, DIEM), its expiry and the
                        rate limits of MODEL (default: the default model); no request is paid
%venice config          the effective configuration (key masked) and backend
%venice login           set the API key for this kernel (hidden input, memory only)
%venice logout          forget the key set by %venice login
%venice classroom URL   use a class gateway with the token your teacher gave (hidden input)
%venice panel [opts]    open the interactive panel, seeded with %%venice options
%venice --prompts LIST [opts]   one request per prompt of a list variable or .txt/.csv file
                        (%%venice --prompts LIST with a body: a template with {prompt})
%%venice --prompt-sr "dusk,dawn,noon"   vary the prompt: search the first value, one column each
%%venice edit -i IMG [-i IMG2 ...] [-m MODEL]   edit IMG by the instruction in the cell body
                        (several -i combine images; --- between instructions sweeps them)
%venice upscale IMG [--scale 2|4] [--creativity 0.01]   a bigger copy of IMG
%venice remove-background IMG   IMG with its background transparent (PNG)
  IMG: a result (shot), one of its images (shot[1]), a file path or a URL; --compare shows the
  source beside the result; --downscale shrinks an input too large for the endpoint instead of
  refusing it; -o, --save, --no-cache, --yes as for %%venice
%%venice ... --style-ref IMG [--style-ref-strength 0.6]   borrow IMG's style (models that take it)
%venice models --type edit|upscale   the edit models or the upscaler, with their prices
Configure with %config VeniceMagics.<setting> = value (%config VeniceMagics lists them)."""


def show_help(session: VeniceSession | None = None) -> None:
    """``%venice help``: every command on one screen."""
    show(f'<pre style="font-size:12px">{escape(HELP_TEXT)}</pre>', HELP_TEXT)


def styles(session: VeniceSession) -> None:
    names = _asking(lambda: session.client().styles())
    show(styles_html(names), f"{len(names)} styles: " + ", ".join(names))


def models(session: VeniceSession, kind: str = "image", refresh: bool = False) -> None:
    """The models of ``kind`` in the API's spelling (image, inpaint, upscale); ``refresh`` fetches the list now instead
    of using the copy cached for a few minutes."""
    if kind != "image":
        catalogue = _asking(lambda: session.client().models_of(kind, refresh))
        text = models_text(catalogue, kind)
        show(f'<pre style="font-size:12px">{escape(text)}</pre>', text)
        return
    catalogue = _asking(lambda: session.client().models(refresh=refresh))
    lines = [
        f"{s.id}: {s.name}; {s.sizes_label()}; {s.pricing.describe()}"
        for s in catalogue.generation_models().values()
    ]
    show(models_table_html(catalogue), "\n".join(lines))


def balance(session: VeniceSession, models: list[str]) -> None:
    """The key's tier, spendable balances, expiry and the rate limits of the models in use
    (those named, else the default model), read from GET /api_keys/rate_limits. Ids may be
    given with spaces or commas between them."""
    models = [m for word in models for m in word.split(",") if m]
    options = [m for m in models if m.startswith("-")]
    if options:
        raise UsageError(
            f"%venice balance takes model ids, not {options[0]!r}; e.g. "
            "%venice balance qwen-image-2 z-image-turbo"
        )
    standing = _asking(session.balance)
    if not models:
        models = [_asking(session.default_model)]
    show(standing.html(models), standing.text(models))


def config(session: VeniceSession) -> None:
    info = session.describe()
    show(config_html(info), "\n".join(f"{k}: {v}" for k, v in info.items()))


def login(session: VeniceSession) -> None:
    """Hidden input, kept in this kernel's memory only (never an option: it would be in the
    notebook)."""
    try:
        key = getpass.getpass("Venice API key (kept in memory for this kernel only): ")
    except (StdinNotImplementedError, EOFError):
        raise UsageError(
            "this frontend cannot ask for input; set VENICE_API_KEY before starting Jupyter"
        ) from None
    key = key.strip()
    if not key:
        print(f"no key entered; the key stays {session.masked_key}")
        return
    session.login(key)
    backend = "the Venice API" if session.backend == "venice" else "the local preview"
    print(f"key set ({session.masked_key}); cells now use {backend}")


def logout(session: VeniceSession) -> None:
    """Forget the key of %venice login (or the class token) and undo what %venice classroom set:
    no later cell sends $VENICE_API_KEY to a teacher's gateway."""
    session.login(None)
    undone = disconnect(session)
    left = session.masked_key
    tail = f"; VENICE_API_KEY is still set ({left})" if session.has_key else ""
    if undone:
        print(f"the class token is forgotten and {undone}{tail}")
    else:
        print(f"the key from %venice login is forgotten{tail}")


# The subcommands that take no arguments, by name.
PLAIN: dict[str, Callable[[VeniceSession], None]] = {
    "help": show_help,
    "styles": styles,
    "config": config,
    "login": login,
    "logout": logout,
}


def _asking(fn: Callable[[], T]) -> T:
    """A read from the server: its failure as one line, Ctrl-C as a cancel."""
    try:
        return fn()
    except VeniceError as exc:
        raise VeniceRunError(exc.one_line()) from None
    except KeyboardInterrupt:
        raise GenerationCancelled("cancelled") from None
