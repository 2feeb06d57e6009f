"""Marking a message read: a ``MessageRead`` event, once per message (its id derives from
the message's; reading it again records nothing). The message must be the account's,
and the account the actor's portal's (else "not found")."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ca.applications.accounts import Accounts
from ca.applications.event_log import EventLog
from ca.applications.ports import Clock
from domain.actors import Actor
from domain.errors import NotFound
from domain.notices import MessageRead

__all__ = ["Messages", "MessageOwners"]


class MessageOwners(Protocol):
    def owner(self, message_id: str) -> str | None: ...


class Messages:
    def __init__(self, log: EventLog, accounts: Accounts, clock: Clock) -> None:
        self._log = log
        self._accounts = accounts
        self._clock = clock

    def mark_read(self, actor: Actor, account_id: UUID, message_id: UUID,
                  owners: MessageOwners) -> bool:
        """True if this call marked it; False if it was read already."""
        account = self._accounts.get_for(actor, account_id)
        if owners.owner(str(message_id)) != str(account.id):
            raise NotFound(f"no message {message_id}", code="message_not_found")
        if self._log.has(MessageRead.create_id(message_id, str(account.id))):
            return False
        try:
            self._log.save(MessageRead.mark(actor=actor, at=self._clock(),
                                            message_id=message_id, account_id=str(account.id)))
        except IntegrityError:
            return False
        return True
