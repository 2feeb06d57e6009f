"""The one base class of every domain error; the API maps its kinds to HTTP statuses."""

from __future__ import annotations

__all__ = ["DomainError", "IllegalTransition", "NotFound", "Conflict", "InvalidRequest"]


class DomainError(Exception):
    """A rule of the domain was broken. ``code`` is stable, for machines."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class IllegalTransition(DomainError):
    """The command does not apply to the aggregate in its current state (HTTP 409)."""

    code = "illegal_transition"


class Conflict(DomainError):
    """Somebody else got there first: a unique value is taken (HTTP 409)."""

    code = "conflict"


class NotFound(DomainError):
    """No such aggregate (HTTP 404)."""

    code = "not_found"


class InvalidRequest(DomainError):
    """The command's input is wrong: nothing was recorded (HTTP 400/422)."""

    code = "invalid_request"
