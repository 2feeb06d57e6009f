"""JSON shapes of what the API returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import load_der_x509_certificate
from flask import has_app_context

from ca.applications.pairs import CertificatePair
from ca.applications.portals import PortalInfo
from domain.accounts import Account, Verification, VerificationTarget
from domain.certificate import Certificate
from domain.expiry import effective_status
from projections.accounts import AccountRow

__all__ = ["certificate_view", "pair_view", "pem", "account_view", "account_summary",
           "portal_view"]


def pem(der: bytes) -> str:
    return load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def certificate_view(certificate: Certificate, at: datetime | None = None) -> dict[str, Any]:
    """``at``: the time the status is for (a certificate past notAfter is ``expired``
    without an event); None: the CA's clock in a request, else now."""
    view: dict[str, Any] = {
        "id": str(certificate.id),
        "status": effective_status(certificate, at or _now()),
        "issuer": certificate.issuer,
        "profile": certificate.profile,
        "subject": certificate.subject,
        "key_algorithm": certificate.key_algorithm,
        "validity_days": certificate.validity_days,
        "account_id": certificate.account_id,
        "portal": certificate.portal,
        "applied_at": _time(certificate.created_on),
        "updated_at": _time(certificate.modified_on),
        "version": certificate.version,
        "kind": certificate.kind.value,
        "predecessor_id": str(certificate.predecessor_id) if certificate.predecessor_id
        else None,
        "approvals": list(certificate.approvals),
        "approvals_required": certificate.approvals_required,
    }
    if certificate.terms_version is not None:
        view["terms_version"] = certificate.terms_version
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
                              "invalidity_date": _time(certificate.invalidity_date),
                              "requested_by": certificate.revocation_source,
                              "superseded_by": str(certificate.superseded_by)
                              if certificate.superseded_by else None}
    lock = certificate.unlock_state
    if lock.locked:
        view["pin_lock"] = {"state": lock.state.value, "key_serial": lock.key_serial,
                            "code_expires_at": _time(lock.expires_at),
                            "failed_tries": lock.failures}
    return view


def _now() -> datetime:
    if has_app_context():
        from api.context import ledger

        return ledger().clock()
    return datetime.now(UTC)


def pair_view(pair: CertificatePair) -> dict[str, Any]:
    return {"pair_id": str(pair.pair_id), "signing": certificate_view(pair.signing),
            "encryption": certificate_view(pair.encryption)}


def _verification(verification: Verification | None,
                  target: VerificationTarget) -> dict[str, Any] | None:
    if verification is None:
        return None
    view = {"name": verification.name, "method": verification.method,
            "evidence_sha256": verification.evidence_sha256,
            "verified_by": verification.verified_by,
            "verified_at": _time(verification.verified_at)}
    if target is VerificationTarget.ENTERPRISE:  # a person's number is an HMAC: not shown
        view["licence_number"] = verification.number
    return view


def account_view(account: Account) -> dict[str, Any]:
    """An account as its portal sees it: the handler's identity card number never (it is
    not kept; only that one is recorded)."""
    handler = account.handler
    return {
        "id": str(account.id), "portal": account.portal, "kind": account.kind.value,
        "username": account.username, "name": account.name,
        "licence_number": account.licence_number, "contacts": dict(account.contacts),
        "handler": None if handler is None else {
            "name": handler["name"], "phone": handler["phone"], "id_number_recorded": True},
        "verifications": {target.value: _verification(account.verifications.get(target),
                                                      target)
                          for target in VerificationTarget},
        "registered_at": _time(account.created_on), "updated_at": _time(account.modified_on),
        "version": account.version,
    }


def account_summary(row: AccountRow) -> dict[str, Any]:
    return {"id": row.account_id, "portal": row.portal, "kind": row.kind,
            "username": row.username, "name": row.name, "licence_number": row.licence_number,
            "phone": row.phone, "email": row.email, "handler_name": row.handler_name,
            "verified": {"person": row.person_verified,
                         "enterprise": row.enterprise_verified},
            "registered_at": row.registered_at}


def portal_view(portal: PortalInfo) -> dict[str, Any]:
    return {"code": portal.code, "name": portal.name, "created_at": _time(portal.created),
            "created_by": portal.created_by}
