"""Expiry notices (30, 7 and 1 days before notAfter by default): each an event on an
``ExpiryNotice`` aggregate whose id derives from (certificate, threshold), so it is
recorded once per certificate and threshold, also across restarts, with two schedulers
at once and when a run is repeated: the second save of one id conflicts and records
nothing.

A run is incremental: it asks the certificate index (a read model, through
:class:`ExpiryIndex`) only for certificates that *became due* since the last run (their
notAfter minus a threshold passed between the last run and now), and for certificates
issued since the last run that are due already; then it stores how far it looked (a
forward-only conditional write). A certificate that crosses several thresholds in one
run (a late first run, a long outage) is told only the nearest one. Revoked certificates
(renewed: superseded) are not in the index's valid rows: no notice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ca.applications.event_log import EventLog
from ca.applications.ports import Clock
from domain.actors import SYSTEM
from domain.expiry import ExpiryNotice

__all__ = ["ExpiryNotices", "ExpiryIndex", "DueCertificate", "Progress", "NoticeRun"]

log = logging.getLogger("certledger.notices")
DAY = 86400
BATCH = 500


@dataclass(frozen=True, slots=True)
class DueCertificate:
    certificate_id: UUID
    not_after: int          # Unix seconds
    account_id: str | None
    portal: str


@dataclass(frozen=True, slots=True)
class Progress:
    checked_up_to: int      # Unix seconds: the time of the last run
    issued_position: int    # the index's last issuance the last run saw


@dataclass(frozen=True, slots=True)
class NoticeRun:
    due: int                # certificates found due
    sent: int               # notices recorded by this run (others: there already)


class ExpiryIndex(Protocol):
    """What the job reads and writes in the read-model store
    (implemented by ``projections.expiry_index.ExpiryIndexStore``)."""

    def due(self, after: int, until: int) -> list[DueCertificate]:
        """Valid (issued or suspended) certificates with ``after < notAfter <= until``."""
        ...

    def issued_since(self, position: int, upto: int, after: int,
                     until: int) -> list[DueCertificate]:
        """Those of :meth:`due` issued at index positions in (``position``, ``upto``]."""
        ...

    def last_issued_position(self) -> int: ...

    def progress(self, name: str) -> Progress | None: ...

    def advance(self, name: str, before: Progress | None, after: Progress) -> bool:
        """Store ``after`` if the stored progress is still ``before`` (False: another
        run moved it first)."""
        ...


class ExpiryNotices:
    name = "expiry-notices"

    def __init__(self, log: EventLog, index: ExpiryIndex, clock: Clock,
                 thresholds: Sequence[int] = (30, 7, 1)) -> None:
        if not thresholds or any(t <= 0 for t in thresholds):
            raise ValueError("expiry notice thresholds are whole days above 0")
        self._log = log
        self._index = index
        self._clock = clock
        self.thresholds = tuple(sorted(set(thresholds)))

    def run(self) -> NoticeRun:
        now = self._clock()
        now_s = int(now.timestamp())
        before = self._index.progress(self.name)
        top = self._index.last_issued_position()
        chosen: dict[UUID, tuple[int, DueCertificate]] = {}
        for days in self.thresholds:  # nearest first: a certificate is told that one
            until = now_s + days * DAY
            if before is None:
                found = self._index.due(now_s, until)
            else:
                crossed_from = max(before.checked_up_to + days * DAY, now_s)
                found = self._index.due(crossed_from, until) if crossed_from < until else []
                found += self._index.issued_since(before.issued_position, top, now_s, until)
            for due in found:
                chosen.setdefault(due.certificate_id, (days, due))
        sent = self._send(now, list(chosen.values()))
        self._index.advance(self.name, before, Progress(now_s, top))
        if chosen:
            log.info("expiry notices: %d due, %d recorded", len(chosen), sent)
        return NoticeRun(len(chosen), sent)

    def _send(self, now: datetime, due: list[tuple[int, DueCertificate]]) -> int:
        def notice(days: int, item: DueCertificate) -> ExpiryNotice:
            return ExpiryNotice.send(
                actor=SYSTEM, at=now, certificate_id=item.certificate_id, threshold_days=days,
                not_after=datetime.fromtimestamp(item.not_after, UTC),
                account_id=item.account_id, portal=item.portal)

        sent = 0
        for start in range(0, len(due), BATCH):
            batch = due[start:start + BATCH]
            try:
                self._log.save(*[notice(days, item) for days, item in batch])
                sent += len(batch)
                continue
            except IntegrityError:  # some recorded already (another run): one by one
                pass
            for days, item in batch:  # fresh aggregates: a failed save spent the events
                try:
                    self._log.save(notice(days, item))
                    sent += 1
                except IntegrityError:
                    continue
        return sent
