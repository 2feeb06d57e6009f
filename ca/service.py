"""The CA's application service: commands in, events out.

Each command loads an aggregate, calls one method, and saves. A save that loses
a race (the library's IntegrityError: somebody appended first, or a serial is
taken) is retried after a reload, so the rule is checked again against the
winner's state; a rule broken then is a domain error (409), never a lost event.
Pair commands (dual certificates, 双证书) do the same on both halves of a pair and
save both in one call, so a pair never ends up half approved or half issued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

from asn1crypto import x509
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from ca.algorithms import KeyAlgorithm
from ca.csr import CheckedRequest, check_request, recorded_request_key
from ca.issuance import (
    Issuer,
    PublicUrls,
    issue_certificate,
    new_serial_number,
    self_signed_certificate,
)
from ca.keystore import KeyStore
from ca.names import normalise_subject
from ca.persistence import (
    BytesAsBase64,
    CrlRecordAsDict,
    event_store_environment,
    event_store_setup_lock,
)
from ca.profiles import PROFILES, get_profile
from domain.actors import Actor
from domain.authority import CertificateAuthority
from domain.certificate import ENCRYPTION, SIGNING, Certificate, Status
from domain.claims import SerialClaim
from domain.errors import Conflict, InvalidRequest, NotFound
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


@dataclass(frozen=True)
class CertificatePair:
    """The two halves of a dual-certificate pair (双证书), as loaded together."""

    pair_id: UUID
    signing: Certificate
    encryption: Certificate

    @property
    def halves(self) -> tuple[Certificate, Certificate]:
        return self.signing, self.encryption


class CAService(Application):
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
        self._known_authorities: set[str] = set()  # CAs are never removed: safe to remember
        environment = event_store_environment(settings.database_url, settings.data_dir)
        with event_store_setup_lock(environment):
            super().__init__(env=environment)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(BytesAsBase64())
        transcoder.register(CrlRecordAsDict())

    # ---- CA hierarchy -------------------------------------------------------------------

    def establish_hierarchy(self, actor: Actor, *, algorithm: KeyAlgorithm, root_name: str,
                            issuing_name: str, organization: str, country: str = "CN",
                            root_validity_days: int = 20 * 365,
                            issuing_validity_days: int = 10 * 365) -> tuple[UUID, UUID]:
        """Create a root CA and an issuing CA under it; keys go to the key store, sealed."""
        for name in (root_name, issuing_name):
            if self._has_authority(name):
                raise Conflict(f"a CA named {name!r} exists already", code="ca_exists")
        now = self.clock()
        sub_ca = PROFILES["sub-ca"]
        root_ref, root_signer = self.keystore.generate(algorithm, root_name)
        root_der = self_signed_certificate(
            root_signer, subject={"common_name": f"{organization} Root CA",
                                  "organization": organization, "country": country},
            profile=sub_ca, not_before=now, validity_days=root_validity_days, path_length=None)
        root = CertificateAuthority.establish(actor=actor, name=root_name,
                                              key_algorithm=algorithm.value, key_ref=root_ref,
                                              certificate_der=root_der, parent=None)
        issuing_ref, issuing_signer = self.keystore.generate(algorithm, issuing_name)
        issuer = Issuer(root_name, root_signer, x509.Certificate.load(root_der))
        issuing_der, _ = issue_certificate(
            issuer, profile=sub_ca, subject={"common_name": f"{organization} Issuing CA",
                                             "organization": organization, "country": country},
            public_key_info=issuing_signer.public_key_info(), key_algorithm=algorithm,
            serial_number=new_serial_number(), not_before=now,
            validity_days=issuing_validity_days, urls=self.urls)
        issuing = CertificateAuthority.establish(actor=actor, name=issuing_name,
                                                 key_algorithm=algorithm.value,
                                                 key_ref=issuing_ref,
                                                 certificate_der=issuing_der, parent=root_name)
        try:
            self.save(root, issuing)
        except IntegrityError:
            raise Conflict("a CA with one of these names exists already",
                           code="ca_exists") from None
        return root.id, issuing.id

    def get_authority(self, name: str) -> CertificateAuthority:
        try:
            authority: CertificateAuthority = self.repository.get(
                CertificateAuthority.create_id(name))
        except AggregateNotFoundError:
            raise NotFound(f"no CA named {name!r}", code="ca_not_found") from None
        return authority

    def chain(self, name: str) -> list[bytes]:
        """The CA's certificate followed by its parents' up to the root."""
        chain, seen = [], set()
        authority: CertificateAuthority | None = self.get_authority(name)
        while authority is not None and authority.name not in seen:
            seen.add(authority.name)
            chain.append(authority.certificate_der)
            authority = self.get_authority(authority.parent) if authority.parent else None
        return chain

    def issuer(self, name: str) -> Issuer:
        if name not in self._issuers:
            authority = self.get_authority(name)
            self._issuers[name] = Issuer(name, self.keystore.load(authority.key_ref),
                                         x509.Certificate.load(authority.certificate_der))
        return self._issuers[name]

    def _check_authority_exists(self, name: str) -> None:
        """NotFound unless the CA exists; one read per name per process."""
        if name not in self._known_authorities:
            self.get_authority(name)
            self._known_authorities.add(name)

    def _has_authority(self, name: str) -> bool:
        try:
            self._check_authority_exists(name)
        except NotFound:
            return False
        return True

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
        self._check_authority_exists(issuer_name)
        request = _labelled(pair_role, lambda: check_request(
            csr, accept_empty_sm2_id=self.settings.accept_empty_sm2_id))
        _labelled(pair_role, lambda: chosen.check_key(request.key_algorithm))
        certificate = Certificate.apply_for(
            actor=actor, at=at, issuer=issuer_name, profile=chosen.name,
            subject=clean_subject, csr_der=request.der,
            key_algorithm=request.key_algorithm.value, validity_days=days,
            account_id=account_id, pair_id=pair_id, pair_role=pair_role,
            csr_signer_id=_signer_id_text(request.sm2_signer_id))
        return certificate, request

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
        _check_reason(reason)

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

    def approve(self, actor: Actor, certificate_id: UUID) -> Certificate:
        return self._update(certificate_id, lambda c: c.approve(actor, self.clock()))

    def reject(self, actor: Actor, certificate_id: UUID, reason: str) -> Certificate:
        _check_reason(reason)
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
        issuer = self.issuer(certificate.issuer)
        public_key_info, key_algorithm = recorded_request_key(certificate.csr_der)
        serial = new_serial_number()
        der, not_after = issue_certificate(
            issuer, profile=PROFILES[certificate.profile], subject=certificate.subject,
            public_key_info=public_key_info, key_algorithm=key_algorithm,
            serial_number=serial, not_before=now, validity_days=certificate.validity_days,
            urls=self.urls, lint=self.settings.lint)
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


_ENCRYPTION_PROFILE = "encryption"


def _check_reason(reason: object) -> None:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 1000:
        raise InvalidRequest("a rejection needs a reason of 1 to 1000 characters",
                             code="reason_required")


def _signer_id_text(signer_id: bytes | None) -> str | None:
    """The SM2 signer ID as recorded in events (it is ASCII: the default ID or empty)."""
    return signer_id.decode("ascii") if signer_id is not None else None


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


def _labelled(label: str | None, check: Callable[[], _T]) -> _T:
    """Run ``check``; an InvalidRequest it raises names the pair half (which CSR) if any."""
    try:
        return check()
    except InvalidRequest as exc:
        if label is None:
            raise
        raise InvalidRequest(f"{label}_csr: {exc.message}", code=exc.code) from None
