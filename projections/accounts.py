"""The accounts read model: one row per account, for lists and search within portals.

Registered inserts the row; ContactsUpdated, HandlerSet and Verified update it. The
handler's identity card number is only ever here as the HMAC the event carries.
:class:`AccountDirectory` reads it: a page of accounts of some portals, in the order of
registration, filtered by username prefix, organisation name, kind or licence number,
continued by a cursor (the last row's log position).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from domain.accounts import Account, VerificationTarget
from projections.base import ReadModel
from projections.db import ReadModelDatabase, Transaction

__all__ = ["AccountsReadModel", "AccountDirectory", "AccountRow", "ACCOUNTS_MODEL"]

ACCOUNTS_MODEL = "accounts"
_COLUMNS = ("account_id, portal, kind, username, name, licence_number, phone, email,"
            " handler_name, person_verified, enterprise_verified, registered_at,"
            " registered_position")


@dataclass(frozen=True)
class AccountRow:
    account_id: str
    portal: str
    kind: str
    username: str
    name: str
    licence_number: str | None
    phone: str | None
    email: str | None
    handler_name: str | None
    person_verified: bool
    enterprise_verified: bool
    registered_at: str
    position: int


class AccountsReadModel(ReadModel):
    name = ACCOUNTS_MODEL
    tables = ("rm_accounts",)
    topics = frozenset({Account.Registered.TOPIC, Account.ContactsUpdated.TOPIC,
                        Account.HandlerSet.TOPIC, Account.Verified.TOPIC})

    def process(self, tx: Transaction, event: Any, position: int) -> None:
        account_id = str(event.originator_id)
        if isinstance(event, Account.Registered):
            tx.execute(
                "INSERT INTO rm_accounts (account_id, portal, kind, username, name,"
                " name_folded, licence_number, phone, email, registered_at,"
                " registered_position, updated_position)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id) DO NOTHING",
                (account_id, event.portal, event.kind, event.username, event.name,
                 event.name.lower(), event.licence_number, event.contacts.get("phone"),
                 event.contacts.get("email"), _iso(event.timestamp), position, position))
        elif isinstance(event, Account.ContactsUpdated):
            tx.execute("UPDATE rm_accounts SET phone = ?, email = ?, updated_position = ?"
                       " WHERE account_id = ?", (event.contacts.get("phone"),
                                                 event.contacts.get("email"), position,
                                                 account_id))
        elif isinstance(event, Account.HandlerSet):
            tx.execute("UPDATE rm_accounts SET handler_name = ?, handler_id_hmac = ?,"
                       " updated_position = ? WHERE account_id = ?",
                       (event.name, event.id_number_hmac, position, account_id))
        elif isinstance(event, Account.Verified):
            column = "person_verified" if event.target == VerificationTarget.PERSON \
                else "enterprise_verified"
            tx.execute(f"UPDATE rm_accounts SET {column} = 1, updated_position = ?"
                       " WHERE account_id = ?", (position, account_id))


class AccountDirectory:
    """Reads the accounts read model."""

    def __init__(self, database: ReadModelDatabase) -> None:
        self.database = database

    def search(self, *, portals: Collection[str] | None, username: str | None = None,
               organisation: str | None = None, kind: str | None = None,
               licence_number: str | None = None, handler_id_hmac: str | None = None,
               after: int = 0, limit: int = 50) -> list[AccountRow]:
        """Accounts of ``portals`` (None: every portal) registered after log position
        ``after``, oldest first, at most ``limit``: ``username`` a prefix (upper-case),
        ``organisation`` a part of the name (case-insensitive)."""
        where: list[str] = ["registered_position > ?"]
        params: list[Any] = [after]
        if portals is not None:
            if not portals:
                return []
            where.append(f"portal IN ({', '.join('?' for _ in portals)})")
            params.extend(sorted(portals))
        if username:
            where.append("username LIKE ? ESCAPE '\\'")
            params.append(_like(username.upper()) + "%")
        if organisation:
            where.append("name_folded LIKE ? ESCAPE '\\'")
            params.append("%" + _like(organisation.lower()) + "%")
        for column, value in (("kind", kind), ("licence_number", licence_number),
                              ("handler_id_hmac", handler_id_hmac)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        rows = self.database.query(
            f"SELECT {_COLUMNS} FROM rm_accounts WHERE {' AND '.join(where)}"
            " ORDER BY registered_position LIMIT ?", (*params, limit))
        return [AccountRow(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                           bool(r[9]), bool(r[10]), r[11], int(r[12])) for r in rows]


def _like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (``\\`` escapes)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _iso(moment: Any) -> str:
    return str(moment.isoformat()).replace("+00:00", "Z")
