"""Commands on single certificates: apply, approve, reject, issue, suspend, resume, revoke.

Each command loads the certificate, calls one method on it, and saves; a save that
loses a race is tried again from the load (``retry_on_conflict``), so a rule broken by
the winner's change is a 409, never a lost or doubled event.

Every application belongs to a portal (the applicant's); an actor acts only on the
certificates of the portals it sees, and one outside them is "not found", exactly as
one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ca.applications.conflicts import retry_on_conflict, save_new
from ca.applications.event_log import EventLog
from ca.applications.issuing import Issuing
from ca.applications.order_numbers import OrderNumbers
from ca.applications.orders import place_order
from ca.applications.ports import PortalDirectory
from ca.applications.succession import Succession, parse_id
from ca.policy.profiles import get_profile
from domain.actors import Actor
from domain.certificate import ApplicationKind, Certificate, RevocationSource
from domain.certificate_rules import clean_comment
from domain.errors import NotFound
from domain.orders_data import check_delivery
from domain.reasons import RevocationReason

__all__ = ["Certificates", "not_found"]


def not_found(certificate_id: UUID | None) -> NotFound:
    return NotFound(f"no certificate or application {certificate_id}",
                    code="certificate_not_found")


class Certificates:
    def __init__(self, log: EventLog, issuing: Issuing, portals: PortalDirectory) -> None:
        self._log = log
        self._issuing = issuing
        self._portals = portals
        self._clock = issuing.clock
        self.succession = Succession(log)
        self.order_numbers = OrderNumbers(log)

    def apply(self, actor: Actor, *, profile: str, csr: str | bytes, subject: Any,
              issuer: str | None = None, validity_days: int | None = None,
              account_id: str | None = None, portal: str | None = None,
              new_id: UUID | None = None, kind: object = None,
              predecessor_id: object = None, terms_version: str | None = None,
              media: Any = None, shipping: Any = None) -> UUID:
        """Record an application of ``kind`` (new, renew, change, reapply) in the actor's
        portal (``portal``: for an actor that sees several) and its order, as ``new_id``
        if given: a retried request finds what it made. Everything is checked before
        anything is recorded."""
        in_portal = self._portals.resolve(actor, portal)
        application_kind = ApplicationKind.parse(kind)
        check_delivery(media, shipping)  # bad input is a 400 before anything is read
        predecessor = None if predecessor_id is None else parse_id(
            predecessor_id, "certificate or application", "certificate_not_found")

        def draft() -> list[Aggregate]:
            at = self._clock()
            account = self.succession.account(actor, account_id, in_portal)
            self.succession.check_application(
                actor, at, account_id=account, profile=get_profile(profile).name,
                kind=application_kind, predecessor_id=predecessor)
            certificate, _ = self._issuing.draft(
                actor, at, profile=profile, csr=csr, subject=subject,
                issuer=issuer, validity_days=validity_days, account_id=account,
                portal=in_portal, certificate_id=new_id, kind=application_kind,
                predecessor_id=predecessor, terms_version=terms_version)
            return [certificate, *place_order(actor, at, certificate, self.order_numbers,
                                              media=media, shipping=shipping)]

        def attempt() -> UUID:  # a number taken meanwhile fails the save: the next one
            return save_new(self._log, draft, new_id, lambda: self.get_for(actor, new_id))

        return retry_on_conflict(attempt, what="order numbering")

    def get(self, certificate_id: UUID) -> Certificate:
        """The certificate, whatever its portal (for the CA itself and for tests)."""
        certificate = self._log.load(certificate_id, Certificate)
        if certificate is None:
            raise not_found(certificate_id)
        return certificate

    def get_for(self, actor: Actor, certificate_id: UUID | None) -> Certificate:
        """The certificate if ``actor`` may see it; NotFound (as for none) otherwise."""
        certificate = self._log.load(certificate_id, Certificate) if certificate_id else None
        if certificate is None or not actor.sees(certificate.portal):
            raise not_found(certificate_id)
        return certificate

    def approve(self, actor: Actor, certificate_id: UUID, comment: str = "") -> Certificate:
        """One approval (the profile may need more, by other officers)."""
        comment = clean_comment(comment)
        return self._update(actor, certificate_id,
                            lambda c: c.approve(actor, self._clock(), comment=comment))

    def reject(self, actor: Actor, certificate_id: UUID, reason: str) -> Certificate:
        Certificate.check_rejection_reason(reason)  # bad input is 400 before anything loads
        return self._update(actor, certificate_id,
                            lambda c: c.reject(actor, self._clock(), reason))

    def issue(self, actor: Actor, certificate_id: UUID) -> Certificate:
        """Sign the approved application; the serial is claimed atomically with the event."""
        def issue(certificate: Certificate) -> list[Aggregate]:
            now = self._clock()
            usage = self.succession.check_issue(certificate, now)  # before signing
            claim = self._issuing.sign(actor, certificate, now)
            return [claim, *self.succession.on_issue(actor, certificate, now, usage)]

        return self._update(actor, certificate_id, issue)

    def cancel(self, actor: Actor, certificate_id: UUID, comment: str = "") -> Certificate:
        """Revocation the subscriber asked for (注销): cessationOfOperation."""
        comment = clean_comment(comment)
        return self._update(actor, certificate_id, lambda c: c.revoke(
            actor, self._clock(), RevocationReason.CESSATION_OF_OPERATION, comment=comment,
            requested_by=RevocationSource.SUBSCRIBER))

    def revoke(self, actor: Actor, certificate_id: UUID, reason: RevocationReason,
               invalidity_date: datetime | None = None, comment: str = "") -> Certificate:
        return self._update(actor, certificate_id, lambda c: c.revoke(
            actor, self._clock(), reason, invalidity_date=invalidity_date, comment=comment))

    def suspend(self, actor: Actor, certificate_id: UUID, comment: str = "") -> Certificate:
        return self._update(actor, certificate_id,
                            lambda c: c.suspend(actor, self._clock(), comment))

    def resume(self, actor: Actor, certificate_id: UUID, comment: str = "") -> Certificate:
        return self._update(actor, certificate_id,
                            lambda c: c.resume(actor, self._clock(), comment))

    def _update(self, actor: Actor, certificate_id: UUID,
                command: Callable[[Certificate], list[Aggregate] | None]) -> Certificate:
        def attempt() -> Certificate:
            certificate = self.get_for(actor, certificate_id)
            others = command(certificate) or []
            self._log.save(certificate, *others)
            return certificate

        return retry_on_conflict(attempt, what="the certificate")
