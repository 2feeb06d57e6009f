"""What every application and issuance goes through, for single certificates and pairs.

:meth:`Issuing.draft` checks an application completely before anything is recorded:
the profile, the subject, the CSR and its proof of possession, the CA's policy (which
profiles it issues, which keys it certifies), and a pkilint preview of the certificate
it would become (built unsigned with the CA's public data), so nothing is accepted that
could never be issued. :meth:`Issuing.sign` turns an approved application into a signed
certificate (lint before sign) and the serial claim saved with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from ca.applications.ports import Clock, IssuerSource
from ca.policy.issuance import (
    PublicUrls,
    issue_certificate,
    new_serial_number,
    preview_certificate,
)
from ca.policy.orders import approvers_required
from ca.policy.profiles import PROFILES, Profile, get_profile
from ca.policy.requests import CheckedRequest, check_request, recorded_request_key
from ca.policy.subject_names import normalise_subject
from domain.actors import DEFAULT_PORTAL, Actor
from domain.certificate import ApplicationKind, Certificate, PairRole, Status
from domain.claims import SerialClaim
from domain.errors import IllegalTransition, InvalidRequest

__all__ = ["Issuing", "IssuingPolicy"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class IssuingPolicy:
    default_issuer: str = "issuing-ca"
    accept_empty_sm2_id: bool = False   # OpenSSL signs SM2 CSRs with an empty ID by default
    lint: bool = True


class Issuing:
    def __init__(self, issuers: IssuerSource, urls: PublicUrls, clock: Clock,
                 policy: IssuingPolicy) -> None:
        self.issuers = issuers
        self.urls = urls
        self.clock = clock
        self.policy = policy

    def draft(self, actor: Actor, at: datetime, *, profile: str, csr: str | bytes,
              subject: Any, issuer: str | None, validity_days: int | None,
              account_id: str | None, pair_id: UUID | None = None,
              pair_role: PairRole | None = None, portal: str = DEFAULT_PORTAL,
              certificate_id: UUID | None = None,
              kind: ApplicationKind = ApplicationKind.NEW,
              predecessor_id: UUID | None = None,
              terms_version: str | None = None) -> tuple[Certificate, CheckedRequest]:
        """A checked, not yet saved application, and the request it was checked with."""
        chosen = get_profile(profile)
        clean_subject = normalise_subject(subject)
        chosen.check_subject(clean_subject)
        days = chosen.validity_days(validity_days)
        if chosen.is_ca:
            raise InvalidRequest("sub-CA certificates are not issued through applications",
                                 code="profile_not_allowed")
        issuer_name = issuer or self.policy.default_issuer
        authority = self.issuers.authority(issuer_name)
        authority.check_may_issue(chosen.name, ca_profile=chosen.is_ca)
        label = pair_role.value if pair_role is not None else None
        request = _labelled(label, lambda: check_request(
            csr, accept_empty_sm2_id=self.policy.accept_empty_sm2_id))
        _labelled(label, lambda: chosen.check_key(request.key_algorithm))
        _labelled(label, lambda: authority.check_may_certify(
            request.key_algorithm.value, any_family=chosen.any_key_family))
        _labelled(label, lambda: self._preview(issuer_name, chosen, clean_subject, request,
                                               at, days))
        certificate = Certificate.apply_for(
            actor=actor, at=at, issuer=issuer_name, profile=chosen.name,
            subject=clean_subject, csr_der=request.der,
            key_algorithm=request.key_algorithm.value, validity_days=days,
            account_id=account_id, pair_id=pair_id, pair_role=pair_role,
            csr_signer_id=_signer_id_text(request.sm2_signer_id), portal=portal,
            certificate_id=certificate_id, kind=kind, predecessor_id=predecessor_id,
            terms_version=terms_version,
            approvals_required=approvers_required(chosen.name) if pair_id is None else 1)
        return certificate, request

    def _preview(self, issuer_name: str, profile: Profile, subject: dict[str, Any],
                 request: CheckedRequest, at: datetime, days: int) -> None:
        """Refuse now what issuing would refuse later: a validity past the CA's notAfter,
        or a certificate pkilint finds ERROR or FATAL in (built unsigned, and linted)."""
        findings = preview_certificate(
            self.issuers.issuer_info(issuer_name), profile=profile, subject=subject,
            public_key_info=request.public_key_info, key_algorithm=request.key_algorithm,
            not_before=at, validity_days=days, urls=self.urls, lint=self.policy.lint)
        if findings:
            raise InvalidRequest("the certificate would fail lint, so it could never be "
                                 "issued: " + "; ".join(findings), code="lint_refused")

    def sign(self, actor: Actor, certificate: Certificate, now: datetime,
             pair_id: UUID | None = None) -> SerialClaim:
        """Sign one approved application, record Issued on it; returns its serial claim
        (to be saved with it: a serial taken already makes the save fail)."""
        certificate.check_pair("issue", pair_id)
        certificate.check_status("issue", Status.APPROVED)
        profile = PROFILES[certificate.profile]
        public_key_info, key_algorithm = recorded_request_key(certificate.csr_der)
        serial = new_serial_number()
        try:  # the CA's policy again: the application may predate it, or time has passed
            authority = self.issuers.authority(certificate.issuer)
            authority.check_may_issue(profile.name, ca_profile=profile.is_ca)
            authority.check_may_certify(key_algorithm.value, any_family=profile.any_key_family)
            der, not_after = issue_certificate(
                self.issuers.issuer(certificate.issuer), profile=profile,
                subject=certificate.subject, public_key_info=public_key_info,
                key_algorithm=key_algorithm, serial_number=serial, not_before=now,
                validity_days=certificate.validity_days, urls=self.urls,
                lint=self.policy.lint)
        except InvalidRequest as exc:  # nothing wrong with this request: the state is
            raise IllegalTransition(exc.message, code=exc.code) from None
        certificate.issue(actor, now, serial_number=serial, not_before=now.replace(
            microsecond=0), not_after=not_after, certificate_der=der,
            csr_signer_id=certificate.csr_signer_id, pair_id=pair_id)
        return SerialClaim.claim(actor=actor, issuer=certificate.issuer, serial_number=serial,
                                 certificate_id=certificate.id)


def _signer_id_text(signer_id: bytes | None) -> str | None:
    """The SM2 signer ID as recorded in events (it is ASCII: the default ID or empty)."""
    return signer_id.decode("ascii") if signer_id is not None else None


def _labelled(label: str | None, check: Callable[[], _T]) -> _T:
    """Run ``check``; an InvalidRequest it raises names the pair half (which CSR) if any."""
    try:
        return check()
    except InvalidRequest as exc:
        if label is None:
            raise
        raise InvalidRequest(f"{label}_csr: {exc.message}", code=exc.code) from None
