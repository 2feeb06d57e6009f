"""CA hierarchy commands of the application service: establish a root and an issuing CA,
read CAs, their chains and their signers.

What a CA may issue is recorded on it when it is established (``CertificateAuthority``):
a root issues CA certificates only (the ``sub-ca`` profile), an issuing CA every
end-entity profile; both certify subject keys of their own hierarchy (SM2, or
RSA/ECDSA/Ed25519). Every CA's subject DN is its own, so two hierarchies in one data
directory are told apart by name, not only by key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from asn1crypto import x509
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from ca.encoding.algorithms import KeyAlgorithm, signature_algorithm_identifier
from ca.keys.keystore import KeyStore
from ca.policy.issuance import (
    Issuer,
    IssuerInfo,
    PublicUrls,
    issue_certificate,
    new_serial_number,
    self_signed_certificate,
)
from ca.policy.profiles import PROFILES
from ca.policy.subject_names import normalise_subject, subject_name
from domain.actors import Actor
from domain.authority import CertificateAuthority, key_family
from domain.errors import Conflict, NotFound

__all__ = ["HierarchyCommands", "default_common_names"]


def default_common_names(organization: str, algorithm: KeyAlgorithm) -> tuple[str, str]:
    """Subject CNs of a new root and issuing CA: the organisation and the algorithm, so two
    hierarchies of one organisation differ ("CertLedger Demo SM2 Root CA")."""
    return (f"{organization} {algorithm.label} Root CA",
            f"{organization} {algorithm.label} Issuing CA")


class HierarchyCommands(Application):
    """The CA half of :class:`CAService` (which sets these attributes)."""

    keystore: KeyStore
    clock: Callable[[], datetime]
    urls: PublicUrls
    _issuers: dict[str, Issuer]
    _authorities: dict[str, CertificateAuthority]

    def establish_hierarchy(self, actor: Actor, *, algorithm: KeyAlgorithm, root_name: str,
                            issuing_name: str, organization: str, country: str = "CN",
                            root_common_name: str | None = None,
                            issuing_common_name: str | None = None,
                            root_validity_days: int = 20 * 365,
                            issuing_validity_days: int = 10 * 365) -> tuple[UUID, UUID]:
        """Create a root CA and an issuing CA under it; keys go to the key store, sealed.

        Conflict if a CA of either name exists, or one whose subject DN is either new DN.
        """
        for name in (root_name, issuing_name):
            if self._has_authority(name):
                raise Conflict(f"a CA named {name!r} exists already", code="ca_exists")
        default_root_cn, default_issuing_cn = default_common_names(organization, algorithm)
        root_subject, issuing_subject = (
            normalise_subject({"common_name": cn, "organization": organization,
                               "country": country})
            for cn in (root_common_name or default_root_cn,
                       issuing_common_name or default_issuing_cn))
        self._check_subjects_unused(root_subject, issuing_subject)
        now = self.clock()
        sub_ca = PROFILES["sub-ca"]
        keys = sorted(key_family(algorithm.value))
        root_ref, root_signer = self.keystore.generate(algorithm, root_name)
        root_der = self_signed_certificate(
            root_signer, subject=root_subject, profile=sub_ca, not_before=now,
            validity_days=root_validity_days, path_length=None)
        root = CertificateAuthority.establish(
            actor=actor, name=root_name, key_algorithm=algorithm.value, key_ref=root_ref,
            certificate_der=root_der, parent=None, subject_key_algorithms=keys,
            profiles=[p.name for p in PROFILES.values() if p.is_ca])
        issuing_ref, issuing_signer = self.keystore.generate(algorithm, issuing_name)
        issuer = Issuer(root_name, root_signer, x509.Certificate.load(root_der))
        issuing_der, _ = issue_certificate(
            issuer, profile=sub_ca, subject=issuing_subject,
            public_key_info=issuing_signer.public_key_info(), key_algorithm=algorithm,
            serial_number=new_serial_number(), not_before=now,
            validity_days=issuing_validity_days, urls=self.urls)
        issuing = CertificateAuthority.establish(
            actor=actor, name=issuing_name, key_algorithm=algorithm.value,
            key_ref=issuing_ref, certificate_der=issuing_der, parent=root_name,
            subject_key_algorithms=keys,
            profiles=[p.name for p in PROFILES.values() if not p.is_ca])
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

    def authority_as_established(self, name: str) -> CertificateAuthority:
        """The CA for its certificate and issuing policy (NotFound if there is none).

        Read once per process: neither changes after Established, and CAs are never
        removed. Record nothing on it (its CRL state is not kept current).
        """
        if name not in self._authorities:
            self._authorities[name] = self.get_authority(name)
        return self._authorities[name]

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
            authority = self.authority_as_established(name)
            self._issuers[name] = Issuer(name, self.keystore.load(authority.key_ref),
                                         x509.Certificate.load(authority.certificate_der))
        return self._issuers[name]

    def issuer_info(self, name: str) -> IssuerInfo:
        """The CA's public data, as certificates name their issuer: no key is opened."""
        authority = self.authority_as_established(name)
        return IssuerInfo(name, x509.Certificate.load(authority.certificate_der),
                          signature_algorithm_identifier(KeyAlgorithm(authority.key_algorithm)))

    def _has_authority(self, name: str) -> bool:
        try:
            self.authority_as_established(name)
        except NotFound:
            return False
        return True

    def _check_subjects_unused(self, *subjects: dict[str, Any]) -> None:
        """Conflict if a new CA's subject DN equals another new one's or an existing CA's
        (RFC 5280 §7.1 name comparison)."""
        names = [subject_name(subject) for subject in subjects]
        if len(names) > 1 and names[0] == names[1]:
            raise Conflict("the root and the issuing CA need different subject names",
                           code="ca_subject_exists")
        topic = CertificateAuthority.Established.TOPIC
        for notification in self.recorder.select_notifications(start=1, limit=1_000_000,
                                                               topics=[topic]):
            event = self.mapper.to_domain_event(notification)
            if not isinstance(event, CertificateAuthority.Established):
                continue
            existing = x509.Certificate.load(event.certificate_der).subject
            for name in names:
                if name == existing:
                    raise Conflict(f"CA {event.name!r} has the subject {name.human_friendly!r}"
                                   " already; give the new CA another common name",
                                   code="ca_subject_exists")
