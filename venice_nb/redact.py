"""Credentials out of every string a person sees: one function for URLs, one for free text.

A URL can carry ``user:password@`` or a secret query value (``?token=``), and it travels into
messages in many ways: the base URL, a proxy, an input image or style reference given as a URL,
and whatever the server says back (a service echoes the URL it could not fetch). ``redact_text``
is applied where text leaves the package (errors, warnings, reprs, captions, sidecars, lineage,
the cache), so no path has to remember it. The URL that is *sent* keeps its credentials.
"""

from __future__ import annotations

import functools
import re

# Compiled on first use (``_secret_query``, ``_host_after_at``): errors import this module at
# ``%load_ext``, and most sessions never redact a thing.
_SECRET_QUERY = (
    r"((?:^|&)[^=&]*(?:key|token|secret|password|passwd|pwd|auth|sig|signature)[^=&]*=)[^&]*"
)

_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_URL_ENDS = frozenset(" \t\r\n\"'<>\\`()[]{}|^")
_USERINFO_ENDS = frozenset(" \t\r\n\"'<>\\`()[]{}|^/,;=")
_HOST_AFTER_AT = r"(?:[\w-]{1,63}\.){1,10}[\w-]{1,63}|localhost\b|\["
_LOOK_BACK = 256  # a scheme or a user:password is never longer: bounded work on megabyte HTML


@functools.cache
def _secret_query() -> re.Pattern[str]:
    return re.compile(_SECRET_QUERY, re.I)


@functools.cache
def _host_after_at() -> re.Pattern[str]:
    return re.compile(_HOST_AFTER_AT)


def redact_url(url: str) -> str:
    """A URL as it may be shown or recorded: ``https://user:secret@host/...`` loses
    ``user:secret@`` (also without a scheme), and query values named like a secret
    (``?key=``, ``token``, ``password``, ``sig``...) become ``***``."""
    scheme, sep, rest = str(url).partition("://")
    if not sep:
        scheme, rest = "", str(url)
    host, slash, path = rest.partition("/")
    path, qmark, query = path.partition("?")
    if not slash:
        host, qmark, query = host.partition("?")
    if query:
        query = _secret_query().sub(lambda m: m.group(1) + "***", query)
    return f"{scheme}{sep}{host.rpartition('@')[2]}{slash}{path}{qmark}{query}"


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (``redact_url``) and a bare ``user:pw@host`` cut.

    Linear in the text and cheap on megabyte HTML (base64 images hold neither ``:`` nor ``@``):
    it jumps between those two characters with ``str.find`` and looks only around them, never
    with an open-ended regex."""
    text = str(text)
    text = _redact_urls(text)
    if text.find("@") != -1:
        text = _cut_bare_credentials(text)
    return text


def _redact_urls(text: str) -> str:
    out: list[str] = []
    done = 0
    colon = text.find(":")
    while colon != -1:
        if not text.startswith("//", colon + 1):
            colon = text.find(":", colon + 1)
            continue
        start = colon
        while start > max(done, colon - _LOOK_BACK) and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        end = colon + 3
        while end < len(text) and text[end] not in _URL_ENDS:
            end += 1
        if start < colon and text[start].isalpha():
            out += [text[done:start], redact_url(text[start:end])]
            done = end
        colon = text.find(":", max(end, colon + 3))
    if not done:
        return text  # nothing redacted: no copy of a megabyte string
    out.append(text[done:])
    return "".join(out)


def _cut_bare_credentials(text: str) -> str:
    out: list[str] = []
    done = 0
    at = text.find("@")
    while at != -1:
        start = at
        while start > max(done, at - _LOOK_BACK) and text[start - 1] not in _USERINFO_ENDS:
            start -= 1
        userinfo = text[start:at]
        if ":" in userinfo.lstrip(":") and _host_after_at().match(text, at + 1):
            out.append(text[done:start])
            done = at + 1
        at = text.find("@", at + 1)
    out.append(text[done:])
    return "".join(out)


def redact_value(value: object) -> object:
    """``value`` with every string inside it (dicts, lists, tuples) redacted, for records
    (sidecars, lineage, cache entries, output metadata) before they are written."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value


def dataclass_repr(obj: object) -> str:
    """The dataclass repr of ``obj`` (every field), with URL credentials cut: for requests that
    hold URLs (a style reference given as ``http://user:pw@...``)."""
    from dataclasses import fields

    shown = ", ".join(f"{f.name}={getattr(obj, f.name)!r}" for f in fields(obj) if f.repr)  # type: ignore[arg-type]
    return redact_text(f"{type(obj).__name__}({shown})")
