"""Verifying an export offline: with nothing but the export and the root certificate.

Every line is parsed and its leaf hash computed from the stored fields (position,
aggregate id, version, topic, stored state), its ``payload``/``time``/``actor`` checked
against the stored state, and the whole sequence is handed to a
:class:`~ca.audit.log_check.LogChecker`, which checks each tree head as it comes (its
chain to the previous head, its signature and its signer's certificate up to the trusted
root, and the leaves it signed against the leaves computed). Long exports are hashed by
worker processes, a block of lines each, and checked here in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from asn1crypto import x509

from ca.audit.log_check import ESTABLISHED_TOPIC, HEAD_TOPIC, Finding, LogChecker
from ca.audit.parallel import ordered_map
from ca.audit.records import (
    ExportFormatError,
    ExportRecord,
    parse_line,
    payload_matches,
    stored_leaf_hash,
)
from ca.audit.signed_heads import SignedHead

__all__ = ["verify_export", "VerifyReport", "BLOCK", "PARALLEL_FROM"]

BLOCK = 4 << 20  # bytes of lines per worker task
PARALLEL_FROM = 32 << 20  # bytes: a smaller export is checked in this process
_Problem = tuple[int, str, int, str]  # (line index in the block, kind, position, message)
# positions, leaf hashes, line offsets (start, end, start, end, ...), the marked lines
# (ca.audit.log_check.marks), problems, lines read
_Hashed = tuple[list[int], bytes, list[int], list[tuple[int, str]], list[_Problem], int]


@dataclass
class VerifyReport:
    events: int = 0
    heads: list[SignedHead] = field(default_factory=list)
    covered: int = 0              # events the last good head covers
    unsigned: list[int] = field(default_factory=list)  # positions after the last head
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


_Line = tuple[str, int, int]  # a line: its block, where it starts and ends there


class _BlockLines(Sequence[_Line]):
    """The lines of one block as items: line ``i`` is (block, start, end)."""

    __slots__ = ("block", "offsets")

    def __init__(self, block: str, offsets: list[int]) -> None:
        self.block, self.offsets = block, offsets

    def __len__(self) -> int:
        return len(self.offsets) // 2

    def __getitem__(self, index: int) -> _Line:  # type: ignore[override]
        return self.block, self.offsets[2 * index], self.offsets[2 * index + 1]


def _record(line: _Line) -> ExportRecord:
    block, start, end = line
    return parse_line(block[start:end])


class _LineSource:
    def __init__(self, decode: Callable[[ExportRecord], Any]) -> None:
        self._decode = decode

    def decode(self, item: _Line) -> Any:
        return self._decode(_record(item))

    def rehash(self, item: _Line, position: int) -> bytes:
        record = _record(item)
        return stored_leaf_hash(position, record.aggregate_bytes, record.version,
                                record.topic, record.state)


def verify_export(stream: IO[bytes], *, decode: Callable[[ExportRecord], Any],
                  trust: x509.Certificate, witnesses: Sequence[SignedHead] = (),
                  workers: int = 0, payloads: bool = True,
                  progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Check an export read from ``stream``; ``decode`` turns a record into its event
    (the application's mapper); ``witnesses``: heads kept apart from the log; ``workers``
    processes hash a long export (a file of PARALLEL_FROM bytes or more); ``payloads``:
    also check each line's payload, time and actor against its stored state."""
    if workers and _size(stream) < PARALLEL_FROM:
        workers = 0
    checker = LogChecker(_LineSource(decode), trust=trust, signatures="all")
    line_number = 0
    hash_block = _hash_block if payloads else _hash_block_only
    for block, (positions, leaves, offsets, marked, problems, lines) in ordered_map(
            hash_block, _blocks(stream), workers=workers):
        for index, kind, position, message in problems:
            checker.problem(kind, position, f"line {line_number + index + 1}: {message}")
        checker.add_many(positions, leaves, _BlockLines(block, offsets), marked)
        line_number += lines
        if progress is not None:
            progress(checker.count)
    findings = checker.finish(witnesses)
    return VerifyReport(events=checker.count, heads=checker.heads, covered=checker.covered,
                        unsigned=checker.unsigned, findings=findings)


def _size(stream: IO[bytes]) -> int:
    """The bytes left to read (a pipe counts as long)."""
    try:
        import os

        return os.fstat(stream.fileno()).st_size - stream.tell()
    except (OSError, ValueError, AttributeError):
        return PARALLEL_FROM


def _blocks(stream: IO[bytes]) -> Iterator[str]:
    """Whole lines, about BLOCK bytes at a time, as text (bytes that are not UTF-8 stay
    in the text as lone surrogates: such a line is not an export line)."""
    rest = b""
    while chunk := stream.read(BLOCK):
        data = rest + chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        yield data[:cut].decode(errors="surrogateescape")
        rest = data[cut:]
    if rest.strip():
        yield rest.decode(errors="surrogateescape")


def _hash_block_only(block: str) -> _Hashed:
    """:func:`_hash_block` without the payload check."""
    return _hash_block(block, payloads=False)


def _hash_block(block: str, payloads: bool = True) -> _Hashed:
    """Each line's position, leaf hash, topic and place in the block; the lines that are
    not export lines, or whose payload does not say what their stored state says."""
    positions: list[int] = []
    leaves: list[bytes] = []
    offsets: list[int] = []
    marked: list[tuple[int, str]] = []
    problems: list[_Problem] = []
    start, size, index = 0, len(block), 0
    while start < size:
        end = block.find("\n", start)
        end = size if end < 0 else end
        line = block[start:end]
        if line.strip():
            try:
                record = parse_line(line)
            except ExportFormatError as exc:
                problems.append((index, "format", 0, str(exc)))
            else:
                if payloads and not payload_matches(record):
                    problems.append((index, "payload", record.position,
                                     "its payload, time or actor is not what its stored "
                                     "state says"))
                if record.topic == HEAD_TOPIC or record.topic == ESTABLISHED_TOPIC:
                    marked.append((len(positions), record.topic))
                positions.append(record.position)
                leaves.append(record.leaf_hash())
                offsets += (start, end)
        start, index = end + 1, index + 1
    return positions, b"".join(leaves), offsets, marked, problems, index
