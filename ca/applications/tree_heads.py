"""Signing tree heads: "the first n events of the log have this Merkle root", signed.

A head is due once ``head_every`` events, or any event ``head_interval`` old, are not
covered by the latest head (tree heads themselves do not make one due: an idle log
gets no head after head). Signing reads the audit read model's tree (its size, last
position and frontier), reads the events it adds to the latest head *from the log*, and
checks that they lead from the latest head's frontier to the read model's: the log and
the tree built from it when the events were projected must agree, else nothing is
signed (:class:`LogMismatch`). One head lists at most ``max_leaves`` new leaves; a
longer stretch (a log from before heads existed) gets several heads in a row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ca.applications.audit_signer import AuditSigners
from ca.applications.conflicts import retry_on_conflict
from ca.applications.event_log import EventLog
from ca.applications.ports import AuditTreeSource, Clock, TreeSnapshot
from ca.audit.merkle import Frontier
from ca.audit.records import stored_leaf_hash
from ca.audit.signed_heads import SignedHead, signed_data
from domain.actors import SYSTEM, Actor
from domain.audit import TreeHead
from domain.errors import DomainError

__all__ = ["AuditSettings", "TreeHeads", "LogMismatch"]

log = logging.getLogger("certledger.audit")


@dataclass(frozen=True)
class AuditSettings:
    """``head_every`` events or ``head_interval`` make a tree head due; ``issuer``: the CA
    that certifies the audit signer (None: the default issuer); ``heads_dir``: where each
    head is also written as a file (None: nowhere); ``max_leaves``: new leaves per head."""

    head_every: int = 1000
    head_interval: timedelta = timedelta(seconds=60)
    issuer: str | None = None
    heads_dir: Path | None = None
    max_leaves: int = 16384

    def __post_init__(self) -> None:
        if not 1 <= self.head_every <= self.max_leaves:
            raise ValueError(f"a tree head is due every 1 to {self.max_leaves} events")
        if self.head_interval < timedelta(seconds=1):
            raise ValueError("the tree head interval must be at least 1 s")


class LogMismatch(DomainError):
    """The log no longer holds what the audit tree was built from: nothing is signed."""

    code = "log_mismatch"


class TreeHeads:
    def __init__(self, log: EventLog, signers: AuditSigners, tree: AuditTreeSource,
                 clock: Clock, settings: AuditSettings, *, actor: Actor = SYSTEM) -> None:
        self._log = log
        self._signers = signers
        self._tree = tree
        self._clock = clock
        self.settings = settings
        self._actor = actor
        self._known: TreeHead | None = None  # the latest head seen (heads never change)

    def get(self, number: int) -> TreeHead | None:
        return self._log.load(TreeHead.create_id(number), TreeHead)

    def latest(self) -> TreeHead | None:
        """The latest head in the log (the read model, or the last one seen here, says
        where to start looking; the log says whether there is a later one)."""
        known = self._known
        number = max(self._tree.latest_head_number(), known.number if known else 0)
        head = known if known is not None and known.number == number else (
            self.get(number) if number else None)
        while (following := self.get(number + 1)) is not None:
            head, number = following, number + 1
        self._known = head
        return head

    def due(self, snapshot: TreeSnapshot | None = None,
            latest: TreeHead | None = None) -> bool:
        snapshot = snapshot or self._tree.snapshot()
        latest = latest if latest is not None else self.latest()
        covered = latest.tree_size if latest else 0
        if snapshot.content_size <= covered:
            return False  # nothing new, or only tree heads
        if snapshot.size - covered >= self.settings.head_every:
            return True
        for _, event in self._log.read(after=latest.last_position if latest else 0, page=8):
            if not isinstance(event, TreeHead.Signed):
                return self._clock() - event.timestamp >= self.settings.head_interval
        return False

    def sign(self, *, only_if_due: bool = False) -> list[TreeHead]:
        """Sign heads up to the audit tree's size (if due); the heads recorded now."""

        def attempt() -> list[TreeHead]:
            latest, snapshot = self.latest(), self._tree.snapshot()
            if only_if_due and not self.due(snapshot, latest):
                return []
            if snapshot.size <= (latest.tree_size if latest else 0):
                return []
            return self._sign(latest, snapshot)

        return retry_on_conflict(attempt, what="the tree heads", attempts=4)

    def _sign(self, latest: TreeHead | None, snapshot: TreeSnapshot) -> list[TreeHead]:
        frontier = Frontier() if latest is None else Frontier.load(latest.tree_size,
                                                                   latest.frontier)
        after = latest.last_position if latest else 0
        leaves, positions = [], []
        for n in self._log.stored(after=after, stop=snapshot.last_position):
            leaves.append(stored_leaf_hash(n.id, n.originator_id, n.originator_version,
                                           n.topic, n.state))
            positions.append(n.id)
        check = frontier.copy()
        check.extend(leaves)
        if check.size != snapshot.size or check.dump() != snapshot.frontier:
            raise LogMismatch(
                f"the events from position {after + 1} to {snapshot.last_position} are not "
                f"the ones the audit tree was built from ({len(leaves)} events, the tree "
                f"holds {snapshot.size - frontier.size}): no tree head is signed",
                code="log_mismatch")
        credentials = self._signers.credentials(actor=self._actor)
        algorithm = credentials.signer.signature_algorithm().dump()
        signed, previous, step = [], latest, self.settings.max_leaves
        for start in range(0, len(leaves), step):
            piece = leaves[start:start + step]
            frontier.extend(piece)
            at, root = self._clock(), frontier.root()
            last = positions[start + len(piece) - 1]
            number = previous.number + 1 if previous else 1
            signature = credentials.signer.sign(signed_data(number, frontier.size, last, at,
                                                            root))
            head = TreeHead.sign(
                actor=self._actor, at=at, previous=previous, tree_size=frontier.size,
                last_position=last, root_hash=root, leaf_hashes=b"".join(piece),
                frontier=frontier.dump(), signature=signature, signature_algorithm=algorithm,
                signer_certificate=credentials.certificate_der)
            self._log.save(head)
            log.info("tree head #%d signed: %d events up to position %d", number,
                     frontier.size, last)
            signed.append(head)
            previous = head
        return signed

    def as_signed(self, head: TreeHead, position: int = 0) -> SignedHead:
        return SignedHead(head.number, head.tree_size, head.last_position, head.root_hash,
                          head.created_on, head.signature, head.signature_algorithm,
                          head.signer_certificate, b"", head.frontier, position)
