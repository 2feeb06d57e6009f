"""Marking a message read or unread: ``MessageRead`` events (one aggregate per message,
its id derived from the message's; marking what is so records nothing). The message
must be the account's, and the account the actor's portal's (else "not found")."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from ca.applications.accounts import Accounts
from ca.applications.conflicts import retry_on_conflict, save_new
from ca.applications.event_log import EventLog
from ca.applications.ports import Clock, PortalDirectory
from domain.actors import Actor
from domain.errors import NotFound
from domain.notices import MessageRead, SystemNotice
from domain.portals import check_display_name

__all__ = ["Messages", "MessageOwners"]


class MessageOwners(Protocol):
    def owner(self, message_id: str) -> str | None: ...


class Messages:
    def __init__(self, log: EventLog, accounts: Accounts, portals: PortalDirectory,
                 clock: Clock) -> None:
        self._log = log
        self._accounts = accounts
        self._portals = portals
        self._clock = clock

    def post_notice(self, actor: Actor, *, portal: object, account_id: UUID | None,
                    title: object, body: object, new_id: UUID | None = None) -> SystemNotice:
        """A system notice to one account (of ``portal``) or to every account of it."""
        heading = check_display_name(title, "title", 200)
        text = check_display_name(body, "body", 2000)
        code = self._portals.resolve(actor, portal)
        if account_id is not None:
            account = self._accounts.get_for(actor, account_id)
            if account.portal != code:
                raise NotFound(f"no account {account_id} in portal {code}",
                               code="account_not_found")

        def make() -> list[Aggregate]:
            return [SystemNotice.post(actor=actor, at=self._clock(), portal=code,
                                      account_id=str(account_id) if account_id else None,
                                      title=heading, body=text, notice_id=new_id)]

        ident = save_new(self._log, make, new_id, lambda: None)
        notice = self._log.load(ident, SystemNotice)
        assert notice is not None
        return notice

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
