"""Admin API, system notices (系统通知: to one account or every account of a portal) and
webhooks: register a portal's webhook (the signing secret is in that answer
only: never stored, derived again from the registration), list them with their delivery
counts, and a portal's deliveries (attempts, delivered or not, next try, last error)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, request

from api.auth import current_actor, require
from api.context import ledger
from api.errors import ApiError
from api.idempotency import idempotent, request_id
from api.openapi import Query, operation
from api.requests import body, path_id
from domain.actors import Role

__all__ = ["blueprint"]

blueprint = Blueprint("admin_webhooks", __name__, url_prefix="/api/v1/admin")
_TAG = "admin"


@blueprint.post("/webhooks")
@operation("Register (or replace) a portal's webhook; the secret is in this answer only",
           _TAG, {201: "WebhookCreated"}, request="WebhookRegistration", errors=(404,))
@require()
@idempotent(keep_body=False)
def register() -> Any:
    data = body("portal", "url")
    if not isinstance(data["portal"], str):
        raise ApiError(400, "bad_portal_code", "portal must be a portal code")
    made = ledger().webhooks.register(current_actor(), data["portal"], data["url"],
                                      new_id=request_id())
    return {"portal": made.portal, "url": made.url, "secret": made.secret}, 201


@blueprint.post("/notices")
@operation("Post a system notice to an account, or to every account of a portal", _TAG,
           {201: "SystemNoticePosted"}, request="SystemNoticeIn", errors=(404,))
@require()
@idempotent
def post_notice() -> Any:
    data = body("portal", "title", "body")
    if not isinstance(data["portal"], str):
        raise ApiError(400, "bad_portal_code", "portal must be a portal code")
    account = data.get("account_id")
    if account is not None:
        account = path_id(account if isinstance(account, str) else "", "account_not_found",
                          "no account")
    notice = ledger().messages.post_notice(current_actor(), portal=data["portal"],
                                           account_id=account, title=data["title"],
                                           body=data["body"], new_id=request_id())
    return {"id": str(notice.id), "portal": notice.portal, "account_id": notice.account_id,
            "title": notice.title, "body": notice.body}, 201


@blueprint.get("/webhooks")
@operation("Every portal's webhook, with delivered and pending counts", _TAG,
           {200: "WebhookList"})
@require(Role.AUDITOR)
def list_webhooks() -> Any:
    return {"items": ledger().read.outbox.webhooks()}


@blueprint.get("/webhooks/<portal>/deliveries")
@operation("A portal's webhook deliveries, newest first", _TAG, {200: "DeliveryList"},
           query=[Query("pending", {"enum": ["true", "false"]}, "only undelivered ones")])
@require(Role.AUDITOR)
def deliveries(portal: str) -> Any:
    pending = request.args.get("pending", "false")
    if pending not in ("true", "false"):
        raise ApiError(400, "bad_query", "pending is true or false")
    rows = ledger().read.outbox.deliveries(portal[:63], pending_only=pending == "true")
    return {"portal": portal[:63], "items": [
        {"message_id": r.message_id, "attempts": r.attempts, "delivered_at": r.delivered_at,
         "next_attempt_at": datetime.fromtimestamp(r.next_attempt_at, UTC).isoformat()
         .replace("+00:00", "Z"), "last_error": r.last_error} for r in rows]}
