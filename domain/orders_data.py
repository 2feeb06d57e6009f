"""The data an order records, checked: invoice data, the medium and shipping address,
documents (what the blob store holds is only named here, by SHA-256)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from domain.errors import IllegalTransition, InvalidRequest
from domain.identity import check_mobile
from domain.portals import check_display_name

__all__ = ["OrderStatus", "OrderRules", "check_text", "Document", "check_invoice",
           "check_delivery", "check_payment",
           "check_shipping", "check_document", "MEDIA", "DOCUMENT_KINDS", "INVOICE_FIELDS",
           "SHIPPING_FIELDS"]

MEDIA = ("usb-key",)
DOCUMENT_KINDS = ("business-licence", "seal", "application-form", "authorisation-letter",
                  "identity-card", "commitment-video", "other")
INVOICE_FIELDS = ("title", "tax_number", "email", "address", "bank_account")
SHIPPING_FIELDS = ("recipient", "phone", "address", "postcode")
_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
_MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]{1,100}\Z")
_TAX_NUMBER = re.compile(r"^[0-9A-Z]{15,20}\Z")


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    ACTIVATED = "activated"


class OrderRules:
    """The guards of the Order aggregate."""

    status: OrderStatus
    authorisation: dict[str, Any] | None

    def check_status(self, command: str, *allowed: OrderStatus) -> None:
        if self.status not in allowed:
            raise IllegalTransition(f"cannot {command} an order that is {self.status.value}",
                                    code=f"order_{self.status.value}")

    def check_not_authorised(self) -> None:
        if self.authorisation is not None:
            raise IllegalTransition("the legal person has authorised this application",
                                    code="already_authorised")


_REFERENCE = re.compile(r"^[\w.:/-]{1,100}\Z")


def check_payment(method: object, amount: object, reference: object) -> tuple[str, int]:
    """A payment's method and amount (fen), and its reference: checked."""
    if not isinstance(reference, str) or not _REFERENCE.match(reference):
        raise InvalidRequest("reference is 1 to 100 letters, digits or .:/_-",
                             code="bad_field")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise InvalidRequest("amount is a whole number of fen (0.01 CNY)", code="bad_amount")
    return check_text(method, "method", 50), amount


def check_text(value: object, what: str, limit: int) -> str:
    """Text of 1 to ``limit`` characters without control characters (a NUL, a line break
    or an escape in a payment method or a tracking number is no text)."""
    return check_display_name(value, what, limit)


@dataclass(frozen=True)
class Document:
    kind: str
    name: str
    media_type: str
    size: int
    sha256: str


def _fields(data: Any, allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidRequest(f"{what} must be an object", code=f"bad_{what}")
    unknown = sorted(str(k) for k in set(data) - set(allowed))
    if unknown:
        raise InvalidRequest(f"unknown {what} fields: {', '.join(unknown)[:200]} (use "
                             f"{', '.join(allowed)})", code=f"bad_{what}")
    return data


def check_invoice(data: Any) -> dict[str, str | None]:
    """Invoice data (发票): a title, and the taxpayer number for a company's invoice."""
    data = _fields(data, INVOICE_FIELDS, "invoice")
    invoice: dict[str, str | None] = dict.fromkeys(INVOICE_FIELDS)
    invoice["title"] = check_display_name(data.get("title"), "invoice.title", 200)
    tax = data.get("tax_number")
    if tax is not None:
        if not isinstance(tax, str) or not _TAX_NUMBER.match(tax):
            raise InvalidRequest("invoice.tax_number is 15 to 20 digits or capitals",
                                 code="bad_invoice")
        invoice["tax_number"] = tax
    for name in ("email", "address", "bank_account"):
        if data.get(name) is not None:
            invoice[name] = check_display_name(data[name], f"invoice.{name}", 300)
    return invoice


def check_shipping(media: object, data: Any) -> dict[str, str]:
    """Where the medium goes: recipient, mobile phone, address (and postcode)."""
    if media not in MEDIA:
        raise InvalidRequest(f"media is one of {', '.join(MEDIA)}", code="bad_media")
    data = _fields(data, SHIPPING_FIELDS, "shipping")
    shipping = {"recipient": check_display_name(data.get("recipient"), "shipping.recipient",
                                                100),
                "phone": check_mobile(data.get("phone"), "shipping.phone"),
                "address": check_display_name(data.get("address"), "shipping.address", 500)}
    if data.get("postcode") is not None:
        postcode = data["postcode"]
        if not isinstance(postcode, str) or not re.fullmatch(r"[0-9]{6}", postcode):
            raise InvalidRequest("shipping.postcode is six digits", code="bad_shipping")
        shipping["postcode"] = postcode
    return shipping


def check_delivery(media: object, shipping: Any) -> dict[str, str] | None:
    """A medium and where it goes, or neither (None)."""
    if (media is None) != (shipping is None):
        raise InvalidRequest("a medium to ship needs a shipping address, and the other way "
                             "round", code="bad_shipping")
    return check_shipping(media, shipping) if media is not None else None


def check_document(kind: object, name: object, media_type: object, size: int,
                   sha256: object) -> Document:
    if kind not in DOCUMENT_KINDS:
        raise InvalidRequest(f"kind is one of {', '.join(DOCUMENT_KINDS)}",
                             code="bad_document_kind")
    clean_name = check_display_name(name, "name", 200)
    if not isinstance(media_type, str) or not _MEDIA_TYPE.match(media_type):
        raise InvalidRequest("media_type is a media type such as image/png",
                             code="bad_media_type")
    digest = sha256.lower() if isinstance(sha256, str) else ""
    if not _SHA256.match(digest):
        raise InvalidRequest("sha256 is the document's SHA-256: 64 hex digits",
                             code="bad_digest")
    return Document(str(kind), clean_name, media_type, size, digest)
