"""API tokens: create, authenticate, list, revoke. Only SHA-256 hashes are recorded.

A token is named by its id (a uuid5 of its hash) wherever it is not presented: the
command line lists and revokes tokens by id, so a secret never has to be an argument.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ca.applications.event_log import EventLog
from domain.actors import Actor, Role
from domain.errors import Conflict, NotFound
from domain.ids import token_id
from domain.tokens import ApiToken

__all__ = ["Tokens", "TokenInfo", "TOKEN_PREFIX", "token_id_of"]

TOKEN_PREFIX = "clt_"
log = logging.getLogger("certledger.access")


@dataclass(frozen=True)
class TokenInfo:
    id: UUID
    name: str
    role: str
    active: bool
    created: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_id_of(token: str) -> UUID:
    """The id of a token (what ``certledger token list`` shows), from the token itself."""
    return token_id(_hash(token))


class Tokens:
    def __init__(self, log: EventLog) -> None:
        self._log = log

    def create(self, actor: Actor, *, name: str, role: Role) -> str:
        """A new bearer token for ``name`` with ``role``; the plaintext is returned once,
        never kept."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            self._log.save(ApiToken.create(actor=actor, name=name, role=role,
                                           token_hash=_hash(token)))
        except IntegrityError:  # pragma: no cover - 256 random bits do not collide
            raise Conflict("token collision; try again") from None
        return token

    def authenticate(self, token: str) -> Actor | None:
        """The actor a presented token stands for, or None if unknown or revoked."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            return None
        record = self._log.load(token_id_of(token), ApiToken)
        if record is None or not record.active:
            return None
        try:
            return Actor(record.name, Role(record.role))
        except ValueError:  # recorded before names were checked: the token cannot act
            log.warning("token %s has a name or role no actor may have; refused", record.id)
            return None

    def revoke(self, actor: Actor, ident: UUID) -> None:
        record = self._log.load(ident, ApiToken)
        if record is None:
            raise NotFound("no such token", code="token_not_found")
        record.revoke(actor)
        self._log.save(record)

    def list(self) -> list[TokenInfo]:
        """Every token ever created, in the order of creation (from the log: no secret)."""
        created, revoked = [], set()
        for _, event in self._log.read(topics=[ApiToken.Created.TOPIC,
                                               ApiToken.Revoked.TOPIC]):
            if isinstance(event, ApiToken.Created):
                created.append(event)
            else:
                revoked.add(event.originator_id)
        return [TokenInfo(e.originator_id, e.name, e.role, e.originator_id not in revoked,
                          e.timestamp) for e in created]
