"""Stable, explicit topics for aggregates and events.

Stored events name their class by topic. By default that is ``module:QualName``,
so moving or renaming a class would orphan the log; here every aggregate and
event class declares a topic that stays put (``certledger:Certificate.Revoked:v1``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import register_topic

__all__ = ["stable_topics"]

T = TypeVar("T", bound=type)


def stable_topics(topic: str) -> Callable[[T], T]:
    """Give an aggregate class ``topic`` and register the ``TOPIC`` of each of its events.

    Set after the class exists, so the library's own generic ``Created``/``Event``
    classes (which we never trigger) need no topic of their own.
    """

    def decorate(cls: T) -> T:
        cls.TOPIC = topic  # type: ignore[attr-defined]
        register_topic(topic, cls)
        for value in vars(cls).values():
            event_topic = getattr(value, "TOPIC", None)
            if isinstance(value, type) and issubclass(value, CanMutateAggregate) and event_topic:
                register_topic(event_topic, value)
        return cls

    return decorate
