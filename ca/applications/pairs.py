"""Commands on dual-certificate pairs (双证书).

A signing and an encryption certificate for one subject, two key pairs, one pair id:
applied for, approved, rejected, issued and revoked as one (both aggregates saved in one
call, so a pair never ends up half approved or half issued). A single half may still be
revoked alone (``Certificates.revoke``), when only its key is compromised. Both halves
belong to the applicant's portal; a pair outside the actor's portals is "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ca.applications.conflicts import retry_on_conflict, save_new
from ca.applications.event_log import EventLog
from ca.applications.issuing import Issuing
from ca.applications.ports import PortalDirectory
from ca.policy.profiles import get_profile
from ca.policy.requests import CheckedRequest
from domain.actors import Actor
from domain.certificate import Certificate, PairRole, Status
from domain.errors import InvalidRequest, NotFound
from domain.reasons import RevocationReason

__all__ = ["CertificatePair", "Pairs"]

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


class Pairs:
    def __init__(self, log: EventLog, issuing: Issuing, portals: PortalDirectory) -> None:
        self._log = log
        self._issuing = issuing
        self._portals = portals
        self._clock = issuing.clock

    def apply(self, actor: Actor, *, signing_csr: str | bytes, encryption_csr: str | bytes,
              subject: Any, issuer: str | None = None, validity_days: int | None = None,
              account_id: str | None = None, signing_profile: str = "personal-signing",
              portal: str | None = None, new_id: UUID | None = None) -> UUID:
        """Apply for a pair in the actor's portal; returns the pair id (``new_id`` if
        given: a retried request finds the pair it made).

        One subject, two key pairs, each from its own CSR of the applicant: a signing
        certificate of ``signing_profile`` and an encryption certificate of profile
        ``encryption``. Both Applied events are saved in one go, or neither.
        """
        chosen = get_profile(signing_profile)
        if chosen.encryption or "digital_signature" not in chosen.key_usage:
            raise InvalidRequest(f"profile {chosen.name} cannot be the signing half of a pair",
                                 code="profile_not_allowed")
        in_portal = self._portals.resolve(actor, portal)
        pair_id = new_id or uuid4()

        def draft() -> list[Aggregate]:
            at = self._clock()
            common: dict[str, Any] = {"subject": subject, "issuer": issuer,
                                      "validity_days": validity_days,
                                      "account_id": account_id, "pair_id": pair_id,
                                      "portal": in_portal}
            signing, signing_request = self._issuing.draft(
                actor, at, profile=chosen.name, csr=signing_csr, pair_role=PairRole.SIGNING,
                **common)
            encryption, encryption_request = self._issuing.draft(
                actor, at, profile=_ENCRYPTION_PROFILE, csr=encryption_csr,
                pair_role=PairRole.ENCRYPTION, **common)
            _check_pair_keys(signing_request, encryption_request)
            return [signing, encryption]

        save_new(self._log, draft, Certificate.pair_member_id(pair_id, PairRole.SIGNING),
                 lambda: self.get_for(actor, pair_id))
        return pair_id

    def get(self, pair_id: UUID) -> CertificatePair:
        """The pair, whatever its portal (for the CA itself and for tests)."""
        signing, encryption = (self._half(pair_id, role) for role in PairRole)
        return CertificatePair(pair_id, signing, encryption)

    def get_for(self, actor: Actor, pair_id: UUID) -> CertificatePair:
        """The pair if ``actor`` may see it; NotFound (as for none) otherwise."""
        pair = self.get(pair_id)
        if not all(actor.sees(half.portal) for half in pair.halves):
            raise _not_found(pair_id)
        return pair

    def approve(self, actor: Actor, pair_id: UUID) -> CertificatePair:
        def approve(pair: CertificatePair) -> None:
            at = self._clock()
            for half in pair.halves:
                half.approve(actor, at, pair_id=pair_id)

        return self._update(actor, pair_id, approve)

    def reject(self, actor: Actor, pair_id: UUID, reason: str) -> CertificatePair:
        Certificate.check_rejection_reason(reason)

        def reject(pair: CertificatePair) -> None:
            at = self._clock()
            for half in pair.halves:
                half.reject(actor, at, reason, pair_id=pair_id)

        return self._update(actor, pair_id, reject)

    def issue(self, actor: Actor, pair_id: UUID) -> CertificatePair:
        """Sign both halves; both Issued events and both serial claims are saved together."""

        def sign(pair: CertificatePair) -> list[Aggregate]:
            for half in pair.halves:  # both must be ready before either is signed
                half.check_pair("issue", pair_id)
                half.check_status("issue", Status.APPROVED)
            at = self._clock()
            return [self._issuing.sign(actor, half, at, pair_id=pair_id)
                    for half in pair.halves]

        return self._update(actor, pair_id, sign)

    def revoke(self, actor: Actor, pair_id: UUID, reason: RevocationReason,
               invalidity_date: datetime | None = None, comment: str = "") -> CertificatePair:
        """Revoke both halves of a pair in one save (a half revoked before, after the
        compromise of its key alone, stays as it is); 409 if neither is left to revoke."""

        def revoke(pair: CertificatePair) -> None:
            at = self._clock()
            halves = [h for h in pair.halves if h.status is not Status.REVOKED] or \
                [pair.signing]  # both revoked: let the aggregate say so
            for half in halves:
                half.revoke(actor, at, reason, invalidity_date=invalidity_date,
                            comment=comment)

        return self._update(actor, pair_id, revoke)

    def _half(self, pair_id: UUID, role: PairRole) -> Certificate:
        half = self._log.load(Certificate.pair_member_id(pair_id, role), Certificate)
        if half is None or half.pair_id != pair_id:
            raise _not_found(pair_id)
        return half

    def _update(self, actor: Actor, pair_id: UUID,
                command: Callable[[CertificatePair], list[Aggregate] | None]
                ) -> CertificatePair:
        """Load both halves, run ``command``, save both (and what it returns) in one go."""

        def attempt() -> CertificatePair:
            pair = self.get_for(actor, pair_id)
            others = command(pair) or []
            self._log.save(*pair.halves, *others)
            return pair

        return retry_on_conflict(attempt, what="the certificate pair")


def _not_found(pair_id: UUID) -> NotFound:
    return NotFound(f"no certificate pair {pair_id}", code="pair_not_found")


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
