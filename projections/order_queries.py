"""Reads the orders read model: lists of orders (per portal, per account, filtered,
sorted, a page at a time), an order's timeline, and the officers' work queue.

Cursors are log positions: the last row's ``placed_position`` for lists (ascending or
descending), its ``waiting_position`` for the queue; every query is an index range.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from projections.db import ReadModelDatabase

__all__ = ["OrderDirectory", "OrderRow", "TimelineEntry", "OrderFilter"]

_COLUMNS = ("o.certificate_id, o.order_number, o.portal, o.account_id, o.kind, o.profile,"
            " o.predecessor_id, o.order_status, o.certificate_status, o.amount, o.currency,"
            " o.media, o.approvals, o.approvals_required, o.applied_by, o.subject_name,"
            " o.waiting_for, o.waiting_step, o.waiting_since, o.placed_at, o.updated_at,"
            " o.placed_position, o.waiting_position")


@dataclass(frozen=True)
class OrderRow:
    certificate_id: str
    order_number: str
    portal: str
    account_id: str | None
    kind: str
    profile: str
    predecessor_id: str | None
    order_status: str
    certificate_status: str
    amount: int
    currency: str
    media: str | None
    approvals: int
    approvals_required: int
    applied_by: str
    subject_name: str | None
    waiting_for: str | None
    waiting_step: str | None
    waiting_since: str | None
    placed_at: str
    updated_at: str
    position: int
    waiting_position: int | None


@dataclass(frozen=True)
class TimelineEntry:
    position: int
    event: str
    actor_id: str
    actor_role: str
    at: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class OrderFilter:
    account_id: str | None = None
    order_status: str | None = None
    certificate_status: str | None = None
    kind: str | None = None
    profile: str | None = None
    placed_from: str | None = None    # ISO 8601, inclusive
    placed_to: str | None = None      # ISO 8601, exclusive
    order_number: str | None = None
    username: str | None = None       # a prefix, any case
    organisation: str | None = None   # a part of the name, any case
    certificate_statuses: tuple[str, ...] = ()   # any of them


class OrderDirectory:
    def __init__(self, database: ReadModelDatabase) -> None:
        self.database = database

    def search(self, *, portals: Collection[str] | None, filters: OrderFilter,
               newest_first: bool = False, after: int | None = None,
               limit: int = 50) -> list[OrderRow]:
        where = ["o.order_id IS NOT NULL"]
        params: list[Any] = []
        if not _portals(where, params, portals):
            return []
        for column, value in (("account_id", filters.account_id),
                              ("order_status", filters.order_status),
                              ("certificate_status", filters.certificate_status),
                              ("kind", filters.kind), ("profile", filters.profile),
                              ("order_number", filters.order_number)):
            if value is not None:
                where.append(f"o.{column} = ?")
                params.append(value)
        if filters.certificate_statuses:
            marks = ", ".join("?" for _ in filters.certificate_statuses)
            where.append(f"o.certificate_status IN ({marks})")
            params.extend(filters.certificate_statuses)
        if filters.placed_from is not None:
            where.append("o.placed_at >= ?")
            params.append(filters.placed_from)
        if filters.placed_to is not None:
            where.append("o.placed_at < ?")
            params.append(filters.placed_to)
        accounts: list[str] = []   # subqueries naming the accounts searched for
        first: list[Any] = []      # their parameters (in FROM: before the WHERE's)
        if filters.username:   # a prefix: an index range of the accounts' usernames
            prefix = filters.username.upper()
            binary = ' COLLATE "C"' if self.database.dialect == "postgres" else ""
            accounts.append(f"SELECT account_id FROM rm_accounts WHERE username{binary} >= ?"
                            f" AND username{binary} < ?")
            first.extend((prefix, prefix + "\U0010ffff"))
        if filters.organisation:
            # the account's name, or a subject's (a change of name is the subject's)
            pattern = "%" + _like(filters.organisation.lower()) + "%"
            accounts.append("SELECT account_id FROM rm_accounts WHERE name_folded LIKE ?"
                            " ESCAPE '\\' UNION SELECT account_id FROM rm_order_subjects"
                            " WHERE name_folded LIKE ? ESCAPE '\\'")
            first.extend((pattern, pattern))
        source = "rm_orders o"
        if accounts:   # few accounts: their orders by account (CROSS JOIN: SQLite starts
            # from the accounts, rather than walk the whole portal in list order)
            hint = " INDEXED BY rm_orders_account" if self.database.dialect == "sqlite" else ""
            source = f"({' INTERSECT '.join(accounts)}) a CROSS JOIN rm_orders o{hint}"
            where.append("o.account_id = a.account_id")
        if after is not None:
            where.append("o.placed_position < ?" if newest_first else "o.placed_position > ?")
            params.append(after)
        order = "DESC" if newest_first else "ASC"
        rows = self.database.query(
            f"SELECT {_COLUMNS} FROM {source} WHERE {' AND '.join(where)}"
            f" ORDER BY o.placed_position {order} LIMIT ?", (*first, *params, limit))
        return [_row(r) for r in rows]

    def get(self, certificate_id: str) -> OrderRow | None:
        rows = self.database.query(f"SELECT {_COLUMNS} FROM rm_orders o WHERE"
                                   " o.certificate_id = ? AND o.order_id IS NOT NULL",
                                   (certificate_id,))
        return _row(rows[0]) if rows else None

    def timeline(self, certificate_id: str) -> list[TimelineEntry]:
        rows = self.database.query(
            "SELECT position, event, actor_id, actor_role, at, detail FROM rm_order_events"
            " WHERE certificate_id = ? ORDER BY position", (certificate_id,))
        return [TimelineEntry(int(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5]))
                for r in rows]

    def queue(self, *, portals: Collection[str] | None, waiting_for: str,
              step: str | None = None, after: int | None = None,
              limit: int = 50) -> list[OrderRow]:
        """What waits for ``waiting_for`` (officer or applicant), oldest wait first."""
        where = ["o.waiting_for = ?"]
        params: list[Any] = [waiting_for]
        if not _portals(where, params, portals):
            return []
        if step is not None:
            where.append("o.waiting_step = ?")
            params.append(step)
        if after is not None:
            where.append("o.waiting_position > ?")
            params.append(after)
        rows = self.database.query(
            f"SELECT {_COLUMNS} FROM rm_orders o WHERE {' AND '.join(where)}"
            " ORDER BY o.waiting_position LIMIT ?", (*params, limit))
        return [_row(r) for r in rows]


def _portals(where: list[str], params: list[Any], portals: Collection[str] | None) -> bool:
    if portals is None:
        return True
    if not portals:
        return False
    where.append(f"o.portal IN ({', '.join('?' for _ in portals)})")
    params.extend(sorted(portals))
    return True


def _row(r: tuple[Any, ...]) -> OrderRow:
    return OrderRow(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], int(r[9]),
                    r[10], r[11], int(r[12]), int(r[13]), r[14], r[15], r[16], r[17], r[18],
                    r[19], r[20], int(r[21]), None if r[22] is None else int(r[22]))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
