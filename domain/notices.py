"""Messages and their delivery: a message read (an event, once per message), and each
portal's webhook (registered by the admin).

A message is read once: :class:`MessageRead`'s id derives from the message's id, so a
second "read" conflicts and records nothing. A webhook's signing secret is never
recorded: it is derived under a server key from ``registration_id`` (the admin gets it
once, in the answer to the registration).
"""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.errors import InvalidRequest
from domain.events import ActorCreated, ActorEvent, who
from domain.ids import NAMESPACE
from domain.topics import stable_topics

__all__ = ["MessageRead", "Webhook", "SystemNotice", "message_id", "check_webhook_url"]

_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[\x21-\x7e]*)?\Z")


def message_id(event_originator: UUID, version: int, kind: str = "") -> UUID:
    """The stable id of the message an event makes (the webhook's dedup key too)."""
    return uuid5(NAMESPACE, f"message:{event_originator}:{version}{kind}")


def check_webhook_url(url: object) -> str:
    if not isinstance(url, str) or len(url) > 500 or not _URL.match(url):
        raise InvalidRequest("url is an http(s) URL of at most 500 characters",
                             code="bad_webhook_url")
    return url


@stable_topics("certledger:MessageRead")
class MessageRead(Aggregate, created_event_name="Marked"):
    """Whether a message is read: created read (``Marked``), then ``Unmarked`` (unread
    again) and ``Remarked`` (read again); marking what is so records nothing."""

    class Marked(ActorCreated):
        TOPIC = "certledger:MessageRead.Marked:v1"
        message_id: UUID
        account_id: str

    class Unmarked(ActorEvent):
        TOPIC = "certledger:MessageRead.Unmarked:v1"
        message_id: UUID

        def apply(self, aggregate: MessageRead) -> None:
            aggregate.read = False

    class Remarked(ActorEvent):
        TOPIC = "certledger:MessageRead.Remarked:v1"
        message_id: UUID

        def apply(self, aggregate: MessageRead) -> None:
            aggregate.read = True

    def __init__(self, *, actor_id: str, actor_role: str, message_id: UUID,
                 account_id: str) -> None:
        self.message_id = message_id
        self.account_id = account_id
        self.read = True

    def set_read(self, actor: Actor, at: datetime, read: bool) -> None:
        if read == self.read:
            return
        self.trigger_event(self.Remarked if read else self.Unmarked, timestamp=at,
                           message_id=self.message_id, **who(actor))

    @staticmethod
    def create_id(message_id: UUID, account_id: str) -> UUID:
        return uuid5(NAMESPACE, f"message-read:{message_id}")

    @classmethod
    def mark(cls, *, actor: Actor, at: datetime, message_id: UUID,
             account_id: str) -> MessageRead:
        return cls._create(cls.Marked, timestamp=at, **who(actor), message_id=message_id,
                           account_id=account_id)


@stable_topics("certledger:Webhook")
class Webhook(Aggregate, created_event_name="Registered"):
    """The webhook of portal ``portal`` (one per portal; registering again replaces it)."""

    class Registered(ActorCreated):
        TOPIC = "certledger:Webhook.Registered:v1"
        portal: str
        url: str
        registration_id: str

    class Replaced(ActorEvent):
        TOPIC = "certledger:Webhook.Replaced:v1"
        portal: str
        url: str
        registration_id: str

        def apply(self, aggregate: Webhook) -> None:
            aggregate.url = self.url
            aggregate.registration_id = self.registration_id

    def __init__(self, *, actor_id: str, actor_role: str, portal: str, url: str,
                 registration_id: str) -> None:
        self.portal = portal
        self.url = url
        self.registration_id = registration_id

    @staticmethod
    def create_id(portal: str) -> UUID:
        return uuid5(NAMESPACE, f"webhook:{portal}")

    @classmethod
    def register(cls, *, actor: Actor, at: datetime, portal: str, url: str,
                 registration_id: str) -> Webhook:
        return cls._create(cls.Registered, timestamp=at, **who(actor), portal=portal,
                           url=check_webhook_url(url), registration_id=registration_id)

    def replace(self, actor: Actor, at: datetime, url: str, registration_id: str) -> None:
        self.trigger_event(self.Replaced, timestamp=at, **who(actor), portal=self.portal,
                           url=check_webhook_url(url), registration_id=registration_id)


@stable_topics("certledger:SystemNotice")
class SystemNotice(Aggregate, created_event_name="Posted"):
    """A system notice (系统通知) the admin posts: to one account, or (``account_id``
    None) to every account of a portal."""

    class Posted(ActorCreated):
        TOPIC = "certledger:SystemNotice.Posted:v1"
        portal: str
        account_id: str | None
        title: str
        body: str

    def __init__(self, *, actor_id: str, actor_role: str, portal: str,
                 account_id: str | None, title: str, body: str) -> None:
        self.portal = portal
        self.account_id = account_id
        self.title = title
        self.body = body

    @classmethod
    def post(cls, *, actor: Actor, at: datetime, portal: str, account_id: str | None,
             title: str, body: str, notice_id: UUID | None = None) -> SystemNotice:
        return cls._create(cls.Posted, id=notice_id, timestamp=at, **who(actor), portal=portal,
                           account_id=account_id, title=title, body=body)
