"""Reads the messages read model (projections/messages.py): an account's messages, newest
first, a page at a time (continued by the last row's log position), and who a message is
for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.db import ReadModelDatabase

__all__ = ["Mailbox", "MessageRow"]


@dataclass(frozen=True)
class MessageRow:
    message_id: str
    account_id: str | None
    portal: str
    kind: str
    title: str
    body: str
    certificate_id: str | None
    created_at: str
    position: int
    read: bool


_COLUMNS = ("message_id, account_id, portal, kind, title, body, certificate_id, created_at,"
            " position, is_read")


def _row(r: tuple[Any, ...]) -> MessageRow:
    return MessageRow(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], int(r[8]),
                      bool(r[9]))


class Mailbox:
    def __init__(self, database: ReadModelDatabase) -> None:
        self.database = database

    def page(self, account_id: str, *, before: int | None = None, limit: int = 50,
             unread_only: bool = False, kind: str | None = None) -> list[MessageRow]:
        where, params = ["account_id = ?"], [account_id]
        if before is not None:
            where.append("position < ?")
            params.append(str(before))
        if unread_only:
            where.append("is_read = 0")
        if kind:
            where.append("kind = ?")
            params.append(kind)
        rows = self.database.query(
            f"SELECT {_COLUMNS} FROM rm_messages WHERE {' AND '.join(where)}"
            " ORDER BY position DESC, message_id LIMIT ?", (*params, limit))
        return [_row(r) for r in rows]

    def get(self, message_id: str) -> MessageRow | None:
        rows = self.database.query(f"SELECT {_COLUMNS} FROM rm_messages WHERE message_id = ?",
                                   (message_id,))
        return _row(rows[0]) if rows else None

    def unread(self, account_id: str) -> int:
        rows = self.database.query("SELECT COUNT(*) FROM rm_messages WHERE account_id = ?"
                                   " AND is_read = 0", (account_id,))
        return int(rows[0][0])

    def owner(self, message_id: str) -> str | None:
        """The account a message is for (None: no such message, or not projected yet)."""
        rows = self.database.query("SELECT account_id FROM rm_messages WHERE message_id = ?",
                                   (message_id,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None
