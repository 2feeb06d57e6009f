"""Commands on single certificates: apply, approve, reject, issue, suspend, resume, revoke.

Each command loads the certificate, calls one method on it, and saves; a save that
loses a race is tried again from the load (``retry_on_conflict``), so a rule broken by
the winner's change is a 409, never a lost or doubled event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ca.applications.conflicts import retry_on_conflict
from ca.applications.event_log import EventLog
from ca.applications.issuing import Issuing
from domain.actors import Actor
from domain.certificate import Certificate
from domain.errors import NotFound
from domain.reasons import RevocationReason

__all__ = ["Certificates"]


class Certificates:
    def __init__(self, log: EventLog, issuing: Issuing) -> None:
        self._log = log
        self._issuing = issuing
        self._clock = issuing.clock

    def apply(self, actor: Actor, *, profile: str, csr: str | bytes, subject: Any,
              issuer: str | None = None, validity_days: int | None = None,
              account_id: str | None = None) -> UUID:
        """Record an application. Everything is checked before anything is recorded."""
        certificate, _ = self._issuing.draft(
            actor, self._clock(), profile=profile, csr=csr, subject=subject, issuer=issuer,
            validity_days=validity_days, account_id=account_id)
        self._log.save(certificate)
        return certificate.id

    def get(self, certificate_id: UUID) -> Certificate:
        certificate = self._log.load(certificate_id, Certificate)
        if certificate is None:
            raise NotFound(f"no certificate or application {certificate_id}",
                           code="certificate_not_found")
        return certificate

    def approve(self, actor: Actor, certificate_id: UUID) -> Certificate:
        return self._update(certificate_id, lambda c: c.approve(actor, self._clock()))

    def reject(self, actor: Actor, certificate_id: UUID, reason: str) -> Certificate:
        Certificate.check_rejection_reason(reason)  # bad input is 400 before anything loads
        return self._update(certificate_id, lambda c: c.reject(actor, self._clock(), reason))

    def issue(self, actor: Actor, certificate_id: UUID) -> Certificate:
        """Sign the approved application; the serial is claimed atomically with the event."""
        return self._update(certificate_id,
                            lambda c: [self._issuing.sign(actor, c, self._clock())])

    def revoke(self, actor: Actor, certificate_id: UUID, reason: RevocationReason,
               invalidity_date: datetime | None = None, comment: str = "") -> Certificate:
        return self._update(certificate_id, lambda c: c.revoke(
            actor, self._clock(), reason, invalidity_date=invalidity_date, comment=comment))

    def suspend(self, actor: Actor, certificate_id: UUID, comment: str = "") -> Certificate:
        return self._update(certificate_id, lambda c: c.suspend(actor, self._clock(), comment))

    def resume(self, actor: Actor, certificate_id: UUID, comment: str = "") -> Certificate:
        return self._update(certificate_id, lambda c: c.resume(actor, self._clock(), comment))

    def _update(self, certificate_id: UUID,
                command: Callable[[Certificate], list[Aggregate] | None]) -> Certificate:
        def attempt() -> Certificate:
            certificate = self.get(certificate_id)
            others = command(certificate) or []
            self._log.save(certificate, *others)
            return certificate

        return retry_on_conflict(attempt, what="the certificate")
