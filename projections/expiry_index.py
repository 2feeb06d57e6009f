"""What the expiry-notice job (ca/applications/notices.py) reads and writes in the
read-model store: due certificates from the certificate index (``not_after`` and
``issued_position`` are indexed), and how far it has looked (``expiry_checks``, written
forward only: a conditional update, so two schedulers cannot move it back).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ca.applications.notices import DueCertificate, Progress
from projections.db import ReadModelDatabase

__all__ = ["ExpiryIndexStore"]

_VALID = "status IN ('issued', 'suspended')"
_COLUMNS = "certificate_id, not_after, account_id, portal"


def _rows(rows: list[tuple[Any, ...]]) -> list[DueCertificate]:
    return [DueCertificate(UUID(str(r[0])), int(r[1]), r[2], str(r[3])) for r in rows]


class ExpiryIndexStore:
    def __init__(self, database: ReadModelDatabase) -> None:
        self.database = database

    def due(self, after: int, until: int) -> list[DueCertificate]:
        return _rows(self.database.query(
            f"SELECT {_COLUMNS} FROM rm_cert_index WHERE not_after > ? AND not_after <= ?"
            f" AND {_VALID}", (after, until)))

    def issued_since(self, position: int, upto: int, after: int,
                     until: int) -> list[DueCertificate]:
        return _rows(self.database.query(
            f"SELECT {_COLUMNS} FROM rm_cert_index WHERE issued_position > ?"
            f" AND issued_position <= ? AND not_after > ? AND not_after <= ? AND {_VALID}",
            (position, upto, after, until)))

    def last_issued_position(self) -> int:
        rows = self.database.query("SELECT MAX(issued_position) FROM rm_cert_index")
        return int(rows[0][0] or 0)

    def progress(self, name: str) -> Progress | None:
        rows = self.database.query("SELECT checked_up_to, issued_position FROM expiry_checks"
                                   " WHERE name = ?", (name,))
        return Progress(int(rows[0][0]), int(rows[0][1])) if rows else None

    def advance(self, name: str, before: Progress | None, after: Progress) -> bool:
        with self.database.transaction() as tx:
            if before is None:
                moved = tx.query("INSERT INTO expiry_checks (name, checked_up_to,"
                                 " issued_position) VALUES (?, ?, ?) ON CONFLICT (name)"
                                 " DO NOTHING RETURNING name",
                                 (name, after.checked_up_to, after.issued_position))
            else:
                moved = tx.query("UPDATE expiry_checks SET checked_up_to = ?,"
                                 " issued_position = ? WHERE name = ? AND checked_up_to = ?"
                                 " AND issued_position = ? AND checked_up_to <= ?"
                                 " RETURNING name",
                                 (after.checked_up_to, after.issued_position, name,
                                  before.checked_up_to, before.issued_position,
                                  after.checked_up_to))
        return bool(moved)
