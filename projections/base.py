"""What a read model is: a named consumer of the event log with its own tables.

The runner (``projections.runner``) reads events in log order and, for each
batch, opens one transaction in which it calls :meth:`ReadModel.process` for
every event and then records the read model's position; so rows and position
commit together (exactly once), and a crash between events loses or doubles
nothing. ``process`` must be deterministic given the event and the rows, so a
rebuild from zero gives the same content.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

from projections.db import Transaction

__all__ = ["ReadModel", "Stored"]


class Stored(NamedTuple):
    """What a model that reads events as stored (``ReadModel.stored``) is handed: the
    notification exactly as recorded, and its decoded event on demand."""

    notification: Any  # id, originator_id, originator_version, topic, state
    decoder: Callable[[Any], Any]

    def decode(self) -> Any:
        return self.decoder(self.notification)


class ReadModel(ABC):
    #: the read model's name: its tracking key and its name on the command line
    name: ClassVar[str]
    #: tables a rebuild empties before replaying from zero
    tables: ClassVar[tuple[str, ...]]
    #: tables it writes that a rebuild keeps (a replay check compares them too)
    kept_tables: ClassVar[tuple[str, ...]] = ()
    #: event topics it wants (others advance its position and nothing more)
    topics: ClassVar[frozenset[str]]
    #: every event, whatever its topic (then ``topics`` is not looked at)
    every_topic: ClassVar[bool] = False
    #: ``process`` gets a :class:`Stored` (the event as recorded) instead of the event
    stored: ClassVar[bool] = False

    def wants(self, topic: str) -> bool:
        return self.every_topic or topic in self.topics

    @abstractmethod
    def process(self, tx: Transaction, event: Any, position: int) -> None:
        """Apply one event (already decoded to its domain class) inside ``tx``."""

    def before_commit(self, tx: Transaction) -> None:  # noqa: B027 - optional hook
        """Called inside the transaction after the batch's last ``process``, before the
        position moves (to write what the model kept in memory for the batch)."""

    def after_commit(self) -> None:  # noqa: B027 - optional hook
        """Called after a batch commits (e.g. to wake a CRL publisher)."""

    def after_rollback(self) -> None:  # noqa: B027 - optional hook
        """Called when a batch's transaction rolled back: forget what ``process`` noted
        for ``after_commit`` (the batch will be processed again, here or elsewhere)."""
