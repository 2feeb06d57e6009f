"""API tokens: only the SHA-256 of a token is ever recorded; its id derives from that hash."""

from __future__ import annotations

import unicodedata
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.errors import IllegalTransition, InvalidRequest
from domain.ids import token_id
from domain.topics import stable_topics

__all__ = ["ApiToken", "MAX_NAME_LENGTH"]

MAX_NAME_LENGTH = 200  # a token's name is the actor id of what it does (domain.actors)


@stable_topics("certledger:ApiToken")
class ApiToken(Aggregate):

    class Created(Aggregate.Created):
        TOPIC = "certledger:ApiToken.Created:v1"
        actor_id: str
        actor_role: str
        name: str
        role: str
        token_hash: str  # hex SHA-256 of the bearer token

    class Revoked(Aggregate.Event):
        TOPIC = "certledger:ApiToken.Revoked:v1"
        actor_id: str
        actor_role: str

        def apply(self, aggregate: ApiToken) -> None:
            aggregate.active = False

    def __init__(self, *, actor_id: str, actor_role: str, name: str, role: str,
                 token_hash: str) -> None:
        self.name = name
        self.role = role
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
    def create(cls, *, actor: Actor, name: str, role: str, token_hash: str) -> ApiToken:
        cls.check_name(name)
        return cls._create(cls.Created, actor_id=actor.id, actor_role=actor.role.value,
                           name=name, role=role, token_hash=token_hash)

    def revoke(self, actor: Actor) -> None:
        if not self.active:
            raise IllegalTransition("the token is already revoked")
        self.trigger_event(self.Revoked, actor_id=actor.id, actor_role=actor.role.value)
