"""Dual-certificate (双证书) commands of the application service.

A signing and an encryption certificate for one subject, two key pairs, one pair id:
applied for, approved, rejected, issued and revoked as one (both aggregates saved in one
call, so a pair never ends up half approved or half issued). A single half may still be
revoked alone, when only its key is compromised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ca.applications.hierarchy import HierarchyCommands
from ca.policy.profiles import get_profile
from ca.policy.requests import CheckedRequest
from domain.actors import Actor
from domain.certificate import ENCRYPTION, SIGNING, Certificate, Status
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.reasons import RevocationReason

__all__ = ["CertificatePair", "PairCommands", "check_rejection_reason"]

_MAX_ATTEMPTS = 8
_ENCRYPTION_PROFILE = "encryption"


@dataclass(frozen=True)
class CertificatePair:
    """The two halves of a dual-certificate pair (双证书), as loaded together."""

    pair_id: UUID
    signing: Certificate
    encryption: Certificate

    @property
    def halves(self) -> tuple[Certificate, Certificate]:
        return self.signing, self.encryption


class PairCommands(HierarchyCommands):
    """The pair half of :class:`CAService`, which defines what is declared here."""

    if TYPE_CHECKING:
        def _application(self, actor: Actor, at: datetime, *, profile: str,
                         csr: str | bytes, subject: Any, issuer: str | None,
                         validity_days: int | None, account_id: str | None,
                         pair_id: UUID | None = None, pair_role: str | None = None
                         ) -> tuple[Certificate, CheckedRequest]: ...

        def _sign(self, actor: Actor, certificate: Certificate, now: datetime,
                  pair_id: UUID | None = None) -> Aggregate: ...

    def apply_pair(self, actor: Actor, *, signing_csr: str | bytes, encryption_csr: str | bytes,
                   subject: Any, issuer: str | None = None, validity_days: int | None = None,
                   account_id: str | None = None,
                   signing_profile: str = "personal-signing") -> UUID:
        """Apply for a dual-certificate pair (双证书); returns the pair id.

        One subject, two key pairs, each from its own CSR of the applicant: a signing
        certificate of ``signing_profile`` and an encryption certificate of profile
        ``encryption``. Both Applied events are saved in one go, or neither.
        """
        chosen = get_profile(signing_profile)
        if chosen.encryption or "digital_signature" not in chosen.key_usage:
            raise InvalidRequest(f"profile {chosen.name} cannot be the signing half of a pair",
                                 code="profile_not_allowed")
        pair_id, at = uuid4(), self.clock()
        common: dict[str, Any] = {"subject": subject, "issuer": issuer,
                                  "validity_days": validity_days, "account_id": account_id,
                                  "pair_id": pair_id}
        signing, signing_request = self._application(
            actor, at, profile=chosen.name, csr=signing_csr, pair_role=SIGNING, **common)
        encryption, encryption_request = self._application(
            actor, at, profile=_ENCRYPTION_PROFILE, csr=encryption_csr, pair_role=ENCRYPTION,
            **common)
        _check_pair_keys(signing_request, encryption_request)
        self.save(signing, encryption)
        return pair_id

    def get_pair(self, pair_id: UUID) -> CertificatePair:
        signing, encryption = (self._pair_half(pair_id, role) for role in (SIGNING, ENCRYPTION))
        return CertificatePair(pair_id, signing, encryption)

    def approve_pair(self, actor: Actor, pair_id: UUID) -> CertificatePair:
        def approve(pair: CertificatePair) -> None:
            at = self.clock()
            for half in pair.halves:
                half.approve(actor, at, pair_id=pair_id)

        return self._update_pair(pair_id, approve)

    def reject_pair(self, actor: Actor, pair_id: UUID, reason: str) -> CertificatePair:
        check_rejection_reason(reason)

        def reject(pair: CertificatePair) -> None:
            at = self.clock()
            for half in pair.halves:
                half.reject(actor, at, reason, pair_id=pair_id)

        return self._update_pair(pair_id, reject)

    def issue_pair(self, actor: Actor, pair_id: UUID) -> CertificatePair:
        """Sign both halves; both Issued events and both serial claims are saved together."""

        def sign(pair: CertificatePair) -> list[Aggregate]:
            for half in pair.halves:  # both must be ready before either is signed
                half.check_pair("issue", pair_id)
                half.check_status("issue", Status.APPROVED)
            at = self.clock()
            return [self._sign(actor, half, at, pair_id=pair_id) for half in pair.halves]

        return self._update_pair(pair_id, sign)

    def revoke_pair(self, actor: Actor, pair_id: UUID, reason: RevocationReason,
                    invalidity_date: datetime | None = None,
                    comment: str = "") -> CertificatePair:
        """Revoke both halves of a pair in one save (a half revoked before, after the
        compromise of its key alone, stays as it is); 409 if neither is left to revoke."""

        def revoke(pair: CertificatePair) -> None:
            at = self.clock()
            halves = [h for h in pair.halves if h.status is not Status.REVOKED] or \
                [pair.signing]  # both revoked: let the aggregate say so
            for half in halves:
                half.revoke(actor, at, reason, invalidity_date=invalidity_date,
                            comment=comment)

        return self._update_pair(pair_id, revoke)

    def _pair_half(self, pair_id: UUID, role: str) -> Certificate:
        try:
            half: object = self.repository.get(Certificate.pair_member_id(pair_id, role))
        except AggregateNotFoundError:
            half = None
        if not isinstance(half, Certificate) or half.pair_id != pair_id:
            raise NotFound(f"no certificate pair {pair_id}", code="pair_not_found")
        return half

    def _update_pair(self, pair_id: UUID,
                     command: Callable[[CertificatePair], list[Aggregate] | None]
                     ) -> CertificatePair:
        """Like :meth:`_update`, for both halves of a pair: one save, both or neither."""
        for _ in range(_MAX_ATTEMPTS):
            pair = self.get_pair(pair_id)
            others = command(pair) or []
            try:
                self.save(*pair.halves, *others)
            except IntegrityError:
                continue  # lost a race: reload and check the rules again
            return pair
        raise Conflict("the certificate pair is changing too fast; try again", code="busy")


def check_rejection_reason(reason: object) -> None:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 1000:
        raise InvalidRequest("a rejection needs a reason of 1 to 1000 characters",
                             code="reason_required")


def _check_pair_keys(signing: CheckedRequest, encryption: CheckedRequest) -> None:
    """The halves of a pair have their own key pairs, of the same algorithm."""
    if signing.key_algorithm is not encryption.key_algorithm:
        raise InvalidRequest(
            f"the two keys of a pair must be of one algorithm; the signing key is "
            f"{signing.key_algorithm.value}, the encryption key "
            f"{encryption.key_algorithm.value}", code="pair_keys_mismatch")
    if signing.public_key_info.dump() == encryption.public_key_info.dump():
        raise InvalidRequest("the signing and the encryption certificate of a pair need two "
                             "different key pairs; both CSRs carry the same key",
                             code="pair_keys_identical")
