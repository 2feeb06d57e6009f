"""JSON shapes of orders: the order (from its aggregate, with its timeline from the read
model), order summaries (rows of the read model) and timeline entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.certificate import Certificate, Status
from domain.orders import Order
from projections.order_queries import OrderRow, TimelineEntry

__all__ = ["order_view", "order_summary", "timeline_view", "activation_view"]


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def timeline_view(entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    return [{"event": e.event, "actor_id": e.actor_id, "actor_role": e.actor_role,
             "at": e.at, "position": e.position, "detail": e.detail} for e in entries]


def order_view(order: Order, certificate: Certificate,
               timeline: list[TimelineEntry]) -> dict[str, Any]:
    return {
        "id": str(order.certificate_id), "order_number": order.order_number,
        "portal": order.portal, "account_id": order.account_id, "kind": order.kind,
        "profile": order.profile, "status": order.status.value,
        "certificate_status": certificate.status.value,
        "amount": order.amount, "currency": order.currency,
        "media": order.media, "shipping": order.shipping, "payment": order.payment,
        "invoice": order.invoice, "shipment": order.shipment,
        "documents": [{"kind": d.kind, "name": d.name, "media_type": d.media_type,
                       "size": d.size, "sha256": d.sha256} for d in order.documents],
        "authorisation": None if order.authorisation is None else {
            "method": order.authorisation["method"],
            "document_sha256": order.authorisation["document_sha256"]},
        "sms_code_pending": order.sms is not None,
        "activated_at": _time(order.activated_at),
        "placed_at": _time(order.created_on), "updated_at": _time(order.modified_on),
        "version": order.version, "timeline": timeline_view(timeline)}


def order_summary(row: OrderRow) -> dict[str, Any]:
    return {"id": row.certificate_id, "order_number": row.order_number, "portal": row.portal,
            "account_id": row.account_id, "kind": row.kind, "profile": row.profile,
            "predecessor_id": row.predecessor_id, "status": row.order_status,
            "certificate_status": row.certificate_status, "amount": row.amount,
            "currency": row.currency, "media": row.media,
            "approvals": row.approvals, "approvals_required": row.approvals_required,
            "applied_by": row.applied_by, "subject_name": row.subject_name,
            "waiting_for": row.waiting_for, "waiting_step": row.waiting_step,
            "waiting_since": row.waiting_since, "placed_at": row.placed_at,
            "updated_at": row.updated_at}


def activation_view(certificate: Certificate, order: Order | None) -> dict[str, Any]:
    """What a certificate view adds of its order: usable only once activated."""
    if order is None:
        return {}
    activated = order.activated_at is not None
    return {"order_number": order.order_number,
            "activation": "activated" if activated else "pending",
            "usable": activated and certificate.status is Status.ISSUED}
