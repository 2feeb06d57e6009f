"""The Order aggregate: what an application costs and how it reaches its holder (seed 004).

Placed with the certificate's ``Applied`` (same save), keyed by it (``domain.ids.order_id``),
numbered ``CL-2026-000123`` (an ``OrderNumberClaim``), priced; then paid, invoice data,
medium (USB key) and address, shipped, delivered, **activated** (usable from then on);
documents (named by SHA-256: the bytes are in the blob store) and the legal person's
authorisation (法人授权: an SMS code, kept only as an HMAC, or a letter among the documents).
It lives beside the certificate, not on it (docs/architecture.md says why); what it needs
of the certificate (approved, issued) the command reads and hands to the method here.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.errors import IllegalTransition
from domain.events import ActorCreated, ActorEvent, who
from domain.ids import order_id
from domain.orders_data import (
    Document,
    OrderRules,
    OrderStatus,
    check_delivery,
    check_invoice,
    check_payment,
    check_shipping,
    check_text,
)
from domain.topics import stable_topics

__all__ = ["Order", "OrderStatus", "SMS_ATTEMPTS", "SMS_RESEND_AFTER"]

SMS_ATTEMPTS = 5
# a new code for the same order at most once a minute: each is an SMS to a number the
# caller gives, and each brings SMS_ATTEMPTS fresh tries
SMS_RESEND_AFTER = timedelta(seconds=60)


@stable_topics("certledger:Order")
class Order(Aggregate, OrderRules, created_event_name="Placed"):

    class Placed(ActorCreated):
        TOPIC = "certledger:Order.Placed:v1"
        certificate_id: UUID
        portal: str
        account_id: str | None
        order_number: str
        kind: str
        profile: str
        amount: int           # in fen (0.01 CNY)
        currency: str
        media: str | None     # "usb-key", or None: nothing to ship
        shipping: dict[str, str] | None

    class Paid(ActorEvent):
        TOPIC = "certledger:Order.Paid:v1"
        method: str
        amount: int
        reference: str

        def apply(self, aggregate: Order) -> None:
            aggregate.status = OrderStatus.PAID
            aggregate.payment = {"method": self.method, "amount": self.amount,
                                 "reference": self.reference}

    class InvoiceRequested(ActorEvent):
        TOPIC = "certledger:Order.InvoiceRequested:v1"
        invoice: dict[str, str | None]

        def apply(self, aggregate: Order) -> None:
            aggregate.invoice = dict(self.invoice)

    class ShippingSet(ActorEvent):
        TOPIC = "certledger:Order.ShippingSet:v1"
        media: str
        shipping: dict[str, str]
        amount: int | None = None   # the price with the medium (None: unchanged)

        def apply(self, aggregate: Order) -> None:
            aggregate.media, aggregate.shipping = self.media, dict(self.shipping)
            if self.amount is not None:
                aggregate.amount = self.amount

    class Shipped(ActorEvent):
        TOPIC = "certledger:Order.Shipped:v1"
        carrier: str
        tracking_number: str

        def apply(self, aggregate: Order) -> None:
            aggregate.status = OrderStatus.SHIPPED
            aggregate.shipment = {"carrier": self.carrier,
                                  "tracking_number": self.tracking_number}

    class Delivered(ActorEvent):
        TOPIC = "certledger:Order.Delivered:v1"

        def apply(self, aggregate: Order) -> None:
            aggregate.status = OrderStatus.DELIVERED

    class Activated(ActorEvent):
        TOPIC = "certledger:Order.Activated:v1"

        def apply(self, aggregate: Order) -> None:
            aggregate.status = OrderStatus.ACTIVATED
            aggregate.activated_at = self.timestamp

    class DocumentAttached(ActorEvent):
        TOPIC = "certledger:Order.DocumentAttached:v1"   # the bytes: blob ``sha256``
        document_kind: str
        name: str
        media_type: str
        size: int
        sha256: str

        def apply(self, aggregate: Order) -> None:
            aggregate.documents.append(Document(self.document_kind, self.name,
                                                self.media_type, self.size, self.sha256))

    class SmsCodeSent(ActorEvent):
        """A code sent to the legal person: only its HMAC is kept."""
        TOPIC = "certledger:Order.SmsCodeSent:v1"
        phone_tail: str        # the last four digits, to tell the user where it went
        code_hmac: str
        hmac_key: str
        expires_at: datetime
        legal_person: str | None = None     # the name given (None: the account's handler)
        id_number_hmac: str | None = None   # the legal person's ID number, as an HMAC
        id_hmac_key: str | None = None

        def apply(self, aggregate: Order) -> None:
            aggregate.sms = {"code_hmac": self.code_hmac, "expires_at": self.expires_at,
                             "failures": 0, "sent_at": self.timestamp}

    class SmsCodeFailed(ActorEvent):  # a wrong code (SMS_ATTEMPTS of them void it)
        TOPIC = "certledger:Order.SmsCodeFailed:v1"

        def apply(self, aggregate: Order) -> None:
            if aggregate.sms is not None:
                aggregate.sms["failures"] += 1

    class Authorised(ActorEvent):
        """The legal person authorised the application (法人授权): by ``sms`` (the code
        sent was confirmed) or by ``letter`` (``document_sha256``: the letter)."""

        TOPIC = "certledger:Order.Authorised:v1"
        method: str
        document_sha256: str | None

        def apply(self, aggregate: Order) -> None:
            aggregate.authorisation = {"method": self.method,
                                       "document_sha256": self.document_sha256,
                                       "by": self.actor_id}
            aggregate.sms = None

    def __init__(self, *, actor_id: str, actor_role: str, certificate_id: UUID, portal: str,
                 account_id: str | None, order_number: str, kind: str, profile: str,
                 amount: int, currency: str, media: str | None,
                 shipping: dict[str, str] | None) -> None:
        self.certificate_id = certificate_id
        self.portal = portal
        self.account_id = account_id
        self.order_number = order_number
        self.kind = kind
        self.profile = profile
        self.amount = amount
        self.currency = currency
        self.media = media
        self.shipping = dict(shipping) if shipping else None
        self.status = OrderStatus.PLACED
        self.payment: dict[str, Any] | None = None
        self.invoice: dict[str, str | None] | None = None
        self.shipment: dict[str, str] | None = None
        self.activated_at: datetime | None = None
        self.documents: list[Document] = []
        self.sms: dict[str, Any] | None = None
        self.authorisation: dict[str, Any] | None = None

    @classmethod
    def place(cls, *, actor: Actor, at: datetime, certificate_id: UUID, portal: str,
              account_id: str | None, order_number: str, kind: str, profile: str,
              amount: int, currency: str, media: Any = None,
              shipping: Any = None) -> Order:
        clean = check_delivery(media, shipping)
        return cls._create(cls.Placed, id=order_id(certificate_id), timestamp=at,
                           **who(actor), certificate_id=certificate_id, portal=portal,
                           account_id=account_id, order_number=order_number, kind=kind,
                           profile=profile, amount=amount, currency=currency,
                           media=media, shipping=clean)

    # ---- commands -------------------------------------------------------------------------

    def pay(self, actor: Actor, at: datetime, *, method: str, amount: object,
            reference: str, approved: bool) -> None:
        """Record the payment: of an approved application, the order's price exactly."""
        method, amount = check_payment(method, amount, reference)
        self.check_status("pay", OrderStatus.PLACED)
        if not approved:
            raise IllegalTransition("an application is paid for once it is approved",
                                    code="not_approved")
        if amount != self.amount:
            raise IllegalTransition(f"the order costs {self.amount} fen, not {amount}",
                                    code="amount_mismatch")
        self.trigger_event(self.Paid, timestamp=at, **who(actor), method=method,
                           amount=amount, reference=reference)

    def request_invoice(self, actor: Actor, at: datetime, data: Any) -> None:
        invoice = check_invoice(data)
        if invoice != self.invoice:
            self.trigger_event(self.InvoiceRequested, timestamp=at, **who(actor),
                               invoice=invoice)

    def set_shipping(self, actor: Actor, at: datetime, media: object, shipping: Any,
                     amount: int) -> None:
        """Where the medium goes; ``amount``: the order's price with it."""
        clean = check_shipping(media, shipping)
        if self.status not in (OrderStatus.PLACED, OrderStatus.PAID):
            raise IllegalTransition(f"the order is {self.status.value}: too late to change "
                                    "where it goes", code=f"order_{self.status.value}")
        if amount != self.amount and self.status is not OrderStatus.PLACED:
            raise IllegalTransition("the order is paid: its medium can no longer change",
                                    code="order_paid")
        if (media, clean) != (self.media, self.shipping):
            self.trigger_event(self.ShippingSet, timestamp=at, **who(actor),
                               media=str(media), shipping=clean, amount=amount)

    def ship(self, actor: Actor, at: datetime, *, carrier: str, tracking_number: str,
             issued: bool) -> None:
        carrier = check_text(carrier, "carrier", 100)
        tracking_number = check_text(tracking_number, "tracking_number", 100)
        self.check_status("ship", OrderStatus.PAID)
        if self.media is None:
            raise IllegalTransition("this order has nothing to ship", code="nothing_to_ship")
        if not issued:
            raise IllegalTransition("the certificate is not issued yet", code="not_issued")
        self.trigger_event(self.Shipped, timestamp=at, **who(actor), carrier=carrier,
                           tracking_number=tracking_number)

    def deliver(self, actor: Actor, at: datetime) -> None:
        self.check_status("confirm the delivery of", OrderStatus.SHIPPED)
        self.trigger_event(self.Delivered, timestamp=at, **who(actor))

    def activate(self, actor: Actor, at: datetime, *, issued: bool) -> None:
        """Activation (激活): of a paid order whose certificate is issued (and valid), once
        delivered if there was a medium to ship."""
        needed = OrderStatus.DELIVERED if self.media is not None else OrderStatus.PAID
        self.check_status("activate", needed)
        if not issued:
            raise IllegalTransition("only a valid, issued certificate is activated",
                                    code="not_issued")
        self.trigger_event(self.Activated, timestamp=at, **who(actor))

    def attach(self, actor: Actor, at: datetime, document: Document) -> None:
        if any(d.sha256 == document.sha256 and d.kind == document.kind
               for d in self.documents):
            return  # the same document again records nothing
        self.trigger_event(self.DocumentAttached, timestamp=at, **who(actor),
                           document_kind=document.kind, name=document.name,
                           media_type=document.media_type, size=document.size,
                           sha256=document.sha256)

    def send_code(self, actor: Actor, at: datetime, *, phone_tail: str, code_hmac: str,
                  hmac_key: str, expires_at: datetime, **legal_person: str | None) -> None:
        """``legal_person``: legal_person, id_number_hmac, id_hmac_key (if given)."""
        self.check_not_authorised()
        if self.sms is not None and at < self.sms["sent_at"] + SMS_RESEND_AFTER:
            raise IllegalTransition("a code was sent less than a minute ago: use it, or ask "
                                    "again in a minute", code="code_sent_recently")
        self.trigger_event(self.SmsCodeSent, timestamp=at, **who(actor),
                           phone_tail=phone_tail, code_hmac=code_hmac, hmac_key=hmac_key,
                           expires_at=expires_at, **legal_person)

    def confirm_code(self, actor: Actor, at: datetime, code_hmac: str) -> bool:
        """Authorise if ``code_hmac`` is the code sent (in time, within SMS_ATTEMPTS);
        a wrong code is recorded (SmsCodeFailed) and False returned."""
        self.check_not_authorised()
        sms = self.sms
        if sms is None or sms["failures"] >= SMS_ATTEMPTS or at > sms["expires_at"]:
            raise IllegalTransition("no confirmation code is pending: send a new one",
                                    code="no_code_pending")
        if not hmac.compare_digest(code_hmac, sms["code_hmac"]):
            self.trigger_event(self.SmsCodeFailed, timestamp=at, **who(actor))
            return False
        self.trigger_event(self.Authorised, timestamp=at, **who(actor), method="sms",
                           document_sha256=None)
        return True

    def authorise_by_letter(self, actor: Actor, at: datetime, sha256: str) -> None:
        self.check_not_authorised()
        if not any(d.sha256 == sha256 and d.kind == "authorisation-letter"
                   for d in self.documents):
            raise IllegalTransition("attach the authorisation letter first (a document of "
                                    "kind authorisation-letter)", code="letter_missing")
        self.trigger_event(self.Authorised, timestamp=at, **who(actor), method="letter",
                           document_sha256=sha256)
