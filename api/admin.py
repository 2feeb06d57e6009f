"""Admin API: RA portals (tenants) and the tokens that act for them.

``POST /api/v1/admin/tokens`` answers with the token once; with an Idempotency-Key the
token is made from the key (ca/applications/tokens.py), so a retry gets the same token
and the answer is never stored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.auth import current_actor, require
from api.context import ledger
from api.errors import ApiError
from api.idempotency import idempotent, request_id
from api.openapi import operation
from api.requests import body
from api.views import portal_view
from ca.applications.tokens import token_id_of
from domain.actors import Role

__all__ = ["blueprint"]

blueprint = Blueprint("admin", __name__, url_prefix="/api/v1/admin")
_TAG = "admin"


@blueprint.post("/portals")
@operation("Create an RA portal (a tenant)", _TAG, {201: "Portal"}, request="PortalCreation",
           errors=(409,))
@require()
@idempotent
def create_portal() -> Any:
    data = body("code", "name")
    return portal_view(ledger().portals.create(current_actor(), code=data["code"],
                                               name=data["name"])), 201


@blueprint.get("/portals")
@operation("Every portal, the default (data from before portals) first", _TAG,
           {200: "PortalList"})
@require(Role.AUDITOR)
def list_portals() -> Any:
    return {"items": [portal_view(portal) for portal in ledger().portals.list()]}


@blueprint.post("/tokens")
@operation("Create a token: an applicant portal's for one portal, an officer's for some "
           "portals or every one (\"*\")", _TAG, {201: "CreatedToken"},
           request="TokenCreation", errors=(404, 409))
@require()
@idempotent(keep_body=False)
def create_token() -> Any:
    data = body("name", "role")
    try:
        role = Role.parse(data["role"] if isinstance(data["role"], str) else repr(data["role"]))
    except ValueError as exc:
        raise ApiError(400, "bad_role", str(exc)[:300]) from None
    if not isinstance(data["name"], str):
        raise ApiError(400, "bad_token_name", "name must be text")
    portals = scope_of_request(role, data)
    token = ledger().tokens.create(current_actor(), name=data["name"], role=role,
                                   portals=portals, new_id=request_id())
    return {"id": str(token_id_of(token)), "name": data["name"], "role": role.value,
            "portals": portals, "token": token}, 201


def scope_of_request(role: Role, data: dict[str, Any]) -> list[str] | None:
    """The portals a new token sees, as the request says: ``portal`` (one) for an
    applicant portal, ``portals`` (a list, or "*": every portal) for an officer, none
    for an admin or auditor. Said explicitly: no token gets a portal by default."""
    portal, portals = data.get("portal"), data.get("portals")
    if role is Role.APPLICANT_PORTAL:
        if not isinstance(portal, str) or portals is not None:
            raise ApiError(400, "bad_token_scope",
                           "an applicant-portal token belongs to one portal: give portal")
        return [portal]
    if portal is not None:
        raise ApiError(400, "bad_token_scope", "portal is for applicant-portal tokens; an "
                       "officer's are portals")
    if role is Role.OFFICER:
        if portals == "*":
            return None
        if not isinstance(portals, list) or not portals or \
                not all(isinstance(p, str) for p in portals):
            raise ApiError(400, "bad_token_scope", "an officer token sees some portals: "
                           "give portals, a list of codes, or \"*\" for every portal")
        return sorted(set(portals))
    if portals is not None:
        raise ApiError(400, "bad_token_scope", f"a {role.value} token sees every portal")
    return None
