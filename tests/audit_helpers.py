"""Helpers for the audit tests: a log with signed tree heads, the CLI in process, and the
event store opened behind the CA's back (what a tamperer with the database does)."""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from api.bootstrap import CertLedger
from api.cli import main
from api.settings import Settings
from ca.applications.tree_heads import AuditSettings
from tests.conftest import PASSPHRASE, POSTGRES_URL, build_ledger, with_hierarchy

__all__ = ["audited_settings", "audited_ledger", "sign_heads", "RawLog", "cli", "Cli"]


def audited_settings(settings: Settings) -> Settings:
    """Settings whose tree heads are also written to DATA_DIR/tree-heads."""
    return replace(settings, audit=AuditSettings(heads_dir=settings.data_dir / "tree-heads"))


def audited_ledger(settings: Settings) -> CertLedger:
    return with_hierarchy(build_ledger(audited_settings(settings)))


def sign_heads(ledger: CertLedger) -> list[Any]:
    """Project the log and sign a tree head over all of it now (what the process does
    when one is due), then write the head files."""
    read = ledger.read
    read.runner.catch_up()
    heads = read.tree_heads.sign()
    read.runner.catch_up()
    read.head_signing.write_files()
    return heads


class Cli:
    """``certledger ...`` run in this process against one data directory."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CERTLEDGER_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("CERTLEDGER_KEY_PASSPHRASE", PASSPHRASE.decode())
        if settings.database_url:
            monkeypatch.setenv("CERTLEDGER_DATABASE_URL", settings.database_url)
        else:
            monkeypatch.delenv("CERTLEDGER_DATABASE_URL", raising=False)
        if settings.audit.heads_dir is not None:
            monkeypatch.setenv("CERTLEDGER_AUDIT_HEADS_DIR", str(settings.audit.heads_dir))

    def __call__(self, *argv: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = main(list(argv))
        return status, out.getvalue()


@contextlib.contextmanager
def cli(settings: Settings) -> Iterator[Cli]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield Cli(settings, monkeypatch)


class RawLog:
    """The event store's table, opened with SQL: rows by position, changed by hand."""

    def __init__(self, settings: Settings) -> None:
        self.postgres = bool(settings.database_url)
        if self.postgres:
            schema = settings.database_url.split("schema=")[1]  # type: ignore[union-attr]
            self._connection: Any = psycopg.connect(POSTGRES_URL, autocommit=True)
            self._connection.execute(f'SET search_path TO "{schema}"')
            self.table, self.id = "certledger_events", "notification_id"
        else:
            self._connection = sqlite3.connect(Path(settings.data_dir) / "events.sqlite3",
                                               isolation_level=None)
            self.table, self.id = "stored_events", "rowid"

    def close(self) -> None:
        self._connection.close()

    def _sql(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.postgres:
            sql = sql.replace("?", "%s")
        cursor = self._connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []

    def rows(self) -> list[tuple[int, Any, int, str, bytes]]:
        """(position, aggregate id, version, topic, state) of every event, in order."""
        return [(int(p), o, int(v), t, bytes(s)) for p, o, v, t, s in self._sql(
            f"SELECT {self.id}, originator_id, originator_version, topic, state"
            f" FROM {self.table} ORDER BY {self.id}")]

    def position_of(self, topic: str, nth: int = 0) -> int:
        return [row[0] for row in self.rows() if row[3] == topic][nth]

    def state(self, position: int) -> bytes:
        return bytes(self._sql(f"SELECT state FROM {self.table} WHERE {self.id} = ?",
                               (position,))[0][0])

    def set_state(self, position: int, state: bytes) -> None:
        self._sql(f"UPDATE {self.table} SET state = ? WHERE {self.id} = ?", (state, position))

    def delete(self, position: int) -> None:
        self._sql(f"DELETE FROM {self.table} WHERE {self.id} = ?", (position,))

    def move(self, old: int, new: int) -> None:
        self._sql(f"UPDATE {self.table} SET {self.id} = ? WHERE {self.id} = ?", (new, old))

    def swap(self, first: int, second: int) -> None:
        self.move(first, 10**9)
        self.move(second, first)
        self.move(10**9, second)

    def insert(self, position: int, aggregate_id: UUID, version: int, topic: str,
               state: bytes) -> None:
        """A forged event at ``position``; the events from there on move one on."""
        self._sql(f"UPDATE {self.table} SET {self.id} = {self.id} + 1000000000"
                  f" WHERE {self.id} >= ?", (position,))
        self._sql(f"UPDATE {self.table} SET {self.id} = {self.id} - 999999999"
                  f" WHERE {self.id} >= 1000000000")
        stored_id: Any = aggregate_id if self.postgres else aggregate_id.hex
        self._sql(f"INSERT INTO {self.table} ({self.id}, originator_id, originator_version,"
                  " topic, state) VALUES (?, ?, ?, ?, ?)",
                  (position, stored_id, version, topic, state))


def no_postgres_env() -> dict[str, str]:
    """The environment of a process that knows nothing of the CA's stores."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith("CERTLEDGER_")}
