"""The orders read model: one row per order (application), and every event of each order.

The certificate's ``Applied`` inserts the row and ``Order.Placed`` (next in the same
save) completes it: only rows with an order are listed (a pair's halves have none). The
certificate's review, issuance and revocation and the order's payment, shipping,
delivery, activation, documents and authorisation update it and add a timeline line
(what, who, when, and what a notice to the account needs: the decision's reason or
comment). After each change the row says
what it waits for and for whom (``waiting_for``: officer or applicant, ``waiting_step``)
since which event: the officers' work queue is those rows, oldest first.

Events of certificates that have no order (dual-certificate pairs, release 0.1) change
nothing here. Reading: :class:`projections.order_queries.OrderDirectory`.
"""

from __future__ import annotations

import json
from typing import Any

from domain.certificate import Certificate
from domain.orders import Order
from projections.base import ReadModel
from projections.db import Transaction

__all__ = ["OrdersReadModel", "ORDERS_MODEL", "waiting"]

ORDERS_MODEL = "orders"
_EVENTS: dict[type, str] = {
    Certificate.Applied: "applied", Certificate.Endorsed: "endorsed",
    Certificate.Approved: "approved", Certificate.Rejected: "rejected",
    Certificate.Issued: "issued", Certificate.Suspended: "suspended",
    Certificate.Resumed: "resumed", Certificate.Revoked: "revoked",
    Order.Placed: "placed", Order.Paid: "paid", Order.InvoiceRequested: "invoice_requested",
    Order.ShippingSet: "shipping_set", Order.Shipped: "shipped",
    Order.Delivered: "delivered", Order.Activated: "activated",
    Order.DocumentAttached: "document_attached", Order.SmsCodeSent: "sms_code_sent",
    Order.SmsCodeFailed: "sms_code_failed", Order.Authorised: "authorised",
}
_CERTIFICATE_STATUS = {Certificate.Approved: "approved", Certificate.Rejected: "rejected",
                       Certificate.Issued: "issued", Certificate.Suspended: "suspended",
                       Certificate.Resumed: "issued", Certificate.Revoked: "revoked"}
_ORDER_STATUS = {Order.Paid: "paid", Order.Shipped: "shipped", Order.Delivered: "delivered",
                 Order.Activated: "activated"}


def waiting(certificate_status: str, order_status: str, amount: int,
            media: str | None) -> tuple[str, str] | None:
    """Who the order waits for, and for what (None: nobody)."""
    paid = order_status != "placed" or amount == 0
    if certificate_status == "applied":
        return "officer", "review"
    if certificate_status in ("approved", "issued") and not paid:
        return "applicant", "payment"
    if certificate_status == "approved":
        return "officer", "issue"
    if certificate_status != "issued":
        return None   # rejected, suspended, revoked
    if media is not None and order_status in ("placed", "paid"):
        return "officer", "shipping"
    if order_status == "shipped":
        return "applicant", "delivery"
    if order_status != "activated":
        return "applicant", "activation"
    return None


def _detail(event: Any) -> dict[str, Any]:
    """What the timeline shows of an event (never a code, a key or an ID number)."""
    if isinstance(event, Certificate.Applied):
        return {"kind": event.kind, "profile": event.profile,
                "predecessor_id": str(event.predecessor_id) if event.predecessor_id else None,
                "terms_version": event.terms_version}
    if isinstance(event, (Certificate.Approved, Certificate.Endorsed)):
        return {"comment": event.comment}
    if isinstance(event, Certificate.Rejected):
        return {"reason": event.reason}
    if isinstance(event, Certificate.Issued):
        return {"serial_number": format(event.serial_number, "x"),
                "not_after": _iso(event.not_after)}
    if isinstance(event, Certificate.Revoked):
        return {"reason": event.reason, "requested_by": event.requested_by,
                "superseded_by": str(event.superseded_by) if event.superseded_by else None,
                "comment": event.comment}
    if isinstance(event, Order.Placed):
        return {"order_number": event.order_number, "amount": event.amount,
                "currency": event.currency, "media": event.media}
    if isinstance(event, Order.Paid):
        return {"method": event.method, "amount": event.amount, "reference": event.reference}
    if isinstance(event, Order.Shipped):
        return {"carrier": event.carrier, "tracking_number": event.tracking_number}
    if isinstance(event, Order.ShippingSet):
        return {"media": event.media, "amount": event.amount}
    if isinstance(event, Order.DocumentAttached):
        return {"kind": event.document_kind, "name": event.name, "size": event.size,
                "sha256": event.sha256}
    if isinstance(event, Order.SmsCodeSent):
        return {"phone_tail": event.phone_tail, "legal_person": event.legal_person}
    if isinstance(event, Order.Authorised):
        return {"method": event.method, "document_sha256": event.document_sha256}
    if isinstance(event, Order.InvoiceRequested):
        return {"title": event.invoice.get("title")}
    return {}


class OrdersReadModel(ReadModel):
    name = ORDERS_MODEL
    tables = ("rm_orders", "rm_order_events", "rm_order_subjects")
    topics = frozenset(cls.TOPIC for cls in _EVENTS)  # type: ignore[attr-defined]

    def process(self, tx: Transaction, event: Any, position: int) -> None:
        if isinstance(event, Certificate.Applied):
            self._apply(tx, event, position)
            return
        if isinstance(event, Order.Event):
            rows = tx.query("SELECT certificate_id FROM rm_orders WHERE order_id = ?",
                            (str(event.originator_id),))
            if isinstance(event, Order.Placed):
                rows = [(str(event.certificate_id),)]
        else:
            rows = [(str(event.originator_id),)]
        cid = str(rows[0][0]) if rows else ""
        found = tx.query("SELECT certificate_status, order_status, amount, media, approvals"
                         " FROM rm_orders WHERE certificate_id = ?", (cid,)) if cid else []
        if not found:
            return   # a certificate without a row (release 0.1 before Applied was kept)
        certificate_status, order_status, amount, media, approvals = found[0]
        certificate_status = _CERTIFICATE_STATUS.get(type(event), certificate_status)
        order_status = _ORDER_STATUS.get(type(event), order_status)
        if isinstance(event, Order.Placed):
            amount, media = event.amount, event.media
            tx.execute("UPDATE rm_orders SET order_id = ?, order_number = ?, amount = ?,"
                       " currency = ?, media = ? WHERE certificate_id = ?",
                       (str(event.originator_id), event.order_number, event.amount,
                        event.currency, event.media, cid))
        if isinstance(event, Order.ShippingSet):
            media = event.media
            if event.amount is not None:
                amount = event.amount
                tx.execute("UPDATE rm_orders SET amount = ? WHERE certificate_id = ?",
                           (amount, cid))
        if isinstance(event, (Certificate.Endorsed, Certificate.Approved)):
            approvals += 1
        self._timeline(tx, cid, event, position)
        ordered = isinstance(event, Order.Event) or tx.query(
            "SELECT 1 FROM rm_orders WHERE certificate_id = ? AND order_id IS NOT NULL",
            (cid,))
        now = waiting(certificate_status, order_status, int(amount), media) if ordered \
            else None
        tx.execute(
            "UPDATE rm_orders SET certificate_status = ?, order_status = ?, media = ?,"
            " approvals = ?, updated_at = ?, updated_position = ?,"
            " waiting_position = CASE WHEN waiting_for = ? AND waiting_step = ?"
            "   THEN waiting_position ELSE ? END,"
            " waiting_since = CASE WHEN waiting_for = ? AND waiting_step = ?"
            "   THEN waiting_since ELSE ? END,"
            " waiting_for = ?, waiting_step = ? WHERE certificate_id = ?",
            (certificate_status, order_status, media, approvals, _iso(event.timestamp),
             position, *_same(now), None if now is None else position, *_same(now),
             None if now is None else _iso(event.timestamp), *_same(now), cid))

    def _apply(self, tx: Transaction, event: Any, position: int) -> None:
        """The row of an application; its order (Placed) follows in the same save, or
        never (a pair's halves): only rows with an order are listed."""
        cid = str(event.originator_id)
        name = event.subject.get("organization") or event.subject.get("common_name")
        tx.execute(
            "INSERT INTO rm_orders (certificate_id, portal, account_id, kind, profile,"
            " predecessor_id, order_status, certificate_status, amount, currency,"
            " approvals, approvals_required, applied_by, subject_name, placed_at,"
            " placed_position, updated_at, updated_position) VALUES (?, ?, ?, ?, ?, ?,"
            " 'placed', 'applied', 0, '', 0, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (certificate_id) DO NOTHING",
            (cid, event.portal, event.account_id, event.kind, event.profile,
             str(event.predecessor_id) if event.predecessor_id else None,
             event.approvals_required, event.actor_id, str(name)[:200] if name else None,
             _iso(event.timestamp), position, _iso(event.timestamp), position))
        if name and event.account_id:
            tx.execute("INSERT INTO rm_order_subjects (account_id, name_folded) VALUES (?, ?)"
                       " ON CONFLICT (account_id, name_folded) DO NOTHING",
                       (event.account_id, str(name)[:200].lower()))
        self._timeline(tx, cid, event, position)

    @staticmethod
    def _timeline(tx: Transaction, cid: str, event: Any, position: int) -> None:
        tx.execute("INSERT INTO rm_order_events (certificate_id, position, event, actor_id,"
                   " actor_role, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"
                   " ON CONFLICT (certificate_id, position) DO NOTHING",
                   (cid, position, _EVENTS[type(event)], event.actor_id, event.actor_role,
                    _iso(event.timestamp), json.dumps(_detail(event), ensure_ascii=False,
                                                      sort_keys=True)))

def _same(now: tuple[str, str] | None) -> tuple[str | None, str | None]:
    return (None, None) if now is None else now


def _iso(moment: Any) -> str:
    return str(moment.isoformat()).replace("+00:00", "Z")
