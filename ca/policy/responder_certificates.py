"""What a delegated OCSP responder certificate contains (RFC 6960 §4.2.2.2).

Issued by the CA whose certificates it answers for: keyUsage digitalSignature,
extendedKeyUsage id-kp-OCSPSigning, id-pkix-ocsp-nocheck (so clients do not ask about
the responder itself), and a short life (:data:`RESPONDER_VALIDITY_DAYS`), never
past the CA's own notAfter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ca.encoding.certificate_encoding import (
    CertificateRequestParts,
    build_tbs,
    key_identifier,
    sign_tbs,
)
from ca.encoding.signers import Signer
from ca.policy.issuance import Issuer
from ca.policy.subject_names import subject_name

__all__ = ["RESPONDER_VALIDITY_DAYS", "responder_certificate"]

RESPONDER_VALIDITY_DAYS = 30


def responder_certificate(issuer: Issuer, signer: Signer, *, serial_number: int,
                          not_before: datetime, validity_days: int = RESPONDER_VALIDITY_DAYS,
                          lint: bool = True) -> tuple[bytes, datetime]:
    """The responder certificate for ``signer``'s key, signed by ``issuer``; (DER, notAfter)."""
    not_before = not_before.replace(microsecond=0)
    not_after = min(not_before + timedelta(days=validity_days) - timedelta(seconds=1),
                    issuer.not_after)
    spki = signer.public_key_info()
    extensions = [
        _ext("basic_constraints", {"ca": False}, critical=True),
        _ext("key_usage", {"digital_signature"}, critical=True),
        _ext("extended_key_usage", ["ocsp_signing"]),
        _ext("ocsp_no_check", None),
        _ext("key_identifier", key_identifier(spki)),
        _ext("authority_key_identifier", {"key_identifier": issuer.key_identifier}),
    ]
    parts = CertificateRequestParts(
        serial_number=serial_number, issuer=issuer.subject, subject=_subject_for(issuer),
        public_key_info=spki, not_before=not_before, not_after=not_after,
        extensions=extensions)
    tbs = build_tbs(parts, issuer.signer.signature_algorithm())
    return sign_tbs(tbs, issuer.signer, lint=lint), not_after


def _subject_for(issuer: Issuer) -> Any:
    """The issuer's country and organisation, with CN "<issuer CN> OCSP Responder"."""
    native = issuer.subject.native
    issuer_cn = str(native.get("common_name") or issuer.name)
    subject = {"common_name": f"{issuer_cn[:64 - len(' OCSP Responder')]} OCSP Responder"}
    for key, attribute in (("country", "country_name"), ("organization", "organization_name")):
        if native.get(attribute):
            subject[key] = native[attribute]
    return subject_name(subject)


def _ext(name: str, value: Any, *, critical: bool = False) -> dict[str, Any]:
    return {"extn_id": name, "critical": critical, "extn_value": value}
