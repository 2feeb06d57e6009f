"""Read-model migrations: ``migrations/<dialect>/NNN_name.sql``, applied once each, in order.

Applied names are recorded in ``rm_migrations``. All pending files are applied in one
transaction under a lock (a PostgreSQL advisory lock; SQLite's ``BEGIN IMMEDIATE``), so
several API workers starting at once apply each file exactly once and none of them sees
half a schema. Files are plain SQL; statements are separated by ``;`` and ``--`` starts a
comment (so neither may appear inside a string literal).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import migrations
from projections.db import ReadModelDatabase, Transaction

__all__ = ["migrate", "migration_files", "split_statements", "applied_migrations"]

log = logging.getLogger("certledger.migrate")

_DIRECTORY = Path(migrations.__file__).resolve().parent
_NAME = re.compile(r"^\d{3}_[a-z0-9_]+\.sql$")
# any constant will do: it only has to be the same in every process migrating this database
_ADVISORY_LOCK_KEY = 0x43_45_52_54_4C_45_44  # "CERTLED"


def migration_files(dialect: str, directory: Path = _DIRECTORY) -> list[Path]:
    """The dialect's migration files, in the order they apply (by their number)."""
    folder = directory / ("postgres" if dialect == "postgres" else "sqlite")
    return sorted(path for path in folder.glob("*.sql") if _NAME.match(path.name))


def split_statements(sql: str) -> list[str]:
    """The statements of a migration file, comments dropped."""
    text = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [statement.strip() for statement in text.split(";") if statement.strip()]


def _ensure_table(tx: Transaction) -> None:
    tx.execute("CREATE TABLE IF NOT EXISTS rm_migrations ("
               " name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")


def applied_migrations(database: ReadModelDatabase) -> list[str]:
    with database.transaction() as tx:
        _ensure_table(tx)
        return [row[0] for row in tx.query("SELECT name FROM rm_migrations ORDER BY name")]


def _check_encoding(tx: Transaction) -> None:
    """Refuse a PostgreSQL database that is not UTF8: names, reasons and addresses are
    Chinese text, which SQL_ASCII or LATIN1 would mangle or refuse."""
    value = tx.query("SHOW server_encoding")[0][0]
    encoding = value.decode("ascii") if isinstance(value, bytes) else str(value)
    if encoding.upper() not in ("UTF8", "UTF-8"):
        raise ValueError(f"the PostgreSQL database's encoding is {encoding}; CertLedger needs "
                         "UTF8 (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)")


def migrate(database: ReadModelDatabase, directory: Path = _DIRECTORY) -> list[str]:
    """Apply the pending migrations; returns the names applied now (empty: up to date)."""
    files = migration_files(database.dialect, directory)
    with database.transaction() as tx:
        if database.dialect == "postgres":
            _check_encoding(tx)
            tx.query("SELECT pg_advisory_xact_lock(?)", (_ADVISORY_LOCK_KEY,))
        _ensure_table(tx)
        done = {row[0] for row in tx.query("SELECT name FROM rm_migrations")}
        applied = []
        for path in files:
            if path.name in done:
                continue
            for statement in split_statements(path.read_text(encoding="utf-8")):
                tx.execute(statement)
            tx.execute("INSERT INTO rm_migrations (name, applied_at) VALUES (?, ?)",
                       (path.name, datetime.now(UTC).isoformat()))
            applied.append(path.name)
    for name in applied:
        log.info("read-model migration %s applied", name)
    return applied
