"""Where pre-signed OCSP responses are kept: the response columns of the OCSP rows.

The OCSP signing process (ca/processes/ocsp_signing.py) reads through this what it
must sign and writes the signed responses back (``ca.applications.ports.OcspRowStore``).
A response is written only while the row still has the status it was signed for (its
``changed_position``), so a status change that commits meanwhile is never covered by
an old answer. Every write bumps the change counter, so the OCSP front ends load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ca.applications.ports import SignedResponses, StatusRow
from projections.db import ReadModelDatabase
from projections.ocsp_status import next_seq, row_status

__all__ = ["OcspResponseStore"]

_ROW = ("SELECT s.issuer, s.serial_hex, s.status, s.revocation_time, s.reason,"
        " s.changed_position, i.certificate_der FROM rm_ocsp_status s"
        " JOIN rm_ocsp_issuers i ON i.name = s.issuer")


class OcspResponseStore:
    def __init__(self, database: ReadModelDatabase) -> None:
        self.database = database

    def issuers(self) -> list[str]:
        return [row[0] for row in self.database.query(
            "SELECT name FROM rm_ocsp_issuers ORDER BY name")]

    def pending(self, issuers: Sequence[str], limit: int) -> list[StatusRow]:
        return self._select("s.next_update = 0", (), issuers, limit)

    def due(self, issuers: Sequence[str], before: int, limit: int) -> list[StatusRow]:
        return self._select("s.next_update < ?", (before,), issuers, limit)

    def _select(self, condition: str, params: tuple[Any, ...], issuers: Sequence[str],
                limit: int) -> list[StatusRow]:
        if not issuers:
            return []
        marks = ", ".join("?" * len(issuers))
        rows = self.database.query(
            f"{_ROW} WHERE {condition} AND s.issuer IN ({marks})"
            f" ORDER BY s.next_update LIMIT {int(limit)}", (*params, *issuers))
        return [StatusRow(issuer, int(serial, 16), row_status(status, revoked_at, reason),
                          int(position), bytes(certificate))
                for issuer, serial, status, revoked_at, reason, position, certificate in rows]

    def save(self, signed: Sequence[SignedResponses]) -> None:
        if not signed:
            return
        with self.database.transaction() as tx:
            seq = next_seq(tx)
            tx.executemany(
                "UPDATE rm_ocsp_status SET response_sha1 = ?, response_sha256 = ?,"
                " this_update = ?, next_update = ?, seq = ? WHERE issuer = ?"
                " AND serial_hex = ? AND changed_position = ?",
                [(item.sha1, item.sha256, item.this_update, item.next_update, seq,
                  item.row.issuer, format(item.row.serial_number, "x"),
                  item.row.changed_position) for item in signed])
