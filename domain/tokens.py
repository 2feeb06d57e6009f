"""API tokens: only the SHA-256 of a token is ever recorded; its id derives from that hash.

A token's scope is the portals its holder may see (``portals``): one for an applicant
portal, a list or every portal (None) for an officer, every portal for an admin or an
auditor. Tokens of release 0.1 have no scope recorded: an applicant-portal token of
then belongs to the default portal, an officer's sees every portal, as before.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import Actor, Role
from domain.errors import IllegalTransition, InvalidRequest
from domain.events import ActorCreated, ActorEvent, who
from domain.ids import token_id
from domain.topics import stable_topics

__all__ = ["ApiToken", "MAX_NAME_LENGTH"]

MAX_NAME_LENGTH = 200  # a token's name is the actor id of what it does (domain.actors)


@stable_topics("certledger:ApiToken")
class ApiToken(Aggregate):

    class Created(ActorCreated):
        TOPIC = "certledger:ApiToken.Created:v1"
        name: str
        role: str
        token_hash: str  # hex SHA-256 of the bearer token
        # Added with a default, so tokens of release 0.1 still decode: None is every
        # portal (an applicant-portal token of then: the default portal).
        portals: list[str] | None = None

    class Revoked(ActorEvent):
        TOPIC = "certledger:ApiToken.Revoked:v1"

        def apply(self, aggregate: ApiToken) -> None:
            aggregate.active = False

    portals: list[str] | None = None

    def __init__(self, *, actor_id: str, actor_role: str, name: str, role: str,
                 token_hash: str, portals: list[str] | None = None) -> None:
        self.name = name
        self.role = role  # text as recorded: Role(role) says whether it is one we know
        self.token_hash = token_hash
        self.portals = None if portals is None else list(portals)
        self.active = True

    def actor(self) -> Actor:
        """The actor the token stands for, with its scope (ValueError if its recorded name,
        role or scope is one no actor may have)."""
        portals = None if self.portals is None else frozenset(self.portals)
        return Actor(self.name, Role(self.role), portals)

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        return token_id(token_hash)

    @staticmethod
    def check_name(name: str) -> None:
        """A name is who holds the token, recorded as the actor of every event it causes:
        1 to 200 characters, not blank, no control characters or surrogates."""
        if not name.strip() or len(name) > MAX_NAME_LENGTH:
            raise InvalidRequest(f"a token name is 1 to {MAX_NAME_LENGTH} characters, "
                                 "not blank", code="bad_token_name")
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
            raise InvalidRequest("a token name may not hold control characters",
                                 code="bad_token_name")

    @staticmethod
    def check_scope(role: Role, portals: Sequence[str] | None) -> list[str] | None:
        """The portals a token of ``role`` may be given (sorted; None: every portal):
        exactly one for an applicant portal, one or more (or every) for an officer,
        every portal for an admin or an auditor."""
        try:
            Actor("scope-check", role, None if portals is None else frozenset(portals))
        except ValueError as exc:
            raise InvalidRequest(f"a {role.value} token cannot have that scope: {exc}",
                                 code="bad_token_scope") from None
        return None if portals is None else sorted(set(portals))

    @classmethod
    def create(cls, *, actor: Actor, name: str, role: Role, token_hash: str,
               portals: Sequence[str] | None = None) -> ApiToken:
        """A token for ``name`` in ``role``, seeing ``portals`` (None: every portal; for
        an applicant portal, the default portal); the system role is the CA's own and is
        never given to a token."""
        cls.check_name(name)
        if role is Role.SYSTEM:
            raise InvalidRequest("the system role cannot be given to a token", code="bad_role")
        scope = cls.check_scope(role, portals)
        return cls._create(cls.Created, **who(actor), name=name, role=role.value,
                           token_hash=token_hash, portals=scope)

    def revoke(self, actor: Actor) -> None:
        if not self.active:
            raise IllegalTransition("the token is already revoked")
        self.trigger_event(self.Revoked, **who(actor))
