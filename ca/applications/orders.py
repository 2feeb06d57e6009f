"""Commands on orders (seed 004): payment, invoice data, shipping, delivery, activation,
documents and the legal person's authorisation.

An order is keyed by its application (the certificate id, ``domain.ids.order_id``) and
belongs to its portal: another portal's order is "not found". A step the order or its
certificate is not ready for is a 409 and records nothing; bad input is a 400 before
anything is loaded. Documents' bytes go to the blob store (content-addressed) before the
event that names them is saved; the declared SHA-256 must be the bytes'.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ca.applications.blobs import BlobStore
from ca.applications.conflicts import retry_on_conflict
from ca.applications.event_log import EventLog
from ca.applications.order_numbers import OrderNumbers
from ca.applications.ports import Clock, Hmac, SmsGateway
from ca.policy.orders import CURRENCY, price
from domain.accounts import Account
from domain.actors import Actor
from domain.certificate import ApplicationKind, Certificate, Status
from domain.claims import OrderNumberClaim
from domain.errors import InvalidRequest, NotFound
from domain.identity import check_id_number, check_mobile
from domain.ids import order_id
from domain.orders import Order
from domain.orders_data import check_document
from domain.portals import check_display_name

__all__ = ["Orders", "place_order", "CODE_TTL", "WrongCode"]

CODE_TTL = timedelta(minutes=10)


class WrongCode(InvalidRequest):
    code = "wrong_code"


def place_order(actor: Actor, at: datetime, certificate: Certificate, numbers: OrderNumbers,
                *, media: Any, shipping: Any) -> list[Aggregate]:
    """The order of a new application and the claim on its number (saved with it)."""
    number = numbers.next(at)
    order = Order.place(actor=actor, at=at, certificate_id=certificate.id,
                        portal=certificate.portal, account_id=certificate.account_id,
                        order_number=number, kind=certificate.kind.value,
                        profile=certificate.profile,
                        amount=price(certificate.profile, certificate.kind, media),
                        currency=CURRENCY, media=media, shipping=shipping)
    return [order, OrderNumberClaim.claim(actor=actor, order_number=number,
                                          certificate_id=certificate.id)]


def _not_found(certificate_id: UUID | None) -> NotFound:
    return NotFound(f"no order {certificate_id}", code="order_not_found")


class Orders:
    def __init__(self, log: EventLog, clock: Clock, blobs: BlobStore, codes: Hmac,
                 sms: SmsGateway, id_numbers: Hmac, *, max_document_size: int) -> None:
        self._log = log
        self._clock = clock
        self._blobs = blobs
        self._codes = codes
        self._sms = sms
        self._id_numbers = id_numbers
        self.max_document_size = max_document_size

    def get_for(self, actor: Actor, certificate_id: UUID | None) -> Order:
        order = self._log.load(order_id(certificate_id), Order) if certificate_id else None
        if order is None or not actor.sees(order.portal):
            raise _not_found(certificate_id)
        return order

    def find(self, certificate_id: UUID) -> Order | None:
        """The order of an application the caller may see already (None: it has none)."""
        return self._log.load(order_id(certificate_id), Order)

    def _certificate(self, order: Order) -> Certificate:
        certificate = self._log.load(order.certificate_id, Certificate)
        assert certificate is not None  # placed in the same save
        return certificate

    def _issued(self, order: Order, at: datetime) -> bool:
        return self._certificate(order).valid_at(at)

    def pay(self, actor: Actor, certificate_id: UUID, *, method: str, amount: object,
            reference: str) -> Order:
        def pay(order: Order, at: datetime) -> None:
            status = self._certificate(order).status
            order.pay(actor, at, method=method, amount=amount, reference=reference,
                      approved=status in (Status.APPROVED, Status.ISSUED))
        return self._update(actor, certificate_id, pay)

    def request_invoice(self, actor: Actor, certificate_id: UUID, data: Any) -> Order:
        return self._update(actor, certificate_id,
                            lambda o, at: o.request_invoice(actor, at, data))

    def set_shipping(self, actor: Actor, certificate_id: UUID, media: object,
                     shipping: Any) -> Order:
        return self._update(actor, certificate_id, lambda o, at: o.set_shipping(
            actor, at, media, shipping, price(o.profile, ApplicationKind(o.kind),
                                              str(media))))

    def ship(self, actor: Actor, certificate_id: UUID, *, carrier: str,
             tracking_number: str) -> Order:
        return self._update(actor, certificate_id, lambda o, at: o.ship(
            actor, at, carrier=carrier, tracking_number=tracking_number,
            issued=self._issued(o, at)))

    def deliver(self, actor: Actor, certificate_id: UUID) -> Order:
        return self._update(actor, certificate_id, lambda o, at: o.deliver(actor, at))

    def activate(self, actor: Actor, certificate_id: UUID) -> Order:
        return self._update(actor, certificate_id, lambda o, at: o.activate(
            actor, at, issued=self._issued(o, at)))

    def attach(self, actor: Actor, certificate_id: UUID, *, kind: object, name: object,
               media_type: object, sha256: object, content: bytes) -> Order:
        """Keep ``content`` in the blob store and record the document on the order."""
        if len(content) > self.max_document_size:
            raise InvalidRequest(f"a document is at most {self.max_document_size} bytes",
                                 code="document_too_large")
        document = check_document(kind, name, media_type, len(content), sha256)
        if not content:
            raise InvalidRequest("the document is empty", code="empty_document")
        if hashlib.sha256(content).hexdigest() != document.sha256:
            raise InvalidRequest("the bytes sent are not the document whose SHA-256 was "
                                 "declared", code="digest_mismatch")
        self.get_for(actor, certificate_id)  # not found before anything is stored
        self._blobs.put(document.sha256, content)
        return self._update(actor, certificate_id,
                            lambda o, at: o.attach(actor, at, document))

    def send_code(self, actor: Actor, certificate_id: UUID,
                  legal_person: dict[str, Any] | None = None) -> Order:
        """Send the legal person a confirmation code (法人授权): to the mobile of
        ``legal_person`` (name, id_number, phone), else of the account's handler. Only the
        code's HMAC is recorded, and the ID number's."""
        person: dict[str, str | None] = {}
        phone = None
        if legal_person is not None:
            if not isinstance(legal_person, dict):
                raise InvalidRequest("legal_person is {name, id_number, phone}",
                                     code="bad_legal_person")
            phone = check_mobile(legal_person.get("phone"), "legal_person.phone")
            person = {"legal_person": check_display_name(legal_person.get("name"),
                                                         "legal_person.name", 100),
                      "id_number_hmac": self._id_numbers.digest(check_id_number(
                          legal_person.get("id_number")).encode()).hex(),
                      "id_hmac_key": self._id_numbers.key_ref}
        code = f"{secrets.randbelow(10 ** 6):06d}"
        sent_to: list[str] = []

        def send(order: Order, at: datetime) -> None:
            sent_to[:] = [phone or self._phone(order)]
            order.send_code(actor, at, phone_tail=sent_to[0][-4:], code_hmac=self._digest(
                order, code), hmac_key=self._codes.key_ref, expires_at=at + CODE_TTL,
                **person)

        order = self._update(actor, certificate_id, send)
        self._sms.send(sent_to[0], f"CertLedger {order.order_number}: {code}")
        return order

    def confirm_code(self, actor: Actor, certificate_id: UUID, code: object) -> Order:
        if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
            raise InvalidRequest("code is the six digits sent", code="bad_code")
        confirmed: list[bool] = []

        def confirm(order: Order, at: datetime) -> None:
            confirmed[:] = [order.confirm_code(actor, at, self._digest(order, code))]
        order = self._update(actor, certificate_id, confirm)
        if not confirmed[0]:
            raise WrongCode("the code is not the one sent", code="wrong_code")
        return order

    def authorise_by_letter(self, actor: Actor, certificate_id: UUID,
                            sha256: object) -> Order:
        digest = sha256.lower() if isinstance(sha256, str) else ""
        return self._update(actor, certificate_id,
                            lambda o, at: o.authorise_by_letter(actor, at, digest))

    def _phone(self, order: Order) -> str:
        account = self._log.load(UUID(order.account_id), Account) if order.account_id \
            else None
        if account is None or account.handler is None:
            raise InvalidRequest("the application's account has no handler's mobile to "
                                 "send a code to", code="no_handler")
        return check_mobile(account.handler["phone"])

    def _digest(self, order: Order, code: str) -> str:
        return self._codes.digest(f"{order.id}:{code}".encode()).hex()

    def _update(self, actor: Actor, certificate_id: UUID,
                command: Callable[[Order, datetime], None]) -> Order:
        def attempt() -> Order:
            order = self.get_for(actor, certificate_id)
            command(order, self._clock())
            self._log.save(order)
            return order

        return retry_on_conflict(attempt, what="the order")
