"""What views take from a request: the JSON body's fields, ids in paths, times, text.

Each parser raises ApiError (a 4xx) for input it cannot take, before anything runs.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from api.errors import ApiError
from api.json_body import json_body
from domain.reasons import RevocationReason

__all__ = ["body", "whole_number", "MAX_POSITION", "path_id", "text", "optional_text",
           "csr_text", "issuer_name", "optional_time", "revocation_reason"]


def body(*required: str) -> dict[str, Any]:
    """The JSON object sent (``{}`` for no body) with every ``required`` field."""
    data = json_body()
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    missing = [k for k in required if k not in data]
    if missing:
        raise ApiError(400, "missing_fields", f"missing fields: {', '.join(missing)}")
    return data


MAX_POSITION = 2**63 - 1  # a log or read-model position: a 64-bit column


def whole_number(value: str, low: int, high: int) -> int | None:
    """``value`` (a query parameter, a cursor's position) as a whole number from ``low`` to
    ``high`` in ASCII digits; None for anything else. ``str.isdigit`` alone lets through
    "²" (which ``int`` refuses) and thousands of digits (which ``int`` refuses too, and
    which no 64-bit column holds)."""
    if not (value.isascii() and value.isdigit()) or len(value.lstrip("0")) > len(str(high)):
        return None
    number = int(value)
    return number if low <= number <= high else None


def path_id(value: str, code: str, what: str) -> UUID:
    """An id in a path; one that is no UUID is "not found" (``what``: "no account")."""
    try:
        return UUID(value)
    except ValueError:
        raise ApiError(404, code, f"{what} {value[:80]}") from None


def text(data: dict[str, Any], key: str, limit: int = 1000) -> str:
    """Optional text (``""`` when absent), at most ``limit`` characters, without control
    characters other than tab and line breaks (a NUL or a terminal escape in a comment
    would be recorded for good and shown in every timeline)."""
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(400, "bad_field", f"{key} must be text of at most {limit} characters")
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in value):
        raise ApiError(400, "bad_field", f"{key} may not hold control characters")
    return value


def optional_text(data: dict[str, Any], key: str, limit: int = 1000) -> str | None:
    """Text or None (absent or null)."""
    if data.get(key) is None:
        return None
    return text(data, key, limit)


def csr_text(data: dict[str, Any], key: str) -> str:
    if not isinstance(data[key], str):
        raise ApiError(400, "bad_csr", f"{key} must be PEM text")
    return data[key]  # type: ignore[no-any-return]


def issuer_name(data: dict[str, Any]) -> str | None:
    issuer = data.get("issuer")
    if issuer is not None and not isinstance(issuer, str):
        raise ApiError(400, "bad_field", "issuer must be a CA name")
    return issuer


def optional_time(data: dict[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ApiError(400, "bad_time", f"{key} must be an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "bad_time", f"{key} must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ApiError(400, "bad_time", f"{key} must carry a time zone (e.g. Z)")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise ApiError(400, "bad_time", f"{key} is out of the range of dates") from None


def revocation_reason(data: dict[str, Any]) -> RevocationReason:
    try:
        return RevocationReason.parse(data["reason"])
    except ValueError as exc:
        raise ApiError(400, "bad_reason", str(exc)) from None
