"""The failures a user must tell apart, one class each.

Every error carries a one-line ``message`` (what went wrong) and a ``hint`` (what to do), so the
magic and the panel can show a single readable line instead of a traceback. No error ever holds the
API key: messages are built from server bodies and request fields, never from headers we sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .redact import redact_text, redact_value
from .redact import redact_url as redact_url  # where the package has always found it
from .retry_headers import error_budget_reset, server_delay

ONE_LINE_MAX = 400


def _one_line(text: str, limit: int = ONE_LINE_MAX) -> str:
    """Whitespace (newlines from server bodies included) collapsed; long text cut with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def error_line(error: BaseException | None) -> str:
    """Any error as the one line a person sees: a ``VeniceError``'s message and hint, another
    exception's text (its type's name when it has none); None is a request that never ran."""
    if error is None:
        return "the request did not run"
    if isinstance(error, VeniceError):
        return error.one_line()
    return _one_line(redact_text(str(error))) or type(error).__name__


class VeniceError(Exception):
    """Base class: everything venice_nb raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(redact_text(message))
        self.message = message
        if hint is not None:
            self.hint = hint

    def __setattr__(self, name: str, value: Any) -> None:
        """``message`` and ``hint`` lose URL credentials (also ones a server echoed) as they are
        set, so no later ``+=`` or handler can show them."""
        if name in ("message", "hint") and isinstance(value, str):
            value = redact_text(value)
            if name == "message":
                self.args = (value, *self.args[1:])
        elif name in ("body", "field_errors"):  # what the server said back, kept for code
            value = redact_value(value)
        super().__setattr__(name, value)

    def one_line(self) -> str:
        """The message and the hint on one line, for a status bar or a UsageError."""
        hint = _one_line(redact_text(self.hint)) if self.hint else ""
        message = _one_line(self.message, ONE_LINE_MAX - len(hint) - 2 if hint else ONE_LINE_MAX)
        if hint and message and message[-1] not in ".!?:;\u2026":
            message += "."  # two sentences, not one run-on line
        return f"{message} {hint}".strip()

    def __str__(self) -> str:
        return self.one_line()


class ValidationError(VeniceError, ValueError):
    """Bad input found before any request was sent."""

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class UnexpectedArgumentError(ValidationError, TypeError):
    """A keyword argument a Python call does not take: a ``TypeError`` as Python's own
    "unexpected keyword argument" is, and a ``ValidationError`` as every refusal here is."""


class ConfigurationError(VeniceError):
    """The client is not set up to make the call (no key, bad base URL, bad setting)."""


class CancelledError(VeniceError):
    """The caller cancelled the call (a newer panel request, an interrupt) before it finished."""

    def __init__(self, message: str = "cancelled", *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)


class NotSentError(CancelledError):
    """A request dropped before it went out (an interrupted sweep): nothing was paid for it, and
    ``retry_failed`` sends it."""


class CostLimitError(VeniceError):
    """A sweep would cost more than the configured limit and was not confirmed."""


class APIError(VeniceError):
    """The server answered with an error status."""

    status: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        hint: str | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        if status is not None:
            self.status = status
        self.body = body
        self.request_id = request_id


class BadRequestError(APIError):
    """400: the server rejected a parameter. ``field_errors`` maps field -> messages."""

    status = 400
    hint = "Fix the named parameter and run again."

    def __init__(
        self, message: str, *, field_errors: dict[str, list[str]] | None = None, **kw: Any
    ):
        super().__init__(message, **kw)
        self.field_errors = field_errors or {}


class AuthenticationError(APIError):
    status = 401
    hint = "Check your key: set VENICE_API_KEY or run %venice login (never paste it into a cell)."


class ModelAccessError(APIError):
    """401 "This model is only available to Pro users" (or a beta model): the key is fine."""

    status = 401
    hint = (
        "Your key works, but this model needs a Venice Pro account (or beta access); "
        "pick another model from %venice models."
    )


class InsufficientBalanceError(APIError):
    status = 402
    hint = "Top up your Venice balance (venice.ai > API settings) or raise the key's spend limit."


class PermissionDeniedError(APIError):
    status = 403
    hint = "This key may not use that model (privacy setting or region); pick another model."


class NotFoundError(APIError):
    status = 404
    hint = "List the models with %venice models."

    def __init__(self, message: str, *, model: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.model = model


class ModelRetiredError(NotFoundError):
    """410 (or a 404 naming a replacement): the model was retired. ``replacement`` when named."""

    status = 410
    hint = "This model was retired; pick another one (%venice models --refresh)."

    def __init__(self, message: str, *, replacement: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.replacement = replacement
        if replacement:
            self.hint = f"Use -m {replacement}, the model Venice names as its replacement."


class PayloadTooLargeError(APIError):
    status = 413
    hint = "Send a smaller request (images under 25 MB)."


class UnsupportedMediaTypeError(APIError):
    status = 415
    hint = "This is a client bug: please report it."


class ContentPolicyError(APIError):
    status = 422
    hint = "Rephrase the prompt."


class ContentRefusedError(ContentPolicyError):
    """A 200 whose ``images`` is empty because the provider refused every variant
    (``content_policy_violation_count``, venice-api.md 0b.15): a content-policy outcome, not a
    garbled answer, so nothing invites a paid retry of the same prompt."""

    status = 200
    hint = "Rephrase the prompt; the same prompt is likely to be refused again."

    def __init__(self, refused: int, **kw: Any) -> None:
        kw.setdefault("status", 200)
        what = "the variant" if refused == 1 else f"all {refused} variants"
        super().__init__(
            f"Venice's content policy refused {what} of this request; no image came back", **kw
        )
        self.refused = refused


class StyleReferenceTooLargeError(ContentPolicyError):
    """422 on ``/image/generate``: not the content policy (a block there is a 200) but a style
    reference image over 7680x4320 pixels. A ContentPolicyError subclass only as "the 422"."""

    status = 422
    hint = "Downscale the style reference image (at most 7680x4320 pixels) and run again."


class RateLimitError(APIError):
    """429 after the retries were spent. ``retry_after`` is in seconds when known."""

    status = 429

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        if not kw.get("hint"):
            wait = f" in {retry_after:.0f} s" if retry_after else " in a minute"
            self.hint = f"Try again{wait}, or lower the sweep's concurrency."


class ServerError(APIError):
    """500, 502, 504 after retries: the inference failed on Venice's side."""

    status = 500
    hint = "Venice had a problem with this generation; try again shortly."


class CapacityError(ServerError):
    """503: the model is at capacity or offline."""

    status = 503
    hint = "The model is at capacity; try again in a minute or pick another model."


class ModelOfflineError(CapacityError):
    """503 ``MODEL_OFFLINE``: the model is switched off (not busy); retrying will not help."""

    hint = "The model is offline for now; pick another model from %venice models."


class ErrorBudgetError(RateLimitError):
    """429 "Too many failed attempts": the key's error budget for this model is spent.

    Every request is refused until ``x-ratelimit-resets`` (Unix ms); retrying before then only
    extends the lock-out. ``resets_at`` is that moment as Unix seconds.
    """

    def __init__(self, message: str, *, resets_at: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.resets_at = resets_at
        when = ""
        if resets_at is not None:
            import time as _time

            when = " after " + _time.strftime("%H:%M:%S UTC", _time.gmtime(resets_at))
        self.hint = (
            f"Too many failed requests for this key and model; retry{when}, and fix what made "
            "them fail (sending more now extends the lock-out)."
        )


class APITimeoutError(VeniceError):
    hint = "The server took too long; try again, or raise VeniceMagics.read_timeout for 4K models."


class APIConnectionError(VeniceError):
    hint = "Check the network and the base URL (%venice config; in Python, base_url=)."


class InvalidResponseError(VeniceError):
    """A 200 (or an error) whose body is not what the API promises."""

    hint = "The server sent something unexpected; try again, and report it if it repeats."


STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientBalanceError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: PayloadTooLargeError,
    410: ModelRetiredError,
    415: UnsupportedMediaTypeError,
    422: ContentPolicyError,
    429: RateLimitError,
    500: ServerError,
    502: ServerError,
    503: CapacityError,
    504: ServerError,
}


CLASSROOM_REFUSAL = "x-venice-classroom-refusal"  # set by a class gateway on its own refusals


def from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes | bytearray,
    *,
    model: str | None = None,
    path: str | None = None,
) -> APIError:
    """The error for an HTTP error answer; a class gateway's own refusal keeps only its message,
    which already says what the class allows (the service's hints would send a student to a
    balance or a key they do not have)."""
    error = _explained(status, headers, body, model=model, path=path)
    if headers.get(CLASSROOM_REFUSAL):
        error.hint = ""
    return error


def _explained(
    status: int,
    headers: Mapping[str, str],
    body: bytes | bytearray,
    *,
    model: str | None = None,
    path: str | None = None,
) -> APIError:
    """The error for an HTTP error answer, from its status, headers and body (JSON, a string or
    an HTML page from a proxy), explained by what it means on the live service (venice-api.md
    §0.7-0.8). ``model`` is the model the request named; ``path`` the route it went to."""
    cls = STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIError)
    request_id = headers.get("CF-RAY")
    text = bytes(body[:20_000]).decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    message = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(message, dict):  # some gateways nest {"error": {"message": ...}}
        message = message.get("message")
    if not isinstance(message, str) or not message.strip():
        message = f"HTTP {status} from the server, with {_describe_body(text, parsed)}"
    message = _one_line(message, 300)
    code = parsed.get("code") if isinstance(parsed, dict) else None
    code = code if isinstance(code, str) else ""
    lowered = message.lower()
    kw: dict[str, Any] = {"status": status, "body": parsed, "request_id": request_id}
    if status == 402 and isinstance(parsed, dict) and "x402Version" in parsed:
        return AuthenticationError("the server asked for payment (x402): no API key was sent", **kw)
    if status == 401 and (code == "PRO_ONLY_MODEL" or "pro users" in lowered or "beta" in lowered):
        return ModelAccessError(message, **kw)
    if cls is BadRequestError:
        fields = field_errors(parsed)
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        if detail and detail not in message:
            message = _one_line(f"{message}: {detail}", 400)
        return BadRequestError(message, field_errors=fields, **kw)
    if status == 422 and (path or "").endswith("/image/generate"):
        return StyleReferenceTooLargeError(
            f"{message} (on /image/generate a 422 means a style reference image is larger than "
            "7680x4320)",
            **kw,
        )
    if cls is RateLimitError:
        resets_at = error_budget_reset(status, headers)
        if resets_at is not None:
            return ErrorBudgetError(
                message,
                resets_at=resets_at,
                retry_after=server_delay(status, headers),
                **kw,
            )
        return RateLimitError(message, retry_after=server_delay(status, headers), **kw)
    if status == 503 and (code == "MODEL_OFFLINE" or "offline" in lowered):
        return ModelOfflineError(message, **kw)
    if cls in (NotFoundError, ModelRetiredError):
        named = parsed.get("model") if isinstance(parsed, dict) else None
        named = named if isinstance(named, str) else model
        replacement = _replacement(parsed, message, headers, named)
        if named and named not in message:
            message = f"{message} (model {named!r})"
        if status == 410 or replacement:
            if replacement and replacement not in message:
                message += f"; Venice names {replacement!r} as its replacement"
            return ModelRetiredError(message, model=named, replacement=replacement, **kw)
        return NotFoundError(message, model=named, **kw)
    return cls(message, **kw)


_REPLACEMENT_KEYS = ("replacementModelId", "replacement", "replacementModel", "suggestion")
_REPLACEMENT_TEXT = re.compile(
    r"(?:replaced by|replacement(?: model)?(?: is)?:?|use|try)\s+['\"`]?([A-Za-z0-9][\w.\-]*)",
    re.I,
)


def _replacement(
    parsed: Any, message: str, headers: Mapping[str, str], named: str | None
) -> str | None:
    """The model a 404/410 names as the retired one's replacement, if it names one."""
    if isinstance(parsed, dict):
        for key in _REPLACEMENT_KEYS:
            value = parsed.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    header = headers.get("x-venice-deprecated-replacement")
    if header and header.strip():
        return header.strip()
    match = _REPLACEMENT_TEXT.search(message)
    if match and match.group(1) != named and "-" in match.group(1):
        return match.group(1).rstrip(".")
    return None


def _describe_body(text: str, parsed: Any) -> str:
    if parsed is not None:
        return "JSON without an error message"
    if not text.strip():
        return "an empty body"
    title = re.search(r"<title[^>]*>(.*?)</title>", text[:5000], re.I | re.S)
    if title and title.group(1).strip():
        import html  # here, not at import: html.entities is big and %load_ext loads this module

        return f"an HTML page titled {_one_line(html.unescape(title.group(1)), 80)!r}"
    if "<html" in text[:1000].lower() or "<!doctype html" in text[:1000].lower():
        return "an HTML page (probably a proxy or gateway error)"
    return f"a non-JSON body starting {_one_line(text, 60)!r}"


def field_errors(parsed: Any) -> dict[str, list[str]]:
    """Field messages from a zod ``details`` tree and/or an ``issues`` list (nested paths are
    joined with dots: ``style_references.0.image``); a string ``details`` goes under 'request'."""
    out: dict[str, list[str]] = {}
    if not isinstance(parsed, dict):
        return out

    def add(name: str, msg: Any) -> None:
        msg = _one_line(str(msg), 200)
        if msg and msg not in out.setdefault(name, []):
            out[name].append(msg)

    def walk(node: Any, path: list[str]) -> None:
        if not isinstance(node, dict):
            return
        for msg in node.get("_errors") or []:
            add(".".join(path) or "request", msg)
        for key, child in node.items():
            if key != "_errors":
                walk(child, [*path, str(key)])

    details = parsed.get("details")
    if isinstance(details, dict):
        walk(details, [])
    elif isinstance(details, str) and details.strip():
        add("request", details)
    issues = parsed.get("issues")
    if isinstance(issues, list):
        for issue in issues:
            if isinstance(issue, dict) and issue.get("message"):
                raw_path = issue.get("path")
                path = raw_path if isinstance(raw_path, list) else []
                add(".".join(str(p) for p in path) or "request", issue["message"])
    return {k: v for k, v in out.items() if v}
