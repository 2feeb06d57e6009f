"""Optimistic concurrency, in one place.

Every command loads aggregates, checks its rules on them, and saves. A save that
loses a race (the library's IntegrityError: somebody appended at that version
first, or a claimed unique value is taken) is tried again from the start, so the
rules are checked against the winner's state: a rule broken then is a domain
error (HTTP 409), never a lost or doubled event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ca.applications.event_log import EventLog
from domain.errors import Conflict

__all__ = ["retry_on_conflict", "save_new", "ATTEMPTS"]

T = TypeVar("T")
ATTEMPTS = 8


def retry_on_conflict(attempt: Callable[[], T], *, what: str = "the aggregate",
                      attempts: int = ATTEMPTS) -> T:
    """Run ``attempt`` (load, decide, save) until its save wins; Conflict ``busy`` when
    it loses ``attempts`` times in a row."""
    for _ in range(attempts):
        try:
            return attempt()
        except IntegrityError:
            continue  # lost a race: reload and check the rules again
    raise Conflict(f"{what} is changing too fast; try again", code="busy")


def save_new(log: EventLog, make: Callable[[], list[Aggregate]], new_id: UUID | None,
             existing: Callable[[], object]) -> UUID:
    """Save the aggregates ``make`` builds (the first is the new one) and return its id.

    With ``new_id`` (derived from a request's Idempotency-Key, see api/idempotency.py)
    the new aggregate has that id, so a retried request cannot make it twice: when it
    exists already (before, or saved by a racing twin), ``existing()`` is called (it
    raises NotFound if the caller may not see it) and its id returned; nothing is saved.
    """
    if new_id is not None and log.has(new_id):
        existing()
        return new_id
    aggregates = make()
    try:
        log.save(*aggregates)
    except IntegrityError:
        if new_id is None or not log.has(new_id):
            raise
        existing()
        return new_id
    return aggregates[0].id
