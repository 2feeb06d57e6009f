"""Bearer-token authentication and role checks for the RA API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from api.context import ledger
from api.errors import ApiError
from domain.actors import Actor, Role

__all__ = ["require", "current_actor"]

F = TypeVar("F", bound=Callable[..., Any])


def require(*roles: Role) -> Callable[[F], F]:
    """Let the view run only for a valid token whose role is one of ``roles`` (admin always)."""
    allowed = set(roles) | {Role.ADMIN}

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(401, "unauthenticated", "send 'Authorization: Bearer <token>'")
            actor = ledger().tokens.authenticate(token.strip())
            if actor is None:
                raise ApiError(401, "bad_token", "the token is unknown or revoked")
            if actor.role not in allowed:
                raise ApiError(403, "forbidden",
                               f"role {actor.role.value} may not do this "
                               f"(needs {', '.join(sorted(r.value for r in allowed))})")
            g.actor = actor
            return view(*args, **kwargs)

        wrapper.required_roles = sorted(r.value for r in allowed)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def current_actor() -> Actor:
    return g.actor  # type: ignore[no-any-return]
