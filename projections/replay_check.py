"""The replay check: every read model rebuilt from the log, compared with the stored one.

The stored read models are first brought up to the log's head; then every model is
replayed from zero into a fresh SQLite store in a temporary directory (on disk, so a
log of millions of events needs little memory), and each table is compared with the
stored one row by row, both read in primary-key order in chunks (a streaming merge).
Each difference is reported with its table, key and column. Columns that do not come
from events (the signed OCSP responses and their times) are left out.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ca.applications.event_log import MEMORY, EventLog, StoreSettings
from projections.db import ReadModelDatabase
from projections.migrate import migrate
from projections.registry import read_models
from projections.runner import ProjectionRunner

__all__ = ["Difference", "ReplayReport", "replay_check", "NOT_FROM_EVENTS"]

# columns written by the processes, not by the projection
NOT_FROM_EVENTS = {"rm_ocsp_status": {"seq", "this_update", "next_update", "response_sha1",
                                      "response_sha256"}}
_CHUNK = 10_000
PARALLEL_FROM = 50_000  # events: a shorter log is replayed in this process alone
_HERE = ("ocsp", "authorities")  # replayed in this process; the others in a worker


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple[Any, ...]
    column: str        # "" when the whole row is on one side only
    stored: Any
    replayed: Any

    def __str__(self) -> str:
        key = ", ".join(str(part) for part in self.key)
        if not self.column:
            side = "stored read model" if self.replayed is None else "replay"
            return f"{self.table} ({key}): only in the {side}"
        return (f"{self.table} ({key}) {self.column}: stored {_show(self.stored)}, "
                f"replayed {_show(self.replayed)}")


@dataclass
class ReplayReport:
    position: int = 0
    rows: int = 0
    differences: list[Difference] = field(default_factory=list)
    more: int = 0  # differences beyond those listed

    @property
    def ok(self) -> bool:
        return not self.differences


def replay_check(log: EventLog, stored: ReadModelDatabase, *,
                 progress: Callable[[int, int], None] | None = None, limit: int = 100,
                 workers: int = 0) -> ReplayReport:
    """Replay every read model into a fresh store and compare it with ``stored``. With
    ``workers`` and a long log on SQLite, the models are split in two groups replayed at
    once, one here and one in a worker process (each reads the log)."""
    ProjectionRunner(log, stored, read_models()).catch_up()
    target = min(ProjectionRunner(log, stored, read_models()).positions().values())
    names = [model.name for model in read_models()]
    if not workers or target < PARALLEL_FROM or stored.dialect != "sqlite" \
            or log.store.database_url == MEMORY:
        # PostgreSQL: a second reading of the log costs the database as much again, and
        # it shares the machine; one process reads it once
        return _replay(log, stored, names, target, progress, limit)
    here = [name for name in names if name in _HERE]
    there = [name for name in names if name not in _HERE]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        other = pool.submit(_replay_elsewhere, log.store, stored.settings(), there, target,
                            limit)
        report = _replay(log, stored, here, target, progress, limit)
        theirs = other.result()
    report.rows += theirs.rows
    report.differences += theirs.differences
    report.more += theirs.more
    report.position = min(report.position, theirs.position)
    return report


def _replay_elsewhere(store: StoreSettings, database: dict[str, Any], names: list[str],
                      target: int, limit: int) -> ReplayReport:
    import domain  # noqa: F401 - registers every event topic

    log = EventLog(replace(store, pool_size=1, max_overflow=0))
    stored = ReadModelDatabase(**database)
    try:
        return _replay(log, stored, names, target, None, limit)
    finally:
        stored.close()
        log.close()


def _replay(log: EventLog, stored: ReadModelDatabase, names: Sequence[str], target: int,
            progress: Callable[[int, int], None] | None, limit: int) -> ReplayReport:
    """Models ``names`` replayed up to ``target`` into a fresh store, then compared."""
    report = ReplayReport()
    with tempfile.TemporaryDirectory(prefix="certledger-replay-") as directory:
        fresh = ReadModelDatabase(dialect="sqlite",
                                  sqlite_path=Path(directory) / "replay.sqlite3")
        try:
            migrate(fresh)
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
                           "cache_size=-65536"):  # a scratch store, one writer, no crash to survive
                fresh.query(f"PRAGMA {pragma}")
            models = [model for model in read_models() if model.name in names]
            runner = ProjectionRunner(log, fresh, models)
            position = 0
            while position < target and (batch := log.stored_page(position, target, 5000)):
                runner.apply(position, batch)
                position = batch[-1].id
                if progress:
                    progress(position, target)
            report.position = position
            for model in models:
                for table in (*model.tables, *model.kept_tables):
                    _compare(table, stored, fresh, report, limit)
        finally:
            fresh.close()
    return report


def _compare(table: str, stored: ReadModelDatabase, fresh: ReadModelDatabase,
             report: ReplayReport, limit: int) -> None:
    """Both tables in key order, a chunk at a time: equal chunks (the usual case) are
    compared in one step; around a difference, row by row."""
    info = fresh.query(f"PRAGMA table_info({table})")
    columns = [row[1] for row in info if row[1] not in NOT_FROM_EVENTS.get(table, ())]
    keys = [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]]
    text = {row[1] for row in info if str(row[2]).upper() == "TEXT"}
    index = [columns.index(key) for key in keys]
    mine = _chunks(stored, table, columns, keys, text)
    theirs = _chunks(fresh, table, columns, keys, text)
    left, right = next(mine, None), next(theirs, None)
    while left is not None or right is not None:
        if left is not None and left == right:
            report.rows += len(left)
            left, right = next(mine, None), next(theirs, None)
            continue
        i = j = 0
        while (left is None or i < len(left)) and (right is None or j < len(right)):
            a = None if left is None else left[i]
            b = None if right is None else right[j]
            if a is None and b is None:
                break
            report.rows += 1
            key_a = None if a is None else tuple(a[k] for k in index)
            key_b = None if b is None else tuple(b[k] for k in index)
            if key_b is None or (key_a is not None and key_a < key_b):
                _add(report, Difference(table, key_a or (), "", a, None), limit)
                i += 1
            elif key_a is None or key_b < key_a:
                _add(report, Difference(table, key_b, "", None, b), limit)
                j += 1
            else:
                assert a is not None and b is not None
                for name, x, y in zip(columns, a, b, strict=True):
                    if x != y:
                        _add(report, Difference(table, key_a, name, x, y), limit)
                i, j = i + 1, j + 1
        if left is not None and i >= len(left):
            left = next(mine, None)
        elif left is not None:
            left = left[i:]
        if right is not None and j >= len(right):
            right = next(theirs, None)
        elif right is not None:
            right = right[j:]


def _chunks(database: ReadModelDatabase, table: str, columns: Sequence[str],
            keys: Sequence[str], text: set[str]) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows in key order (text keys in code-point order on both databases),
    a chunk at a time."""
    collate = ' COLLATE "C"' if database.dialect == "postgres" else ""
    order = ", ".join(f"{key}{collate if key in text else ''}" for key in keys)
    with database.snapshot() as tx:
        for chunk in tx.iterate(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}",
                                (), _CHUNK):
            if any(isinstance(value, memoryview) for value in chunk[0]):
                chunk = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                         for row in chunk]
            yield [tuple(row) for row in chunk]


def _add(report: ReplayReport, difference: Difference, limit: int) -> None:
    if len(report.differences) < limit:
        report.differences.append(difference)
    else:
        report.more += 1


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes {value[:8].hex()}…>"
    return repr(value)
