"""The CA's application service: commands in, events out.

Each command loads an aggregate, calls one method, and saves. A save that loses
a race (the library's IntegrityError: somebody appended first, or a serial is
taken) is retried after a reload, so the rule is checked again against the
winner's state; a rule broken then is a domain error (409), never a lost event.
The commands are grouped by what they serve: certificates here, the CA hierarchy in
:mod:`ca.hierarchy`, dual-certificate pairs (双证书) in :mod:`ca.pairs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from ca.applications.event_log import (
    BytesAsBase64,
    CrlRecordAsDict,
    event_store_environment,
    event_store_setup_lock,
)
from ca.applications.pairs import CertificatePair, PairCommands, check_rejection_reason
from ca.keys.keystore import KeyStore
from ca.policy.issuance import (
    Issuer,
    PublicUrls,
    issue_certificate,
    new_serial_number,
    preview_certificate,
)
from ca.policy.profiles import PROFILES, Profile, get_profile
from ca.policy.requests import CheckedRequest, check_request, recorded_request_key
from ca.policy.subject_names import normalise_subject
from domain.actors import Actor
from domain.authority import CertificateAuthority
from domain.certificate import Certificate, Status
from domain.claims import SerialClaim
from domain.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from domain.reasons import RevocationReason

__all__ = ["CAService", "CertificatePair", "ServiceSettings", "Clock", "utc_now"]

Clock = Callable[[], datetime]
_T = TypeVar("_T")
_MAX_ATTEMPTS = 8


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class ServiceSettings:
    data_dir: Path
    public_base_url: str = "http://127.0.0.1:8080"
    database_url: str | None = None
    default_issuer: str = "issuing-ca"
    accept_empty_sm2_id: bool = False   # OpenSSL signs SM2 CSRs with an empty ID by default
    lint: bool = True


class CAService(PairCommands):
    """Commands on certificates and CAs. Nothing here touches HTTP."""

    name = "certledger"
    # a CA gains two events per CRL publication; certificates stay short
    snapshotting_intervals = {CertificateAuthority: 100}

    def __init__(self, settings: ServiceSettings, keystore: KeyStore,
                 clock: Clock = utc_now) -> None:
        self.settings = settings
        self.keystore = keystore
        self.clock = clock
        self.urls = PublicUrls(settings.public_base_url)
        self._issuers: dict[str, Issuer] = {}
        self._authorities: dict[str, CertificateAuthority] = {}
        environment = event_store_environment(settings.database_url, settings.data_dir)
        with event_store_setup_lock(environment):
            super().__init__(env=environment)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(BytesAsBase64())
        transcoder.register(CrlRecordAsDict())

    # ---- certificate lifecycle ----------------------------------------------------------

    def apply(self, actor: Actor, *, profile: str, csr: str | bytes, subject: Any,
              issuer: str | None = None, validity_days: int | None = None,
              account_id: str | None = None) -> UUID:
        """Record an application. Everything is checked before anything is recorded."""
        certificate, _ = self._application(
            actor, self.clock(), profile=profile, csr=csr, subject=subject, issuer=issuer,
            validity_days=validity_days, account_id=account_id)
        self.save(certificate)
        return certificate.id

    def _application(self, actor: Actor, at: datetime, *, profile: str, csr: str | bytes,
                     subject: Any, issuer: str | None, validity_days: int | None,
                     account_id: str | None, pair_id: UUID | None = None,
                     pair_role: str | None = None) -> tuple[Certificate, CheckedRequest]:
        """A checked, not yet saved application, and the request it was checked with."""
        chosen = get_profile(profile)
        clean_subject = normalise_subject(subject)
        chosen.check_subject(clean_subject)
        days = chosen.validity_days(validity_days)
        if chosen.is_ca:
            raise InvalidRequest("sub-CA certificates are not issued through applications",
                                 code="profile_not_allowed")
        issuer_name = issuer or self.settings.default_issuer
        authority = self.authority_as_established(issuer_name)
        authority.check_may_issue(chosen.name, ca_profile=chosen.is_ca)
        request = _labelled(pair_role, lambda: check_request(
            csr, accept_empty_sm2_id=self.settings.accept_empty_sm2_id))
        _labelled(pair_role, lambda: chosen.check_key(request.key_algorithm))
        _labelled(pair_role, lambda: authority.check_may_certify(
            request.key_algorithm.value, any_family=chosen.any_key_family))
        _labelled(pair_role, lambda: self._preview(issuer_name, chosen, clean_subject,
                                                   request, at, days))
        certificate = Certificate.apply_for(
            actor=actor, at=at, issuer=issuer_name, profile=chosen.name,
            subject=clean_subject, csr_der=request.der,
            key_algorithm=request.key_algorithm.value, validity_days=days,
            account_id=account_id, pair_id=pair_id, pair_role=pair_role,
            csr_signer_id=_signer_id_text(request.sm2_signer_id))
        return certificate, request

    def _preview(self, issuer_name: str, profile: Profile, subject: dict[str, Any],
                 request: CheckedRequest, at: datetime, days: int) -> None:
        """Refuse now what issuing would refuse later: a validity past the CA's notAfter,
        or a certificate pkilint finds ERROR or FATAL in (built unsigned, and linted)."""
        findings = preview_certificate(
            self.issuer_info(issuer_name), profile=profile, subject=subject,
            public_key_info=request.public_key_info, key_algorithm=request.key_algorithm,
            not_before=at, validity_days=days, urls=self.urls, lint=self.settings.lint)
        if findings:
            raise InvalidRequest("the certificate would fail lint, so it could never be "
                                 "issued: " + "; ".join(findings), code="lint_refused")

    def approve(self, actor: Actor, certificate_id: UUID) -> Certificate:
        return self._update(certificate_id, lambda c: c.approve(actor, self.clock()))

    def reject(self, actor: Actor, certificate_id: UUID, reason: str) -> Certificate:
        check_rejection_reason(reason)
        return self._update(certificate_id, lambda c: c.reject(actor, self.clock(), reason))

    def issue(self, actor: Actor, certificate_id: UUID) -> Certificate:
        """Sign the approved application; the serial is claimed atomically with the event."""

        def sign(certificate: Certificate) -> list[Aggregate]:
            return [self._sign(actor, certificate, self.clock())]

        return self._update(certificate_id, sign)

    def _sign(self, actor: Actor, certificate: Certificate, now: datetime,
              pair_id: UUID | None = None) -> SerialClaim:
        """Sign one approved application, record Issued on it; returns its serial claim."""
        certificate.check_pair("issue", pair_id)
        certificate.check_status("issue", Status.APPROVED)
        profile = PROFILES[certificate.profile]
        public_key_info, key_algorithm = recorded_request_key(certificate.csr_der)
        serial = new_serial_number()
        try:  # the CA's policy again: the application may predate it, or time has passed
            authority = self.authority_as_established(certificate.issuer)
            authority.check_may_issue(profile.name, ca_profile=profile.is_ca)
            authority.check_may_certify(key_algorithm.value, any_family=profile.any_key_family)
            der, not_after = issue_certificate(
                self.issuer(certificate.issuer), profile=profile, subject=certificate.subject,
                public_key_info=public_key_info, key_algorithm=key_algorithm,
                serial_number=serial, not_before=now, validity_days=certificate.validity_days,
                urls=self.urls, lint=self.settings.lint)
        except InvalidRequest as exc:  # nothing wrong with this request: the state is
            raise IllegalTransition(exc.message, code=exc.code) from None
        certificate.issue(actor, now, serial_number=serial, not_before=now.replace(
            microsecond=0), not_after=not_after, certificate_der=der,
            csr_signer_id=certificate.csr_signer_id, pair_id=pair_id)
        return SerialClaim.claim(actor=actor, issuer=certificate.issuer, serial_number=serial,
                                 certificate_id=certificate.id)

    def revoke(self, actor: Actor, certificate_id: UUID, reason: RevocationReason,
               invalidity_date: datetime | None = None, comment: str = "") -> Certificate:
        return self._update(certificate_id, lambda c: c.revoke(
            actor, self.clock(), reason, invalidity_date=invalidity_date, comment=comment))

    def suspend(self, actor: Actor, certificate_id: UUID, comment: str = "") -> Certificate:
        return self._update(certificate_id, lambda c: c.suspend(actor, self.clock(), comment))

    def resume(self, actor: Actor, certificate_id: UUID, comment: str = "") -> Certificate:
        return self._update(certificate_id, lambda c: c.resume(actor, self.clock(), comment))

    def get_certificate(self, certificate_id: UUID) -> Certificate:
        try:
            aggregate: Aggregate = self.repository.get(certificate_id)
        except AggregateNotFoundError:
            raise NotFound(f"no certificate or application {certificate_id}",
                           code="certificate_not_found") from None
        if not isinstance(aggregate, Certificate):
            raise NotFound(f"no certificate or application {certificate_id}",
                           code="certificate_not_found")
        return aggregate

    def _update(self, certificate_id: UUID,
                command: Callable[[Certificate], list[Aggregate] | None]) -> Certificate:
        for _ in range(_MAX_ATTEMPTS):
            certificate = self.get_certificate(certificate_id)
            others = command(certificate) or []
            try:
                self.save(certificate, *others)
            except IntegrityError:
                continue  # lost a race: reload and check the rules again
            return certificate
        raise Conflict("the certificate is changing too fast; try again", code="busy")


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
