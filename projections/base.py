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
from typing import Any, ClassVar

from projections.db import Transaction

__all__ = ["ReadModel"]


class ReadModel(ABC):
    #: the read model's name: its tracking key and its name on the command line
    name: ClassVar[str]
    #: tables a rebuild empties before replaying from zero
    tables: ClassVar[tuple[str, ...]]
    #: event topics it wants (others advance its position and nothing more)
    topics: ClassVar[frozenset[str]]

    @abstractmethod
    def process(self, tx: Transaction, event: Any, position: int) -> None:
        """Apply one event (already decoded to its domain class) inside ``tx``."""

    def after_commit(self) -> None:  # noqa: B027 - optional hook
        """Called after a batch commits (e.g. to wake a CRL publisher)."""

    def after_rollback(self) -> None:  # noqa: B027 - optional hook
        """Called when a batch's transaction rolled back: forget what ``process`` noted
        for ``after_commit`` (the batch will be processed again, here or elsewhere)."""
