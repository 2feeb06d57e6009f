"""The one X.509 certificate encoder: TBSCertificate from parts, lint, sign, assemble.

Built with asn1crypto for every algorithm (SM2 included), so there is one path
from a decided request to DER. Order of work (after Boulder): build the TBS,
lint a copy of the certificate, sign the exact TBS bytes that were linted (one
encoding, assembled twice), and verify the signature before it leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import algos, keys, x509

from ca.encoding import der
from ca.encoding.lint import lint_certificate
from ca.encoding.signers import Signer, verify_signature

__all__ = ["CertificateRequestParts", "build_tbs", "sign_tbs", "lint_tbs", "encode_time",
           "key_identifier", "CertificateLintError"]


class CertificateLintError(Exception):
    """pkilint found ERROR or FATAL problems: the certificate was not signed."""

    def __init__(self, findings: list[str]) -> None:
        super().__init__("certificate failed lint: " + "; ".join(findings))
        self.findings = findings


@dataclass(frozen=True)
class CertificateRequestParts:
    """Everything that goes into one certificate except the issuer's signature."""

    serial_number: int
    issuer: x509.Name
    subject: x509.Name
    public_key_info: keys.PublicKeyInfo
    not_before: datetime
    not_after: datetime
    extensions: list[dict[str, Any]]


def encode_time(moment: datetime) -> x509.Time:
    """UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5), whole seconds."""
    return x509.Time.load(der.x509_time(moment))


def key_identifier(public_key_info: keys.PublicKeyInfo) -> bytes:
    """RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value."""
    import hashlib

    return hashlib.sha1(public_key_info["public_key"].contents[1:], usedforsecurity=False).digest()


def build_tbs(parts: CertificateRequestParts,
              signature_algorithm: algos.SignedDigestAlgorithm) -> x509.TbsCertificate:
    """The TBSCertificate of ``parts``, to be signed with ``signature_algorithm``."""
    extensions = [x509.Extension(ext) for ext in parts.extensions]
    return x509.TbsCertificate({
        "version": "v3",
        "serial_number": parts.serial_number,
        "signature": signature_algorithm,
        "issuer": parts.issuer,
        "validity": {"not_before": encode_time(parts.not_before),
                     "not_after": encode_time(parts.not_after)},
        "subject": parts.subject,
        "subject_public_key_info": parts.public_key_info,
        "extensions": extensions,
    })


def sign_tbs(tbs: x509.TbsCertificate, signer: Signer, *, lint: bool = True) -> bytes:
    """Lint, sign and assemble; returns the certificate DER. Raises CertificateLintError.

    The TBS is encoded once; the linted preview and the signed certificate are both
    assembled around those same bytes, so what is signed is exactly what was linted.
    """
    tbs_der = tbs.dump(force=True)
    algorithm_der = signer.signature_algorithm().dump()
    if lint:
        findings = _lint(tbs_der, algorithm_der)
        if findings:
            raise CertificateLintError(findings)
    signature = signer.sign(tbs_der)
    # a faulty signature (a hardware or arithmetic fault) must never leave the CA
    verify_signature(signer.public_key_info(), signer.signature_algorithm(), signature, tbs_der)
    return _assemble(tbs_der, algorithm_der, signature)


def lint_tbs(tbs: x509.TbsCertificate) -> list[str]:
    """pkilint's ERROR/FATAL findings on the certificate ``tbs`` would become, unsigned: the
    preview an application gets before anything is recorded (no CA key is used)."""
    return _lint(tbs.dump(force=True), tbs["signature"].dump())


def _lint(tbs_der: bytes, algorithm_der: bytes) -> list[str]:
    """Lint a copy of the certificate with a placeholder signature."""
    return lint_certificate(_assemble(tbs_der, algorithm_der, b"\x00" * 8))


def _assemble(tbs_der: bytes, algorithm_der: bytes, signature: bytes) -> bytes:
    """Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }"""
    return der.sequence(tbs_der, algorithm_der, der.bit_string(signature))
