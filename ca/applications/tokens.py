"""API tokens: create, authenticate, list, revoke. Only SHA-256 hashes are recorded.

A token is named by its id (a uuid5 of its hash) wherever it is not presented: the
command line lists and revokes tokens by id, so a secret never has to be an argument.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ca.applications.event_log import EventLog
from ca.applications.ports import Hmac, PortalDirectory
from domain.actors import DEFAULT_PORTAL, Actor, Role
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
    portals: list[str] | None  # None: every portal (an applicant portal of 0.1: default)

    @property
    def scope(self) -> str:
        """The portals it sees, as the command line shows them ("*": every portal)."""
        if self.portals is None:
            return DEFAULT_PORTAL if self.role == Role.APPLICANT_PORTAL.value else "*"
        return ",".join(self.portals)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_id_of(token: str) -> UUID:
    """The id of a token (what ``certledger token list`` shows), from the token itself."""
    return token_id(_hash(token))


class Tokens:
    def __init__(self, log: EventLog, portals: PortalDirectory, derivation: Hmac) -> None:
        self._log = log
        self._portals = portals
        self._derivation = derivation

    def create(self, actor: Actor, *, name: str, role: Role,
               portals: Sequence[str] | None = None, new_id: UUID | None = None) -> str:
        """A new bearer token for ``name`` with ``role`` seeing ``portals`` (None: every
        portal; an applicant portal's: the default portal), which must exist. The
        plaintext is returned, never kept.

        ``new_id`` (a retried request's id, see api/idempotency.py): the token is made
        from it under a server key, not at random, so a retry makes the same token, which
        is found rather than recorded twice, and the answer need not be stored."""
        scope = ApiToken.check_scope(role, portals)
        self._portals.check_exist(scope or ())
        secret = None if new_id is None else self._derivation.digest(b"token:" + new_id.bytes)
        material = secret if secret is not None else secrets.token_bytes(32)
        token = TOKEN_PREFIX + base64.urlsafe_b64encode(material).decode().rstrip("=")
        record = ApiToken.create(actor=actor, name=name, role=role, token_hash=_hash(token),
                                 portals=scope)
        try:
            self._log.save(record)
        except IntegrityError:
            existing = self._log.load(record.id, ApiToken)
            if secret is None or existing is None or existing.role != role.value:
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
            return record.actor()
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
                          e.timestamp, e.portals) for e in created]
