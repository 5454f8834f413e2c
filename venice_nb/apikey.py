"""How the API key is held, sent and shown: one place to audit it.

The key is wrapped as soon as it arrives and the plain string dropped, so it is never in a repr,
a pickle, a traceback local (``%xmode Verbose`` prints every frame's variables) or an error
message. It is shown only through ``mask`` and leaves the process only as the ``Authorization``
header that ``Bearer`` adds when a request is prepared. Which key a call uses (an explicit or
logged-in one, else ``$VENICE_API_KEY``) is decided once, by ``current_key``, for the session and
the client alike. Light to import: ``requests`` is only named for type checking.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    import requests

KEY_ENV = "VENICE_API_KEY"


def mask(key: str | None) -> str:
    """How a key is ever shown: never more than its last two characters."""
    if not key:
        return "<not set>"
    return "****" + key[-2:] if len(key) >= 12 else "****"


class Secret:
    """Holds the explicit key so that no repr, traceback local or pickle shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return mask(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("the API key cannot be pickled")


def wrap(key: str | Secret | None) -> Secret | None:
    """The key wrapped at once (stripped), None when empty."""
    if isinstance(key, Secret):
        key = key.get()
    if key is not None and not isinstance(key, str):  # not echoed: it may be a key after all
        raise TypeError(
            f"the API key must be a string (or None to read $VENICE_API_KEY), "
            f"got {type(key).__name__}"
        )
    return Secret(key.strip()) if isinstance(key, str) and key.strip() else None


def current_key(explicit: Secret | None = None) -> Secret | None:
    """The key a call made now would use: ``explicit`` (an ``api_key`` argument or
    ``%venice login``), else ``$VENICE_API_KEY`` read now and stripped; None when neither is
    set (a variable of spaces is not a key)."""
    return explicit if explicit is not None else wrap(os.environ.get(KEY_ENV))


def masked(explicit: Secret | None = None) -> str:
    """``current_key`` as it may be shown."""
    key = current_key(explicit)
    return mask(key.get() if key is not None else None)


def checked(secret: Secret, source: str) -> Secret:
    """Refuse, without echoing it, a key that cannot travel in an HTTP header.

    A line break or a non-ASCII character would make requests or http.client raise an error whose
    message or attributes hold the whole header value, i.e. the key. Only the wrapper is a local
    here, so even a traceback that prints locals shows it masked.
    """
    if not _header_safe(secret.get()):
        raise ConfigurationError(
            f"the API key from {source} contains spaces, line breaks or non-ASCII characters",
            hint="Copy the key again from venice.ai > API settings; it is one word of ASCII.",
        )
    return secret


def _header_safe(value: str) -> bool:
    return value.isascii() and value.isprintable() and not any(c.isspace() for c in value)


class _HeaderValue(str):
    """The Authorization value: a real ``str`` on the wire, masked in every repr.

    requests, urllib3 and http.client keep header dicts in their frames while a request runs; a
    KeyboardInterrupt there, shown by ``%xmode Verbose`` (which prints the variables of each
    line), reprs those dicts. This value reprs as ``'Bearer ****xy'`` there.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        scheme, _, key = str.__str__(self).partition(" ")
        return repr(f"{scheme} {mask(key)}")

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("the API key cannot be pickled")


class Bearer:
    """Adds ``Authorization: Bearer`` when the request is prepared; shows only a masked key.

    requests calls any callable ``auth`` with the prepared request (``AuthBase`` is only that
    interface), so this module needs no ``requests`` at import."""

    def __init__(self, secret: Secret) -> None:
        self._secret = secret

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = _HeaderValue("Bearer " + self._secret.get())
        return r

    def __repr__(self) -> str:
        return f"<Bearer {self._secret!r}>"

    def __reduce__(self) -> Any:
        raise TypeError("the API key cannot be pickled")
