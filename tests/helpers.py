"""Test helpers: keys and CSRs made with pyca/cryptography, event log access."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from ca.encoding.algorithms import KeyAlgorithm

__all__ = ["make_csr", "event_topics", "private_key_for", "MovableClock"]


def private_key_for(algorithm: KeyAlgorithm) -> Any:
    if algorithm.is_rsa:
        return rsa.generate_private_key(65537, algorithm.rsa_bits)
    if algorithm is KeyAlgorithm.ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm is KeyAlgorithm.ECDSA_P384:
        return ec.generate_private_key(ec.SECP384R1())
    if algorithm is KeyAlgorithm.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(algorithm)


def make_csr(algorithm: KeyAlgorithm, key: Any = None, common_name: str = "applicant"
             ) -> tuple[Any, str]:
    key = key or private_key_for(algorithm)
    digest = None if algorithm is KeyAlgorithm.ED25519 else hashes.SHA256()
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
               .sign(key, digest))
    return key, request.public_bytes(serialization.Encoding.PEM).decode()


def event_topics(ledger: Any) -> list[str]:
    """Every stored event's topic, in log order (of a CertLedger or an EventLog)."""
    log = getattr(ledger, "log", ledger)
    return [n.topic for n in log.recorder.select_notifications(start=1, limit=1_000_000)]


class MovableClock:
    """The clock of test CAs: the real time, moved by ``offset`` (a test ages a CA by
    setting it); every part of one CertLedger reads this one clock."""

    def __init__(self) -> None:
        from datetime import timedelta

        self.offset = timedelta(0)

    def __call__(self) -> Any:
        from datetime import UTC, datetime

        return datetime.now(UTC) + self.offset


def approve(ledger: Any, certificate_id: Any) -> Any:
    """Approve as the tests' officers: a second one where the profile needs two approvers
    (organisation certificates)."""
    from domain.actors import Actor, Role

    certificate = None
    for name in ("officer-li", "officer-wang"):
        certificate = ledger.certificates.approve(Actor(name, Role.OFFICER), certificate_id)
        if certificate.status.value != "applied":
            break
    return certificate
