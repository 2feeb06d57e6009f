"""Signing tree heads when they are due, and writing them out as files.

Every ``every`` seconds (and when the runner has projected new events) the process asks
``TreeHeads`` whether a head is due (``head_every`` events or ``head_interval`` since
the oldest event no head covers) and signs it; what is due is read from the log and the
audit read model, so a crash only delays a head. It signs nothing while the log's
integrity check has failed, and a signing that finds the log changed under the audit
tree fails it. Heads the log holds that the head directory lacks are written there
(a crash between the two is repaired on the next run).
"""

from __future__ import annotations

import logging

from ca.applications.log_integrity import LogIntegrity
from ca.applications.ports import AuditTreeSource
from ca.applications.tree_heads import LogMismatch, TreeHeads
from ca.audit.head_files import latest_number, write_head
from domain.errors import DomainError

__all__ = ["TreeHeadSigning"]

log = logging.getLogger("certledger.audit")


class TreeHeadSigning:
    name = "audit-tree-heads"

    def __init__(self, heads: TreeHeads, tree: AuditTreeSource, integrity: LogIntegrity) -> None:
        self.heads = heads
        self.tree = tree
        self.integrity = integrity
        self.every = min(5.0, heads.settings.head_interval.total_seconds())
        self._told = ""  # the last reason no head could be signed, said once

    def run(self) -> int:
        """Sign what is due; returns the number of heads signed now."""
        if not self.integrity.allows_writes:
            return 0
        try:
            signed = self.heads.sign(only_if_due=True)
        except LogMismatch as exc:
            self.integrity.fail(exc.message)
            return 0
        except DomainError as exc:  # no such CA yet, a root named: said once, not each run
            if exc.message != self._told:
                log.warning("no tree head signed: %s (CERTLEDGER_AUDIT_ISSUER)", exc.message)
                self._told = exc.message
            return 0
        self._told = ""
        self.write_files()
        return len(signed)

    def write_files(self) -> int:
        """Write the heads the directory lacks (those the read model has seen, so their
        position in the log is known); returns how many were written."""
        directory = self.heads.settings.heads_dir
        if directory is None:
            return 0
        written, number = 0, latest_number(directory) if directory.is_dir() else 0
        while (head := self.heads.get(number + 1)) is not None:
            position = self.tree.head_position(head.number)
            if position is None:
                break  # not projected yet: its position is not known
            if write_head(directory, self.heads.as_signed(head, position)):
                written += 1
            number += 1
        return written
