"""Reads of the certificate index (projections/certificate_index.py) for the public and
portal services of issue 10: revocation announcements (newest first, per CA), the
binding check's lookups, and the public query (status and dates, never personal data).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from domain.bindings import IndexedCertificate
from projections.db import ReadModelDatabase

__all__ = ["PublicLookups", "Announcement", "QueryHit", "QUERY_FIELDS"]

# the public query's fields → the column each is matched against
QUERY_FIELDS = {"order_number": "c.order_number", "certificate_id": "c.certificate_id",
                "username": "a.username", "organisation": "a.name_folded",
                "handler_phone": "a.handler_phone", "handler_id_number": "a.handler_id_hmac"}


@dataclass(frozen=True, slots=True)
class Announcement:
    serial_hex: str
    organisation: str | None
    common_name: str | None
    revoked_at: str
    reason: str
    position: int


@dataclass(frozen=True, slots=True)
class QueryHit:
    status: str
    applied_at: str
    updated_at: str
    not_before: int | None
    not_after: int | None


class PublicLookups:
    def __init__(self, database: ReadModelDatabase) -> None:
        self.database = database

    def announcements(self, issuer: str, *, before: int | None = None,
                      limit: int = 50) -> list[Announcement]:
        """Revoked certificates of ``issuer``, newest revocation first."""
        rows = self.database.query(
            "SELECT serial_hex, subject_o, subject_cn, revoked_at, revocation_reason,"
            " revoked_position FROM rm_cert_index WHERE issuer = ? AND status = 'revoked'"
            " AND revoked_position < ? ORDER BY revoked_position DESC LIMIT ?",
            (issuer, before if before is not None else 2**62, limit))
        return [Announcement(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in rows]

    def by_der_sha256(self, digest: str) -> IndexedCertificate | None:
        rows = self.database.query(
            "SELECT certificate_id, account_id, status, revocation_reason, not_before,"
            " not_after, activated, lock_state FROM rm_cert_index WHERE der_sha256 = ?",
            (digest,))
        if not rows:
            return None
        r = rows[0]
        return IndexedCertificate(str(r[0]), r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7])

    def locked_by_key(self, portals: Collection[str] | None, key_serial: str) -> list[str]:
        """Certificates of ``portals`` whose locked key (not yet asked to unlock) has
        serial ``key_serial``."""
        rows = self.database.query("SELECT certificate_id, portal FROM rm_cert_index"
                                   " WHERE key_serial = ? AND lock_state = 'locked'",
                                   (key_serial,))
        return [str(r[0]) for r in rows if portals is None or r[1] in portals]

    def account_by_username(self, portals: Collection[str] | None,
                            username: str) -> list[str]:
        """The ids of the accounts named ``username`` (upper-case) in ``portals``."""
        rows = self.database.query("SELECT account_id, portal FROM rm_cert_accounts"
                                   " WHERE username = ?", (username,))
        return [str(r[0]) for r in rows if portals is None or r[1] in portals]

    def query(self, fields: dict[str, str], limit: int = 20) -> list[QueryHit]:
        """Certificates and applications matching every one of ``fields`` (names of
        :data:`QUERY_FIELDS`, values as stored: username upper-case, organisation
        lower-case, the ID number as its HMAC)."""
        where = [f"{QUERY_FIELDS[name]} = ?" for name in sorted(fields)]
        params: list[Any] = [fields[name] for name in sorted(fields)]
        rows = self.database.query(
            "SELECT c.status, c.applied_at, c.updated_at, c.not_before, c.not_after"
            " FROM rm_cert_index c LEFT JOIN rm_cert_accounts a"
            " ON a.account_id = c.account_id"
            f" WHERE {' AND '.join(where)} ORDER BY c.position DESC LIMIT ?",
            (*params, limit))
        return [QueryHit(r[0], r[1], r[2], r[3], r[4]) for r in rows]
