"""Signed CRLs as stored, and the CRL read model as the publisher reads it.

:class:`StoredCrls` is the publisher's ``CrlSource`` (ca/applications/crl_publisher.py):
snapshots of a CA's entries are read in one read-only transaction (the tracked position
and the rows agree), through the in-memory runs of ``crl_entry_runs``.

Signed CRLs are kept, the latest per CA and kind, as metadata (``rm_crl_publications``)
and pieces (``rm_crl_pieces``, ``rm_crl_blobs``): the head, the runs it was built from,
the tail, each stored once by its SHA-256, so storing a re-publication writes the one
run that changed. A GET is one small query (the bytes are cached here by CRL number).
Stored CRLs are not part of the projection: a rebuild keeps them (the CRL numbers are
events).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ca.applications.crl_publisher import EntrySnapshot, Publication
from ca.encoding.crl_encoding import revoked_span
from domain.authority import CrlKind
from projections.crl_entries import CRL_MODEL
from projections.crl_entry_runs import (
    CHANGED,
    REMOVED,
    RUN,
    EntryRuns,
    published_runs,
)
from projections.db import ReadModelDatabase

__all__ = ["StoredCrls"]

_STORE_LOCK = 0x43524C53544F5245  # "CRLSTORE": PostgreSQL advisory lock of StoredCrls.store
_PUBLICATION = ("crl_number, base_crl_number, this_update, next_update, log_position,"
                " entry_count, entries_sha256")


class StoredCrls:
    def __init__(self, database: ReadModelDatabase, *, cache: bool = True) -> None:
        self.database = database
        self.cache = cache
        self._lock = threading.Lock()
        self._entries: dict[str, EntryRuns] = {}
        self._ders: dict[tuple[str, str], tuple[int, bytes]] = {}
        self._hashed: dict[tuple[str, str], dict[int, tuple[bytes, str]]] = {}

    def authorities(self) -> list[str]:
        return [row[0] for row in
                self.database.query("SELECT name FROM rm_crl_authorities ORDER BY name")]

    def snapshot(self, issuer: str, changes_since: int | None) -> EntrySnapshot:
        with self._lock, self.database.snapshot() as tx:
            tracked = tx.query("SELECT position, epoch FROM rm_tracking WHERE name = ?",
                               (CRL_MODEL,))
            position, epoch = (int(tracked[0][0]), int(tracked[0][1])) if tracked else (0, 0)
            cached = self._entries.get(issuer)
            if cached and cached.epoch == epoch and cached.position <= position:
                changed = tx.query(CHANGED, (issuer, cached.position))
                removed = tx.query(REMOVED, (issuer, cached.position))
                cached.patch([bytes(row[1]) for row in changed],
                             [bytes(row[1]) for row in removed])
                cached.position = position
            else:
                cached = published_runs(tx, issuer, epoch, position)
                if cached is None:
                    cached = EntryRuns(epoch, position)
                    for chunk in tx.iterate("SELECT entry FROM rm_crl_entries WHERE issuer = ?"
                                            " ORDER BY serial", (issuer,), 16 * RUN):
                        for start in range(0, len(chunk), RUN):
                            cached.append(chunk[start:start + RUN])
            if self.cache:
                self._entries[issuer] = cached
            else:
                self._entries.pop(issuer, None)
            changes: list[bytes] = []
            if changes_since is not None:
                rows = tx.query(CHANGED, (issuer, changes_since)) \
                    + tx.query(REMOVED, (issuer, changes_since))
                changes = [bytes(entry) for _, entry in sorted(rows, key=lambda row: row[0])]
            return EntrySnapshot(position, list(cached.runs), sum(cached.counts), changes,
                                 list(cached.counts), epoch)

    def unpublished_change(self, issuer: str) -> int | None:
        """The log position of the oldest change to the CA's entries that its latest stored
        full CRL does not cover (None: it covers everything). Read from stored state only,
        so a publication that was due when a process died is found again at start-up."""
        published = self.database.query(
            "SELECT log_position FROM rm_crl_publications WHERE issuer = ? AND kind = 'full'",
            (issuer,))
        after = int(published[0][0]) if published else 0
        rows = self.database.query(
            "SELECT min(changed_at) FROM rm_crl_entries WHERE issuer = ? AND changed_at > ?",
            (issuer, after)) + self.database.query(
            "SELECT min(removed_at) FROM rm_crl_removals WHERE issuer = ? AND removed_at > ?",
            (issuer, after))
        positions = [int(row[0]) for row in rows if row[0] is not None]
        return min(positions) if positions else None

    def latest(self, issuer: str, kind: str, *, with_der: bool = True) -> Publication | None:
        kind = _kind(kind)
        rows = self.database.query(f"SELECT {_PUBLICATION} FROM rm_crl_publications"
                                   " WHERE issuer = ? AND kind = ?", (issuer, kind))
        if not rows:
            return None
        publication = _publication(issuer, CrlKind(kind), rows[0])
        if not with_der:
            return publication
        cached = self._ders.get((issuer, kind))
        if cached is None or cached[0] != publication.crl_number:
            with self.database.snapshot() as tx:  # the row and its pieces, as one
                rows = tx.query(f"SELECT {_PUBLICATION} FROM rm_crl_publications"
                                " WHERE issuer = ? AND kind = ?", (issuer, kind))
                publication = _publication(issuer, CrlKind(kind), rows[0])
                pieces = tx.query("SELECT b.data FROM rm_crl_pieces p JOIN rm_crl_blobs b"
                                  " ON b.digest = p.digest WHERE p.issuer = ? AND p.kind = ?"
                                  " ORDER BY p.seq", (issuer, kind))
                length = tx.query("SELECT der_length FROM rm_crl_publications"
                                  " WHERE issuer = ? AND kind = ?", (issuer, kind))[0][0]
            der = b"".join(bytes(row[0]) for row in pieces)
            if len(der) != int(length):
                raise RuntimeError(f"the stored {kind} CRL of {issuer} is incomplete")
            cached = (publication.crl_number, der)
            self._ders[(issuer, kind)] = cached
        return replace(publication, der=cached[1])

    def store(self, publications: Sequence[Publication]) -> None:
        """Archive each, and keep it as the latest of its kind unless a higher number is
        stored already.

        The bytes go in as pieces (head, the runs of entries, tail), each stored once by
        its SHA-256 and kept: every CRL ever published stays readable (:meth:`archived`)
        for auditors. Stores are serialised (SQLite's write lock, an advisory lock on
        PostgreSQL), so two publishers never interleave their pieces.
        """
        with self.database.transaction() as tx:
            if self.database.dialect == "postgres":
                tx.query("SELECT pg_advisory_xact_lock(?)", (_STORE_LOCK,))
            for p in publications:
                kind = _kind(p.kind)
                pieces, counts = _pieces(p)
                digests = self._digests((p.issuer, kind), pieces)
                known = {row[0] for row in tx.query(
                    "SELECT digest FROM rm_crl_pieces WHERE issuer = ? AND kind = ?",
                    (p.issuer, kind))}
                tx.executemany("INSERT INTO rm_crl_blobs (digest, data) VALUES (?, ?)"
                               " ON CONFLICT (digest) DO NOTHING",
                               [(d, piece) for d, piece in zip(digests, pieces, strict=True)
                                if d not in known])
                self._archive(tx, p, kind, digests)
                current = tx.query("SELECT crl_number FROM rm_crl_publications"
                                   " WHERE issuer = ? AND kind = ?", (p.issuer, kind))
                if current and int(current[0][0]) >= p.crl_number:
                    continue
                tx.execute("DELETE FROM rm_crl_pieces WHERE issuer = ? AND kind = ?",
                           (p.issuer, kind))
                tx.executemany("INSERT INTO rm_crl_pieces (issuer, kind, seq, digest, entries)"
                               " VALUES (?, ?, ?, ?, ?)",
                               [(p.issuer, kind, seq, d, n)
                                for seq, (d, n) in enumerate(zip(digests, counts, strict=True))])
                tx.execute(
                    f"INSERT INTO rm_crl_publications (issuer, kind, {_PUBLICATION},"
                    " der_length, epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (issuer, kind) DO UPDATE SET crl_number = excluded.crl_number,"
                    " base_crl_number = excluded.base_crl_number,"
                    " this_update = excluded.this_update, next_update = excluded.next_update,"
                    " log_position = excluded.log_position, entry_count = excluded.entry_count,"
                    " entries_sha256 = excluded.entries_sha256,"
                    " der_length = excluded.der_length, epoch = excluded.epoch",
                    (p.issuer, kind, p.crl_number, p.base_crl_number,
                     p.this_update.isoformat(), p.next_update.isoformat(), p.log_position,
                     p.entry_count, p.entries_sha256, len(p.der or b""), p.epoch))

    @staticmethod
    def _archive(tx: Any, p: Publication, kind: str, digests: list[str]) -> None:
        tx.execute("INSERT INTO rm_crl_archive (issuer, crl_number, kind, der_length)"
                   " VALUES (?, ?, ?, ?) ON CONFLICT (issuer, crl_number) DO NOTHING",
                   (p.issuer, p.crl_number, kind, len(p.der or b"")))
        tx.executemany("INSERT INTO rm_crl_archive_pieces (issuer, crl_number, seq, digest)"
                       " VALUES (?, ?, ?, ?) ON CONFLICT (issuer, crl_number, seq) DO NOTHING",
                       [(p.issuer, p.crl_number, seq, d) for seq, d in enumerate(digests)])

    def archived_numbers(self, issuer: str) -> list[int]:
        """The numbers of every CRL of ``issuer`` ever stored, ascending."""
        return [int(row[0]) for row in self.database.query(
            "SELECT crl_number FROM rm_crl_archive WHERE issuer = ? ORDER BY crl_number",
            (issuer,))]

    def archived(self, issuer: str, crl_number: int) -> bytes | None:
        """CRL ``crl_number`` of ``issuer`` as published (None: not in the archive)."""
        with self.database.snapshot() as tx:
            rows = tx.query("SELECT der_length FROM rm_crl_archive WHERE issuer = ?"
                            " AND crl_number = ?", (issuer, crl_number))
            if not rows:
                return None
            pieces = tx.query("SELECT b.data FROM rm_crl_archive_pieces p JOIN rm_crl_blobs b"
                              " ON b.digest = p.digest WHERE p.issuer = ? AND p.crl_number = ?"
                              " ORDER BY p.seq", (issuer, crl_number))
        return b"".join(bytes(row[0]) for row in pieces)


    def _digests(self, key: tuple[str, str], pieces: list[bytes]) -> list[str]:
        """SHA-256 of each piece. A run the cache hands over unchanged is the very object
        stored last time, so its digest is remembered, not computed again (hashing 50 MB
        would be a third of a re-publication)."""
        with self._lock:
            previous = self._hashed.get(key, {})
            current: dict[int, tuple[bytes, str]] = {}
            digests = []
            for piece in pieces:
                hit = previous.get(id(piece))
                digest = hit[1] if hit is not None and hit[0] is piece \
                    else hashlib.sha256(piece).hexdigest()
                current[id(piece)] = (piece, digest)
                digests.append(digest)
            self._hashed[key] = current
            return digests


def _pieces(publication: Publication) -> tuple[list[bytes], list[int]]:
    """The CRL's bytes cut around its revokedCertificates contents: head, the runs it was
    built from, tail; and the number of entries in each piece (-1: not known)."""
    der = publication.der or b""
    start, end = revoked_span(der)
    if publication.runs:
        counts = publication.run_counts or [-1] * len(publication.runs)
        pairs = [(run, count) for run, count in zip(publication.runs, counts, strict=True)
                 if run]
    else:
        pairs = [(der[start:end], -1)] if end > start else []
    if sum(len(run) for run, _ in pairs) != end - start:
        raise ValueError("the runs are not the CRL's entries")
    return ([der[:start], *(run for run, _ in pairs), der[end:]],
            [0, *(count for _, count in pairs), 0])


def _kind(kind: str) -> str:
    """A CRL kind as stored: its plain text (psycopg would write an enum by its name)."""
    return CrlKind(kind).value


def _publication(issuer: str, kind: CrlKind, row: tuple[Any, ...]) -> Publication:
    number, base, this_update, next_update, position, count, digest = row
    return Publication(issuer=issuer, kind=kind, crl_number=int(number),
                       base_crl_number=None if base is None else int(base),
                       this_update=datetime.fromisoformat(this_update),
                       next_update=datetime.fromisoformat(next_update),
                       log_position=int(position), entry_count=int(count),
                       entries_sha256=digest)
