"""A CA's CRL entries in serial order, kept in memory between publications.

The entries are held as runs of pre-joined DER (``ca.encoding.crl_encoding.build_crl``
takes runs as they are), keyed by the CRL read model's tracked position and its rebuild
epoch, so the next snapshot reads only the rows that changed after that position (an
indexed query) and re-joins the runs they fall in: publishing again after one more
revocation does not read a million rows again. A publisher that starts takes the last
stored full CRL's runs (when they come from the same epoch) and patches them.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ca.encoding.crl_encoding import split_entries

__all__ = ["EntryRuns", "entry_order", "published_runs", "RUN", "CHANGED", "REMOVED"]

_first = itemgetter(0)
RUN = 1024  # entries per run in the cache (runs grow to 2 * RUN before they split)
# two queries, each on its (issuer, position) index; one UNION ALL ... ORDER BY serial
# would make SQLite walk the whole primary key instead
CHANGED = "SELECT serial, entry FROM rm_crl_entries WHERE issuer = ? AND changed_at > ?"
REMOVED = "SELECT serial, entry FROM rm_crl_removals WHERE issuer = ? AND removed_at > ?"


def entry_order(entry: bytes | memoryview, offset: int = 0) -> tuple[int, bytes]:
    """Sort key of the DER revokedCertificates entry at ``offset``: its serial, numerically
    (a positive DER INTEGER's content compares by length, then bytes)."""
    first = entry[offset + 1]
    start = offset + (2 if first < 0x80 else 2 + (first & 0x7F))
    length = entry[start + 1]  # a serial is at most 21 octets: one length octet
    return length, bytes(entry[start + 2:start + 2 + length])


@dataclass
class EntryRuns:
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


def published_runs(tx: Any, issuer: str, epoch: int, position: int) -> EntryRuns | None:
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
    runs = EntryRuns(epoch, int(rows[0][0]))
    for count, data in pieces[1:-1]:
        if count:
            runs.runs.append(bytes(data))
            runs.firsts.append(entry_order(runs.runs[-1]))
            runs.counts.append(int(count))
    changed = tx.query(CHANGED, (issuer, runs.position))
    removed = tx.query(REMOVED, (issuer, runs.position))
    runs.patch([bytes(row[1]) for row in changed], [bytes(row[1]) for row in removed])
    runs.position = position
    return runs
