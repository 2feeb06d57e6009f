"""The event store on PostgreSQL, failing fast when the database is away.

eventsourcing's PostgreSQL recorder retries every read and write ten times, 0.2 s apart,
each waiting for a pooled connection as long as its connect timeout (which it also uses
as the pool's wait): with the server unreachable a request hung for minutes. Here:

- connections are made with ``connect_timeout`` and a server-side ``statement_timeout``;
- waiting for a pooled connection is bounded by ``pool_timeout`` (not the connect
  timeout), and the pool's size is the settings';
- a call is tried at most twice (once more for a connection that broke under it), so a
  command fails within about ``2 x pool_timeout`` and the API answers 503.

Selected by the event log's environment (``PERSISTENCE_MODULE``); nothing else changes.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)
from eventsourcing.utils import retry

__all__ = ["FailFastPostgresFactory", "FailFastRecorder", "FailFastSnapshotRecorder",
           "POOL_TIMEOUT", "STATEMENT_TIMEOUT"]

POOL_TIMEOUT = "CERTLEDGER_POOL_TIMEOUT"            # keys of the event log's environment
STATEMENT_TIMEOUT = "CERTLEDGER_STATEMENT_TIMEOUT"
_TRANSIENT = (InterfaceError, OperationalError)


def _fail_fast(method: Any) -> Any:
    """The library's method without its ten retries, with two tries instead."""
    return retry(_TRANSIENT, max_attempts=2, wait=0.05)(method.__wrapped__)


class FailFastSnapshotRecorder(PostgresAggregateRecorder):
    """The snapshots' recorder (every load of a CA reads it first)."""

    insert_events = _fail_fast(PostgresAggregateRecorder.insert_events)
    select_events = _fail_fast(PostgresAggregateRecorder.select_events)


class FailFastRecorder(PostgresApplicationRecorder):
    insert_events = _fail_fast(PostgresApplicationRecorder.insert_events)
    select_events = _fail_fast(PostgresApplicationRecorder.select_events)
    select_notifications = _fail_fast(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _fail_fast(PostgresApplicationRecorder.max_notification_id)


class FailFastPostgresFactory(PostgresFactory):
    aggregate_recorder_class = FailFastSnapshotRecorder
    application_recorder_class = FailFastRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        pool = self.datastore.pool  # made, not opened: nothing is connected yet
        connect_timeout = self.env.get(self.POSTGRES_CONNECT_TIMEOUT) or "5"
        statement_ms = int(float(self.env.get(STATEMENT_TIMEOUT) or "0") * 1000)
        assert isinstance(pool.kwargs, dict)
        pool.kwargs["connect_timeout"] = int(connect_timeout)
        if statement_ms > 0:
            pool.kwargs["options"] = f"-c statement_timeout={statement_ms}"
        pool.timeout = float(self.env.get(POOL_TIMEOUT) or connect_timeout)
