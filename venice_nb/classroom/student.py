"""``%venice classroom URL``: a student points this kernel at the class gateway with their token.

The token is a key as far as this kernel is concerned: asked for with getpass, held wrapped in
memory only (``%venice login``'s rules), sent only as the bearer header to the gateway, never
shown. The gateway answers with the student's remaining budget in ``x-venice-balance-usd``, so
the footer under each result shows what the student has left. Light: no extra needed here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from IPython.core.error import UsageError

from ..apikey import checked, wrap
from ..errors import ConfigurationError, VeniceError
from ..urls import check_base_url, redact_url

USAGE = (
    "usage: %venice classroom URL   (the address your teacher gave, e.g. https://class.example.org)"
)


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
    print(
        f"connected to the classroom gateway at {redact_url(url)} (token {session.masked_key}); "
        "cells now generate there, and the line under each result shows your budget left"
    )
