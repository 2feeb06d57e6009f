"""The audit read model: the Merkle tree over every stored event, kept as it grows.

Every event, whatever its topic, is a leaf: the hash of the event exactly as the store
holds it (ca/audit/records.py), so the model reads stored notifications, not decoded
events. The tree is kept as its frontier (one row), so adding an event costs a hash or
two and a new tree head never rehashes the log; the root of every complete chunk of
1024 leaves is kept too, for inclusion proofs. Tree heads met in the log are remembered
in ``rm_audit_heads``, which a rebuild keeps: a head the log later lacks is noticed.

:class:`AuditTree` reads it (``ca.applications.ports.AuditTreeSource``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ca.applications.ports import TreeSnapshot
from ca.audit.merkle import Frontier
from ca.audit.records import stored_leaf_hash
from ca.audit.signed_heads import SignedHead
from domain.audit import TreeHead
from projections.base import ReadModel, Stored
from projections.db import ReadModelDatabase, Transaction

__all__ = ["AuditTreeModel", "AuditTree", "AUDIT_MODEL", "CHUNK_HEIGHT", "CHUNK"]

AUDIT_MODEL = "audit"
CHUNK_HEIGHT = 10
CHUNK = 1 << CHUNK_HEIGHT
_HEAD_TOPIC = TreeHead.Signed.TOPIC


@dataclass
class _State:
    tx: Transaction
    frontier: Frontier
    last_position: int
    content_size: int


class AuditTreeModel(ReadModel):
    name = AUDIT_MODEL
    tables = ("rm_audit_tree", "rm_audit_chunks")
    kept_tables = ("rm_audit_heads",)
    topics = frozenset()
    every_topic = True
    stored = True

    def __init__(self) -> None:
        self._state: _State | None = None

    def process(self, tx: Transaction, event: Any, position: int) -> None:
        assert isinstance(event, Stored)
        state = self._state
        if state is None or state.tx is not tx:
            state = self._state = _load(tx)
        n = event.notification
        leaf = stored_leaf_hash(position, n.originator_id, n.originator_version, n.topic,
                                n.state)
        chunk = state.frontier.append(leaf, capture_height=CHUNK_HEIGHT)
        if chunk is not None:
            tx.execute("INSERT INTO rm_audit_chunks (chunk, last_position, hash)"
                       " VALUES (?, ?, ?) ON CONFLICT (chunk) DO NOTHING",
                       ((state.frontier.size - 1) // CHUNK, position, chunk))
        state.last_position = position
        if n.topic != _HEAD_TOPIC:
            state.content_size = state.frontier.size
            return
        head = event.decode()
        tx.execute("INSERT INTO rm_audit_heads (number, tree_size, last_position, root_hash,"
                   " signature, signed_at, position) VALUES (?, ?, ?, ?, ?, ?, ?)"
                   " ON CONFLICT (number) DO NOTHING",
                   (head.number, head.tree_size, head.last_position, head.root_hash,
                    head.signature, head.timestamp.isoformat(), position))

    def before_commit(self, tx: Transaction) -> None:
        state = self._state
        if state is None or state.tx is not tx:
            return
        tx.execute("INSERT INTO rm_audit_tree (id, size, last_position, frontier, content_size)"
                   " VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size,"
                   " last_position = excluded.last_position, frontier = excluded.frontier,"
                   " content_size = excluded.content_size",
                   (state.frontier.size, state.last_position, state.frontier.dump(),
                    state.content_size))

    def after_commit(self) -> None:
        self._state = None

    def after_rollback(self) -> None:
        self._state = None


def _load(tx: Transaction) -> _State:
    rows = tx.query("SELECT size, last_position, frontier, content_size FROM rm_audit_tree"
                    " WHERE id = 1")
    if not rows:
        return _State(tx, Frontier(), 0, 0)
    size, position, frontier, content = rows[0]
    return _State(tx, Frontier.load(int(size), bytes(frontier)), int(position), int(content))


class AuditTree:
    """Reads the audit read model."""

    def __init__(self, database: ReadModelDatabase) -> None:
        self.database = database

    def snapshot(self) -> TreeSnapshot:
        rows = self.database.query("SELECT size, last_position, frontier, content_size"
                                   " FROM rm_audit_tree WHERE id = 1")
        if not rows:
            return TreeSnapshot(0, 0, b"", 0)
        size, position, frontier, content = rows[0]
        return TreeSnapshot(int(size), int(position), bytes(frontier), int(content))

    def chunks(self, first: int, last: int) -> list[tuple[int, int, bytes]]:
        """(chunk, last position, root) of chunks ``first`` .. ``last``."""
        return [(int(c), int(p), bytes(h)) for c, p, h in self.database.query(
            "SELECT chunk, last_position, hash FROM rm_audit_chunks WHERE chunk >= ?"
            " AND chunk <= ? ORDER BY chunk", (first, last))]

    def chunk_of(self, position: int) -> tuple[int, int] | None:
        """(chunk, last position of the chunk before it) of the first complete chunk
        whose last position is at or after ``position`` (None: in no complete chunk)."""
        rows = self.database.query("SELECT min(chunk) FROM rm_audit_chunks"
                                   " WHERE last_position >= ?", (position,))
        if not rows or rows[0][0] is None:
            return None
        chunk = int(rows[0][0])
        before = self.database.query("SELECT last_position FROM rm_audit_chunks"
                                     " WHERE chunk = ?", (chunk - 1,))
        return chunk, int(before[0][0]) if before else 0

    def latest_head_number(self) -> int:
        rows = self.database.query("SELECT max(number) FROM rm_audit_heads")
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def head_position(self, number: int) -> int | None:
        rows = self.database.query("SELECT position FROM rm_audit_heads WHERE number = ?",
                                   (number,))
        return int(rows[0][0]) if rows else None

    def witnesses(self) -> list[SignedHead]:
        """Every head the read model has seen in the log (signature fields as needed to
        compare them with the log's, no certificate)."""
        return [SignedHead(int(number), int(size), int(last), bytes(root),
                           datetime.fromisoformat(signed_at), bytes(signature), b"", b"",
                           position=int(position))
                for number, size, last, root, signature, signed_at, position
                in self.database.query("SELECT number, tree_size, last_position, root_hash,"
                                       " signature, signed_at, position FROM rm_audit_heads"
                                       " ORDER BY number")]
