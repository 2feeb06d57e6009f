"""The ``audit-signing`` profile: the certificate of the key that signs tree heads.

Issued by an issuing CA (a root certifies CAs only), for a key of the CA's own algorithm
(SM2 under an SM2 CA: a 国密 hierarchy signs its tree heads SM3withSM2): basicConstraints
cA false, keyUsage digitalSignature (critical), extendedKeyUsage
:data:`ca.audit.signed_heads.AUDIT_SIGNING_OID` (id-kp-timeStamping) alone and critical,
which no other profile has, so the key is good for nothing but tree heads, and a life
of :data:`AUDIT_SIGNER_VALIDITY_DAYS`, never past the CA's own.
The profile is not one RA portals may apply for: only the tree-head process asks for it.
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

__all__ = ["AUDIT_SIGNER_PROFILE", "AUDIT_SIGNER_VALIDITY_DAYS", "audit_signer_certificate"]

AUDIT_SIGNER_PROFILE = "audit-signing"
AUDIT_SIGNER_VALIDITY_DAYS = 365


def audit_signer_certificate(issuer: Issuer, signer: Signer, *, serial_number: int,
                             not_before: datetime,
                             validity_days: int = AUDIT_SIGNER_VALIDITY_DAYS,
                             lint: bool = True) -> tuple[bytes, datetime]:
    """The audit signer certificate for ``signer``'s key, signed by ``issuer``;
    (DER, notAfter)."""
    not_before = not_before.replace(microsecond=0)
    not_after = min(not_before + timedelta(days=validity_days) - timedelta(seconds=1),
                    issuer.not_after)
    spki = signer.public_key_info()
    extensions = [
        _ext("basic_constraints", {"ca": False}, critical=True),
        _ext("key_usage", {"digital_signature"}, critical=True),
        _ext("extended_key_usage", ["time_stamping"], critical=True),
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
    """The issuer's country and organisation, with CN "<issuer CN> Audit Log Signer"."""
    native = issuer.subject.native
    suffix = " Audit Log Signer"
    issuer_cn = str(native.get("common_name") or issuer.name)
    subject = {"common_name": f"{issuer_cn[:64 - len(suffix)]}{suffix}"}
    for key, attribute in (("country", "country_name"), ("organization", "organization_name")):
        if native.get(attribute):
            subject[key] = native[attribute]
    return subject_name(subject)


def _ext(name: str, value: Any, *, critical: bool = False) -> dict[str, Any]:
    return {"extn_id": name, "critical": critical, "extn_value": value}
