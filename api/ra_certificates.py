"""RA API, certificates: portals apply, officers review, the CA issues, either revokes.

Each view parses, makes one call, returns JSON. What a token's portals do not hold is
"not found" (404), as what does not exist: the commands check (ca/applications/).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from api.auth import current_actor, require
from api.context import ledger
from api.idempotency import idempotent, request_id
from api.openapi import operation
from api.order_views import activation_view
from api.requests import (
    body,
    csr_text,
    issuer_name,
    optional_text,
    optional_time,
    path_id,
    revocation_reason,
    text,
)
from api.views import certificate_view
from domain.actors import Role
from domain.certificate import Certificate

__all__ = ["blueprint"]

blueprint = Blueprint("ra_certificates", __name__, url_prefix="/api/v1")

PORTAL, OFFICER, AUDITOR = Role.APPLICANT_PORTAL, Role.OFFICER, Role.AUDITOR
_TAG = "certificates"
_OK = {200: "Certificate"}


def _view(certificate: Certificate) -> dict[str, Any]:
    """The certificate, and whether its order is activated (usable)."""
    return {**certificate_view(certificate),
            **activation_view(certificate, ledger().orders.find(certificate.id))}


def _id(value: str) -> Any:
    return path_id(value, "certificate_not_found", "no certificate or application")


@blueprint.post("/certificates")
@operation("Apply for a certificate (in the caller's portal)", _TAG, {201: "Certificate"},
           request="Application", errors=(404, 409, 422))
@require(PORTAL, OFFICER)
@idempotent
def apply() -> Any:
    data = body("profile", "csr", "subject")
    certificate_id = ledger().certificates.apply(
        current_actor(), profile=data["profile"], csr=csr_text(data, "csr"),
        subject=data["subject"], issuer=issuer_name(data), validity_days=data.get("validity_days"),
        account_id=text(data, "account_id", 200) or None,
        portal=optional_text(data, "portal", 63), new_id=request_id(),
        kind=data.get("kind"), predecessor_id=optional_text(data, "predecessor_id", 200),
        terms_version=optional_text(data, "terms_version", 50), media=data.get("media"),
        shipping=data.get("shipping"))
    view = _view(ledger().certificates.get_for(current_actor(), certificate_id))
    return view, 201, {"Location": url_for("ra_certificates.get_certificate",
                                           certificate_id=view["id"])}


@blueprint.get("/certificates/<certificate_id>")
@operation("A certificate or application", _TAG, _OK)
@require(PORTAL, OFFICER, AUDITOR)
def get_certificate(certificate_id: str) -> Any:
    return _view(ledger().certificates.get_for(current_actor(), _id(certificate_id)))


@blueprint.post("/certificates/<certificate_id>/approve")
@operation("Approve an application (one of the approvals its profile needs; never by "
           "whoever submitted it)", _TAG, _OK, request="Review", request_required=False,
           errors=(409,))
@require(OFFICER)
@idempotent
def approve(certificate_id: str) -> Any:
    data = body()
    return certificate_view(ledger().certificates.approve(
        current_actor(), _id(certificate_id), text(data, "comment")))


@blueprint.post("/certificates/<certificate_id>/reject")
@operation("Reject an application, with a reason", _TAG, _OK, request="Rejection",
           errors=(409,))
@require(OFFICER)
@idempotent
def reject(certificate_id: str) -> Any:
    data = body("reason")
    return certificate_view(ledger().certificates.reject(
        current_actor(), _id(certificate_id), text(data, "reason")))


@blueprint.post("/certificates/<certificate_id>/issue")
@operation("Issue (sign) an approved application", _TAG, _OK, request="Empty",
           request_required=False, errors=(409, 422, 503))
@require(PORTAL, OFFICER)
@idempotent
def issue(certificate_id: str) -> Any:
    body()
    return certificate_view(ledger().certificates.issue(current_actor(), _id(certificate_id)))


@blueprint.post("/certificates/<certificate_id>/revoke")
@operation("Revoke an issued or suspended certificate", _TAG, _OK, request="Revocation",
           errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def revoke(certificate_id: str) -> Any:
    data = body("reason")
    return certificate_view(ledger().certificates.revoke(
        current_actor(), _id(certificate_id), revocation_reason(data),
        invalidity_date=optional_time(data, "invalidity_date"), comment=text(data, "comment")))


@blueprint.post("/certificates/<certificate_id>/suspend")
@operation("Suspend (certificateHold)", _TAG, _OK, request="Comment", request_required=False,
           errors=(409,))
@require(OFFICER)
@idempotent
def suspend(certificate_id: str) -> Any:
    data = body()
    return certificate_view(ledger().certificates.suspend(
        current_actor(), _id(certificate_id), text(data, "comment")))


@blueprint.post("/certificates/<certificate_id>/resume")
@operation("Resume a suspended certificate", _TAG, _OK, request="Comment",
           request_required=False, errors=(409,))
@require(OFFICER)
@idempotent
def resume(certificate_id: str) -> Any:
    data = body()
    return certificate_view(ledger().certificates.resume(
        current_actor(), _id(certificate_id), text(data, "comment")))


@blueprint.post("/certificates/<certificate_id>/cancel")
@operation("Revocation the subscriber asked for (注销): cessationOfOperation", _TAG, _OK,
           request="Comment", request_required=False, errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def cancel(certificate_id: str) -> Any:
    data = body()
    return certificate_view(ledger().certificates.cancel(
        current_actor(), _id(certificate_id), text(data, "comment")))
