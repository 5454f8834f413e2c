"""``%venice classroom URL``: a student points this kernel at the class gateway with their token.

The token is a key as far as this kernel is concerned: asked for with getpass, held wrapped in
memory only (``%venice login``'s rules), sent only as the bearer header to the gateway, never
shown. The gateway answers with the student's remaining budget in ``x-venice-balance-usd``, so
the footer under each result shows what the student has left. Light: no extra needed here.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from IPython.core.error import UsageError

from ..apikey import checked, wrap
from ..errors import ConfigurationError, VeniceError
from ..urls import check_base_url, redact_url

USAGE = (
    "usage: %venice classroom URL   (the address your teacher gave, e.g. https://class.example.org)"
)


@dataclass
class _Connection:
    """What ``%venice classroom`` changed, so ``%venice logout`` can put it back."""

    magics: weakref.ref[Any]
    url: str
    backend: Any
    base_url: Any


# session -> what its last %venice classroom set (weak: a dropped session takes its entry along)
_CONNECTIONS: weakref.WeakKeyDictionary[Any, _Connection] = weakref.WeakKeyDictionary()


def disconnect(session: Any) -> str | None:
    """Undo what ``%venice classroom`` set on ``session`` (the base URL and backend, back to what
    they were, unless changed since): the line saying so, or None when no gateway was set."""
    conn = _CONNECTIONS.pop(session, None)
    magics = conn.magics() if conn is not None else None
    if conn is None or magics is None or str(magics.base_url or "") != conn.url:
        return None  # never connected, or the base URL was set elsewhere since: leave it
    magics.base_url = conn.base_url
    if magics.backend == "venice":
        magics.backend = conn.backend
    where = session.describe()["effective_base_url"]
    return f"cells no longer use the classroom gateway at {redact_url(conn.url)} (back to {where})"


def gateway_url(text: str) -> str:
    """The gateway's API base URL: ``/api/v1`` added to a bare address."""
    text = text.strip()
    if not text or len(text.split()) != 1:
        raise UsageError(USAGE)
    try:
        url = check_base_url(text, "the classroom URL")
    except ConfigurationError as exc:
        raise UsageError(exc.one_line()) from None
    if urlsplit(url).path in ("", "/"):
        url = url.rstrip("/") + "/api/v1"
    return url


def connect(magics: Any, line: str) -> None:
    """Ask for the token, point the session at the gateway, check the token with one free call."""
    import getpass

    from IPython.core.error import StdinNotImplementedError

    url = gateway_url(line)
    try:
        token = getpass.getpass("Class token from your teacher (kept in memory for this kernel): ")
    except (StdinNotImplementedError, EOFError):
        raise UsageError(
            "this frontend cannot ask for input; set VENICE_API_KEY to your token and "
            "VENICE_BASE_URL to the classroom URL before starting Jupyter"
        ) from None
    secret = wrap(token)
    del token
    session = magics.session
    if secret is None:
        print(f"no token entered; nothing changed (cells still use {session.masked_key})")
        return
    try:
        checked(secret, "the class token")
    except ConfigurationError as exc:
        raise UsageError(exc.one_line().replace("API key", "token")) from None
    before = (magics.backend, magics.base_url)
    earlier = _CONNECTIONS.get(session)
    if earlier is not None and str(magics.base_url or "") == earlier.url:
        before = (earlier.backend, earlier.base_url)  # a second gateway: logout goes back further
    magics.backend = "venice"  # traits: session.configure checks and applies them
    magics.base_url = url
    session.login(secret.get())
    try:
        session.client().models(refresh=True)  # free, and the gateway checks the token
    except VeniceError as exc:
        # Back as it was: no later cell sends another key (say $VENICE_API_KEY) to the gateway.
        session.login(None)
        magics.backend, magics.base_url = before
        raise UsageError(
            f"the classroom gateway at {redact_url(url)} did not accept the token: {exc.one_line()}"
        ) from None
    _CONNECTIONS[session] = _Connection(weakref.ref(magics), url, *before)
    print(
        f"connected to the classroom gateway at {redact_url(url)} (token {session.masked_key}); "
        "cells now generate there, and the line under each result shows your budget left"
    )
