"""Expiry without an event: a certificate past its notAfter is ``expired`` wherever its
status is shown (API views, lists, the binding check), and nobody records it.

Expiry notices (30, 7 and 1 days before notAfter by default) are events on an
:class:`ExpiryNotice` aggregate whose id derives from the certificate and the threshold,
so a notice is recorded once per certificate and threshold, however many schedulers try
(the second save conflicts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.events import ActorCreated, who
from domain.ids import NAMESPACE
from domain.topics import stable_topics

__all__ = ["EXPIRED", "effective_status", "status_text", "ExpiryNotice",
           "DEFAULT_THRESHOLDS"]

EXPIRED = "expired"
DEFAULT_THRESHOLDS = (30, 7, 1)  # days before notAfter
_VALID = ("issued", "suspended")


def status_text(status: str, not_after: datetime | None, at: datetime) -> str:
    """``status`` as shown at ``at``: an issued or suspended certificate past notAfter
    is ``expired``."""
    if status in _VALID and not_after is not None and at > not_after:
        return EXPIRED
    return status


def effective_status(certificate: Any, at: datetime) -> str:
    """The status of a Certificate aggregate as shown at ``at``."""
    return status_text(certificate.status.value, certificate.not_after, at)


@stable_topics("certledger:ExpiryNotice")
class ExpiryNotice(Aggregate, created_event_name="Sent"):
    """The notice that certificate ``certificate_id`` expires in ``threshold_days``."""

    class Sent(ActorCreated):
        TOPIC = "certledger:ExpiryNotice.Sent:v1"
        certificate_id: UUID
        threshold_days: int
        not_after: datetime
        account_id: str | None
        portal: str

    def __init__(self, *, actor_id: str, actor_role: str, certificate_id: UUID,
                 threshold_days: int, not_after: datetime, account_id: str | None,
                 portal: str) -> None:
        self.certificate_id = certificate_id
        self.threshold_days = threshold_days
        self.not_after = not_after
        self.account_id = account_id
        self.portal = portal

    @staticmethod
    def create_id(certificate_id: UUID, threshold_days: int) -> UUID:
        return uuid5(NAMESPACE, f"expiry-notice:{certificate_id}:{threshold_days}")

    @classmethod
    def send(cls, *, actor: Actor, at: datetime, certificate_id: UUID, threshold_days: int,
             not_after: datetime, account_id: str | None, portal: str) -> ExpiryNotice:
        return cls._create(cls.Sent, timestamp=at, **who(actor),
                           certificate_id=certificate_id, threshold_days=threshold_days,
                           not_after=not_after, account_id=account_id, portal=portal)
