"""API tokens: only the SHA-256 of a token is ever recorded; its id derives from that hash."""

from __future__ import annotations

import unicodedata
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import Actor, Role
from domain.errors import Conflict, IllegalTransition, InvalidRequest
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

    class Revoked(ActorEvent):
        TOPIC = "certledger:ApiToken.Revoked:v1"

        def apply(self, aggregate: ApiToken) -> None:
            aggregate.active = False

    def __init__(self, *, actor_id: str, actor_role: str, name: str, role: str,
                 token_hash: str) -> None:
        self.name = name
        self.role = role  # text as recorded: Role(role) says whether it is one we know
        self.token_hash = token_hash
        self.active = True

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

    @classmethod
    def create(cls, *, actor: Actor, name: str, role: Role, token_hash: str) -> ApiToken:
        """A token for ``name`` in ``role``; the system role is the CA's own and is never
        given to a token."""
        cls.check_name(name)
        if role is Role.SYSTEM:
            raise Conflict("the system role cannot be given to a token", code="bad_role")
        return cls._create(cls.Created, **who(actor), name=name, role=role.value,
                           token_hash=token_hash)

    def revoke(self, actor: Actor) -> None:
        if not self.active:
            raise IllegalTransition("the token is already revoked")
        self.trigger_event(self.Revoked, **who(actor))
