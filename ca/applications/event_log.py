"""The one event log: CertLedger's eventsourcing Application, its storage and codecs.

Every aggregate (certificates, CAs, responders, tokens, claims) lives in this one log,
so one notification sequence orders everything the CA ever did. SQLite files under a
data directory by default, PostgreSQL (psycopg 3) for ``postgresql://`` URLs, and the
library's in-memory store for ``memory:`` (unit tests). The application's name stays
``certledger``: the PostgreSQL table names derive from it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import parse_qs, unquote, urlparse
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.authority import CertificateAuthority, CrlKind, CrlRecord

__all__ = ["EventLog", "StoreSettings", "BytesAsBase64", "CrlRecordAsDict", "MEMORY",
           "offline_log", "StoredRow"]

A = TypeVar("A", bound=Aggregate)
MEMORY = "memory:"
# same in every process that sets up this event store; distinct from the read models' lock
_SETUP_LOCK_KEY = 0x43_45_52_54_45_56_54  # "CERTEVT"


@dataclass(frozen=True)
class StoreSettings:
    """Where the log is and how this process connects to it. ``database_url``: None for
    SQLite in ``data_dir``, ``postgresql://...[?schema=s]``, or ``memory:``."""

    data_dir: Path
    database_url: str | None = None
    pool_size: int = 5        # PostgreSQL connections kept open by this process
    max_overflow: int = 10    # ... and how many more it may open under load
    connect_timeout: int = 5  # seconds
    pool_timeout: float = 0.75     # seconds to wait for a pooled connection
    statement_timeout: float = 0   # seconds a statement may run on the server (0: no limit)


class StoredRow(NamedTuple):
    """One event as stored, at its position in the log (what the library's notifications
    hold)."""

    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class BytesAsBase64(Transcoding):
    """DER and other binary values in events, as base64 text inside the JSON."""

    type = bytes
    name = "b64"

    def encode(self, obj: bytes) -> str:
        return base64.b64encode(obj).decode()

    def decode(self, data: str) -> bytes:
        return base64.b64decode(data)


class CrlRecordAsDict(Transcoding):
    """A CA's memory of an issued CRL, as it appears in CA snapshots."""

    type = CrlRecord
    name = "crl_record"

    def encode(self, obj: CrlRecord) -> dict[str, Any]:
        return {**vars(obj), "kind": str(obj.kind)}

    def decode(self, data: dict[str, Any]) -> CrlRecord:
        return CrlRecord(**{**data, "kind": CrlKind(data["kind"])})


class EventLog(Application):
    """Saves aggregates, reads them back, and reads the log in order."""

    name = "certledger"
    # a CA gains two events per CRL publication; certificates stay short
    snapshotting_intervals = {CertificateAuthority: 100}

    def __init__(self, store: StoreSettings) -> None:
        self.store = store
        environment = _environment(store)
        with _setup_lock(environment):
            super().__init__(env=environment)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(BytesAsBase64())
        transcoder.register(CrlRecordAsDict())

    def load(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate, if it exists and is a ``kind`` (None otherwise)."""
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def has(self, aggregate_id: UUID) -> bool:
        """Whether an aggregate with this id has been saved (any kind)."""
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def head(self) -> int:
        """The position of the last event in the log (0 when it is empty)."""
        return int(self.recorder.max_notification_id() or 0)

    def read(self, after: int = 0, *, topics: Sequence[str] = (), page: int = 500
             ) -> Iterator[tuple[int, Any]]:
        """(position, decoded event) after ``after`` in log order (only ``topics`` if given),
        a page at a time."""
        position = after
        while batch := self.recorder.select_notifications(start=position + 1, limit=page,
                                                          topics=list(topics)):
            for notification in batch:
                yield notification.id, self.mapper.to_domain_event(notification)
            position = batch[-1].id

    def stored(self, after: int = 0, *, stop: int | None = None, page: int = 1000
               ) -> Iterator[Any]:
        """The events exactly as stored (``id``, ``originator_id``, ``originator_version``,
        ``topic``, ``state``) after ``after`` up to ``stop``, in log order, a page at a
        time; nothing is decoded."""
        position = after
        while batch := self.stored_page(position, stop, page):
            yield from batch
            position = batch[-1].id

    def stored_page(self, after: int, stop: int | None, limit: int) -> Sequence[Any]:
        """At most ``limit`` events as stored after position ``after`` up to ``stop``.

        Read with one plain query on SQLite and PostgreSQL (the library's tables, as laid
        out by eventsourcing 9.5): the long passes of an audit read millions of events,
        and the library's reader builds a dictionary and a frozen dataclass per row."""
        from eventsourcing.postgres import PostgresApplicationRecorder
        from eventsourcing.sqlite import SQLiteApplicationRecorder

        recorder, last = self.recorder, (1 << 63) - 1 if stop is None else stop
        if isinstance(recorder, SQLiteApplicationRecorder):
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(f"SELECT rowid, originator_id, originator_version, topic, state"
                               f" FROM {recorder.events_table_name} WHERE rowid > ? AND"
                               " rowid <= ? ORDER BY rowid LIMIT ?", (after, last, limit))
                return [StoredRow(row[0], UUID(row[1]), row[2], row[3], row[4])
                        for row in cursor.fetchall()]
        if isinstance(recorder, PostgresApplicationRecorder):
            from psycopg.rows import tuple_row
            from psycopg.sql import SQL, Identifier

            statement = SQL("SELECT notification_id, originator_id, originator_version, topic,"
                            " state FROM {}.{} WHERE notification_id > %s AND notification_id"
                            " <= %s ORDER BY notification_id LIMIT %s").format(
                Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
            with recorder.datastore.get_connection() as connection, \
                    connection.cursor(row_factory=tuple_row) as cursor:
                cursor.execute(statement, (after, last, limit))
                rows = [StoredRow(*row) for row in cursor.fetchall()]
                connection.rollback()
                return rows
        return recorder.select_notifications(start=after + 1, limit=limit, stop=stop)

    def positions_of(self, aggregate_id: UUID) -> list[int]:
        """The positions of one aggregate's events, by its id (an index lookup on SQLite
        and PostgreSQL, whose tables the library lays out as read here)."""
        from eventsourcing.postgres import PostgresApplicationRecorder
        from eventsourcing.sqlite import SQLiteApplicationRecorder

        recorder = self.recorder
        if isinstance(recorder, SQLiteApplicationRecorder):
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(f"SELECT rowid FROM {recorder.events_table_name} WHERE"
                               " originator_id IN (?, ?) ORDER BY rowid",
                               (aggregate_id.hex, str(aggregate_id)))
                return [int(row[0]) for row in cursor.fetchall()]
        if isinstance(recorder, PostgresApplicationRecorder):
            from psycopg.sql import SQL, Identifier

            statement = SQL("SELECT notification_id FROM {}.{} WHERE originator_id = %s"
                            " ORDER BY notification_id").format(
                Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(statement, (aggregate_id,))
                return [int(row["notification_id"]) for row in cursor.fetchall()]
        return [n.id for n in self.stored() if n.originator_id == aggregate_id]

    def decode(self, stored: Any) -> Any:
        """A stored event (as :meth:`stored` gives it) decoded by this log's mapper."""
        return self.mapper.to_domain_event(stored)

    def event_at(self, position: int) -> Any | None:
        """The event stored at ``position`` (None if there is none)."""
        batch = self.recorder.select_notifications(start=position, limit=1)
        if not batch or batch[0].id != position:
            return None
        return self.mapper.to_domain_event(batch[0])


def offline_log() -> EventLog:
    """A log with no store of its own, to decode stored events read elsewhere (an
    export) with the application's own mapper."""
    return EventLog(StoreSettings(data_dir=Path("."), database_url=MEMORY))


def _environment(store: StoreSettings) -> dict[str, Any]:
    """The eventsourcing settings for the store."""
    url = store.database_url
    if url == MEMORY:
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if not url or url.startswith("sqlite"):
        path = (urlparse(url).path if url else "") or str(Path(store.data_dir) /
                                                          "events.sqlite3")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path,
                "SQLITE_LOCK_TIMEOUT": "10"}
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"unsupported database URL scheme {parsed.scheme!r} "
                         "(use postgresql://... or leave it unset for SQLite)")
    query = parse_qs(parsed.query)
    environment = {
        # the library's store, failing within about two pool timeouts when the server is away
        "PERSISTENCE_MODULE": "ca.applications.postgres_store:FailFastPostgresFactory",
        "POSTGRES_DBNAME": parsed.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": unquote(parsed.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parsed.password or ""),
        "POSTGRES_POOL_SIZE": str(store.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(store.max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": str(store.connect_timeout),
        "CERTLEDGER_POOL_TIMEOUT": str(store.pool_timeout),
        "CERTLEDGER_STATEMENT_TIMEOUT": str(store.statement_timeout)}
    if "schema" in query:
        environment["POSTGRES_SCHEMA"] = query["schema"][0]
    return environment


@contextmanager
def _setup_lock(environment: dict[str, Any]) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while the event store's tables and functions are made.

    eventsourcing creates them with ``CREATE ... IF NOT EXISTS`` / ``CREATE OR REPLACE``,
    which PostgreSQL does not make safe against itself: two workers starting at once fail
    with "tuple concurrently updated". SQLite and memory need nothing.
    """
    if "postgres" not in environment.get("PERSISTENCE_MODULE", ""):
        yield
        return
    import psycopg

    connection = psycopg.connect(
        dbname=environment["POSTGRES_DBNAME"], host=environment["POSTGRES_HOST"],
        port=environment["POSTGRES_PORT"], user=environment["POSTGRES_USER"],
        password=environment["POSTGRES_PASSWORD"] or None, autocommit=True,
        connect_timeout=int(environment["POSTGRES_CONNECT_TIMEOUT"]))
    with connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
