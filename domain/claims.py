"""Claims on unique values, the event-sourced way.

A claim's id is derived from the value (``domain.ids``); saving a claim whose id
exists fails atomically with the events that needed it, so two issuances can
never share a serial number under one issuer, nor two accounts of one portal a username.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.events import ActorCreated, who
from domain.ids import order_number_claim_id, serial_claim_id, username_claim_id
from domain.topics import stable_topics

__all__ = ["SerialClaim", "UsernameClaim", "OrderNumberClaim"]


@stable_topics("certledger:SerialClaim")
class SerialClaim(Aggregate, created_event_name="Claimed"):

    class Claimed(ActorCreated):
        TOPIC = "certledger:SerialClaim.Claimed:v1"
        issuer: str
        serial_number: int
        certificate_id: UUID

    def __init__(self, *, actor_id: str, actor_role: str, issuer: str, serial_number: int,
                 certificate_id: UUID) -> None:
        self.issuer = issuer
        self.serial_number = serial_number
        self.certificate_id = certificate_id

    @staticmethod
    def create_id(issuer: str, serial_number: int) -> UUID:
        return serial_claim_id(issuer, serial_number)

    @classmethod
    def claim(cls, *, actor: Actor, issuer: str, serial_number: int,
              certificate_id: UUID) -> SerialClaim:
        return cls._create(cls.Claimed, **who(actor),
                           issuer=issuer, serial_number=serial_number,
                           certificate_id=certificate_id)


@stable_topics("certledger:UsernameClaim")
class UsernameClaim(Aggregate, created_event_name="Claimed"):
    """A username taken within a portal (saved with the account's ``Registered``)."""

    class Claimed(ActorCreated):
        TOPIC = "certledger:UsernameClaim.Claimed:v1"
        portal: str
        username: str
        account_id: UUID

    def __init__(self, *, actor_id: str, actor_role: str, portal: str, username: str,
                 account_id: UUID) -> None:
        self.portal = portal
        self.username = username
        self.account_id = account_id

    @staticmethod
    def create_id(portal: str, username: str) -> UUID:
        return username_claim_id(portal, username)

    @classmethod
    def claim(cls, *, actor: Actor, portal: str, username: str,
              account_id: UUID) -> UsernameClaim:
        return cls._create(cls.Claimed, **who(actor), portal=portal, username=username,
                           account_id=account_id)


@stable_topics("certledger:OrderNumberClaim")
class OrderNumberClaim(Aggregate, created_event_name="Claimed"):
    """An order number taken (saved with the order it numbers)."""

    class Claimed(ActorCreated):
        TOPIC = "certledger:OrderNumberClaim.Claimed:v1"
        order_number: str
        certificate_id: UUID

    def __init__(self, *, actor_id: str, actor_role: str, order_number: str,
                 certificate_id: UUID) -> None:
        self.order_number = order_number
        self.certificate_id = certificate_id

    @staticmethod
    def create_id(order_number: str) -> UUID:
        return order_number_claim_id(order_number)

    @classmethod
    def claim(cls, *, actor: Actor, order_number: str,
              certificate_id: UUID) -> OrderNumberClaim:
        return cls._create(cls.Claimed, **who(actor), order_number=order_number,
                           certificate_id=certificate_id)
