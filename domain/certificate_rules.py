"""What a certificate may do next: its states, the kinds of application, and the guards
the :class:`~domain.certificate.Certificate` aggregate checks before it records anything.

Kinds of application (seeds 000 to 004): ``new`` (新办) names no predecessor; ``renew``
(更新), ``change`` (变更: the enterprise's or the legal person's name) and ``reapply``
(重新申请, after a lost key) name the certificate they follow, of the same account and
profile. Issuing the successor revokes a still valid predecessor in the same save:
reason superseded, or affiliationChanged for a change of subject.

Review (separation of duties): whoever submitted the application never approves it, an
approver approves once, and a profile may need ``approvals_required`` distinct approvers
(ca/policy/orders.py): the approvals before the last are ``Endorsed``, the last one
``Approved``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.actors import Actor
from domain.errors import IllegalTransition, InvalidRequest
from domain.reasons import RevocationReason

__all__ = ["Status", "PairRole", "ApplicationKind", "CertificateRules", "RevocationSource",
           "MAX_REASON_LENGTH", "APPLICANT_CSR", "SIGNING", "ENCRYPTION", "PAIR_ROLES"]

MAX_REASON_LENGTH = 1000
# Where the certified key pair comes from. Only the applicant's own CSR for now; an
# encryption key escrowed by a key management centre (KMC) would be another source.
APPLICANT_CSR = "applicant-csr"


class PairRole(enum.StrEnum):
    """Dual certificates (双证书): one subject, two certificates, two key pairs, one pair
    id; each half has one of these roles (stored in events as its text)."""

    SIGNING = "signing"
    ENCRYPTION = "encryption"

    @property
    def partner(self) -> PairRole:
        return PairRole.ENCRYPTION if self is PairRole.SIGNING else PairRole.SIGNING


SIGNING, ENCRYPTION = PairRole.SIGNING, PairRole.ENCRYPTION
PAIR_ROLES = tuple(PairRole)


class Status(enum.Enum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    ISSUED = "issued"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class ApplicationKind(enum.StrEnum):
    NEW = "new"            # 新办
    RENEW = "renew"        # 更新 / 续订
    CHANGE = "change"      # 变更 (subject: enterprise name, legal person)
    REAPPLY = "reapply"    # 重新申请 (after loss)

    @classmethod
    def parse(cls, value: object) -> ApplicationKind:
        if value is None:
            return cls.NEW
        try:
            return cls(value if isinstance(value, str) else "")
        except ValueError:
            raise InvalidRequest("kind is one of " + ", ".join(k.value for k in cls),
                                 code="bad_application_kind") from None

    @property
    def supersession_reason(self) -> RevocationReason:
        """Why the predecessor is revoked when this successor is issued."""
        if self is ApplicationKind.CHANGE:
            return RevocationReason.AFFILIATION_CHANGED
        return RevocationReason.SUPERSEDED


class RevocationSource(enum.StrEnum):
    """Who asked for a revocation (recorded on ``Revoked``)."""

    RA = "ra"                    # an officer or the portal, for the RA
    SUBSCRIBER = "subscriber"    # 注销: the certificate's holder asked
    SUPERSEDED = "superseded"    # the successor was issued


class CertificateRules:
    """The guards of the Certificate aggregate (state it reads is set by its events)."""

    pair_id: UUID | None
    pair_role: PairRole | None
    status: Status
    not_before: datetime | None
    not_after: datetime | None
    applied_by: str
    approvals: list[str]
    approvals_required: int

    def check_pair(self, command: str, pair_id: UUID | None) -> None:
        """The halves of a pair are approved, rejected and issued together, as the pair."""
        if self.pair_id == pair_id:
            return
        if self.pair_id is not None:
            raise IllegalTransition(
                f"this certificate is the {self.pair_role} half of pair {self.pair_id}: "
                f"{command} the pair", code="pair_member")
        raise IllegalTransition(f"this certificate is not part of pair {pair_id}",
                                code="not_pair_member")

    @staticmethod
    def check_rejection_reason(reason: object) -> None:
        """A rejection tells the applicant why: 1 to MAX_REASON_LENGTH characters."""
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_LENGTH:
            raise InvalidRequest(f"a rejection needs a reason of 1 to {MAX_REASON_LENGTH} "
                                 "characters", code="reason_required")

    def check_status(self, command: str, *allowed: Status) -> None:
        if self.status not in allowed:
            raise IllegalTransition(
                f"cannot {command} a certificate that is {self.status.value}",
                code=f"certificate_{self.status.value}")

    def check_reviewer(self, actor: Actor) -> None:
        """Separation of duties: not the submitter, and each approver once."""
        if actor.id == self.applied_by:
            raise IllegalTransition("whoever submitted an application may not review it",
                                    code="own_application")
        if actor.id in self.approvals:
            raise IllegalTransition(
                f"{actor.id} has approved already: this profile needs "
                f"{self.approvals_required} distinct approvers", code="already_approved")

    def check_invalidity_date(self, invalidity_date: datetime | None, at: datetime) -> None:
        """The key is known or suspected compromised since (RFC 5280 §5.3.2): not in the
        future, and not before the certificate was valid (its notBefore)."""
        if invalidity_date is None:
            return
        if invalidity_date > at:
            raise IllegalTransition("the invalidity date cannot be in the future",
                                    code="invalid_invalidity_date")
        if self.not_before is not None and invalidity_date < self.not_before:
            raise IllegalTransition(
                f"the invalidity date cannot be before the certificate's notBefore "
                f"({self.not_before.isoformat()})", code="invalid_invalidity_date")

    def check_not_expired(self, command: str, at: datetime) -> None:
        if self.not_after is not None and at > self.not_after:
            raise IllegalTransition(f"cannot {command} a certificate that has expired",
                                    code="certificate_expired")

    def valid_at(self, at: datetime) -> bool:
        """Issued (or on hold) and not expired: the one valid certificate of its usage."""
        return self.status in (Status.ISSUED, Status.SUSPENDED) and (
            self.not_after is None or at <= self.not_after)


def clean_comment(value: Any, what: str = "comment") -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_REASON_LENGTH:
        raise InvalidRequest(f"{what} is text of at most {MAX_REASON_LENGTH} characters",
                             code="bad_field")
    return value
