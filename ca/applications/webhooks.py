"""Webhooks: the admin registers one URL per portal; messages for the portal's accounts
are then delivered to it (ca/processes/webhook_delivery.py) from the outbox the messages
read model fills.

The signing secret is never recorded: it is derived under a server key from the
registration's id (``WEBHOOK_KEY``), returned once to the registering call, and derived
again by the sender. A registration retried with its Idempotency-Key (``new_id``) finds
the registration it made and gives the same secret; registering anew replaces the URL
and the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from ca.applications.event_log import EventLog
from ca.applications.ports import Clock, Hmac, PortalDirectory
from domain.actors import Actor
from domain.errors import Conflict
from domain.notices import Webhook, check_webhook_url

__all__ = ["Webhooks", "Registration", "SIGNATURE_HEADER", "sign", "Outbox", "OutboxItem"]

SIGNATURE_HEADER = "X-CertLedger-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` HMAC-SHA256(secret, timestamp "." body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass(frozen=True)
class Registration:
    portal: str
    url: str
    secret: str   # for the registering caller's answer only


class Webhooks:
    def __init__(self, log: EventLog, portals: PortalDirectory, secrets: Hmac,
                 clock: Clock) -> None:
        self._log = log
        self._portals = portals
        self._secrets = secrets
        self._clock = clock

    def secret(self, registration_id: str) -> str:
        digest = self._secrets.digest(b"webhook:" + registration_id.encode())
        return "whsec_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def register(self, actor: Actor, portal: object, url: object,
                 new_id: UUID | None = None) -> Registration:
        code = self._portals.resolve(actor, portal)
        self._portals.check_exist([code])
        checked = check_webhook_url(url)
        registration_id = str(new_id or uuid4())

        def attempt() -> Registration:
            existing = self._log.load(Webhook.create_id(code), Webhook)
            if existing is None:
                self._log.save(Webhook.register(actor=actor, at=self._clock(), portal=code,
                                                url=checked, registration_id=registration_id))
            elif existing.registration_id != registration_id:
                existing.replace(actor, self._clock(), checked, registration_id)
                self._log.save(existing)
            return Registration(code, checked, self.secret(registration_id))

        # not retried: of two registrations at once, the loser would replace the winner's
        # and both callers would hold a secret, one of them already void. One wins; the
        # other is a 409 (unless its twin, with the same Idempotency-Key, saved it).
        try:
            return attempt()
        except IntegrityError:
            won = self._log.load(Webhook.create_id(code), Webhook)
            if won is not None and won.registration_id == registration_id:
                return Registration(code, checked, self.secret(registration_id))
            raise Conflict("another registration of this portal's webhook was saved at the "
                           "same moment; register again to replace it",
                           code="webhook_registration_raced") from None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    message_id: str
    portal: str
    url: str
    registration_id: str
    payload: str
    attempts: int


class Outbox(Protocol):
    """The webhook outbox in the read-model store
    (implemented by ``projections.webhook_outbox.WebhookOutbox``)."""

    def due(self, now: int, limit: int) -> list[OutboxItem]:
        """Undelivered items whose next attempt is due at ``now`` (Unix seconds)."""
        ...

    def delivered(self, item: OutboxItem, at: str) -> None: ...

    def failed(self, item: OutboxItem, next_attempt_at: int, error: str) -> None: ...
