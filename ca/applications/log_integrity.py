"""The start-up check: does the stored log still match its own signed tree heads?

At start, before a process serves writes or runs the processes that sign (CRLs, OCSP
responses, tree heads), it reads the whole log as stored, hashes every event, and checks
it against the tree heads it holds (every head's leaves, the latest head's signature)
and against the heads it should hold: those the audit read model has seen in the log,
and those written to the tree head directory. Any difference fails the check: the
process then refuses writes (the API answers 503 and says why) and signs nothing, while
it still serves what it has (reads, CRLs, OCSP responses). Signing a tree head does the
same check on what it adds, so a change made while the process runs stops it too.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ca.applications.event_log import EventLog
from ca.audit.head_files import read_heads
from ca.audit.log_check import Finding, LogChecker, marks
from ca.audit.records import stored_leaf_hash
from ca.audit.signed_heads import SignedHead

__all__ = ["LogIntegrity", "Integrity"]

log = logging.getLogger("certledger.audit")


class Integrity(enum.StrEnum):
    UNCHECKED = "unchecked"
    CHECKING = "checking"
    OK = "ok"
    FAILED = "failed"


class _StoredSource:
    def __init__(self, log: EventLog) -> None:
        self._log = log

    def decode(self, item: Any) -> Any:
        return self._log.decode(item)

    def rehash(self, item: Any, position: int) -> bytes:
        return stored_leaf_hash(position, item.originator_id, item.originator_version,
                                item.topic, item.state)


class LogIntegrity:
    def __init__(self, log: EventLog, witnesses: Callable[[], Sequence[SignedHead]], *,
                 heads_dir: Path | None = None) -> None:
        self._log = log
        self._witnesses = witnesses
        self._heads_dir = heads_dir
        self._lock = threading.Lock()
        self.state = Integrity.UNCHECKED
        self.reason = ""
        self.findings: list[Finding] = []
        self.checked_events = 0

    @property
    def allows_writes(self) -> bool:
        return self.state is not Integrity.FAILED

    def check(self) -> list[Finding]:
        """Check the whole stored log now; the findings (none: it matches its heads)."""
        with self._lock:
            self.state = Integrity.CHECKING
        started = time.monotonic()
        try:
            checker = LogChecker(_StoredSource(self._log), signatures="latest")
            page = 2000
            while batch := self._log.stored_page(checker.last_position, None, page):
                leaves = b"".join(stored_leaf_hash(
                    n.id, n.originator_id, n.originator_version,  # type: ignore[arg-type]
                    n.topic, n.state) for n in batch)
                checker.add_many([n.id for n in batch], leaves, batch,
                                 marks([n.topic for n in batch]))
            findings = checker.finish(self._all_witnesses())
        except Exception as exc:  # an unreadable event is a failed check, not a crash
            log.exception("the start-up check of the event log could not finish")
            findings = [Finding("format", 0, f"the log cannot be read to the end: {exc}")]
            checker = None
        with self._lock:
            self.findings = findings
            self.checked_events = checker.count if checker else 0
            if findings:
                self.state, self.reason = Integrity.FAILED, _reason(findings)
            else:
                self.state, self.reason = Integrity.OK, ""
        if findings:
            log.error("%s; writes are refused", self.reason)
        else:
            log.info("event log checked: %d events, %d covered by signed tree heads "
                     "(%.1f s)", checker.count if checker else 0,
                     checker.covered if checker else 0, time.monotonic() - started)
        return findings

    def fail(self, reason: str) -> None:
        """What the tree head signer found while running: writes stop from now on."""
        with self._lock:
            self.state, self.reason = Integrity.FAILED, reason
        log.error("%s; writes are refused", reason)

    def _all_witnesses(self) -> list[SignedHead]:
        witnesses = list(self._witnesses())
        if self._heads_dir is not None and self._heads_dir.is_dir():
            witnesses += read_heads(self._heads_dir)
        latest: dict[int, SignedHead] = {}
        for head in witnesses:  # a head both remember is checked once (files have more)
            if head.number not in latest or head.signer_certificate:
                latest[head.number] = head
        return list(latest.values())


def _reason(findings: Sequence[Finding]) -> str:
    first = findings[0]
    more = f" (and {len(findings) - 1} more findings)" if len(findings) > 1 else ""
    return f"the event log does not match its signed tree heads: {first}{more}"
