"""The window of a log check: the events no tree head has confirmed yet.

Their items (what the caller handed over for each event: a line of an export, a stored
event) are kept as the sequences they came in, with no object per event, so a check
of millions of events keeps little; contents older than :data:`KEEP` events are let go
(their hashes stay), which only limits how precisely a difference that old is explained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.audit import TreeHead
from domain.authority import CertificateAuthority

__all__ = ["WindowItems", "marks", "HEAD_TOPIC", "ESTABLISHED_TOPIC", "KEEP"]

HEAD_TOPIC = TreeHead.Signed.TOPIC
ESTABLISHED_TOPIC = CertificateAuthority.Established.TOPIC
KEEP = 40_000  # events whose contents are kept for explaining a difference


class WindowItems:
    """The callers' items of the window, kept as the sequences they came in (no object
    per event): item ``i`` of the window, dropping from the front, forgetting old ones."""

    def __init__(self) -> None:
        self._chunks: list[tuple[int, Sequence[Any] | None]] = []  # (first index, items)
        self._first = 0   # the window's first item, counted from the start of the log
        self._end = 0

    def __len__(self) -> int:
        return self._end - self._first

    def extend(self, items: Sequence[Any]) -> None:
        self._chunks.append((self._end, items))
        self._end += len(items)
        for index, (start, chunk) in enumerate(self._chunks[:-1]):
            if chunk is not None and self._end - self._chunks[index + 1][0] > KEEP:
                self._chunks[index] = (start, None)  # contents this old go (hashes stay)

    def drop(self, count: int) -> None:
        self._first += count
        while len(self._chunks) > 1 and self._chunks[1][0] <= self._first:
            del self._chunks[0]

    def __getitem__(self, index: int) -> Any:
        wanted = self._first + index
        for start, items in reversed(self._chunks):
            if start <= wanted:
                return None if items is None else items[wanted - start]
        return None


def marks(topics: Sequence[str]) -> list[tuple[int, str]]:
    """(index, topic) of the tree heads and CA establishments among ``topics``."""
    return [(index, topic) for index, topic in enumerate(topics)
            if topic == HEAD_TOPIC or topic == ESTABLISHED_TOPIC]
