"""RA API, dual certificates (双证书): a signing and an encryption certificate as one pair,
applied for, approved, rejected, issued and revoked together."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from api.auth import current_actor, require
from api.context import ledger
from api.idempotency import idempotent, request_id
from api.openapi import operation
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
from api.views import pair_view
from domain.actors import Role

__all__ = ["blueprint"]

blueprint = Blueprint("ra_pairs", __name__, url_prefix="/api/v1")

PORTAL, OFFICER, AUDITOR = Role.APPLICANT_PORTAL, Role.OFFICER, Role.AUDITOR
_TAG = "certificate pairs"
_OK = {200: "CertificatePair"}


def _pair_id(value: str) -> Any:
    return path_id(value, "pair_not_found", "no certificate pair")


@blueprint.post("/certificate-pairs")
@operation("Apply for a signing and an encryption certificate as a pair", _TAG,
           {201: "CertificatePair"}, request="PairApplication", errors=(404, 409, 422))
@require(PORTAL, OFFICER)
@idempotent
def apply_pair() -> Any:
    data = body("signing_csr", "encryption_csr", "subject")
    pair_id = ledger().pairs.apply(
        current_actor(), signing_csr=csr_text(data, "signing_csr"),
        encryption_csr=csr_text(data, "encryption_csr"), subject=data["subject"],
        issuer=issuer_name(data), validity_days=data.get("validity_days"),
        signing_profile=data.get("signing_profile", "personal-signing"),
        account_id=text(data, "account_id", 200) or None,
        portal=optional_text(data, "portal", 63), new_id=request_id())
    view = pair_view(ledger().pairs.get_for(current_actor(), pair_id))
    return view, 201, {"Location": url_for("ra_pairs.get_pair", pair_id=view["pair_id"])}


@blueprint.get("/certificate-pairs/<pair_id>")
@operation("A certificate pair", _TAG, _OK)
@require(PORTAL, OFFICER, AUDITOR)
def get_pair(pair_id: str) -> Any:
    return pair_view(ledger().pairs.get_for(current_actor(), _pair_id(pair_id)))


@blueprint.post("/certificate-pairs/<pair_id>/approve")
@operation("Approve both halves", _TAG, _OK, request="Empty", request_required=False,
           errors=(409,))
@require(OFFICER)
@idempotent
def approve_pair(pair_id: str) -> Any:
    body()
    return pair_view(ledger().pairs.approve(current_actor(), _pair_id(pair_id)))


@blueprint.post("/certificate-pairs/<pair_id>/reject")
@operation("Reject both halves, with a reason", _TAG, _OK, request="Rejection",
           errors=(409,))
@require(OFFICER)
@idempotent
def reject_pair(pair_id: str) -> Any:
    data = body("reason")
    return pair_view(ledger().pairs.reject(current_actor(), _pair_id(pair_id),
                                           text(data, "reason")))


@blueprint.post("/certificate-pairs/<pair_id>/issue")
@operation("Issue both halves", _TAG, _OK, request="Empty", request_required=False,
           errors=(409, 422, 503))
@require(PORTAL, OFFICER)
@idempotent
def issue_pair(pair_id: str) -> Any:
    body()
    return pair_view(ledger().pairs.issue(current_actor(), _pair_id(pair_id)))


@blueprint.post("/certificate-pairs/<pair_id>/revoke")
@operation("Revoke both halves", _TAG, _OK, request="Revocation", errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def revoke_pair(pair_id: str) -> Any:
    data = body("reason")
    return pair_view(ledger().pairs.revoke(
        current_actor(), _pair_id(pair_id), revocation_reason(data),
        invalidity_date=optional_time(data, "invalidity_date"), comment=text(data, "comment")))
