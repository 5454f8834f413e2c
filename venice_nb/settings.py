"""Every setting of venice_nb, declared once with its rule.

``Settings`` is the one declaration: a frozen dataclass whose fields carry their default, their
help text and the rule a value must pass. ``%config VeniceMagics.x`` (traits generated from these
fields), ``ipython_config.py``, the panel and the Python API (``VeniceSession.configure``,
``Settings(...)``) all go through ``Settings.check``, so a bad value is refused the same way
everywhere, with one line that says what is wrong and how to fix it.

``current()`` is the kernel's settings as last configured; the display wing reads it (a module
that builds HTML must not depend on the kernel's session).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigurationError, redact_url
from .retry_headers import DEFAULT_MAX_RETRIES
from .urls import check_base_url

Backend = Literal["auto", "venice", "local"]
BACKENDS = ("auto", "venice", "local")
FORMATS = ("webp", "png", "jpeg")


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "venice_nb")


# ---- rules: each takes the proposed value and returns it normalised, or raises -----------------


def _refuse(name: str, what: str) -> ConfigurationError:
    return ConfigurationError(f"VeniceMagics.{name} {what}")


def _one_of(*choices: str) -> Callable[[str, Any], Any]:
    def rule(name: str, value: Any) -> Any:
        # The obvious spellings are accepted where there is no doubt: 'Local', ' venice '.
        if isinstance(value, str) and value.strip().lower() in choices:
            return value.strip().lower()
        raise _refuse(name, f"must be one of {', '.join(choices)}, got {value!r}")

    return rule


def _optional_format(name: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or value.strip().lower() not in FORMATS:
        raise _refuse(name, f"must be one of {', '.join(FORMATS)}, got {value!r}")
    return value.strip().lower()


def _optional_text(name: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise _refuse(name, f"must be text, got {value!r}")
    return value.strip()


def _base_url(name: str, value: Any) -> str | None:
    url = _optional_text(name, value)
    if url is None:
        return None
    return check_base_url(url, f"VeniceMagics.{name}")


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise _refuse(name, f"must be above 0 seconds, got {value!r}")
    return float(value)


def _number_in(low: float, high: float, whole: bool = False) -> Callable[[str, Any], Any]:
    def rule(name: str, value: Any) -> Any:
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            raise _refuse(name, f"must be from {low:g} to {high:g}, got {value!r}")
        return value if whole else float(value)

    return rule


def _preview_size(name: str, value: Any) -> int:
    if value == 0 and not isinstance(value, bool):
        return 0  # 0 turns notebook previews off: images embed as received
    return int(_number_in(64, 4096, whole=True)(name, value))


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _refuse(name, f"must be True or False, got {value!r}")
    return value


def _directory(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refuse(name, "must not be empty")
    if (
        "\0" in value or len(value.encode()) > 255
    ):  # only then is the file-name check worth importing
        from .saving import path_problem

        problem = path_problem(value)
        if problem:
            raise _refuse(name, problem)
    return value


def _rule(rule: Callable[[str, Any], Any], help: str) -> dict[str, Any]:
    return {"rule": rule, "help": help}


@dataclass(frozen=True)
class Settings:
    """Everything configurable; ``VeniceMagics`` traits are generated from these fields.

    ``backend``: ``auto`` (the real API when a key is set, else the local preview), ``venice``
    (the API at ``base_url``, with the key) or ``local`` (the in-process preview server; ignores
    ``base_url``). To aim at a server of your own, e.g. a ``LocalServer`` in a test, use
    ``backend="venice"`` with its ``base_url``: requests then carry the key as they would for real.
    """

    backend: Backend = field(
        default="auto",
        metadata=_rule(
            _one_of(*BACKENDS),
            "auto: the real API when a key is set, else the local preview; or force one.",
        ),
    )
    base_url: str | None = field(
        default=None,
        metadata=_rule(_base_url, "API base URL (default: $VENICE_BASE_URL or the public API)."),
    )
    default_model: str | None = field(
        default=None,
        metadata=_rule(_optional_text, "Model when -m is not given (default: the catalogue's)."),
    )
    default_format: str | None = field(
        default=None,
        metadata=_rule(_optional_format, "Image format when -f is not given: webp, png or jpeg."),
    )
    connect_timeout: float = field(default=10.0, metadata=_rule(_positive, "Seconds to connect."))
    read_timeout: float = field(
        default=300.0, metadata=_rule(_positive, "Seconds to wait for an answer.")
    )
    max_retries: int = field(
        default=DEFAULT_MAX_RETRIES,  # the client's own default (RetryPolicy), declared once there
        metadata=_rule(_number_in(0, 10, whole=True), "Retries on 429/5xx (0-10)."),
    )
    concurrency: int = field(
        default=4,
        metadata=_rule(_number_in(1, 16, whole=True), "Requests a sweep runs at once (1-16)."),
    )
    save_dir: str = field(
        default="venice-images", metadata=_rule(_directory, "Default directory for saved images.")
    )
    cache_dir: str | None = field(
        default=None,
        metadata=_rule(_optional_text, "Result cache directory (default ~/.cache/venice_nb)."),
    )
    cache_enabled: bool = field(
        default=True, metadata=_rule(_flag, "Reuse results of seeded requests.")
    )
    cache_max_mb: float = field(
        default=512.0, metadata=_rule(_number_in(0, 1e6), "Result cache size bound in MB.")
    )
    # Images up to 1024 px embed as received: no decode, no re-encode.
    preview_size: int = field(
        default=1024,
        metadata=_rule(
            _preview_size, "Longest side of notebook previews (px; 0 embeds as received)."
        ),
    )
    thumb_size: int = field(
        default=320,
        metadata=_rule(
            _preview_size,
            "Longest side of gallery thumbnails (px; a click opens the full preview; 0 = full).",
        ),
    )
    batch_threshold: int = field(
        default=32,
        metadata=_rule(
            _number_in(1, 100_000, whole=True),
            "A cell of more images than this runs as a batch: saved to disk as they land, "
            "resumable from its manifest.",
        ),
    )
    cost_limit_usd: float = field(
        default=1.0,
        metadata=_rule(_number_in(0, 1e6), "A cell estimated above this many USD needs --yes."),
    )

    def __repr__(self) -> str:
        """Like the dataclass's, with the base URL's credentials left out."""
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        if shown["base_url"]:
            shown["base_url"] = redact_url(shown["base_url"])
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, self.check(f.name, getattr(self, f.name)))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def check(cls, name: str, value: Any) -> Any:
        """``value`` normalised for setting ``name``; raises ConfigurationError if refused."""
        spec = {f.name: f for f in fields(cls)}.get(name)
        if spec is None:
            from .fuzzy import did_you_mean

            hint = did_you_mean(name, cls.names())
            raise ConfigurationError(
                f"unknown setting {name!r}", hint=hint or f"settings: {', '.join(cls.names())}"
            )
        return spec.metadata["rule"](name, value)

    @classmethod
    def help(cls, name: str) -> str:
        return str({f.name: f for f in fields(cls)}[name].metadata["help"])

    def changed(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied, every one checked by its rule."""
        for name in changes:
            self.check(name, changes[name])
        return replace(self, **changes)


_current = Settings()


def current() -> Settings:
    """The kernel's settings as last configured (the display wing reads these)."""
    return _current


def publish(settings: Settings) -> None:
    """Make ``settings`` the kernel's current settings (called by the kernel's session)."""
    global _current
    _current = settings


def setting_trait(name: str) -> Any:
    """The ``%config`` trait for setting ``name``: its type, default and help from ``Settings``.

    Optional text settings are ``Unicode`` traits where ``""`` means unset; the value rule runs in
    ``VeniceMagics``'s one ``@validate`` (``Settings.check``), so traits add no rules of their own.
    """
    from traitlets import Bool, Float, Int, Unicode

    spec = {f.name: f for f in fields(Settings)}[name]
    default, help_text = spec.default, spec.metadata["help"]
    trait: Any
    if isinstance(default, bool):
        trait = Bool(default, help=help_text)
    elif isinstance(default, int):
        trait = Int(default, help=help_text)
    elif isinstance(default, float):
        trait = Float(default, help=help_text)
    else:
        trait = Unicode("" if default is None else str(default), help=help_text)
    return trait.tag(config=True)
