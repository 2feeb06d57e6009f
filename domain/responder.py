"""The OcspResponder aggregate: the delegated OCSP responder of one CA.

The CA certifies a responder key (kept in the key store) for signing OCSP
responses (id-kp-OCSPSigning, id-pkix-ocsp-nocheck, a short validity) and
replaces it, with a new key, before it expires. The events carry the key
reference and the certificate, never the key. The aggregate's id derives from
the CA's name, so one CA has one responder history.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.events import ActorCreated, ActorEvent, who
from domain.ids import NAMESPACE
from domain.topics import stable_topics

__all__ = ["OcspResponder", "ROTATE_WHEN_LEFT", "rotation_due"]

#: replace a responder certificate once less than this part of its life is left
ROTATE_WHEN_LEFT = 1 / 3


@stable_topics("certledger:OcspResponder")
class OcspResponder(Aggregate, created_event_name="Certified"):

    class Certified(ActorCreated):
        TOPIC = "certledger:OcspResponder.Certified:v1"
        issuer: str            # the CA whose certificates this responder answers for
        key_algorithm: str
        key_ref: str           # where the key store keeps the (sealed) responder key
        serial_number: int
        not_before: datetime
        not_after: datetime
        certificate_der: bytes

    class Rotated(ActorEvent):
        """A new key and certificate replace the current ones (the old stay valid until
        their notAfter, so responses they signed remain good)."""

        TOPIC = "certledger:OcspResponder.Rotated:v1"
        key_ref: str
        serial_number: int
        not_before: datetime
        not_after: datetime
        certificate_der: bytes

        def apply(self, aggregate: OcspResponder) -> None:
            aggregate.key_ref = self.key_ref
            aggregate.serial_number = self.serial_number
            aggregate.not_before = self.not_before
            aggregate.not_after = self.not_after
            aggregate.certificate_der = self.certificate_der
            aggregate.rotations += 1

    def __init__(self, *, actor_id: str, actor_role: str, issuer: str, key_algorithm: str,
                 key_ref: str, serial_number: int, not_before: datetime, not_after: datetime,
                 certificate_der: bytes) -> None:
        self.issuer = issuer
        self.key_algorithm = key_algorithm
        self.key_ref = key_ref
        self.serial_number = serial_number
        self.not_before = not_before
        self.not_after = not_after
        self.certificate_der = certificate_der
        self.rotations = 0

    @staticmethod
    def create_id(issuer: str) -> UUID:
        return uuid5(NAMESPACE, f"ocsp-responder:{issuer}")

    @classmethod
    def certify(cls, *, actor: Actor, issuer: str, key_algorithm: str, key_ref: str,
                serial_number: int, not_before: datetime, not_after: datetime,
                certificate_der: bytes) -> OcspResponder:
        if not_after <= not_before:
            raise ValueError("a responder certificate must end after it begins")
        return cls._create(cls.Certified, id=cls.create_id(issuer), **who(actor), issuer=issuer,
                           key_algorithm=key_algorithm, key_ref=key_ref,
                           serial_number=serial_number, not_before=not_before,
                           not_after=not_after, certificate_der=certificate_der)

    def rotate(self, *, actor: Actor, key_ref: str, serial_number: int, not_before: datetime,
               not_after: datetime, certificate_der: bytes) -> None:
        if not_after < self.not_after:
            raise ValueError("a new responder certificate cannot end before the current one")
        self.trigger_event(self.Rotated, **who(actor),
                           key_ref=key_ref, serial_number=serial_number,
                           not_before=not_before, not_after=not_after,
                           certificate_der=certificate_der)

    def rotation_due(self, now: datetime) -> bool:
        return rotation_due(self.not_before, self.not_after, now)


def rotation_due(not_before: datetime, not_after: datetime, now: datetime) -> bool:
    """The rotation rule: true once less than :data:`ROTATE_WHEN_LEFT` of a responder
    certificate's life is left."""
    return not_after - now < (not_after - not_before) * ROTATE_WHEN_LEFT
