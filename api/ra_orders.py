"""RA API, orders (seed 004): an application's order by the application's id: payment,
invoice data, medium and shipping address, shipment, delivery, activation, documents,
and the legal person's authorisation (SMS code or letter).

Each view parses, makes one call (ca/applications/orders.py), answers the order with its
timeline. Another portal's order is "not found" (404).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from flask import Blueprint, request

from api.auth import current_actor, require
from api.context import ledger
from api.errors import ApiError
from api.idempotency import idempotent
from api.openapi import operation
from api.order_views import order_view
from api.requests import body, path_id, text
from domain.actors import Role
from domain.orders import Order

__all__ = ["blueprint", "answer"]

blueprint = Blueprint("ra_orders", __name__, url_prefix="/api/v1")

PORTAL, OFFICER, AUDITOR = Role.APPLICANT_PORTAL, Role.OFFICER, Role.AUDITOR
_TAG = "orders"
_OK = {200: "Order"}


def _id(value: str) -> UUID:
    return path_id(value, "order_not_found", "no order")


def _document_body(view: Callable[..., Any]) -> Callable[..., Any]:
    """A document may be larger than other bodies: up to its limit, in base64, with the
    other fields (set before anything reads the body, Idempotency-Key included)."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = ledger().orders.max_document_size * 4 // 3 + 8192
        return view(*args, **kwargs)
    return wrapper


def answer(order: Order) -> dict[str, Any]:
    certificate = ledger().certificates.get(order.certificate_id)
    return order_view(order, certificate,
                      ledger().read.orders.timeline(str(order.certificate_id)))


@blueprint.get("/orders/<order_id>")
@operation("An order (by its application's id), with its timeline", _TAG, _OK)
@require(PORTAL, OFFICER, AUDITOR)
def get_order(order_id: str) -> Any:
    return answer(ledger().orders.get_for(current_actor(), _id(order_id)))


@blueprint.post("/orders/<order_id>/payment")
@operation("Record the payment of an approved application (its price exactly)", _TAG, _OK,
           request="Payment", errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def pay(order_id: str) -> Any:
    data = body("method", "amount", "reference")
    return answer(ledger().orders.pay(current_actor(), _id(order_id), method=data["method"],
                                      amount=data["amount"], reference=data["reference"]))


@blueprint.post("/orders/<order_id>/invoice")
@operation("Set the invoice data (发票)", _TAG, _OK, request="Invoice", errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def invoice(order_id: str) -> Any:
    return answer(ledger().orders.request_invoice(current_actor(), _id(order_id),
                                                  body("title")))


@blueprint.post("/orders/<order_id>/shipping")
@operation("Set the medium (USB key) and where it is shipped", _TAG, _OK,
           request="ShippingRequest", errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def set_shipping(order_id: str) -> Any:
    data = body("media", "shipping")
    return answer(ledger().orders.set_shipping(current_actor(), _id(order_id),
                                               data["media"], data["shipping"]))


@blueprint.post("/orders/<order_id>/shipment")
@operation("Record the shipment of a paid order's medium (carrier, tracking number)", _TAG,
           _OK, request="Shipment", errors=(409,))
@require(OFFICER)
@idempotent
def ship(order_id: str) -> Any:
    data = body("carrier", "tracking_number")
    return answer(ledger().orders.ship(current_actor(), _id(order_id),
                                       carrier=data["carrier"],
                                       tracking_number=data["tracking_number"]))


@blueprint.post("/orders/<order_id>/delivery")
@operation("Record that the medium was delivered", _TAG, _OK, request="Empty",
           request_required=False, errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def deliver(order_id: str) -> Any:
    body()
    return answer(ledger().orders.deliver(current_actor(), _id(order_id)))


@blueprint.post("/orders/<order_id>/activation")
@operation("Activate (激活) the certificate: usable from now", _TAG, _OK, request="Empty",
           request_required=False, errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def activate(order_id: str) -> Any:
    body()
    return answer(ledger().orders.activate(current_actor(), _id(order_id)))


@blueprint.post("/orders/<order_id>/documents")
@operation("Attach a document: its bytes (base64) to the blob store, checked against the "
           "SHA-256 declared; the order records name, type, size and digest", _TAG, _OK,
           request="DocumentUpload", errors=(409, 413))
@require(PORTAL, OFFICER)
@_document_body
@idempotent
def attach(order_id: str) -> Any:
    data = body("kind", "name", "media_type", "sha256", "content_base64")
    encoded = data["content_base64"]
    if not isinstance(encoded, str):
        raise ApiError(400, "bad_content", "content_base64 is the document's bytes, base64")
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_content", "content_base64 is not base64") from None
    return answer(ledger().orders.attach(
        current_actor(), _id(order_id), kind=data["kind"], name=data["name"],
        media_type=data["media_type"], sha256=data["sha256"], content=content))


@blueprint.post("/orders/<order_id>/authorisation/sms")
@operation("Send the legal person a confirmation code by SMS (to the phone given, else "
           "to the account's handler's)", _TAG, _OK, request="SmsAuthorisation",
           request_required=False, errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def send_code(order_id: str) -> Any:
    data = body()
    return answer(ledger().orders.send_code(current_actor(), _id(order_id),
                                            data.get("legal_person")))


@blueprint.post("/orders/<order_id>/authorisation")
@operation("Record the legal person's authorisation (法人授权): the SMS code, or the "
           "authorisation letter attached", _TAG, _OK, request="Authorisation",
           errors=(409,))
@require(PORTAL, OFFICER)
@idempotent
def authorise(order_id: str) -> Any:
    data = body("method")
    orders, actor, ident = ledger().orders, current_actor(), _id(order_id)
    if data["method"] == "sms":
        return answer(orders.confirm_code(actor, ident, data.get("code")))
    if data["method"] == "letter":   # the counter checks the letter (seed 004)
        if actor.role is not OFFICER:
            raise ApiError(403, "officer_only", "an officer checks and records the letter")
        return answer(orders.authorise_by_letter(actor, ident,
                                                 text(data, "document_sha256", 64)))
    raise ApiError(400, "bad_method", "method is sms or letter")
