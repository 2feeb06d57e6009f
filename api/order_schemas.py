"""JSON Schemas of orders, their steps, lists, timelines and the work queue (part of
api/schemas.py's components)."""

from __future__ import annotations

from typing import Any

__all__ = ["ORDER_SCHEMAS"]

_TEXT: dict[str, Any] = {"type": "string"}
_NTEXT: dict[str, Any] = {"type": ["string", "null"]}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_INT: dict[str, Any] = {"type": "integer"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None, *,
            closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {**required, **(optional or {})},
                              "required": list(required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [{"type": "null"}, schema]}


_SHIPPING = _object({"recipient": _TEXT, "phone": _TEXT, "address": _TEXT},
                    {"postcode": _TEXT})
_INVOICE = _object({"title": _TEXT, "tax_number": _NTEXT, "email": _NTEXT,
                    "address": _NTEXT, "bank_account": _NTEXT})
_ENTRY = _object({"event": _TEXT, "actor_id": _TEXT, "actor_role": _TEXT, "at": _TIME,
                  "position": _INT, "detail": {"type": "object"}})
_DOCUMENT = _object({"kind": _TEXT, "name": _TEXT, "media_type": _TEXT, "size": _INT,
                     "sha256": _TEXT})
_STEP = {"enum": ["review", "payment", "issue", "shipping", "delivery", "activation", None]}

ORDER_SCHEMAS: dict[str, Any] = {
    "Shipping": _SHIPPING,
    "Order": _object({
        "id": {**_TEXT, "format": "uuid"}, "order_number": _TEXT, "portal": _TEXT,
        "account_id": _NTEXT, "kind": _TEXT, "profile": _TEXT,
        "status": {"enum": ["placed", "paid", "shipped", "delivered", "activated"]},
        "certificate_status": _TEXT, "amount": {**_INT, "description": "fen (0.01 CNY)"},
        "currency": _TEXT, "media": _NTEXT, "shipping": _nullable(_SHIPPING),
        "payment": _nullable(_object({"method": _TEXT, "amount": _INT, "reference": _TEXT})),
        "invoice": _nullable(_INVOICE),
        "shipment": _nullable(_object({"carrier": _TEXT, "tracking_number": _TEXT})),
        "documents": {"type": "array", "items": _DOCUMENT},
        "authorisation": _nullable(_object({"method": {"enum": ["sms", "letter"]},
                                            "document_sha256": _NTEXT})),
        "sms_code_pending": {"type": "boolean"}, "activated_at": {"type": ["string", "null"]},
        "placed_at": _TIME, "updated_at": _TIME, "version": _INT,
        "timeline": {"type": "array", "items": _ENTRY,
                     "description": "from the orders read model: may lag a moment"}}),
    "OrderSummary": _object({
        "id": _TEXT, "order_number": _TEXT, "portal": _TEXT, "account_id": _NTEXT,
        "kind": _TEXT, "profile": _TEXT, "predecessor_id": _NTEXT, "status": _TEXT,
        "certificate_status": _TEXT, "amount": _INT, "currency": _TEXT, "media": _NTEXT,
        "approvals": _INT, "approvals_required": _INT, "applied_by": _TEXT,
        "subject_name": _NTEXT, "waiting_for": {"enum": ["officer", "applicant", None]},
        "waiting_step": _STEP, "waiting_since": {"type": ["string", "null"]},
        "placed_at": _TEXT, "updated_at": _TEXT}),
    "OrderList": _object({"items": {"type": "array", "items": _ref("OrderSummary")},
                          "next_cursor": _NTEXT}),
    "Review": _object({}, {"comment": _TEXT}, closed=False),
    "Payment": _object({"method": _TEXT, "amount": {**_INT, "description": "fen"},
                        "reference": _TEXT}, closed=False),
    "Invoice": _object({"title": _TEXT}, {"tax_number": _TEXT, "email": _TEXT,
                                          "address": _TEXT, "bank_account": _TEXT},
                       closed=False),
    "ShippingRequest": _object({"media": {"enum": ["usb-key"]}, "shipping": _SHIPPING},
                               closed=False),
    "Shipment": _object({"carrier": _TEXT, "tracking_number": _TEXT}, closed=False),
    "DocumentUpload": _object(
        {"kind": {"enum": ["business-licence", "seal", "application-form",
                           "authorisation-letter", "identity-card", "commitment-video",
                           "other"]},
         "name": _TEXT, "media_type": _TEXT,
         "sha256": {**_TEXT, "description": "the SHA-256 of the bytes, hex: checked"},
         "content_base64": {**_TEXT, "description": "the bytes, base64"}}, closed=False),
    "SmsAuthorisation": _object({}, {"legal_person": _object(
        {"name": _TEXT, "id_number": {**_TEXT, "description": "kept only as an HMAC"},
         "phone": _TEXT}, closed=False)}, closed=False),
    "Authorisation": _object({"method": {"enum": ["sms", "letter"]}},
                             {"code": {**_TEXT, "description": "sms: the six digits sent"},
                              "document_sha256": {**_TEXT, "description": "letter: the "
                                                  "authorisation letter attached"}},
                             closed=False),
}
