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

from eventsourcing.persistence import IntegrityError

from domain.errors import Conflict

__all__ = ["retry_on_conflict", "ATTEMPTS"]

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
