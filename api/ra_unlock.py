"""RA API, PIN unlock (解锁, seed 002): report a locked key, request an unlock, an officer
approves (the one-time code is in that answer only) or rejects, the code is redeemed.

The approval's answer holds the code: it is never stored for an Idempotency-Key
(``keep_body=False``); a retry with the key makes the same code again
(ca/applications/unlock.py). The code is in no event, row or log line.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint

from api.auth import current_actor, require
from api.context import ledger
from api.errors import ApiError
from api.idempotency import idempotent, request_id
from api.openapi import operation
from api.requests import body, path_id, text
from api.views import certificate_view
from domain.actors import Role
from domain.unlock import check_key_serial

__all__ = ["blueprint"]

blueprint = Blueprint("ra_unlock", __name__, url_prefix="/api/v1")

PORTAL, OFFICER = Role.APPLICANT_PORTAL, Role.OFFICER
_TAG = "unlock"
_OK = {200: "Certificate"}


def _id(value: str) -> Any:
    return path_id(value, "certificate_not_found", "no certificate or application")


@blueprint.post("/certificates/<certificate_id>/pin-lock")
@operation("Report that the key holding the certificate locked itself (wrong PINs)", _TAG,
           _OK, request="LockReport", request_required=False, errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def report_lock(certificate_id: str) -> Any:
    data = body()
    return certificate_view(ledger().unlocks.report_lock(
        current_actor(), _id(certificate_id), data.get("key_serial"), text(data, "comment")))


@blueprint.post("/certificates/<certificate_id>/unlock-request")
@operation("Ask for the key to be unlocked (with its serial, if known)", _TAG, _OK,
           request="LockReport", request_required=False, errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def request_unlock(certificate_id: str) -> Any:
    data = body()
    return certificate_view(ledger().unlocks.request(
        current_actor(), _id(certificate_id), data.get("key_serial"), text(data, "comment")))


@blueprint.post("/unlock-requests")
@operation("Ask for an unlock by the locked key's serial (as reported)", _TAG, _OK,
           request="KeyUnlockRequest", errors=(404, 409))
@require(PORTAL, OFFICER)
@idempotent
def request_unlock_by_key() -> Any:
    data = body("key_serial")
    serial = check_key_serial(data["key_serial"], required=True)
    assert serial is not None
    actor = current_actor()
    found = ledger().read.lookups.locked_by_key(actor.portals, serial)
    keys = {c.pair_id or c.id: c for c in
            (ledger().certificates.get_for(actor, UUID(ident)) for ident in found)}
    if not keys:
        raise ApiError(404, "key_not_found", "no certificate of yours waits for an unlock "
                       "of a key with that serial")
    if len(keys) > 1:
        raise ApiError(409, "key_holds_several", "that key holds several certificates: ask "
                       "for the unlock of each by its id")
    certificate = next(iter(keys.values()))
    return certificate_view(ledger().unlocks.request(actor, certificate.id, serial,
                                                     text(data, "comment")))


@blueprint.post("/certificates/<certificate_id>/unlock-request/approve")
@operation("Approve the unlock: the one-time code is in this answer only", _TAG,
           {200: "UnlockApproval"}, request="Empty", request_required=False, errors=(409,))
@require(OFFICER)
@idempotent(keep_body=False)
def approve_unlock(certificate_id: str) -> Any:
    body()
    approval = ledger().unlocks.approve(current_actor(), _id(certificate_id),
                                        new_id=request_id())
    return {"certificate": certificate_view(approval.certificate),
            "unlock_code": approval.code,
            "expires_at": approval.expires_at.isoformat().replace("+00:00", "Z")}


@blueprint.post("/certificates/<certificate_id>/unlock-request/reject")
@operation("Reject the unlock, with a reason", _TAG, _OK, request="Rejection", errors=(409,))
@require(OFFICER)
@idempotent
def reject_unlock(certificate_id: str) -> Any:
    data = body("reason")
    return certificate_view(ledger().unlocks.reject(current_actor(), _id(certificate_id),
                                                    text(data, "reason")))


@blueprint.post("/certificates/<certificate_id>/unlock")
@operation("Redeem the unlock code (a wrong one is counted: 5 tries)", _TAG, _OK,
           request="UnlockCode", errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def redeem(certificate_id: str) -> Any:
    data = body("code")
    return certificate_view(ledger().unlocks.redeem(current_actor(), _id(certificate_id),
                                                    data["code"]))
