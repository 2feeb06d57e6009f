"""The CRL read model as the publisher sees it (``ca.applications.crl_publisher.CrlSource``).

Snapshots are read in one read-only transaction (the tracked position and the rows
agree). A CA's sorted entries are kept in memory between publications, as runs of
pre-joined DER (ca.encoding.crl_encoding.build_crl takes runs as they are), keyed by the tracked
position and the model's rebuild epoch; the next snapshot reads only the rows that
changed after that position (an indexed query) and re-joins the runs they fall in, so
publishing again after one more revocation does not read a million rows again.

Signed CRLs are kept, the latest per CA and kind, as metadata (``rm_crl_publications``)
and pieces (``rm_crl_pieces``, ``rm_crl_blobs``): the head, the runs it was built from,
the tail, each stored once by its SHA-256, so storing a re-publication writes the one
run that changed. A GET is one small query (the bytes are cached here by CRL number);
a publisher that starts takes the last full CRL's runs (when they come from the same
rebuild epoch) and patches them with what changed since, instead of reading every row.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import itemgetter
from typing import Any

from ca.applications.crl_publisher import EntrySnapshot, Publication, revoked_span, split_entries
from projections.crl import CRL_MODEL
from projections.db import ReadModelDatabase

__all__ = ["CrlStore", "entry_order", "RUN"]

_first = itemgetter(0)
RUN = 1024  # entries per run in the cache (runs grow to 2 * RUN before they split)
# two queries, each on its (issuer, position) index; one UNION ALL ... ORDER BY serial
# would make SQLite walk the whole primary key instead
_CHANGED = "SELECT serial, entry FROM rm_crl_entries WHERE issuer = ? AND changed_at > ?"
_REMOVED = "SELECT serial, entry FROM rm_crl_removals WHERE issuer = ? AND removed_at > ?"
_STORE_LOCK = 0x43524C53544F5245  # "CRLSTORE": PostgreSQL advisory lock of CrlStore.store
_PUBLICATION = ("crl_number, base_crl_number, this_update, next_update, log_position,"
                " entry_count, entries_sha256")


def entry_order(entry: bytes | memoryview, offset: int = 0) -> tuple[int, bytes]:
    """Sort key of the DER revokedCertificates entry at ``offset``: its serial, numerically
    (a positive DER INTEGER's content compares by length, then bytes)."""
    first = entry[offset + 1]
    start = offset + (2 if first < 0x80 else 2 + (first & 0x7F))
    length = entry[start + 1]  # a serial is at most 21 octets: one length octet
    return length, bytes(entry[start + 2:start + 2 + length])


@dataclass
class _Runs:
    """A CA's entries in serial order, held as runs of up to 2 * RUN pre-joined entries:
    a million entries are a thousand bytes objects (50 MB), not a million (90 MB and a
    million Python objects), and a change re-joins one run."""

    epoch: int
    position: int
    runs: list[bytes] = field(default_factory=list)
    firsts: list[tuple[int, bytes]] = field(default_factory=list)  # first serial of each run
    counts: list[int] = field(default_factory=list)

    def append(self, entries: Sequence[Any]) -> None:
        """Add a run of entries (bytes, or rows whose first column is one: as read)."""
        first = entries[0] if isinstance(entries[0], bytes | memoryview) else entries[0][0]
        self.runs.append(b"".join(map(_first, entries))
                         if first is not entries[0] else b"".join(entries))
        self.firsts.append(entry_order(first))
        self.counts.append(len(entries))

    def patch(self, changed: list[bytes], removed: list[bytes]) -> None:
        opened: dict[int, list[bytes]] = {}
        for entry, keep in [(e, True) for e in changed] + [(e, False) for e in removed]:
            key = entry_order(entry)
            index = max(bisect.bisect_right(self.firsts, key) - 1, 0)
            if not self.runs:
                if keep:
                    self.append([entry])
                continue
            entries = opened.setdefault(index, split_entries(self.runs[index]))
            at = bisect.bisect_left(entries, key, key=entry_order)
            found = at < len(entries) and entry_order(entries[at]) == key
            if keep and found:
                entries[at] = entry
            elif keep:
                entries.insert(at, entry)
            elif found:
                del entries[at]
        for index in sorted(opened, reverse=True):  # from the end: indexes stay valid
            entries = opened[index]
            pieces = [entries[i:i + RUN] for i in range(0, len(entries), RUN)] \
                if len(entries) > 2 * RUN else ([entries] if entries else [])
            self.runs[index:index + 1] = [b"".join(p) for p in pieces]
            self.firsts[index:index + 1] = [entry_order(p[0]) for p in pieces]
            self.counts[index:index + 1] = [len(p) for p in pieces]


class CrlStore:
    def __init__(self, database: ReadModelDatabase, *, cache: bool = True) -> None:
        self.database = database
        self.cache = cache
        self._lock = threading.Lock()
        self._entries: dict[str, _Runs] = {}
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
                changed = tx.query(_CHANGED, (issuer, cached.position))
                removed = tx.query(_REMOVED, (issuer, cached.position))
                cached.patch([bytes(row[1]) for row in changed],
                             [bytes(row[1]) for row in removed])
                cached.position = position
            else:
                cached = _published_runs(tx, issuer, epoch, position)
                if cached is None:
                    cached = _Runs(epoch, position)
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
                rows = tx.query(_CHANGED, (issuer, changes_since)) \
                    + tx.query(_REMOVED, (issuer, changes_since))
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
        rows = self.database.query(f"SELECT {_PUBLICATION} FROM rm_crl_publications"
                                   " WHERE issuer = ? AND kind = ?", (issuer, kind))
        if not rows:
            return None
        publication = _publication(issuer, kind, rows[0])
        if not with_der:
            return publication
        cached = self._ders.get((issuer, kind))
        if cached is None or cached[0] != publication.crl_number:
            with self.database.snapshot() as tx:  # the row and its pieces, as one
                rows = tx.query(f"SELECT {_PUBLICATION} FROM rm_crl_publications"
                                " WHERE issuer = ? AND kind = ?", (issuer, kind))
                publication = _publication(issuer, kind, rows[0])
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
        """Keep each as the latest of its kind, unless a higher number is stored already.

        The bytes go in as pieces (head, the runs of entries, tail), each stored once by
        its SHA-256; pieces no publication uses any more are deleted in the same
        transaction. Stores are serialised (SQLite's write lock, an advisory lock on
        PostgreSQL), so two publishers never interleave their pieces.
        """
        with self.database.transaction() as tx:
            if self.database.dialect == "postgres":
                tx.query("SELECT pg_advisory_xact_lock(?)", (_STORE_LOCK,))
            for p in publications:
                current = tx.query("SELECT crl_number FROM rm_crl_publications"
                                   " WHERE issuer = ? AND kind = ?", (p.issuer, p.kind))
                if current and int(current[0][0]) >= p.crl_number:
                    continue
                pieces, counts = _pieces(p)
                digests = self._digests((p.issuer, p.kind), pieces)
                known = {row[0] for row in tx.query(
                    "SELECT digest FROM rm_crl_pieces WHERE issuer = ? AND kind = ?",
                    (p.issuer, p.kind))}
                tx.executemany("INSERT INTO rm_crl_blobs (digest, data) VALUES (?, ?)"
                               " ON CONFLICT (digest) DO NOTHING",
                               [(d, piece) for d, piece in zip(digests, pieces, strict=True)
                                if d not in known])
                tx.execute("DELETE FROM rm_crl_pieces WHERE issuer = ? AND kind = ?",
                           (p.issuer, p.kind))
                tx.executemany("INSERT INTO rm_crl_pieces (issuer, kind, seq, digest, entries)"
                               " VALUES (?, ?, ?, ?, ?)",
                               [(p.issuer, p.kind, seq, d, n)
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
                    (p.issuer, p.kind, p.crl_number, p.base_crl_number,
                     p.this_update.isoformat(), p.next_update.isoformat(), p.log_position,
                     p.entry_count, p.entries_sha256, len(p.der or b""), p.epoch))
            tx.execute("DELETE FROM rm_crl_blobs WHERE digest NOT IN"
                       " (SELECT digest FROM rm_crl_pieces)")


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


def _published_runs(tx: Any, issuer: str, epoch: int, position: int) -> _Runs | None:
    """The runs of the CA's last stored full CRL, as of its log position, if they come
    from this epoch of the read model (None: read every entry instead). Reading ~1000
    pieces is much faster than reading a million rows."""
    rows = tx.query("SELECT log_position, epoch FROM rm_crl_publications"
                    " WHERE issuer = ? AND kind = 'full'", (issuer,))
    if not rows or int(rows[0][1]) != epoch or int(rows[0][0]) > position:
        return None
    pieces = tx.query("SELECT p.entries, b.data FROM rm_crl_pieces p JOIN rm_crl_blobs b"
                      " ON b.digest = p.digest WHERE p.issuer = ? AND p.kind = 'full'"
                      " ORDER BY p.seq", (issuer,))
    if any(int(count) < 0 for count, _ in pieces):
        return None
    runs = _Runs(epoch, int(rows[0][0]))
    for count, data in pieces[1:-1]:
        if count:
            runs.runs.append(bytes(data))
            runs.firsts.append(entry_order(runs.runs[-1]))
            runs.counts.append(int(count))
    changed = tx.query(_CHANGED, (issuer, runs.position))
    removed = tx.query(_REMOVED, (issuer, runs.position))
    runs.patch([bytes(row[1]) for row in changed], [bytes(row[1]) for row in removed])
    runs.position = position
    return runs


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


def _publication(issuer: str, kind: str, row: tuple[Any, ...]) -> Publication:
    number, base, this_update, next_update, position, count, digest = row
    return Publication(issuer=issuer, kind=kind, crl_number=int(number),
                       base_crl_number=None if base is None else int(base),
                       this_update=datetime.fromisoformat(this_update),
                       next_update=datetime.fromisoformat(next_update),
                       log_position=int(position), entry_count=int(count),
                       entries_sha256=digest)
