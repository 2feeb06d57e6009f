"""The CA hierarchy: establish a root and an issuing CA; read CAs, chains and signers.

What a CA may issue is recorded on it when it is established (``CertificateAuthority``):
a root issues CA certificates only (the ``sub-ca`` profile), an issuing CA every
end-entity profile; both certify subject keys of their own hierarchy (SM2, or
RSA/ECDSA/Ed25519). Every CA's subject DN is its own, so two hierarchies in one data
directory are told apart by name, not only by key.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from uuid import UUID

from asn1crypto import x509
from eventsourcing.persistence import IntegrityError

from ca.applications.event_log import EventLog
from ca.applications.ports import Clock
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

__all__ = ["Hierarchy", "default_common_names"]

log = logging.getLogger("certledger.hierarchy")


def default_common_names(organization: str, algorithm: KeyAlgorithm) -> tuple[str, str]:
    """Subject CNs of a new root and issuing CA: the organisation and the algorithm, so two
    hierarchies of one organisation differ ("CertLedger Demo SM2 Root CA")."""
    return (f"{organization} {algorithm.label} Root CA",
            f"{organization} {algorithm.label} Issuing CA")


class Hierarchy:
    """CAs: commands on them and what issuing needs to know (``IssuerSource``)."""

    def __init__(self, log: EventLog, keys: KeyStore, urls: PublicUrls, clock: Clock) -> None:
        self._log = log
        self._keys = keys
        self._urls = urls
        self._clock = clock
        self._lock = threading.Lock()
        self._established: dict[str, CertificateAuthority] = {}
        self._issuers: dict[str, Issuer] = {}

    def establish(self, actor: Actor, *, algorithm: KeyAlgorithm, root_name: str,
                  issuing_name: str, organization: str, country: str = "CN",
                  root_common_name: str | None = None, issuing_common_name: str | None = None,
                  root_validity_days: int = 20 * 365,
                  issuing_validity_days: int = 10 * 365) -> tuple[UUID, UUID]:
        """Create a root CA and an issuing CA under it; keys go to the key store, sealed.

        Conflict if a CA of either name exists, or one whose subject DN is either new DN.
        """
        for name in (root_name, issuing_name):
            if self.exists(name):
                raise Conflict(f"a CA named {name!r} exists already", code="ca_exists")
        default_root_cn, default_issuing_cn = default_common_names(organization, algorithm)
        root_subject, issuing_subject = (
            normalise_subject({"common_name": cn, "organization": organization,
                               "country": country})
            for cn in (root_common_name or default_root_cn,
                       issuing_common_name or default_issuing_cn))
        self._check_subjects_unused(root_subject, issuing_subject)
        now = self._clock()
        sub_ca = PROFILES["sub-ca"]
        keys = sorted(key_family(algorithm.value))
        root_ref, root_signer = self._keys.generate(algorithm, root_name)
        issuing_ref, issuing_signer = self._keys.generate(algorithm, issuing_name)
        try:
            root_der = self_signed_certificate(
                root_signer, subject=root_subject, profile=sub_ca, not_before=now,
                validity_days=root_validity_days, path_length=None)
            root = CertificateAuthority.establish(
                actor=actor, name=root_name, key_algorithm=algorithm.value, key_ref=root_ref,
                certificate_der=root_der, parent=None, subject_key_algorithms=keys,
                profiles=[p.name for p in PROFILES.values() if p.is_ca])
            issuer = Issuer(root_name, root_signer, x509.Certificate.load(root_der))
            issuing_der, _ = issue_certificate(
                issuer, profile=sub_ca, subject=issuing_subject,
                public_key_info=issuing_signer.public_key_info(), key_algorithm=algorithm,
                serial_number=new_serial_number(), not_before=now,
                validity_days=issuing_validity_days, urls=self._urls)
            issuing = CertificateAuthority.establish(
                actor=actor, name=issuing_name, key_algorithm=algorithm.value,
                key_ref=issuing_ref, certificate_der=issuing_der, parent=root_name,
                subject_key_algorithms=keys,
                profiles=[p.name for p in PROFILES.values() if not p.is_ca])
            self._log.save(root, issuing)
        except BaseException as exc:
            for key_ref in (root_ref, issuing_ref):  # no event names them: no key is left
                self._keys.discard(key_ref)
            if isinstance(exc, IntegrityError):
                raise Conflict("a CA with one of these names exists already",
                               code="ca_exists") from None
            raise
        return root.id, issuing.id

    # ---- reading --------------------------------------------------------------------------

    def get(self, name: str) -> CertificateAuthority:
        """The CA as it is now (its CRL state included); NotFound if there is none."""
        authority = self._log.load(CertificateAuthority.create_id(name), CertificateAuthority)
        if authority is None:
            raise NotFound(f"no CA named {name!r}", code="ca_not_found")
        return authority

    def authority(self, name: str) -> CertificateAuthority:
        """The CA for its certificate and issuing policy (NotFound if there is none).

        Read once per process: neither changes after Established, and CAs are never
        removed. Record nothing on it (its CRL state is not kept current).
        """
        with self._lock:
            cached = self._established.get(name)
        if cached is None:
            cached = self.get(name)
            with self._lock:
                self._established[name] = cached
        return cached

    def exists(self, name: str) -> bool:
        try:
            self.authority(name)
        except NotFound:
            return False
        return True

    def chain(self, name: str) -> list[bytes]:
        """The CA's certificate followed by its parents' up to the root."""
        chain, seen = [], set()
        authority: CertificateAuthority | None = self.authority(name)
        while authority is not None and authority.name not in seen:
            seen.add(authority.name)
            chain.append(authority.certificate_der)
            authority = self.authority(authority.parent) if authority.parent else None
        return chain

    def issuer(self, name: str) -> Issuer:
        """The CA with its signer (the key is opened once per process)."""
        with self._lock:
            cached = self._issuers.get(name)
        if cached is None:
            authority = self.authority(name)
            cached = Issuer(name, self._keys.load(authority.key_ref),
                            x509.Certificate.load(authority.certificate_der))
            with self._lock:
                self._issuers[name] = cached
        return cached

    def issuer_info(self, name: str) -> IssuerInfo:
        """The CA's public data, as certificates name their issuer: no key is opened."""
        authority = self.authority(name)
        return IssuerInfo(name, x509.Certificate.load(authority.certificate_der),
                          signature_algorithm_identifier(KeyAlgorithm(authority.key_algorithm)))

    def _check_subjects_unused(self, *subjects: dict[str, Any]) -> None:
        """Conflict if a new CA's subject DN equals another new one's or an existing CA's
        (RFC 5280 §7.1 name comparison)."""
        names = [subject_name(subject) for subject in subjects]
        if len(names) > 1 and names[0] == names[1]:
            raise Conflict("the root and the issuing CA need different subject names",
                           code="ca_subject_exists")
        for _, event in self._log.read(topics=[CertificateAuthority.Established.TOPIC]):
            existing = x509.Certificate.load(event.certificate_der).subject
            for name in names:
                if name == existing:
                    raise Conflict(f"CA {event.name!r} has the subject {name.human_friendly!r}"
                                   " already; give the new CA another common name",
                                   code="ca_subject_exists")
