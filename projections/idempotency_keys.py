"""Answers to requests sent with an Idempotency-Key, kept a day (api/idempotency.py).

Per caller scope and key, one row: the request's fingerprint and the attempt that runs
it (``owner``, ``started_at``) while it runs; then its answer (status, body, headers).
:meth:`IdempotencyKeys.begin` decides in one transaction what a request with a key
does: run it (the first, or the retry of an attempt that stopped answering for
``lease`` seconds: its process died between the command and the answer), replay the
stored answer, wait (another attempt is running), or refuse (the key came with another
request). Not a read model: the API writes it; nothing here is rebuilt from the log.
"""

from __future__ import annotations

import enum
import json
import secrets
import threading
import time
from dataclasses import dataclass

from projections.db import ReadModelDatabase

__all__ = ["IdempotencyKeys", "Claim", "ClaimState", "StoredAnswer", "KEEP_SECONDS"]

KEEP_SECONDS = 24 * 3600   # answers are kept this long
_PURGE_EVERY = 600.0


class ClaimState(enum.Enum):
    RUN = "run"                  # this attempt runs the request
    REPLAY = "replay"            # answered before: here is the answer
    RUN_AGAIN = "run-again"      # answered before, answer not kept (a secret): run again
    IN_PROGRESS = "in-progress"  # another attempt is running it
    MISMATCH = "mismatch"        # the key was used with another request


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    owner: str
    answer: StoredAnswer | None = None


class IdempotencyKeys:
    def __init__(self, database: ReadModelDatabase, *, lease: float = 60.0) -> None:
        self.database = database
        self.lease = lease
        self._purged = 0.0
        self._lock = threading.Lock()

    def begin(self, scope: str, key: str, fingerprint: str, now: float | None = None) -> Claim:
        now = time.time() if now is None else now
        self._purge_now_and_then(now)
        owner = secrets.token_hex(16)
        while True:  # again only if the row went between the insert and the select
            claim = self._begin(scope, key, fingerprint, owner, now)
            if claim is not None:
                return claim

    def _begin(self, scope: str, key: str, fingerprint: str, owner: str,
               now: float) -> Claim | None:
        with self.database.transaction() as tx:
            tx.execute("INSERT INTO rm_idempotency_keys (scope, idempotency_key, fingerprint,"
                       " owner, started_at) VALUES (?, ?, ?, ?, ?)"
                       " ON CONFLICT (scope, idempotency_key) DO NOTHING",
                       (scope, key, fingerprint, owner, now))
            rows = tx.query("SELECT fingerprint, owner, started_at, status, body, headers"
                            " FROM rm_idempotency_keys WHERE scope = ? AND idempotency_key = ?",
                            (scope, key))
            if not rows:  # released by its attempt (a 5xx) after our insert found it
                return None
            recorded, holder, started, status, body, headers = rows[0]
            if holder == owner:
                return Claim(ClaimState.RUN, owner)
            if recorded != fingerprint:
                return Claim(ClaimState.MISMATCH, owner)
            if status is not None:
                if body is None:
                    return Claim(ClaimState.RUN_AGAIN, owner)
                return Claim(ClaimState.REPLAY, owner, StoredAnswer(
                    int(status), bytes(body), json.loads(headers or "{}")))
            if started > now - self.lease:
                return Claim(ClaimState.IN_PROGRESS, owner)
            # the attempt that held it stopped answering: take it over (one taker wins)
            tx.execute("UPDATE rm_idempotency_keys SET owner = ?, started_at = ?"
                       " WHERE scope = ? AND idempotency_key = ? AND owner = ?"
                       " AND status IS NULL", (owner, now, scope, key, holder))
            taken = tx.query("SELECT owner FROM rm_idempotency_keys"
                             " WHERE scope = ? AND idempotency_key = ?", (scope, key))
            won = bool(taken) and taken[0][0] == owner
            return Claim(ClaimState.RUN if won else ClaimState.IN_PROGRESS, owner)

    def finish(self, scope: str, key: str, owner: str, answer: StoredAnswer,
               keep_body: bool = True) -> None:
        """Store the answer of the attempt ``owner`` (without its body if ``keep_body`` is
        false: a replay then runs the request again, which must make the same answer)."""
        with self.database.transaction() as tx:
            tx.execute("UPDATE rm_idempotency_keys SET status = ?, body = ?, headers = ?"
                       " WHERE scope = ? AND idempotency_key = ? AND owner = ?",
                       (answer.status, answer.body if keep_body else None,
                        json.dumps(answer.headers), scope, key, owner))

    def release(self, scope: str, key: str, owner: str) -> None:
        """Forget an attempt that gave no answer worth keeping (a 5xx): the key is free."""
        with self.database.transaction() as tx:
            tx.execute("DELETE FROM rm_idempotency_keys WHERE scope = ? AND idempotency_key = ?"
                       " AND owner = ? AND status IS NULL", (scope, key, owner))

    def _purge_now_and_then(self, now: float) -> None:
        with self._lock:
            if now - self._purged < _PURGE_EVERY:
                return
            self._purged = now
        with self.database.transaction() as tx:
            tx.execute("DELETE FROM rm_idempotency_keys WHERE started_at < ?",
                       (now - KEEP_SECONDS,))
