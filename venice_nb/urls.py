"""The base URL: one check for ``%config``, ``$VENICE_BASE_URL`` and ``VeniceClient(base_url=)``.

People paste what they see in the API docs: the full endpoint (``.../api/v1/image/generate``), a
host without a scheme. Each is recognised here and refused with the URL to paste instead, so no
surface sends a request to ``.../image/generate/image/generate`` and then blames the model list.
Messages show the URL without credentials (``redact_url``).
"""

from __future__ import annotations

import os

from .errors import ConfigurationError, redact_url

DEFAULT_BASE_URL = "https://api.venice.ai/api/v1"
BASE_URL_ENV = "VENICE_BASE_URL"

# Endpoint paths below the API root, longest first so /image/multi-edit wins over /image/edit.
ENDPOINTS = tuple(
    sorted(
        (
            "/image/generate",
            "/images/generations",
            "/images/edits",
            "/models",
            "/image/styles",
            "/image/edit",
            "/image/multi-edit",
            "/image/upscale",
            "/image/background-remove",
        ),
        key=len,
        reverse=True,
    )
)


class RedactedURL(str):
    """A URL whose repr leaves out credentials: IPython shows trait values with ``%r``
    (``%config VeniceMagics``, ``%config VeniceMagics.base_url``), the client uses ``str``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(redact_url(str(self)))


def check_base_url(url: str, where: str = "base URL") -> str:
    """``url`` trimmed (no trailing ``/``), or a ConfigurationError saying what to paste."""
    if not isinstance(url, str):
        raise TypeError(
            f"{where} must be a string like {DEFAULT_BASE_URL!r}, got {type(url).__name__}"
        )
    url = url.strip()
    shown = redact_url(url)
    if not url.lower().startswith(("http://", "https://")):
        guess = "http://" if url.startswith(("localhost", "127.", "[::1]")) else "https://"
        example = f"{guess}{shown}" if url and "://" not in url else DEFAULT_BASE_URL
        raise ConfigurationError(
            f"{where} {shown!r} must start with http:// or https://; paste e.g. {example!r}"
        )
    url = url.rstrip("/")
    path = url.split("?", 1)[0].split("#", 1)[0]
    for endpoint in ENDPOINTS:
        if path.lower().endswith(endpoint):
            root = redact_url(path[: -len(endpoint)])
            raise ConfigurationError(
                f"{where} {shown!r} is the full {endpoint} endpoint, not the API's base URL; "
                f"paste the part before {endpoint}: {root!r}"
            )
    return url


def resolve_base_url(base_url: str | None = None) -> str:
    """The URL calls go to: ``base_url``, else ``$VENICE_BASE_URL``, else the public API."""
    if base_url:
        return check_base_url(base_url)
    if os.environ.get(BASE_URL_ENV, "").strip():
        return check_base_url(os.environ[BASE_URL_ENV], f"${BASE_URL_ENV}")
    return DEFAULT_BASE_URL
