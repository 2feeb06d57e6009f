"""How CertLedger talks to the event store: environment for eventsourcing, transcodings.

SQLite files under a data directory by default; PostgreSQL (psycopg 3) when the
database URL says ``postgresql://``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.persistence import Transcoding

__all__ = ["event_store_environment", "BytesAsBase64"]


class BytesAsBase64(Transcoding):
    """DER and other binary values in events, as base64 text inside the JSON."""

    type = bytes
    name = "b64"

    def encode(self, obj: bytes) -> str:
        return base64.b64encode(obj).decode()

    def decode(self, data: str) -> bytes:
        return base64.b64decode(data)


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
