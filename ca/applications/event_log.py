"""How CertLedger talks to the event store: environment for eventsourcing, transcodings.

SQLite files under a data directory by default; PostgreSQL (psycopg 3) when the
database URL says ``postgresql://``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.persistence import Transcoding

from domain.authority import CrlRecord

__all__ = ["event_store_environment", "BytesAsBase64", "CrlRecordAsDict",
           "event_store_setup_lock", "events_with_topics"]

# same in every process that sets up this event store; distinct from the read models' lock
_SETUP_LOCK_KEY = 0x43_45_52_54_45_56_54  # "CERTEVT"


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
        return dict(vars(obj))

    def decode(self, data: dict[str, Any]) -> CrlRecord:
        return CrlRecord(**data)


def event_store_environment(database_url: str | None, data_dir: Path) -> dict[str, Any]:
    """The eventsourcing settings for a database URL (None: SQLite in ``data_dir``)."""
    if not database_url or database_url.startswith("sqlite"):
        path = (urlparse(database_url).path if database_url else "") or str(
            Path(data_dir) / "events.sqlite3")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path,
                "SQLITE_LOCK_TIMEOUT": "10"}
    url = urlparse(database_url)
    if url.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"unsupported database URL scheme {url.scheme!r} "
                         "(use postgresql://... or leave it unset for SQLite)")
    query = parse_qs(url.query)
    env = {"PERSISTENCE_MODULE": "eventsourcing.postgres",
           "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
           "POSTGRES_HOST": url.hostname or "127.0.0.1",
           "POSTGRES_PORT": str(url.port or 5432),
           "POSTGRES_USER": unquote(url.username or "postgres"),
           "POSTGRES_PASSWORD": unquote(url.password or ""),
           "POSTGRES_POOL_SIZE": query.get("pool_size", ["5"])[0],
           "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", ["10"])[0]}
    if "schema" in query:
        env["POSTGRES_SCHEMA"] = query["schema"][0]
    return env


@contextmanager
def event_store_setup_lock(environment: dict[str, Any]) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while the event store's tables and functions are made.

    eventsourcing creates them with ``CREATE ... IF NOT EXISTS`` / ``CREATE OR REPLACE``,
    which PostgreSQL does not make safe against itself: two workers starting at once fail
    with "tuple concurrently updated". SQLite needs nothing.
    """
    if environment.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    import psycopg

    connection = psycopg.connect(
        dbname=environment["POSTGRES_DBNAME"], host=environment["POSTGRES_HOST"],
        port=environment["POSTGRES_PORT"], user=environment["POSTGRES_USER"],
        password=environment["POSTGRES_PASSWORD"] or None, autocommit=True, connect_timeout=10)
    with connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))


def events_with_topics(app: Any, topics: Sequence[str], *, page: int = 500) -> Iterator[Any]:
    """Every stored event whose topic is one of ``topics``, in log order, a page at a time."""
    position = 0
    while batch := app.recorder.select_notifications(start=position + 1, limit=page,
                                                     topics=list(topics)):
        for notification in batch:
            yield app.mapper.to_domain_event(notification)
        position = batch[-1].id
