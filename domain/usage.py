"""One valid certificate per account and usage (profile).

:class:`AccountUsage` (its id derived from the account and the profile) names the
certificate last issued for them. Issuing saves it with the ``Issued`` event: a first
issuance opens it, a successor's issuance moves it on (and revokes the predecessor in
the same save, ``Certificate.supersede``). Two issuances racing for one usage write the
same version of it: one save fails and is retried against the winner's state, so two
valid certificates of one usage can never both be recorded.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actors import Actor
from domain.events import ActorCreated, ActorEvent, who
from domain.ids import usage_id
from domain.topics import stable_topics

__all__ = ["AccountUsage"]


@stable_topics("certledger:AccountUsage")
class AccountUsage(Aggregate, created_event_name="Opened"):

    class Opened(ActorCreated):
        TOPIC = "certledger:AccountUsage.Opened:v1"
        account_id: str
        profile: str
        certificate_id: UUID

    class Succeeded(ActorEvent):
        TOPIC = "certledger:AccountUsage.Succeeded:v1"
        certificate_id: UUID
        predecessor_id: UUID

        def apply(self, aggregate: AccountUsage) -> None:
            aggregate.certificate_id = self.certificate_id

    def __init__(self, *, actor_id: str, actor_role: str, account_id: str, profile: str,
                 certificate_id: UUID) -> None:
        self.account_id = account_id
        self.profile = profile
        self.certificate_id = certificate_id

    @staticmethod
    def create_id(account_id: str, profile: str) -> UUID:
        return usage_id(account_id, profile)

    @classmethod
    def open(cls, *, actor: Actor, at: datetime, account_id: str, profile: str,
             certificate_id: UUID) -> AccountUsage:
        return cls._create(cls.Opened, timestamp=at, **who(actor), account_id=account_id,
                           profile=profile, certificate_id=certificate_id)

    def succeed(self, actor: Actor, at: datetime, *, certificate_id: UUID,
                predecessor_id: UUID) -> None:
        self.trigger_event(self.Succeeded, timestamp=at, **who(actor),
                           certificate_id=certificate_id, predecessor_id=predecessor_id)
