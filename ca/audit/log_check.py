"""Checking a log against its signed tree heads, event by event, in one pass.

Fed the stored events in log order (from an export file or from the event store), a
:class:`LogChecker` computes each event's leaf hash, and at each tree head it meets:

- checks the head extends the one before: the previous head's frontier, extended by the
  leaf hashes this head lists, gives this head's frontier and root (consistency between
  consecutive heads, from the heads alone);
- checks the head's signature, and (given a trusted root) its signer's certificate chain;
- compares the leaves it computed with the leaves the head lists; at the first
  difference it names the position and what happened (an event modified, deleted,
  inserted, two events swapped), trying the candidate explanations on the events
  themselves.

Witness heads (shipped to write-once storage, or remembered by the read-model store) are
checked at the end: a witness head the log no longer has means a head was dropped.
How an event is decoded or hashed at another position is the caller's (a ``Source``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from asn1crypto import x509

from ca.audit.head_checks import HeadError, check_chain, check_head_signature
from ca.audit.merkle import HASH_SIZE, Frontier, split_hashes
from ca.audit.signed_heads import SignedHead
from ca.audit.window import ESTABLISHED_TOPIC, HEAD_TOPIC, WindowItems, marks

__all__ = ["LogChecker", "Finding", "Source", "HEAD_TOPIC", "ESTABLISHED_TOPIC", "marks"]

_MAX_FINDINGS = 50


class Source(Protocol):
    """How the caller's events are decoded and re-hashed (``item`` is what it passed)."""

    def decode(self, item: Any) -> Any: ...

    def rehash(self, item: Any, position: int) -> bytes: ...


@dataclass(frozen=True)
class Finding:
    kind: str      # modified, deleted, inserted, swapped, reordered, head, payload, format
    position: int  # the first log position concerned (0: none)
    message: str

    def __str__(self) -> str:
        where = f"position {self.position}: " if self.position else ""
        return f"{self.kind}: {where}{self.message}"


@dataclass(frozen=True, slots=True)
class _Leaf:
    position: int
    hash: bytes
    item: Any


@dataclass
class LogChecker:
    source: Source
    trust: x509.Certificate | None = None   # check every signer chain up to this root
    signatures: str = "all"                 # "all", "latest" (at the end) or "none"
    findings: list[Finding] = field(default_factory=list)
    heads: list[SignedHead] = field(default_factory=list)
    count: int = 0
    last_position: int = 0
    tampered: bool = False
    _verified: int = 0  # the position of the last leaf a head confirmed
    # the window: events no head has confirmed yet (hashes concatenated, 32 bytes each)
    _hashes: bytearray = field(default_factory=bytearray)
    _positions: list[int] = field(default_factory=list)
    _items: WindowItems = field(default_factory=WindowItems)
    _signed: Frontier = field(default_factory=Frontier)
    _authorities: list[x509.Certificate] = field(default_factory=list)

    # ---- feeding ------------------------------------------------------------------------

    def add(self, position: int, leaf: bytes, topic: str, item: Any) -> None:
        """The next stored event: its position, leaf hash, topic and the caller's item."""
        self.add_many([position], leaf, [item], marks([topic]))

    def add_many(self, positions: Sequence[int], leaves: bytes, items: Sequence[Any],
                 marked: Sequence[tuple[int, str]] = ()) -> None:
        """The next stored events, in log order: their positions, leaf hashes (32 bytes
        each, concatenated), the caller's items, and (index, topic) of those that are
        tree heads or CA establishments (:func:`marks` finds them)."""
        if not positions:
            return
        if positions[0] <= self.last_position or list(positions) != sorted(set(positions)):
            previous = self.last_position
            for position in positions:
                if position <= previous:
                    self._find("reordered", position, f"comes after position {previous}: "
                               "the log is out of order")
                previous = max(previous, position)
        self._hashes += leaves
        self._positions += positions
        self._items.extend(items)
        self.count += len(positions)
        self.last_position = max(self.last_position, max(positions))
        for index, topic in marked:
            if topic == HEAD_TOPIC:
                self._head(SignedHead.from_event(self.source.decode(items[index]),
                                                 positions[index]))
            else:
                try:
                    self._authorities.append(x509.Certificate.load(
                        self.source.decode(items[index]).certificate_der))
                except (ValueError, TypeError):
                    self._find("format", positions[index],
                               "a CA certificate that cannot be read")

    def problem(self, kind: str, position: int, message: str) -> None:
        """A finding the caller made (a line that is not an export line, a payload that
        does not match its stored state)."""
        self._find(kind, position, message)

    # ---- heads --------------------------------------------------------------------------

    def _head(self, head: SignedHead) -> None:
        previous = self.heads[-1] if self.heads else None
        expected = 1 if previous is None else previous.number + 1
        if head.number < expected:
            self._find("head", head.position, f"tree head #{head.number} comes after "
                       f"#{expected - 1}: heads repeat or are out of order")
            return
        self.heads.append(head)
        if head.number > expected:
            after = previous.position if previous is not None else 0
            self._find("deleted", after + 1, f"tree head #{expected}, recorded between "
                       f"positions {after} and {head.position}, is missing")
        elif not self._extends(previous, head):
            return
        if self.signatures == "all":
            self._check_signature(head)
        if not self.tampered:
            self._compare(previous.tree_size if previous else 0, head)

    def _extends(self, previous: SignedHead | None, head: SignedHead) -> bool:
        """The head's listed leaves extend the previous head's tree to its root."""
        try:
            frontier = Frontier() if previous is None else \
                Frontier.load(previous.tree_size, previous.frontier)
            frontier.extend(split_hashes(head.leaf_hashes))
            listed = Frontier.load(head.tree_size, head.frontier)
        except ValueError as exc:
            self._find("head", head.position, f"{head.summary()} is malformed: {exc}")
            return False
        if frontier.size != head.tree_size or frontier.hashes != listed.hashes \
                or frontier.root() != head.root_hash:
            self._find("head", head.position, f"{head.summary()} does not extend tree head "
                       f"#{head.number - 1}: its leaves do not lead to its root")
            return False
        return True

    def _check_signature(self, head: SignedHead) -> None:
        try:
            signer = check_head_signature(head)
            if self.trust is not None:
                check_chain(signer, self._authorities, self.trust, head.timestamp)
        except HeadError as exc:
            self._find("head", head.position, str(exc))

    def _compare(self, start: int, head: SignedHead) -> None:
        """The computed leaves start..tree_size against the head's listed leaves."""
        listed, size = head.leaf_hashes, len(head.leaf_hashes)
        if self._hashes[:size] == listed:
            count = size // HASH_SIZE
            self._verified = self._positions[count - 1]
            del self._hashes[:size], self._positions[:count]
            self._items.drop(count)
            self._signed = Frontier.load(head.tree_size, head.frontier)
            return
        hashes = split_hashes(listed)
        window = [_Leaf(position, bytes(self._hashes[i * HASH_SIZE:(i + 1) * HASH_SIZE]),
                        self._items[i]) for i, position in enumerate(self._positions)]
        offset = next(i for i, expected in enumerate(hashes)
                      if i >= len(window) or window[i].hash != expected)
        self._explain(start + offset, offset, hashes, head, window)

    def _explain(self, index: int, offset: int, listed: Sequence[bytes], head: SignedHead,
                 window: list[_Leaf]) -> None:
        self.tampered = True
        if offset >= len(window):
            after = window[-1].position if window else self.last_position
            self._find("deleted", after + 1, f"events signed in {head.summary()} are "
                       f"missing after position {after} (leaf {index} onwards)")
            return
        here = window[offset]
        later = {leaf.hash: i for i, leaf in enumerate(window) if i > offset}
        if listed[offset] in later and later[listed[offset]] - offset <= len(listed):
            self._find("inserted", here.position, "an event the tree heads never signed was "
                       "inserted here")
            return
        if offset + 1 < len(listed) and here.hash == listed[offset + 1]:
            before = window[offset - 1].position if offset else self._verified
            self._find("deleted", before + 1, f"the event signed as leaf {index}, between "
                       f"positions {before} and {here.position}, was deleted")
            return
        self._explain_by_contents(index, offset, window, listed)

    def _explain_by_contents(self, index: int, offset: int, window: list[_Leaf],
                             listed: Sequence[bytes]) -> None:
        here, rehash = window[offset], self.source.rehash
        if here.item is None:
            self._find("modified", here.position, "the event differs from what was signed")
            return
        for other in range(offset + 1, min(len(window), len(listed))):
            there = window[other]
            if there.item is not None and window[other].hash != listed[other] \
                    and rehash(there.item, here.position) == listed[offset] \
                    and rehash(here.item, there.position) == listed[other]:
                self._find("swapped", here.position, f"the events at positions "
                           f"{here.position} and {there.position} were swapped")
                return
        if offset + 1 < len(window) and window[offset + 1].item is not None \
                and rehash(window[offset + 1].item, here.position) == listed[offset]:
            self._find("inserted", here.position, "an event was inserted here (the events "
                       "after it were moved one position on)")
            return
        if offset + 1 < len(listed) and rehash(here.item, here.position + 1) \
                == listed[offset + 1]:
            self._find("deleted", here.position, f"the event at position {here.position} "
                       "was deleted (the events after it were moved one position back)")
            return
        self._find("modified", here.position, f"the event (leaf {index}) differs from what "
                   "was signed")

    # ---- the end ------------------------------------------------------------------------

    def finish(self, witnesses: Sequence[SignedHead] = ()) -> list[Finding]:
        """Check what is left (the latest signature, witness heads); the findings."""
        if self.signatures == "latest" and self.heads:
            self._check_signature(self.heads[-1])
        by_number = {head.number: head for head in self.heads}
        for witness in sorted(witnesses, key=lambda head: head.number):
            mine = by_number.get(witness.number)
            if mine is None:
                self._find("deleted", witness.position, f"{witness.summary()}, recorded at "
                           f"position {witness.position}, is missing from the log")
            elif (mine.tree_size, mine.root_hash, mine.signature) != \
                    (witness.tree_size, witness.root_hash, witness.signature):
                self._find("head", mine.position, f"the log's {mine.summary()} is not the "
                           f"one published ({witness.summary()})")
        return self.findings

    @property
    def covered(self) -> int:
        """Events covered by the latest head that checked out."""
        return self._signed.size

    @property
    def unsigned(self) -> list[int]:
        """Positions after the last checked head (the window before the next one)."""
        return list(self._positions) if not self.tampered else []

    def _find(self, kind: str, position: int, message: str) -> None:
        if len(self.findings) < _MAX_FINDINGS:
            self.findings.append(Finding(kind, position, message))
        if kind in ("modified", "deleted", "inserted", "swapped", "reordered"):
            self.tampered = True
