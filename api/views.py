"""JSON shapes of what the API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import load_der_x509_certificate

from ca.applications.pairs import CertificatePair
from domain.certificate import Certificate

__all__ = ["certificate_view", "pair_view", "pem"]


def pem(der: bytes) -> str:
    return load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def certificate_view(certificate: Certificate) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": str(certificate.id),
        "status": certificate.status.value,
        "issuer": certificate.issuer,
        "profile": certificate.profile,
        "subject": certificate.subject,
        "key_algorithm": certificate.key_algorithm,
        "validity_days": certificate.validity_days,
        "account_id": certificate.account_id,
        "applied_at": _time(certificate.created_on),
        "updated_at": _time(certificate.modified_on),
        "version": certificate.version,
    }
    if certificate.pair_id is not None:
        view["pair"] = {"id": str(certificate.pair_id), "role": certificate.pair_role,
                        "partner_id": str(certificate.pair_partner_id)}
        view["key_source"] = certificate.key_source
    if certificate.csr_signer_id is not None:
        view["csr_signer_id"] = certificate.csr_signer_id
    if certificate.rejection_reason:
        view["rejection_reason"] = certificate.rejection_reason
    if certificate.serial_number is not None and certificate.certificate_der:
        view.update({
            "serial_number": format(certificate.serial_number, "x"),
            "not_before": _time(certificate.not_before),
            "not_after": _time(certificate.not_after),
            "certificate_pem": pem(certificate.certificate_der),
        })
    if certificate.revocation_reason is not None:
        view["revocation"] = {"reason": certificate.revocation_reason.rfc_name,
                              "revocation_time": _time(certificate.revocation_time),
                              "invalidity_date": _time(certificate.invalidity_date)}
    return view


def pair_view(pair: CertificatePair) -> dict[str, Any]:
    return {"pair_id": str(pair.pair_id), "signing": certificate_view(pair.signing),
            "encryption": certificate_view(pair.encryption)}
