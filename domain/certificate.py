"""The Certificate aggregate: one subscriber certificate from application to revocation.

It is born when somebody applies, long before a serial number exists, and every
step after that is an event on it. The aggregate decides only what may happen
next; building and signing the certificate is the CA's job (``ca/``).

States::

    APPLIED ──approve──▶ APPROVED ──issue──▶ ISSUED ◀──resume── SUSPENDED
       │                                       │ └──suspend──────▶ │
       └─reject─▶ REJECTED                     └──revoke──▶ REVOKED ◀┘

Dual certificates (双证书): a signing and an encryption certificate for one subject are two
Certificate aggregates whose Applied events carry the same pair id; each one's id is
derived from the pair id and its role, and the pair is approved, rejected and issued as one
(both aggregates saved together), never half by half.
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.actors import DEFAULT_PORTAL, Actor
from domain.certificate_rules import (
    APPLICANT_CSR,
    ENCRYPTION,
    MAX_REASON_LENGTH,
    PAIR_ROLES,
    SIGNING,
    ApplicationKind,
    CertificateRules,
    PairRole,
    RevocationSource,
    Status,
)
from domain.errors import IllegalTransition
from domain.events import ActorCreated, ActorEvent, who
from domain.reasons import RevocationReason
from domain.topics import stable_topics
from domain.unlock import UNLOCKED, LockState, UnlockState

__all__ = ["Certificate", "Status", "PairRole", "PAIR_ROLES", "SIGNING", "ENCRYPTION",
           "APPLICANT_CSR", "MAX_REASON_LENGTH", "ApplicationKind", "RevocationSource"]


@stable_topics("certledger:Certificate")
class Certificate(Aggregate, CertificateRules, created_event_name="Applied"):

    class Applied(ActorCreated):
        TOPIC = "certledger:Certificate.Applied:v1"
        issuer: str
        profile: str
        subject: dict[str, Any]
        csr_der: bytes
        key_algorithm: str
        validity_days: int
        account_id: str | None
        predecessor_id: UUID | None
        # Added later, with defaults, so events stored before them still decode.
        pair_id: UUID | None = None         # dual certificates: the pair both halves share
        pair_role: str | None = None        # "signing" or "encryption" within the pair
        key_source: str = APPLICANT_CSR     # who made the key pair (room for KMC escrow)
        csr_signer_id: str | None = None    # SM2 only: the signer ID that verified the CSR
        portal: str = DEFAULT_PORTAL        # the RA portal it belongs to (of the applicant)
        kind: str = ApplicationKind.NEW.value  # new, renew, change, reapply
        terms_version: str | None = None    # the subscriber terms accepted
        approvals_required: int = 1         # distinct approvers the profile needs

    class Endorsed(ActorEvent):
        """An approval before the last of the ``approvals_required`` (status unchanged)."""

        TOPIC = "certledger:Certificate.Endorsed:v1"
        comment: str
        approvals: int      # approvals so far, this one included
        required: int

        def apply(self, aggregate: Certificate) -> None:
            aggregate.approvals.append(self.actor_id)

    class Approved(ActorEvent):
        TOPIC = "certledger:Certificate.Approved:v1"
        comment: str = ""

        def apply(self, aggregate: Certificate) -> None:
            aggregate.status = Status.APPROVED
            aggregate.approvals.append(self.actor_id)

    class Rejected(ActorEvent):
        TOPIC = "certledger:Certificate.Rejected:v1"
        reason: str

        def apply(self, aggregate: Certificate) -> None:
            aggregate.status = Status.REJECTED
            aggregate.rejection_reason = self.reason

    class Issued(ActorEvent):
        TOPIC = "certledger:Certificate.Issued:v1"
        serial_number: int
        not_before: datetime
        not_after: datetime
        certificate_der: bytes
        csr_signer_id: str | None  # SM2 only: the signer ID that verified the CSR

        def apply(self, aggregate: Certificate) -> None:
            aggregate.status = Status.ISSUED
            aggregate.serial_number = self.serial_number
            aggregate.not_before = self.not_before
            aggregate.not_after = self.not_after
            aggregate.certificate_der = self.certificate_der

    class Suspended(ActorEvent):
        """On hold: listed with reason certificateHold until resumed or revoked."""

        TOPIC = "certledger:Certificate.Suspended:v1"
        comment: str

        def apply(self, aggregate: Certificate) -> None:
            aggregate.status = Status.SUSPENDED
            aggregate.suspended_at = self.timestamp

    class Resumed(ActorEvent):
        TOPIC = "certledger:Certificate.Resumed:v1"
        comment: str

        def apply(self, aggregate: Certificate) -> None:
            aggregate.status = Status.ISSUED
            aggregate.suspended_at = None

    class Revoked(ActorEvent):
        TOPIC = "certledger:Certificate.Revoked:v1"
        reason: int  # RFC 5280 CRLReason code
        revocation_time: datetime
        invalidity_date: datetime | None
        comment: str
        requested_by: str | None = None     # RevocationSource; None: before it was recorded
        superseded_by: UUID | None = None   # the successor whose issuance revoked this one

        def apply(self, aggregate: Certificate) -> None:
            aggregate.status = Status.REVOKED
            aggregate.revocation_source = self.requested_by
            aggregate.superseded_by = self.superseded_by
            aggregate.revocation_reason = RevocationReason(self.reason)
            aggregate.revocation_time = self.revocation_time
            aggregate.invalidity_date = self.invalidity_date

    def __init__(self, *, actor_id: str, actor_role: str, issuer: str, profile: str,
                 subject: dict[str, Any], csr_der: bytes, key_algorithm: str,
                 validity_days: int, account_id: str | None,
                 predecessor_id: UUID | None, pair_id: UUID | None = None,
                 pair_role: str | None = None, key_source: str = APPLICANT_CSR,
                 csr_signer_id: str | None = None, portal: str = DEFAULT_PORTAL,
                 kind: str = ApplicationKind.NEW.value, terms_version: str | None = None,
                 approvals_required: int = 1) -> None:
        self.applied_by = actor_id
        self.kind = ApplicationKind(kind)
        self.terms_version = terms_version
        self.approvals_required = approvals_required
        self.approvals: list[str] = []
        self.revocation_source: str | None = None
        self.superseded_by: UUID | None = None
        self.portal = portal
        self.issuer = issuer
        self.profile = profile
        self.subject = subject
        self.csr_der = csr_der
        self.key_algorithm = key_algorithm
        self.validity_days = validity_days
        self.account_id = account_id
        self.predecessor_id = predecessor_id
        self.pair_id = pair_id
        self.pair_role = PairRole(pair_role) if pair_role is not None else None
        self.key_source = key_source
        self.csr_signer_id = csr_signer_id
        self.status = Status.APPLIED
        self.rejection_reason: str | None = None
        self.serial_number: int | None = None
        self.not_before: datetime | None = None
        self.not_after: datetime | None = None
        self.certificate_der: bytes | None = None
        self.suspended_at: datetime | None = None
        self.revocation_reason: RevocationReason | None = None
        self.revocation_time: datetime | None = None
        self.invalidity_date: datetime | None = None

    # ---- commands -------------------------------------------------------------------------

    @classmethod
    def apply_for(cls, *, actor: Actor, at: datetime, issuer: str, profile: str,
                  subject: dict[str, Any], csr_der: bytes, key_algorithm: str,
                  validity_days: int, account_id: str | None = None,
                  predecessor_id: UUID | None = None, pair_id: UUID | None = None,
                  pair_role: PairRole | None = None, key_source: str = APPLICANT_CSR,
                  csr_signer_id: str | None = None, portal: str = DEFAULT_PORTAL,
                  certificate_id: UUID | None = None,
                  kind: ApplicationKind = ApplicationKind.NEW,
                  terms_version: str | None = None,
                  approvals_required: int = 1) -> Certificate:
        """A new application in ``portal``, with ``certificate_id`` if given (else a new
        one). A half of a pair gets the id derived from the pair and its role."""
        if (pair_id is None) != (pair_role is None):
            raise ValueError("a pair member needs a pair id and a role")
        if (kind is ApplicationKind.NEW) != (predecessor_id is None):
            raise ValueError("a new application has no predecessor; any other kind has one")
        if pair_id and pair_role:
            certificate_id = cls.pair_member_id(pair_id, PairRole(pair_role))
        return cls._create(cls.Applied, id=certificate_id, timestamp=at, **who(actor),
                           issuer=issuer, profile=profile, subject=subject, csr_der=csr_der,
                           key_algorithm=key_algorithm, validity_days=validity_days,
                           account_id=account_id, predecessor_id=predecessor_id, pair_id=pair_id,
                           pair_role=PairRole(pair_role).value if pair_role else None,
                           key_source=key_source, csr_signer_id=csr_signer_id,
                           portal=portal, kind=kind.value, terms_version=terms_version,
                           approvals_required=approvals_required)

    @staticmethod
    def pair_member_id(pair_id: UUID, role: PairRole | str) -> UUID:
        """The id of the ``role`` half of pair ``pair_id``: the pair id locates both halves."""
        return uuid5(pair_id, PairRole(role).value)

    @property
    def pair_partner_id(self) -> UUID | None:
        """The other half of this certificate's pair (None if it is not in a pair)."""
        if self.pair_id is None or self.pair_role is None:
            return None
        return self.pair_member_id(self.pair_id, self.pair_role.partner)

    def approve(self, actor: Actor, at: datetime, *, pair_id: UUID | None = None,
                comment: str = "") -> None:
        """One approval: the last of ``approvals_required`` approves, others endorse."""
        self.check_pair("approve", pair_id)
        self.check_status("approve", Status.APPLIED)
        self.check_reviewer(actor)
        count = len(self.approvals) + 1
        if count < self.approvals_required:
            self.trigger_event(self.Endorsed, timestamp=at, comment=comment, approvals=count,
                               required=self.approvals_required, **who(actor))
        else:
            self.trigger_event(self.Approved, timestamp=at, comment=comment, **who(actor))

    def reject(self, actor: Actor, at: datetime, reason: str, *,
               pair_id: UUID | None = None) -> None:
        self.check_pair("reject", pair_id)
        self.check_status("reject", Status.APPLIED)
        self.check_rejection_reason(reason)
        if actor.id == self.applied_by:
            raise IllegalTransition("whoever submitted an application may not review it",
                                    code="own_application")
        self.trigger_event(self.Rejected, timestamp=at, reason=reason, **who(actor))

    def issue(self, actor: Actor, at: datetime, *, serial_number: int, not_before: datetime,
              not_after: datetime, certificate_der: bytes,
              csr_signer_id: str | None = None, pair_id: UUID | None = None) -> None:
        self.check_pair("issue", pair_id)
        self.check_status("issue", Status.APPROVED)
        self.trigger_event(self.Issued, timestamp=at, serial_number=serial_number,
                           not_before=not_before, not_after=not_after,
                           certificate_der=certificate_der, csr_signer_id=csr_signer_id,
                           **who(actor))

    def suspend(self, actor: Actor, at: datetime, comment: str = "") -> None:
        self.check_status("suspend", Status.ISSUED)
        self.check_not_expired("suspend", at)
        self.trigger_event(self.Suspended, timestamp=at, comment=comment, **who(actor))

    def resume(self, actor: Actor, at: datetime, comment: str = "") -> None:
        self.check_status("resume", Status.SUSPENDED)
        self.check_not_expired("resume", at)
        self.trigger_event(self.Resumed, timestamp=at, comment=comment, **who(actor))

    def revoke(self, actor: Actor, at: datetime, reason: RevocationReason,
               invalidity_date: datetime | None = None, comment: str = "",
               requested_by: RevocationSource = RevocationSource.RA,
               superseded_by: UUID | None = None) -> None:
        self.check_status("revoke", Status.ISSUED, Status.SUSPENDED)
        self.check_not_expired("revoke", at)
        if reason in (RevocationReason.CERTIFICATE_HOLD, RevocationReason.REMOVE_FROM_CRL):
            raise IllegalTransition(f"{reason.rfc_name} is not a revocation reason",
                                    code="invalid_reason")
        self.check_invalidity_date(invalidity_date, at)
        self.trigger_event(self.Revoked, timestamp=at, reason=int(reason), revocation_time=at,
                           invalidity_date=invalidity_date, comment=comment,
                           requested_by=requested_by.value, superseded_by=superseded_by,
                           **who(actor))

    def supersede(self, actor: Actor, at: datetime, *, successor_id: UUID,
                  kind: ApplicationKind) -> None:
        """Revoke this certificate because its successor (``kind``) is issued: reason
        superseded, or affiliationChanged for a change of subject. Nothing if it is no
        longer valid (revoked or expired already)."""
        if self.valid_at(at):
            self.revoke(actor, at, kind.supersession_reason, comment=f"{kind.value}: "
                        f"superseded by {successor_id}",
                        requested_by=RevocationSource.SUPERSEDED, superseded_by=successor_id)

    # ---- PIN unlock (解锁, seed 002): the rules are in domain/unlock.py ------------------
    # A certificate without unlock events has the class default: its key is not locked.
    unlock_state: UnlockState = UNLOCKED

    class LockReported(ActorEvent):
        """The USB key holding this certificate's private key locked itself (wrong PINs)."""

        TOPIC = "certledger:Certificate.LockReported:v1"
        key_serial: str | None
        comment: str = ""

        def apply(self, aggregate: Certificate) -> None:
            aggregate.unlock_state = UnlockState(LockState.LOCKED, key_serial=self.key_serial)

    class UnlockRequested(ActorEvent):
        TOPIC = "certledger:Certificate.UnlockRequested:v1"
        key_serial: str | None
        comment: str = ""

        def apply(self, aggregate: Certificate) -> None:
            aggregate.unlock_state = replace(aggregate.unlock_state, state=LockState.REQUESTED,
                                             rejection_reason=None)

    class UnlockApproved(ActorEvent):
        """An officer approved the unlock: a one-time code, recorded only as its HMAC."""

        TOPIC = "certledger:Certificate.UnlockApproved:v1"
        code_hmac: str          # hex HMAC-SHA256 of the code under the server key hmac_key
        hmac_key: str
        expires_at: datetime
        approval_id: str | None = None  # the approving request's id (a retry finds it)

        def apply(self, aggregate: Certificate) -> None:
            aggregate.unlock_state = replace(
                aggregate.unlock_state, state=LockState.APPROVED, code_hmac=self.code_hmac,
                expires_at=self.expires_at, failures=0, approval_id=self.approval_id)

    class UnlockRejected(ActorEvent):
        TOPIC = "certledger:Certificate.UnlockRejected:v1"
        reason: str

        def apply(self, aggregate: Certificate) -> None:
            aggregate.unlock_state = replace(
                aggregate.unlock_state, state=LockState.LOCKED, code_hmac=None,
                expires_at=None, failures=0, approval_id=None, rejection_reason=self.reason)

    class UnlockCodeFailed(ActorEvent):
        """A wrong unlock code was tried; ``failures``: wrong tries of this code so far."""

        TOPIC = "certledger:Certificate.UnlockCodeFailed:v1"
        failures: int

        def apply(self, aggregate: Certificate) -> None:
            aggregate.unlock_state = replace(aggregate.unlock_state, failures=self.failures)

    class Unlocked(ActorEvent):
        TOPIC = "certledger:Certificate.Unlocked:v1"

        def apply(self, aggregate: Certificate) -> None:
            aggregate.unlock_state = UNLOCKED

    def report_lock(self, actor: Actor, at: datetime, key_serial: str | None,
                    comment: str = "") -> None:
        self.check_status("report a locked key of", Status.ISSUED, Status.SUSPENDED)
        self.check_not_expired("report a locked key of", at)
        self.unlock_state.check_report()
        self.trigger_event(self.LockReported, timestamp=at, key_serial=key_serial,
                           comment=comment, **who(actor))

    def request_unlock(self, actor: Actor, at: datetime, key_serial: str | None,
                       comment: str = "") -> None:
        self.check_status("unlock the key of", Status.ISSUED, Status.SUSPENDED)
        self.unlock_state.check_request(key_serial)
        self.trigger_event(self.UnlockRequested, timestamp=at, key_serial=key_serial,
                           comment=comment, **who(actor))

    def approve_unlock(self, actor: Actor, at: datetime, *, code_hmac: str, hmac_key: str,
                       expires_at: datetime, approval_id: str | None) -> None:
        self.unlock_state.check_review("approve", at)
        self.trigger_event(self.UnlockApproved, timestamp=at, code_hmac=code_hmac,
                           hmac_key=hmac_key, expires_at=expires_at, approval_id=approval_id,
                           **who(actor))

    def reject_unlock(self, actor: Actor, at: datetime, reason: str) -> None:
        self.check_rejection_reason(reason)
        self.unlock_state.check_review("reject", at)
        self.trigger_event(self.UnlockRejected, timestamp=at, reason=reason, **who(actor))

    def redeem_unlock(self, actor: Actor, at: datetime, code_hmac: str) -> bool:
        """Unlock with the code whose HMAC is ``code_hmac``: True and ``Unlocked`` when it
        is right; False and a counted ``UnlockCodeFailed`` when it is wrong."""
        state = self.unlock_state
        state.check_redeem(at)
        assert state.code_hmac is not None
        if hmac.compare_digest(state.code_hmac, code_hmac):
            self.trigger_event(self.Unlocked, timestamp=at, **who(actor))
            return True
        self.trigger_event(self.UnlockCodeFailed, timestamp=at, failures=state.failures + 1,
                           **who(actor))
        return False
