"""RA API, the certificate login check (seeds 000/001): ``POST /api/v1/bindings/verify``
with a username and a certificate (PEM, or DER in base64) → whether it may log that
account in, and if not why (domain/bindings.py). Only for the portal that owns the
account: another portal's username is "not found". Records nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from flask import Blueprint

from api.auth import current_actor, require
from api.context import ledger
from api.errors import ApiError
from api.idempotency import idempotent
from api.openapi import operation
from api.requests import body, optional_text
from domain.actors import Role
from domain.bindings import Refusal, binding_refusal

__all__ = ["blueprint", "certificate_der"]

blueprint = Blueprint("bindings", __name__, url_prefix="/api/v1")
MAX_CERTIFICATE_CHARS = 16 * 1024
_PEM = "-----BEGIN CERTIFICATE-----"


def certificate_der(value: object) -> bytes:
    """The certificate's DER from PEM text or base64 DER; 400 for anything else."""
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "bad_certificate", "certificate is PEM, or DER in base64")
    if len(value) > MAX_CERTIFICATE_CHARS:
        raise ApiError(400, "certificate_too_large",
                       f"certificate is at most {MAX_CERTIFICATE_CHARS} characters")
    try:
        if _PEM in value:
            certificate = x509.load_pem_x509_certificate(value.encode())
        else:
            certificate = x509.load_der_x509_certificate(
                base64.b64decode("".join(value.split()), validate=True))
        return certificate.public_bytes(Encoding.DER)
    except (ValueError, binascii.Error, TypeError):
        raise ApiError(400, "bad_certificate",
                       "certificate is not a readable X.509 certificate") from None


@blueprint.post("/bindings/verify")
@operation("May this certificate log this account in? If not, why", "bindings",
           {200: "BindingVerdict"}, request="BindingCheck")
@require(Role.APPLICANT_PORTAL, Role.OFFICER)
@idempotent
def verify() -> Any:
    data = body("username", "certificate")
    username = data["username"]
    if not isinstance(username, str) or not 1 <= len(username) <= 100:
        raise ApiError(400, "bad_field", "username is text of 1 to 100 characters")
    der = certificate_der(data["certificate"])
    actor = current_actor()
    portal = optional_text(data, "portal", 63)
    portals = actor.portals if portal is None else \
        (frozenset({portal}) if actor.sees(portal) else frozenset())
    lookups = ledger().read.lookups
    accounts = lookups.account_by_username(portals, username.upper())
    if not accounts:
        raise ApiError(404, "account_not_found", f"no account {username[:80]!r}")
    if len(accounts) > 1:
        raise ApiError(400, "portal_required",
                       "that username is in several of your portals: say which (portal)")
    found = lookups.by_der_sha256(hashlib.sha256(der).hexdigest())
    now = int(ledger().clock().timestamp())
    refusal = binding_refusal(found, accounts[0], now)
    # the id only of the account's own certificate: another account's may be another
    # portal's, whose ids this caller never learns
    owned = found is not None and refusal not in (Refusal.NOT_OURS, Refusal.ANOTHER_ACCOUNT)
    return {"allowed": refusal is None, "reason": refusal.value if refusal else None,
            "certificate_id": found.certificate_id if owned and found else None}
