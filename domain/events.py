"""What every event says: who did it (actor id and role) and when (the event's timestamp).

Events of every aggregate derive from :class:`ActorEvent` (or :class:`ActorCreated` for
the event that creates the aggregate), so "who" is declared once. The fields are stored
by name: moving them into a base class changes nothing in the stored JSON.
"""

from __future__ import annotations

from typing import TypedDict

from eventsourcing.domain import Aggregate

from domain.actors import Actor, Role

__all__ = ["ActorEvent", "ActorCreated", "Who", "who"]


class _Who:
    actor_id: str
    actor_role: str

    @property
    def actor(self) -> Actor:
        """The actor as recorded (a role a later release no longer knows stays readable
        in ``actor_role``; here it raises)."""
        return Actor(self.actor_id, Role(self.actor_role))


class ActorEvent(Aggregate.Event, _Who):
    """An event on an existing aggregate, by ``actor_id`` in ``actor_role``."""

    actor_id: str
    actor_role: str


class ActorCreated(Aggregate.Created, _Who):
    """The event that creates an aggregate, by ``actor_id`` in ``actor_role``."""

    actor_id: str
    actor_role: str


class Who(TypedDict):
    actor_id: str
    actor_role: str


def who(actor: Actor) -> Who:
    """The event fields that name ``actor``."""
    return {"actor_id": actor.id, "actor_role": actor.role.value}
