"""Read-model storage: one small connection wrapper over sqlite3 and psycopg (pooled).

SQLite: ``<data_dir>/readmodels.sqlite3`` (apart from the event store, so
projection writes never wait on event writes). PostgreSQL: the event store's
database and schema, tables prefixed ``rm_``. SQL is written with ``?``
placeholders; the PostgreSQL side turns them into ``%s``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

__all__ = ["ReadModelDatabase", "Transaction", "open_read_model_database"]


class Transaction(Protocol):
    """What a read model may do inside the runner's transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


class _SQLiteTransaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._connection.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._connection.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._connection.execute(sql, tuple(params)).fetchall()

    def iterate(self, sql: str, params: Sequence[Any] = (),
                size: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """The rows in chunks of ``size``, so a large read never holds every row at once."""
        cursor = self._connection.execute(sql, tuple(params))
        while chunk := cursor.fetchmany(size):
            yield chunk


class _PostgresTransaction:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(sql.replace("?", "%s"), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(sql.replace("?", "%s"), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(sql.replace("?", "%s"), tuple(params))
        return self._cursor.fetchall()

    def iterate(self, sql: str, params: Sequence[Any] = (),
                size: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """The rows in chunks of ``size`` (see the SQLite twin), through a server-side
        cursor, so the client never buffers the whole result."""
        with self._cursor.connection.cursor(name="certledger_iterate") as cursor:
            cursor.itersize = size
            cursor.execute(sql.replace("?", "%s"), tuple(params))
            while chunk := cursor.fetchmany(size):
                yield chunk


class ReadModelDatabase:
    """Opens transactions on the read-model store. Thread-safe.

    SQLite: one connection per thread. PostgreSQL: a bounded pool of ``pool_size``
    connections (opened as needed; ``acquire_timeout`` seconds to get one, else
    ``psycopg_pool.PoolTimeout``), each holding the read-model schema on its search path.
    """

    def __init__(self, *, dialect: str, sqlite_path: Path | None = None,
                 postgres_url: str | None = None, schema: str | None = None,
                 pool_size: int = 4, acquire_timeout: float = 10.0,
                 connect_timeout: int = 5, statement_timeout: float = 0) -> None:
        self.dialect = dialect
        self._sqlite_path = sqlite_path
        self._postgres_url = postgres_url
        self.schema = schema
        self._local = threading.local()
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        self._pool_size = pool_size
        self._acquire_timeout = acquire_timeout
        self._connect_timeout = connect_timeout
        self._statement_timeout = statement_timeout
        self._closed = False

    def settings(self) -> dict[str, Any]:
        """What opens this store again elsewhere (another process), with one connection."""
        return {"dialect": self.dialect, "sqlite_path": self._sqlite_path,
                "postgres_url": self._postgres_url, "schema": self.schema, "pool_size": 1,
                "acquire_timeout": self._acquire_timeout,
                "connect_timeout": self._connect_timeout}

    def _sqlite_connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            assert self._sqlite_path is not None
            self._sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self._sqlite_path, timeout=30, isolation_level=None,
                                         check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def _postgres_pool(self) -> Any:
        with self._pool_lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                schema = self.schema
                assert self._postgres_url is not None

                def configure(connection: Any) -> None:
                    if schema:
                        connection.execute(f'SET search_path TO "{schema}"')
                        connection.commit()

                kwargs: dict[str, Any] = {"autocommit": False,
                                          "connect_timeout": self._connect_timeout}
                if self._statement_timeout > 0:
                    kwargs["options"] = \
                        f"-c statement_timeout={int(self._statement_timeout * 1000)}"
                self._pool = ConnectionPool(
                    self._postgres_url, min_size=0, max_size=self._pool_size,
                    timeout=self._acquire_timeout, configure=configure, open=True,
                    check=ConnectionPool.check_connection, name="certledger-read-models",
                    kwargs=kwargs)
            return self._pool

    @contextmanager
    def _postgres_connection(self) -> Iterator[Any]:
        with self._postgres_pool().connection() as connection:
            yield connection

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """All or nothing: rows and tracking position commit together."""
        if self.dialect == "sqlite":
            connection = self._sqlite_connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteTransaction(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return
        with self._postgres_connection() as pg:
            try:
                with pg.cursor() as cursor:
                    yield _PostgresTransaction(cursor)
            except BaseException:
                pg.rollback()
                raise
            pg.commit()

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A read-only transaction whose reads all see one committed state.

        For reads that must agree with each other (a tracked position and the rows it
        covers) without blocking writers: SQLite's deferred transaction in WAL mode,
        PostgreSQL's REPEATABLE READ. The object yielded also has ``iterate``.
        """
        if self.dialect == "sqlite":
            connection = self._sqlite_connection()
            connection.execute("BEGIN")
            try:
                yield _SQLiteTransaction(connection)
            finally:
                connection.execute("ROLLBACK")
            return
        with self._postgres_connection() as pg:
            try:
                with pg.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    yield _PostgresTransaction(cursor)
            finally:
                pg.rollback()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read outside any write transaction."""
        if self.dialect == "sqlite":
            rows = self._sqlite_connection().execute(sql, tuple(params)).fetchall()
            return rows  # type: ignore[no-any-return]
        with self._postgres_connection() as pg:
            with pg.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), tuple(params))
                rows = cursor.fetchall()
            pg.commit()
        return rows  # type: ignore[no-any-return]

    @property
    def postgres_url(self) -> str | None:
        return self._postgres_url

    @property
    def sqlite_path(self) -> Path | None:
        return self._sqlite_path

    def pool_stats(self) -> dict[str, int]:
        """The pool's use (PostgreSQL; empty for SQLite): psycopg_pool's own figures."""
        pool = self._pool
        return dict(pool.get_stats()) if pool is not None else {}

    def reset(self) -> None:
        """Drop this thread's connection (SQLite), after an error; the pool (PostgreSQL)
        checks its connections itself."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def close(self) -> None:
        """Close this thread's SQLite connection, or the PostgreSQL pool for good."""
        self.reset()
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def open_read_model_database(database_url: str | None, data_dir: Path, *, pool_size: int = 4,
                             acquire_timeout: float = 10.0, connect_timeout: int = 5,
                             statement_timeout: float = 0) -> ReadModelDatabase:
    """The read-model store that goes with an event store URL (None: SQLite in data_dir)."""
    if not database_url or database_url.startswith("sqlite") or database_url == "memory:":
        return ReadModelDatabase(dialect="sqlite",
                                 sqlite_path=Path(data_dir) / "readmodels.sqlite3")
    url = urlparse(database_url)
    schema = parse_qs(url.query).get("schema", [None])[0]
    plain = url._replace(query="").geturl()
    return ReadModelDatabase(dialect="postgres", postgres_url=plain, schema=schema,
                             pool_size=pool_size, acquire_timeout=acquire_timeout,
                             connect_timeout=connect_timeout,
                             statement_timeout=statement_timeout)
