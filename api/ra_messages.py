"""RA API, messages (站内消息): an account's system notices, review notices and expiry
reminders, newest first, a page at a time; marking one read or unread. Portals without a webhook
poll this list. What another portal's account holds is "not found"."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from flask import Blueprint, request

from api.auth import current_actor, require
from api.context import ledger
from api.errors import ApiError
from api.idempotency import idempotent
from api.openapi import Query, operation
from api.requests import MAX_POSITION, body, path_id, whole_number
from domain.actors import Role
from projections.mailbox import MessageRow

__all__ = ["blueprint", "message_view"]

blueprint = Blueprint("ra_messages", __name__, url_prefix="/api/v1")
_TAG = "messages"
MAX_PAGE = 200


def message_view(row: MessageRow) -> dict[str, Any]:
    return {"id": row.message_id, "account_id": row.account_id, "portal": row.portal,
            "kind": row.kind, "title": row.title, "body": row.body,
            "certificate_id": row.certificate_id, "created_at": row.created_at,
            "read": row.read}


@blueprint.get("/accounts/<account_id>/messages")
@operation("An account's messages, newest first, a page at a time", _TAG,
           {200: "MessageList"}, query=[
               Query("unread", {"enum": ["true", "false"]}, "only unread messages"),
               Query("kind", {"enum": ["system", "review", "expiry"]}),
               Query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
               Query("cursor", {"type": "string", "maxLength": 100},
                     "next_cursor of the page before")])
@require(Role.APPLICANT_PORTAL, Role.OFFICER, Role.AUDITOR)
def list_messages(account_id: str) -> Any:
    account = ledger().accounts.get_for(current_actor(), _account(account_id))
    args = request.args
    limit = whole_number(args.get("limit", "50"), 1, MAX_PAGE)
    if limit is None:
        raise ApiError(400, "bad_query", f"limit is a whole number from 1 to {MAX_PAGE}")
    kind = args.get("kind")
    if kind is not None and kind not in ("system", "review", "expiry"):
        raise ApiError(400, "bad_query", "kind is system, review or expiry")
    unread = args.get("unread", "false")
    if unread not in ("true", "false"):
        raise ApiError(400, "bad_query", "unread is true or false")
    mailbox = ledger().read.mailbox
    rows = mailbox.page(str(account.id), before=_cursor(args.get("cursor")), limit=limit,
                        unread_only=unread == "true", kind=kind)
    next_cursor = None
    if len(rows) == limit:
        next_cursor = base64.urlsafe_b64encode(f"m:{rows[-1].position}".encode()) \
            .decode().rstrip("=")
    return {"items": [message_view(row) for row in rows],
            "unread": mailbox.unread(str(account.id)), "next_cursor": next_cursor}


@blueprint.post("/accounts/<account_id>/messages/<message_id>/read")
@operation("Mark a message read (again: nothing recorded)", _TAG, {200: "Message"},
           request="Empty", request_required=False)
@require(Role.APPLICANT_PORTAL, Role.OFFICER)
@idempotent
def mark_read(account_id: str, message_id: str) -> Any:
    return _mark(account_id, message_id, read=True)


@blueprint.post("/accounts/<account_id>/messages/<message_id>/unread")
@operation("Mark a message unread again", _TAG, {200: "Message"}, request="Empty",
           request_required=False)
@require(Role.APPLICANT_PORTAL, Role.OFFICER)
@idempotent
def mark_unread(account_id: str, message_id: str) -> Any:
    return _mark(account_id, message_id, read=False)


def _mark(account_id: str, message_id: str, *, read: bool) -> Any:
    body()
    account, message = _account(account_id), path_id(message_id, "message_not_found",
                                                      "no message")
    mailbox = ledger().read.mailbox
    ledger().messages.mark(current_actor(), account, message, mailbox, read=read)
    row = mailbox.get(str(message))
    if row is None:
        raise ApiError(404, "message_not_found", f"no message {message}")
    view = message_view(row)
    view["read"] = read  # recorded; the read model shows it once projected
    return view


def _account(value: str) -> UUID:
    return path_id(value, "account_not_found", "no account")


def _cursor(value: str | None) -> int | None:
    if not value:
        return None
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        kind, position = text.split(":")
        number = whole_number(position, 0, MAX_POSITION)
        if kind != "m" or number is None:
            raise ValueError(text)
        return number
    except ValueError:
        raise ApiError(400, "bad_cursor", "cursor is a next_cursor this list gave") from None
