"""API tokens: only the SHA-256 of a token is ever recorded; its id derives from that hash."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import Actor, Role
from domain.errors import Conflict, IllegalTransition
from domain.events import ActorCreated, ActorEvent, who
from domain.ids import token_id
from domain.topics import stable_topics

__all__ = ["ApiToken"]


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
        self.role = Role(role)
        self.token_hash = token_hash
        self.active = True

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        return token_id(token_hash)

    @classmethod
    def create(cls, *, actor: Actor, name: str, role: Role, token_hash: str) -> ApiToken:
        """A token for ``name`` in ``role``; the system role is the CA's own and is never
        given to a token."""
        if role is Role.SYSTEM:
            raise Conflict("the system role cannot be given to a token", code="bad_role")
        return cls._create(cls.Created, **who(actor), name=name, role=role.value,
                           token_hash=token_hash)

    def revoke(self, actor: Actor) -> None:
        if not self.active:
            raise IllegalTransition("the token is already revoked")
        self.trigger_event(self.Revoked, **who(actor))
