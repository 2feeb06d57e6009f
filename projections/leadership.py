"""One leader among the processes (and hosts) that share a store: it alone runs the
projection runner and the processes (CRL publishing, OCSP signing, responder rotation).

PostgreSQL: a session-level advisory lock, held on a connection of its own for as long
as the process leads; the key is derived from the schema, so stores in other schemas of
one database have leaders of their own. The server drops the lock the moment that
connection ends (the process exits or is killed, the host goes away), and another
process, trying every second, takes over. SQLite: an exclusive ``flock`` on
``<data dir>/leader.lock``, which the kernel releases when the process ends.

:class:`Leader` is the thread that tries, holds and checks the lock, and starts and
stops the work as the lead is won or lost (a leader that loses its lock's connection
stops its work at its next check, within a second).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from projections.db import ReadModelDatabase

__all__ = ["Leader", "LeaderLock", "leader_lock"]

log = logging.getLogger("certledger.leader")


class LeaderLock(Protocol):
    def acquire(self) -> bool: ...

    def held(self) -> bool: ...

    def release(self) -> None: ...


class _AdvisoryLock:
    def __init__(self, url: str, schema: str | None, connect_timeout: int) -> None:
        self.url, self.connect_timeout = url, connect_timeout
        digest = hashlib.sha256(f"certledger-leader:{schema or 'public'}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self._connection: Any = None

    def acquire(self) -> bool:
        import psycopg

        connection = psycopg.connect(self.url, autocommit=True,
                                     connect_timeout=self.connect_timeout)
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if not row or not row[0]:
            connection.close()
            return False
        self._connection = connection
        return True

    def held(self) -> bool:
        try:
            self._connection.execute("SELECT 1").fetchone()
            return True
        except Exception:
            self.release()
            return False

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()  # the session ends: the lock is dropped
            except Exception:
                pass


class _FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # the flock goes with the descriptor


def leader_lock(database: ReadModelDatabase, *, connect_timeout: int = 5) -> LeaderLock:
    if database.dialect == "postgres":
        assert database.postgres_url is not None
        return _AdvisoryLock(database.postgres_url, database.schema, connect_timeout)
    assert database.sqlite_path is not None
    return _FileLock(database.sqlite_path.parent / "leader.lock")


class Leader:
    """Tries for the lead every ``every`` seconds; ``lead()`` when won, ``follow()`` when
    lost or stopped."""

    def __init__(self, lock: LeaderLock, lead: Callable[[], None], follow: Callable[[], None],
                 *, every: float = 1.0) -> None:
        self.lock, self._lead, self._follow, self.every = lock, lead, follow, every
        self.leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiting_logged = False

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="certledger-leader",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None
        if self.leading:
            self.leading = False
            self._follow()
        self.lock.release()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._turn()
            except Exception as exc:  # the database is away: try again
                log.warning("leader lock: %s", exc)
            self._stop.wait(self.every)

    def _turn(self) -> None:
        if self.leading:
            if not self.lock.held():
                log.error("lost the lead (the lock's connection ended); stopping the "
                          "projection runner and the processes here")
                self.leading = False
                self._follow()
            return
        if self.lock.acquire():
            if self._stop.is_set():
                self.lock.release()
                return
            self.leading = True
            self._waiting_logged = False
            log.info("this process leads: it runs the projection runner and the processes")
            self._lead()
        elif not self._waiting_logged:
            self._waiting_logged = True
            log.info("another process leads; this one stands by")
