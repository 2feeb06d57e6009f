"""RA API: what portals and officers call. Each view parses, makes one call, returns JSON."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from flask import Blueprint, url_for

from api.auth import current_actor, require
from api.context import ledger
from api.errors import ApiError
from api.json_body import json_body
from api.views import certificate_view, pair_view
from domain.actors import Role
from domain.reasons import RevocationReason

__all__ = ["blueprint"]

blueprint = Blueprint("ra", __name__, url_prefix="/api/v1")

PORTAL, OFFICER, AUDITOR = Role.APPLICANT_PORTAL, Role.OFFICER, Role.AUDITOR




def _body(*required: str) -> dict[str, Any]:
    data = json_body()
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    missing = [k for k in required if k not in data]
    if missing:
        raise ApiError(400, "missing_fields", f"missing fields: {', '.join(missing)}")
    return data


def _id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ApiError(404, "certificate_not_found", f"no certificate or application {value}") \
            from None


def _pair_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ApiError(404, "pair_not_found", f"no certificate pair {value}") from None


def _csr(data: dict[str, Any], key: str) -> str:
    if not isinstance(data[key], str):
        raise ApiError(400, "bad_csr", f"{key} must be PEM text")
    return data[key]  # type: ignore[no-any-return]


def _issuer(data: dict[str, Any]) -> str | None:
    issuer = data.get("issuer")
    if issuer is not None and not isinstance(issuer, str):
        raise ApiError(400, "bad_field", "issuer must be a CA name")
    return issuer


def _optional_time(data: dict[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ApiError(400, "bad_time", f"{key} must be an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "bad_time", f"{key} must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ApiError(400, "bad_time", f"{key} must carry a time zone (e.g. Z)")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise ApiError(400, "bad_time", f"{key} is out of the range of dates") from None


def _text(data: dict[str, Any], key: str, limit: int = 1000) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(400, "bad_field", f"{key} must be text of at most {limit} characters")
    return value


@blueprint.post("/certificates")
@require(PORTAL, OFFICER)
def apply() -> Any:
    data = _body("profile", "csr", "subject")
    certificate_id = ledger().certificates.apply(
        current_actor(), profile=data["profile"], csr=_csr(data, "csr"), subject=data["subject"],
        issuer=_issuer(data), validity_days=data.get("validity_days"),
        account_id=_text(data, "account_id", 200) or None)
    view = certificate_view(ledger().certificates.get(certificate_id))
    return view, 201, {"Location": url_for("ra.get_certificate", certificate_id=view["id"])}


@blueprint.get("/certificates/<certificate_id>")
@require(PORTAL, OFFICER, AUDITOR)
def get_certificate(certificate_id: str) -> Any:
    return certificate_view(ledger().certificates.get(_id(certificate_id)))


@blueprint.post("/certificates/<certificate_id>/approve")
@require(OFFICER)
def approve(certificate_id: str) -> Any:
    _body()
    return certificate_view(ledger().certificates.approve(current_actor(), _id(certificate_id)))


@blueprint.post("/certificates/<certificate_id>/reject")
@require(OFFICER)
def reject(certificate_id: str) -> Any:
    data = _body("reason")
    return certificate_view(ledger().certificates.reject(current_actor(), _id(certificate_id),
                                              _text(data, "reason")))


@blueprint.post("/certificates/<certificate_id>/issue")
@require(PORTAL, OFFICER)
def issue(certificate_id: str) -> Any:
    _body()
    return certificate_view(ledger().certificates.issue(current_actor(), _id(certificate_id)))


def _reason(data: dict[str, Any]) -> RevocationReason:
    try:
        return RevocationReason.parse(data["reason"])
    except ValueError as exc:
        raise ApiError(400, "bad_reason", str(exc)) from None


@blueprint.post("/certificates/<certificate_id>/revoke")
@require(PORTAL, OFFICER)
def revoke(certificate_id: str) -> Any:
    data = _body("reason")
    return certificate_view(ledger().certificates.revoke(
        current_actor(), _id(certificate_id), _reason(data),
        invalidity_date=_optional_time(data, "invalidity_date"), comment=_text(data, "comment")))


@blueprint.post("/certificates/<certificate_id>/suspend")
@require(OFFICER)
def suspend(certificate_id: str) -> Any:
    data = _body()
    return certificate_view(ledger().certificates.suspend(current_actor(), _id(certificate_id),
                                               _text(data, "comment")))


@blueprint.post("/certificates/<certificate_id>/resume")
@require(OFFICER)
def resume(certificate_id: str) -> Any:
    data = _body()
    return certificate_view(ledger().certificates.resume(current_actor(), _id(certificate_id),
                                              _text(data, "comment")))


# ---- dual certificates (双证书): a signing and an encryption certificate as one pair ------


@blueprint.post("/certificate-pairs")
@require(PORTAL, OFFICER)
def apply_pair() -> Any:
    data = _body("signing_csr", "encryption_csr", "subject")
    pair_id = ledger().pairs.apply(
        current_actor(), signing_csr=_csr(data, "signing_csr"),
        encryption_csr=_csr(data, "encryption_csr"), subject=data["subject"],
        issuer=_issuer(data), validity_days=data.get("validity_days"),
        signing_profile=data.get("signing_profile", "personal-signing"),
        account_id=_text(data, "account_id", 200) or None)
    view = pair_view(ledger().pairs.get(pair_id))
    return view, 201, {"Location": url_for("ra.get_pair", pair_id=view["pair_id"])}


@blueprint.get("/certificate-pairs/<pair_id>")
@require(PORTAL, OFFICER, AUDITOR)
def get_pair(pair_id: str) -> Any:
    return pair_view(ledger().pairs.get(_pair_id(pair_id)))


@blueprint.post("/certificate-pairs/<pair_id>/approve")
@require(OFFICER)
def approve_pair(pair_id: str) -> Any:
    _body()
    return pair_view(ledger().pairs.approve(current_actor(), _pair_id(pair_id)))


@blueprint.post("/certificate-pairs/<pair_id>/reject")
@require(OFFICER)
def reject_pair(pair_id: str) -> Any:
    data = _body("reason")
    return pair_view(ledger().pairs.reject(current_actor(), _pair_id(pair_id),
                                            _text(data, "reason")))


@blueprint.post("/certificate-pairs/<pair_id>/issue")
@require(PORTAL, OFFICER)
def issue_pair(pair_id: str) -> Any:
    _body()
    return pair_view(ledger().pairs.issue(current_actor(), _pair_id(pair_id)))


@blueprint.post("/certificate-pairs/<pair_id>/revoke")
@require(PORTAL, OFFICER)
def revoke_pair(pair_id: str) -> Any:
    data = _body("reason")
    return pair_view(ledger().pairs.revoke(
        current_actor(), _pair_id(pair_id), _reason(data),
        invalidity_date=_optional_time(data, "invalidity_date"), comment=_text(data, "comment")))
