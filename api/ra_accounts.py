"""RA API, accounts (seeds 000, 003, 004): register, read, contacts, handler, real-name
verification, and the list a portal searches (by username, organisation, kind, licence).

An account belongs to the registering token's portal; another portal's account is "not
found". The list reads the accounts read model (projections/accounts.py): it shows an
account once the runner has projected its events.
"""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from flask import Blueprint, request, url_for

from api.auth import current_actor, require
from api.context import ledger
from api.errors import ApiError
from api.idempotency import idempotent, request_id
from api.openapi import Query, operation
from api.requests import MAX_POSITION, body, optional_text, path_id, whole_number
from api.views import account_summary, account_view
from domain.actors import Role

__all__ = ["blueprint"]

blueprint = Blueprint("ra_accounts", __name__, url_prefix="/api/v1")

PORTAL, OFFICER, AUDITOR = Role.APPLICANT_PORTAL, Role.OFFICER, Role.AUDITOR
_TAG = "accounts"
_OK = {200: "Account"}
MAX_PAGE = 200
_SEARCH_TEXT = {"type": "string", "maxLength": 200}


def _id(value: str) -> UUID:
    return path_id(value, "account_not_found", "no account")


@blueprint.post("/accounts")
@operation("Register an account (enterprise, personal or competent department)", _TAG,
           {201: "Account"}, request="Registration", errors=(404, 409))
@require(PORTAL, OFFICER)
@idempotent
def register() -> Any:
    data = body("kind", "username", "name", "contacts")
    account_id = ledger().accounts.register(
        current_actor(), kind=data["kind"], username=data["username"], name=data["name"],
        contacts=data["contacts"], licence_number=data.get("licence_number"),
        portal=optional_text(data, "portal", 63), new_id=request_id())
    view = account_view(ledger().accounts.get_for(current_actor(), account_id))
    return view, 201, {"Location": url_for("ra_accounts.get_account", account_id=view["id"])}


@blueprint.get("/accounts/<account_id>")
@operation("An account", _TAG, _OK)
@require(PORTAL, OFFICER, AUDITOR)
def get_account(account_id: str) -> Any:
    return account_view(ledger().accounts.get_for(current_actor(), _id(account_id)))


@blueprint.post("/accounts/<account_id>/contacts")
@operation("Replace the contacts (the same again records nothing)", _TAG, _OK,
           request="Contacts", errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def update_contacts(account_id: str) -> Any:
    return account_view(ledger().accounts.update_contacts(current_actor(), _id(account_id),
                                                          body()))


@blueprint.post("/accounts/<account_id>/handler")
@operation("Set the handler (经办人); the ID number is kept only as an HMAC", _TAG, _OK,
           request="Handler", errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def set_handler(account_id: str) -> Any:
    data = body("name", "phone", "id_number")
    return account_view(ledger().accounts.set_handler(
        current_actor(), _id(account_id), name=data["name"], phone=data["phone"],
        id_number=data["id_number"]))


@blueprint.post("/accounts/<account_id>/verifications")
@operation("Record a real-name verification of a person or of the enterprise", _TAG, _OK,
           request="VerificationRecord", errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def verify(account_id: str) -> Any:
    data = body("target", "name", "number", "method", "evidence_sha256")
    return account_view(ledger().accounts.verify(
        current_actor(), _id(account_id), target=data["target"], name=data["name"],
        number=data["number"], method=data["method"], evidence_sha256=data["evidence_sha256"]))


@blueprint.get("/accounts")
@operation("Accounts of the caller's portals, oldest first, a page at a time", _TAG,
           {200: "AccountList"}, query=[
               Query("username", _SEARCH_TEXT, "a prefix, any case"),
               Query("organisation", _SEARCH_TEXT, "a part of the name, any case"),
               Query("kind", {"enum": ["enterprise", "personal", "competent-department"]}),
               Query("licence_number", _SEARCH_TEXT),
               Query("portal", _SEARCH_TEXT, "one of the caller's portals"),
               Query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
               Query("cursor", _SEARCH_TEXT, "next_cursor of the page before")])
@require(PORTAL, OFFICER, AUDITOR)
def list_accounts() -> Any:
    actor, args = current_actor(), request.args
    portals = actor.portals
    wanted = _arg("portal")
    if wanted is not None:
        portals = frozenset({wanted}) if actor.sees(wanted) else frozenset()
    limit = _limit(args.get("limit"))
    rows = ledger().read.accounts.search(
        portals=portals, username=_arg("username"), organisation=_arg("organisation"),
        kind=_arg("kind"), licence_number=_arg("licence_number"),
        after=_cursor(args.get("cursor")), limit=limit)
    next_cursor = _encode_cursor(rows[-1].position) if len(rows) == limit else None
    return {"items": [account_summary(row) for row in rows], "next_cursor": next_cursor}


def _arg(name: str) -> str | None:
    value = request.args.get(name)
    if value is not None and len(value) > 200:
        raise ApiError(400, "bad_query", f"{name} is at most 200 characters")
    return value or None


def _limit(value: str | None) -> int:
    if value is None:
        return 50
    number = whole_number(value, 1, MAX_PAGE)
    if number is None:
        raise ApiError(400, "bad_query", f"limit is a whole number from 1 to {MAX_PAGE}")
    return number


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"a:{position}".encode()).decode().rstrip("=")


def _cursor(value: str | None) -> int:
    if not value:
        return 0
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        kind, position = text.split(":")
        number = whole_number(position, 0, MAX_POSITION)
        if kind != "a" or number is None:
            raise ValueError(text)
        return number
    except ValueError:
        raise ApiError(400, "bad_cursor", "cursor is a next_cursor this list gave") from None
