"""Marking a message read or unread: ``MessageRead`` events (one aggregate per message,
its id derived from the message's; marking what is so records nothing). The message
must be the account's, and the account the actor's portal's (else "not found")."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from ca.applications.accounts import Accounts
from ca.applications.conflicts import retry_on_conflict
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

    def mark(self, actor: Actor, account_id: UUID, message_id: UUID, owners: MessageOwners,
             *, read: bool = True) -> None:
        """Mark the message read (or unread again); what is so already records nothing."""
        account = self._accounts.get_for(actor, account_id)
        if owners.owner(str(message_id)) != str(account.id):
            raise NotFound(f"no message {message_id}", code="message_not_found")
        ident = MessageRead.create_id(message_id, str(account.id))

        def attempt() -> None:
            marks = self._log.load(ident, MessageRead)
            if marks is None:
                if read:
                    self._log.save(MessageRead.mark(actor=actor, at=self._clock(),
                                                    message_id=message_id,
                                                    account_id=str(account.id)))
                return
            marks.set_read(actor, self._clock(), read)
            self._log.save(marks)

        retry_on_conflict(attempt, what="the message")
