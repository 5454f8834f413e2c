"""A tiny zod: the validator the service answers with, so 400s have its exact shape and words.

The real server validates with zod, so clients see ``{"error", "details": <zod format()>, "issues"}``.
String lengths count UTF-16 code units, as JavaScript does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .responses import ApiError


def _received(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def js_length(text: str) -> int:
    """A string's length as the service's JavaScript validator counts it: UTF-16 code units, so
    an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def zod_issue(code: str, path: list[Any], message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, **extra, "path": path, "message": message}


def _type_issue(expected: str, value: Any, path: list[Any]) -> dict[str, Any]:
    received = _received(value)
    message = f"Expected {expected}, received {received}"
    return zod_issue("invalid_type", path, message, expected=expected, received=received)


def bound_issue(
    side: str, kind: str, path: list[Any], message: str, limit: float, inclusive: bool = True
) -> dict[str, Any]:
    """zod's too_small / too_big issue: ``side`` is "min" or "max", ``kind`` string or number."""
    code, key = ("too_small", "minimum") if side == "min" else ("too_big", "maximum")
    return zod_issue(
        code, path, message, **{key: limit}, type=kind, inclusive=inclusive, exact=False
    )


@dataclass(frozen=True)
class Field:
    """One property: type, range and nullability, checked the way zod would."""

    kind: str  # string | number | integer | boolean | enum | any | refs
    min: float | None = None
    min_inclusive: bool = True
    max: float | None = None
    options: tuple[str, ...] = ()
    nullable: bool = False
    required: bool = False
    pattern: str | None = None  # a string must match it whole (zod's .regex())

    def check(self, value: Any, path: list[Any]) -> list[dict[str, Any]]:
        if value is None:
            return (
                []
                if self.nullable or self.kind == "any"
                else [_type_issue(self._expected, None, path)]
            )
        return getattr(self, f"_check_{self.kind}")(value, path)

    @property
    def _expected(self) -> str:
        return {"integer": "number", "enum": "string", "refs": "array"}.get(self.kind, self.kind)

    def _check_any(self, value: Any, path: list[Any]) -> list[dict[str, Any]]:
        return []

    def _check_boolean(self, value: Any, path: list[Any]) -> list[dict[str, Any]]:
        return [] if isinstance(value, bool) else [_type_issue("boolean", value, path)]

    def _check_string(self, value: Any, path: list[Any]) -> list[dict[str, Any]]:
        if not isinstance(value, str):
            return [_type_issue("string", value, path)]
        if self.min is not None and js_length(value) < self.min:
            message = f"String must contain at least {int(self.min)} character(s)"
            return [bound_issue("min", "string", path, message, int(self.min))]
        if self.max is not None and js_length(value) > self.max:
            message = f"String must contain at most {int(self.max)} character(s)"
            return [bound_issue("max", "string", path, message, int(self.max))]
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return [zod_issue("invalid_string", path, "Invalid", validation="regex")]
        return []

    def _check_enum(self, value: Any, path: list[Any]) -> list[dict[str, Any]]:
        if not isinstance(value, str):
            return [_type_issue("string", value, path)]
        if value in self.options:
            return []
        opts = " | ".join(f"'{o}'" for o in self.options)
        return [
            zod_issue(
                "invalid_enum_value",
                path,
                f"Invalid enum value. Expected {opts}, received '{value}'",
                received=value,
                options=list(self.options),
            )
        ]

    def _check_number(self, value: Any, path: list[Any]) -> list[dict[str, Any]]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [_type_issue("number", value, path)]
        return self._range(value, path)

    def _check_integer(self, value: Any, path: list[Any]) -> list[dict[str, Any]]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [_type_issue("number", value, path)]
        if isinstance(value, float) and not value.is_integer():
            return [
                zod_issue(
                    "invalid_type",
                    path,
                    "Expected integer, received float",
                    expected="integer",
                    received="float",
                )
            ]
        return self._range(value, path)

    def _range(self, value: float, path: list[Any]) -> list[dict[str, Any]]:
        low, high = self.min, self.max
        if low is not None and (value < low or (value == low and not self.min_inclusive)):
            word = "greater than or equal to" if self.min_inclusive else "greater than"
            message = f"Number must be {word} {plain_number(low)}"
            return [
                bound_issue("min", "number", path, message, plain_number(low), self.min_inclusive)
            ]
        if high is not None and value > high:
            message = f"Number must be less than or equal to {plain_number(high)}"
            return [bound_issue("max", "number", path, message, plain_number(high))]
        return []

    def _check_refs(self, value: Any, path: list[Any]) -> list[dict[str, Any]]:
        """style_references: array of {image: string, strength?: 0.1..1}, strict."""
        if not isinstance(value, list):
            return [_type_issue("array", value, path)]
        ref_schema = {
            "image": Field("string", required=True),
            "strength": Field("number", 0.1, max=1),
        }
        issues: list[dict[str, Any]] = []
        for i, item in enumerate(value):
            issues += check_object(item, ref_schema, [*path, i])
        return issues


def plain_number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def check_object(
    body: Any, schema: dict[str, Field], path: list[Any] | None = None, *, strict: bool = True
) -> list[dict[str, Any]]:
    """All issues for ``body`` against an object schema (zod collects them all); unknown keys
    are an issue only when ``strict`` (a lenient route ignores them, as the live one does)."""
    path = path or []
    if not isinstance(body, dict):
        return [_type_issue("object", body, path)]
    issues: list[dict[str, Any]] = []
    for name, spec in schema.items():
        if name not in body:
            if spec.required:
                issues.append(
                    zod_issue(
                        "invalid_type",
                        [*path, name],
                        "Required",
                        expected=spec._expected,
                        received="undefined",
                    )
                )
            continue
        issues += spec.check(body[name], [*path, name])
    extra = [k for k in body if k not in schema]
    if extra and strict:
        keys = ", ".join(f"'{k}'" for k in extra)
        issues.append(
            zod_issue(
                "unrecognized_keys",
                list(path),
                f"Unrecognized key(s) in object: {keys}",
                keys=extra,
            )
        )
    return issues


def error_body(issues: list[dict[str, Any]]) -> dict[str, Any]:
    """The real 400 body: zod ``format()`` tree in ``details`` plus the flat ``issues`` list."""
    details: dict[str, Any] = {"_errors": []}
    for issue in issues:
        node = details
        for key in issue["path"]:
            node = node.setdefault(str(key), {"_errors": []})
        node["_errors"].append(issue["message"])
    return {"error": "Invalid request parameters", "details": details, "issues": issues}


def invalid(issues: list[dict[str, Any]]) -> ApiError:
    return ApiError(400, error_body(issues))


def parse_json(raw: bytes) -> Any:
    """Strict JSON (no NaN/Infinity, UTF-8) or 400 "Invalid JSON request"."""

    def _reject(token: str) -> Any:
        raise ValueError(token)

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "Invalid JSON request") from None
