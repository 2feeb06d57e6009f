"""Making proof documents (ca/audit/proofs.py) from the log and the audit read model.

An inclusion proof needs the hashes of subtrees beside a leaf's path: whole chunks of
1024 leaves come from the read model (their roots), the leaves of the chunk the event is
in, and of the last, partial chunk, are hashed again from the log as stored. Each chunk
hashed again must give the root the read model kept, and each proof is checked against
the signed head before it is handed out: a log that changed is refused, not proven.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

from ca.applications.event_log import EventLog
from ca.applications.ports import AuditTreeSource
from ca.applications.tree_heads import LogMismatch, TreeHeads
from ca.audit.head_files import head_to_json
from ca.audit.merkle import (
    consistency_proof,
    inclusion_proof,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from ca.audit.proofs import CONSISTENCY, INCLUSION
from ca.audit.records import stored_leaf_hash
from domain.audit import TreeHead
from domain.authority import CertificateAuthority
from domain.claims import SerialClaim
from domain.errors import NotFound

__all__ = ["AuditProofs", "CHUNK"]

CHUNK = 1024  # leaves per chunk of the audit read model (projections/audit_tree.py)


class _Tree:
    """The leaves and subtree hashes of the tree under one signed head."""

    def __init__(self, log: EventLog, source: AuditTreeSource, head: TreeHead) -> None:
        self._log = log
        self.size, self.last_position = head.tree_size, head.last_position
        complete = self.size // CHUNK
        rows = source.chunks(0, complete - 1) if complete else []
        self._roots = {chunk: root for chunk, _, root in rows}
        self._ends = {chunk: end for chunk, end, _ in rows}
        if len(rows) != complete:
            raise LogMismatch(f"the audit read model has {len(rows)} of the {complete} "
                              "chunks this tree head covers; rebuild it first")
        self._leaves: dict[int, tuple[list[int], list[bytes]]] = {}
        self.subtree = lru_cache(maxsize=None)(self._subtree)

    def _chunk(self, chunk: int) -> tuple[list[int], list[bytes]]:
        """The positions and leaf hashes of one chunk, hashed again from the log."""
        if chunk not in self._leaves:
            after = self._ends.get(chunk - 1, 0)
            stop = self._ends.get(chunk, self.last_position)
            count = min(CHUNK, self.size - chunk * CHUNK)
            positions, leaves = [], []
            for n in self._log.stored(after=after, stop=stop):
                positions.append(n.id)
                leaves.append(stored_leaf_hash(n.id, n.originator_id, n.originator_version,
                                               n.topic, n.state))
            if len(leaves) != count or (chunk in self._roots
                                        and root_of(leaves) != self._roots[chunk]):
                raise LogMismatch(f"the events from position {after + 1} to {stop} are not "
                                  "the ones the audit tree was built from")
            self._leaves[chunk] = (positions, leaves)
        return self._leaves[chunk]

    def index_of(self, position: int) -> int:
        for chunk in range(self.size // CHUNK + 1):
            if chunk in self._ends and self._ends[chunk] < position:
                continue
            positions, _ = self._chunk(chunk)
            return chunk * CHUNK + positions.index(position)
        raise ValueError(f"position {position} is not under the head")

    def _subtree(self, start: int, end: int) -> bytes:
        size = end - start
        if size == 1:
            return self._chunk(start // CHUNK)[1][start % CHUNK]
        if size == CHUNK and start % CHUNK == 0 and start // CHUNK in self._roots:
            return self._roots[start // CHUNK]
        k = 1 << ((size - 1).bit_length() - 1)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))


class AuditProofs:
    def __init__(self, log: EventLog, tree: AuditTreeSource, heads: TreeHeads) -> None:
        self._log = log
        self._tree = tree
        self._heads = heads

    def inclusion(self, serial: int, issuer: str | None = None) -> dict[str, Any]:
        """The inclusion proof of every event of the certificate ``serial`` (of ``issuer``,
        or of any CA) under the latest signed head."""
        head = self._latest()
        authorities = self._authorities()
        names = [issuer] if issuer else [event.name for event in authorities]
        ids = [claim.certificate_id for name in names if (claim := self._log.load(
            SerialClaim.create_id(name, serial), SerialClaim)) is not None]
        if not ids:
            raise NotFound(f"no certificate with serial {serial:x}", code="serial_not_found")
        tree = _Tree(self._log, self._tree, head)
        events, not_covered = [], []
        for position in sorted(p for i in ids for p in self._log.positions_of(i)):
            if position > head.last_position:
                not_covered.append(position)
                continue
            stored = next(self._log.stored(after=position - 1, stop=position, page=1))
            index = tree.index_of(position)
            proof = inclusion_proof(index, head.tree_size, tree.subtree)
            leaf = stored_leaf_hash(position, stored.originator_id, stored.originator_version,
                                    stored.topic, stored.state)
            if not verify_inclusion(leaf, index, head.tree_size, proof, head.root_hash):
                raise LogMismatch(f"the event at position {position} is not the one the "
                                  f"tree head #{head.number} signed")
            events.append({"position": position, "leaf_index": index,
                           "aggregate_id": str(stored.originator_id),
                           "version": stored.originator_version, "topic": stored.topic,
                           "state": base64.b64encode(stored.state).decode(),
                           "proof": [h.hex() for h in proof]})
        return {"format": INCLUSION, "tree_head": self._head_json(head),
                "authorities": _certificates(authorities), "events": events,
                "not_covered": not_covered}

    def consistency(self, first: int) -> dict[str, Any]:
        """The proof that the latest head extends head number ``first``."""
        second = self._latest()
        earlier = self._heads.get(first)
        if earlier is None:
            raise NotFound(f"no tree head #{first}", code="tree_head_not_found")
        tree = _Tree(self._log, self._tree, second)
        proof = consistency_proof(earlier.tree_size, second.tree_size, tree.subtree)
        if not verify_consistency(earlier.tree_size, second.tree_size, proof,
                                  earlier.root_hash, second.root_hash):
            raise LogMismatch(f"tree head #{second.number} does not extend #{first}")
        return {"format": CONSISTENCY, "first": self._head_json(earlier),
                "second": self._head_json(second),
                "authorities": _certificates(self._authorities()),
                "proof": [h.hex() for h in proof]}

    def _latest(self) -> TreeHead:
        head = self._heads.latest()
        if head is None:
            raise NotFound("no tree head has been signed yet", code="tree_head_not_found")
        return head

    def _head_json(self, head: TreeHead) -> dict[str, object]:
        position = self._tree.head_position(head.number) or 0
        return head_to_json(self._heads.as_signed(head, position))

    def _authorities(self) -> list[Any]:
        return [event for _, event in self._log.read(
            topics=[CertificateAuthority.Established.TOPIC])]


def _certificates(authorities: list[Any]) -> list[str]:
    return [base64.b64encode(event.certificate_der).decode() for event in authorities]
