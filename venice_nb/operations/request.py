"""The one request type: what every request of every endpoint offers the layers above.

``GenerateRequest``, ``OpenAIImageRequest`` and the four toolbox requests all satisfy ``Request``,
so a job, a sweep cell, the cache and the panel's worker hold one type. ``operation`` names the
endpoint (``generate``, ``openai``, ``edit``, ``multi-edit``, ``upscale``, ``remove-background``);
the session and the client dispatch on ``is_toolbox`` in one place each. ``Validated`` is the
mark a surface leaves on a request it checked, so nothing checks it again before sending.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

TOOLBOX_OPERATIONS = ("edit", "multi-edit", "upscale", "remove-background")
_Self = TypeVar("_Self", bound="Validated")


@runtime_checkable
class Request(Protocol):
    """What every request offers, whichever endpoint it goes to."""

    @property
    def operation(self) -> str: ...

    @property
    def model(self) -> str | None: ...

    @property
    def image_count(self) -> int: ...

    @property
    def validated(self) -> str | None: ...

    def check(self) -> Any: ...

    def to_json(self) -> dict[str, Any]: ...

    def provenance_json(self) -> dict[str, Any]: ...


class Validated:
    """The mark of a request checked at its surface. It is no dataclass field: never sent,
    compared or cached, and a changed copy (``with_``, ``replace``) is a new, unchecked request."""

    @property
    def validated(self) -> str | None:
        """The route this very object was validated for, None when it was not."""
        return self.__dict__.get("_validated_for")

    def mark_validated(self: _Self, route: str = "generate") -> _Self:
        """Record that every check for ``route`` passed on this object; returns self."""
        object.__setattr__(self, "_validated_for", route)  # frozen: set like __post_init__ would
        return self


def is_toolbox(request: Request) -> bool:
    """Whether ``request`` goes to a toolbox endpoint (edit, upscale...) rather than a generation."""
    return request.operation in TOOLBOX_OPERATIONS
