"""The failures a user must tell apart, one class each.

Every error carries a one-line ``message`` (what went wrong) and a ``hint`` (what to do), so the
magic and the panel can show a single readable line instead of a traceback. No error ever holds the
API key: messages are built from server bodies and request fields, never from headers we sent.
"""

from __future__ import annotations

from typing import Any


class VeniceError(Exception):
    """Base class: everything venice_nb raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def one_line(self) -> str:
        """The message and the hint on one line, for a status bar or a UsageError."""
        return f"{self.message} {self.hint}".strip() if self.hint else self.message

    def __str__(self) -> str:
        return self.one_line()


class ValidationError(VeniceError, ValueError):
    """Bad input found before any request was sent."""

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class ConfigurationError(VeniceError):
    """The client is not set up to make the call (no key, bad base URL, bad setting)."""


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


class PayloadTooLargeError(APIError):
    status = 413
    hint = "Send a smaller request (images under 25 MB)."


class UnsupportedMediaTypeError(APIError):
    status = 415
    hint = "This is a client bug: please report it."


class ContentPolicyError(APIError):
    status = 422
    hint = "Rephrase the prompt."


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


class APITimeoutError(VeniceError):
    hint = "The server took too long; try again, or raise VeniceMagics.read_timeout for 4K models."


class APIConnectionError(VeniceError):
    hint = "Check the network and the base URL (%venice config)."


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
    415: UnsupportedMediaTypeError,
    422: ContentPolicyError,
    429: RateLimitError,
    500: ServerError,
    502: ServerError,
    503: CapacityError,
    504: ServerError,
}
