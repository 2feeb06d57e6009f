"""The CAs read model: every CA, its parent, algorithm and certificate.

What the public endpoints (CA certificates, chains, CRL names) and the processes (which
CAs to publish CRLs for and keep OCSP responders for) need to know about CAs, read
without touching the event store or a key. CAs are never removed and their certificate
never changes, so a process may keep what it has read (:class:`Authorities` does).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from domain.authority import CertificateAuthority
from projections.base import ReadModel
from projections.db import ReadModelDatabase, Transaction

__all__ = ["AuthoritiesReadModel", "Authorities", "AuthorityRow", "AUTHORITIES_MODEL"]

AUTHORITIES_MODEL = "authorities"


@dataclass(frozen=True)
class AuthorityRow:
    name: str
    parent: str | None
    key_algorithm: str
    certificate_der: bytes
    established_at: int  # log position

    @property
    def is_root(self) -> bool:
        return self.parent is None


class AuthoritiesReadModel(ReadModel):
    name = AUTHORITIES_MODEL
    tables = ("rm_authorities",)
    topics = frozenset({CertificateAuthority.Established.TOPIC})

    def process(self, tx: Transaction, event: Any, position: int) -> None:
        tx.execute("INSERT INTO rm_authorities (name, parent, key_algorithm, certificate_der,"
                   " established_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                   (event.name, event.parent, event.key_algorithm, event.certificate_der,
                    position))


class Authorities:
    """Reads the CAs read model (``ca.applications.ports.AuthorityNames`` and more)."""

    def __init__(self, database: ReadModelDatabase) -> None:
        self.database = database
        self._known: dict[str, AuthorityRow] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return [row[0] for row in self.database.query(
            "SELECT name FROM rm_authorities ORDER BY established_at")]

    def get(self, name: str) -> AuthorityRow | None:
        """The CA named so, or None (a CA found once is remembered: they never change)."""
        with self._lock:
            known = self._known.get(name)
        if known is not None:
            return known
        rows = self.database.query("SELECT name, parent, key_algorithm, certificate_der,"
                                   " established_at FROM rm_authorities WHERE name = ?",
                                   (name,))
        if not rows:
            return None
        name_, parent, algorithm, der, position = rows[0]
        row = AuthorityRow(name_, parent, algorithm, bytes(der), int(position))
        with self._lock:
            self._known[name] = row
        return row

    def chain(self, name: str) -> list[bytes] | None:
        """The CA's certificate and its parents' up to the root (None: no such CA)."""
        chain: list[bytes] = []
        seen: set[str] = set()
        current = self.get(name)
        if current is None:
            return None
        while current is not None and current.name not in seen:
            seen.add(current.name)
            chain.append(current.certificate_der)
            current = self.get(current.parent) if current.parent else None
        return chain
