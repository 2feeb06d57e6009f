"""API tokens: create, authenticate, revoke. Only SHA-256 hashes are recorded."""

from __future__ import annotations

import hashlib
import secrets

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.actors import Actor, Role
from domain.errors import Conflict, NotFound
from domain.ids import token_id
from domain.tokens import ApiToken

__all__ = ["create_token", "authenticate", "revoke_token", "TOKEN_PREFIX"]

TOKEN_PREFIX = "clt_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(app: Application, actor: Actor, *, name: str, role: Role) -> str:
    """A new bearer token for ``name`` with ``role``; the plaintext is returned once, never kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        app.save(ApiToken.create(actor=actor, name=name, role=role,
                                 token_hash=_hash(token)))
    except IntegrityError:  # pragma: no cover - 256 random bits do not collide
        raise Conflict("token collision; try again") from None
    return token


def authenticate(app: Application, token: str) -> Actor | None:
    """The actor a presented token stands for, or None if unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    try:
        record: ApiToken = app.repository.get(token_id(_hash(token)))
    except AggregateNotFoundError:
        return None
    if not isinstance(record, ApiToken) or not record.active:
        return None
    return Actor(record.name, record.role)


def revoke_token(app: Application, actor: Actor, token: str) -> None:
    try:
        record: ApiToken = app.repository.get(token_id(_hash(token)))
    except AggregateNotFoundError:
        raise NotFound("no such token") from None
    record.revoke(actor)
    app.save(record)
