"""RA API, lists from the orders read model: orders of the caller's portals (filtered,
sorted, cursor-paged; search by order number, username, organisation), an account's
applications and certificates, and the work queue (what waits for whom, oldest first).

They show what the runner has projected (a moment behind the log); a record of another
portal is never listed, and an account of another portal is "not found".
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, request

from api.auth import current_actor, require
from api.context import ledger
from api.errors import ApiError
from api.openapi import Query, operation
from api.order_views import order_summary
from api.requests import MAX_POSITION, path_id, whole_number
from domain.actors import Role
from projections.order_queries import OrderFilter, OrderRow

__all__ = ["blueprint"]

blueprint = Blueprint("ra_order_lists", __name__, url_prefix="/api/v1")

PORTAL, OFFICER, AUDITOR = Role.APPLICANT_PORTAL, Role.OFFICER, Role.AUDITOR
_TAG = "orders"
_LIST = {200: "OrderList"}
MAX_PAGE = 200
_S = {"type": "string", "maxLength": 200}
_PAGE = [Query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
         Query("cursor", _S, "next_cursor of the page before")]
_FILTERS = [
    Query("status", {"enum": ["placed", "paid", "shipped", "delivered", "activated"]}),
    Query("certificate_status", {"enum": ["applied", "approved", "rejected", "issued",
                                          "suspended", "revoked"]}),
    Query("kind", {"enum": ["new", "renew", "change", "reapply"]}),
    Query("profile", _S), Query("account_id", _S),
    Query("placed_from", {"type": "string", "format": "date-time"}, "inclusive"),
    Query("placed_to", {"type": "string", "format": "date-time"}, "exclusive"),
    Query("order_number", _S), Query("username", _S, "a prefix, any case"),
    Query("organisation", _S, "a part of the account's name, any case"),
    Query("sort", {"enum": ["placed", "-placed"]}, "oldest (default) or newest first")]


@blueprint.get("/orders")
@operation("Orders of the caller's portals, filtered, sorted, a page at a time", _TAG, _LIST,
           query=[*_FILTERS, *_PAGE])
@require(PORTAL, OFFICER, AUDITOR)
def list_orders() -> Any:
    return _orders(OrderFilter(
        account_id=_arg("account_id"), order_status=_arg("status"),
        certificate_status=_arg("certificate_status"), kind=_arg("kind"),
        profile=_arg("profile"), placed_from=_time_arg("placed_from"),
        placed_to=_time_arg("placed_to"), order_number=_arg("order_number"),
        username=_arg("username"), organisation=_arg("organisation")))


@blueprint.get("/accounts/<account_id>/orders")
@operation("An account's applications (orders), oldest first", "accounts", _LIST,
           query=[Query("certificate_status", _FILTERS[1].schema), *_PAGE])
@require(PORTAL, OFFICER, AUDITOR)
def account_orders(account_id: str) -> Any:
    account = ledger().accounts.get_for(
        current_actor(), path_id(account_id, "account_not_found", "no account"))
    return _orders(OrderFilter(account_id=str(account.id),
                               certificate_status=_arg("certificate_status")))


@blueprint.get("/accounts/<account_id>/certificates")
@operation("An account's issued certificates (valid, on hold or revoked), oldest first",
           "accounts", _LIST, query=_PAGE)
@require(PORTAL, OFFICER, AUDITOR)
def account_certificates(account_id: str) -> Any:
    account = ledger().accounts.get_for(
        current_actor(), path_id(account_id, "account_not_found", "no account"))
    return _orders(OrderFilter(account_id=str(account.id),
                               certificate_statuses=("issued", "suspended", "revoked")))


@blueprint.get("/work-queue")
@operation("What waits for whom (officer: review, issue, shipping; applicant: payment, "
           "delivery, activation), oldest wait first", _TAG, _LIST, query=[
               Query("waiting_for", {"enum": ["officer", "applicant"]}, "officer (default)"),
               Query("step", {"enum": ["review", "payment", "issue", "shipping", "delivery",
                                       "activation"]}), *_PAGE])
@require(PORTAL, OFFICER, AUDITOR)
def work_queue() -> Any:
    waiting_for = _arg("waiting_for") or "officer"
    if waiting_for not in ("officer", "applicant"):
        raise ApiError(400, "bad_query", "waiting_for is officer or applicant")
    limit = _limit()
    rows = ledger().read.orders.queue(portals=current_actor().portals,
                                      waiting_for=waiting_for, step=_arg("step"),
                                      after=_cursor(), limit=limit)
    next_cursor = _encode(rows[-1].waiting_position or 0) if len(rows) == limit else None
    return {"items": [order_summary(row) for row in rows], "next_cursor": next_cursor}


def _orders(filters: OrderFilter) -> dict[str, Any]:
    sort = _arg("sort") or "placed"
    if sort not in ("placed", "-placed"):
        raise ApiError(400, "bad_query", "sort is placed or -placed")
    limit = _limit()
    rows = ledger().read.orders.search(portals=current_actor().portals, filters=filters,
                                       newest_first=sort == "-placed", after=_cursor(),
                                       limit=limit)
    return _page(rows, limit)


def _page(rows: list[OrderRow], limit: int) -> dict[str, Any]:
    next_cursor = _encode(rows[-1].position) if len(rows) == limit else None
    return {"items": [order_summary(row) for row in rows], "next_cursor": next_cursor}


def _arg(name: str) -> str | None:
    value = request.args.get(name)
    if value is not None and len(value) > 200:
        raise ApiError(400, "bad_query", f"{name} is at most 200 characters")
    return value or None


def _time_arg(name: str) -> str | None:
    from api.requests import optional_time  # the body's time parser, for a query value
    value = _arg(name)
    if value is None:
        return None
    moment = optional_time({name: value}, name)
    assert moment is not None
    return moment.isoformat().replace("+00:00", "Z")


def _limit() -> int:
    value = request.args.get("limit")
    if value is None:
        return 50
    number = whole_number(value, 1, MAX_PAGE)
    if number is None:
        raise ApiError(400, "bad_query", f"limit is a whole number from 1 to {MAX_PAGE}")
    return number


def _encode(position: int) -> str:
    return base64.urlsafe_b64encode(f"o:{position}".encode()).decode().rstrip("=")


def _cursor() -> int | None:
    value = request.args.get("cursor")
    if not value:
        return None
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        kind, position = text.split(":")
        number = whole_number(position, 0, MAX_POSITION)
        if kind != "o" or number is None:
            raise ValueError(text)
        return number
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_cursor", "cursor is a next_cursor this list gave") from None

