"""The projection runner: exactly once, crash and resume, rebuild, several runners, following
the log (PostgreSQL's subscription, SQLite's polling). On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg
import pytest

from api.bootstrap import CertLedger
from domain.reasons import RevocationReason
from projections.base import ReadModel
from projections.crl_entries import CrlReadModel
from projections.db import ReadModelDatabase, Transaction, open_read_model_database
from projections.following import Follower
from projections.migrate import applied_migrations, migrate, migration_files
from projections.runner import ProjectionRunner
from tests.conftest import OFFICER, POSTGRES_URL
from tests.crl_helpers import issue, table_dump


class Ledger(ReadModel):
    """Writes one row per event it sees; a second row for one position would be a key
    violation, so doing an event twice cannot pass unnoticed."""

    name = "ledger"
    tables = ("rm_test_ledger",)
    topics = frozenset({"certledger:Certificate.Applied:v1", "certledger:Certificate.Issued:v1",
                        "certledger:Certificate.Revoked:v1"})

    def process(self, tx: Transaction, event: Any, position: int) -> None:
        tx.execute("INSERT INTO rm_test_ledger (position, topic) VALUES (?, ?)",
                   (position, type(event).TOPIC))


class Crashing(CrlReadModel):
    """The CRL read model, failing on its ``crash_at``-th event."""

    def __init__(self, crash_at: int) -> None:
        super().__init__()
        self.seen, self.crash_at = 0, crash_at

    def process(self, tx: Transaction, event: Any, position: int) -> None:
        self.seen += 1
        if self.seen == self.crash_at:
            raise RuntimeError("power cut")
        super().process(tx, event, position)


_opened: list[ReadModelDatabase] = []


@pytest.fixture(autouse=True)
def _close_databases() -> Any:
    yield
    while _opened:
        _opened.pop().close()


def _database(ledger: CertLedger) -> ReadModelDatabase:
    database = open_read_model_database(ledger.settings.database_url, ledger.settings.data_dir)
    _opened.append(database)
    migrate(database)
    with database.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS rm_test_ledger ("
                   " position BIGINT PRIMARY KEY, topic TEXT NOT NULL)")
    return database


def _history(ledger: CertLedger, count: int = 3) -> None:
    for index in range(count):
        certificate = issue(ledger, f"h{index}")
        if index % 2 == 0:
            ledger.certificates.revoke(OFFICER, certificate.id, RevocationReason.KEY_COMPROMISE)


def _ledger(database: ReadModelDatabase) -> list[tuple[Any, ...]]:
    return sorted(database.query("SELECT position, topic FROM rm_test_ledger"))


def test_migrations_apply_once(ledger: CertLedger) -> None:
    database = _database(ledger)
    assert migrate(database) == []  # applied already by _database
    names = [path.name for path in migration_files(database.dialect)]
    assert names[:2] == ["001_tracking.sql", "002_crl.sql"]
    assert applied_migrations(database) == names


def test_each_event_once_position_with_rows_and_a_batch_twice_changes_nothing(
        ledger: CertLedger) -> None:
    _history(ledger)
    database = _database(ledger)
    runner = ProjectionRunner(ledger.log, database, [Ledger(), CrlReadModel()], batch_size=4)
    runner.catch_up()
    head = runner.head()
    assert runner.positions() == {"ledger": head, "crl": head}
    wanted = [(n.id, n.topic) for n in ledger.log.recorder.select_notifications(start=1, limit=999)
              if n.topic in Ledger.topics]
    assert _ledger(database) == wanted
    before = table_dump(database)

    batch = ledger.log.recorder.select_notifications(start=1, limit=6)
    assert runner.apply(0, batch) == 0  # both models are past it: nothing is done again
    assert _ledger(database) == wanted and table_dump(database) == before
    assert runner.positions() == {"ledger": head, "crl": head}


def test_a_crash_between_events_resumes_to_what_a_rebuild_gives(ledger: CertLedger) -> None:
    _history(ledger, 4)
    database = _database(ledger)
    crashing = ProjectionRunner(ledger.log, database, [Crashing(crash_at=7)], batch_size=3)
    with pytest.raises(RuntimeError, match="power cut"):
        crashing.catch_up()
    stopped_at = crashing.positions()["crl"]
    assert 0 < stopped_at < crashing.head()  # the batches before the crash committed

    restarted = ProjectionRunner(ledger.log, database, [CrlReadModel()], batch_size=3)
    restarted.catch_up()
    resumed = table_dump(database)
    restarted.rebuild("crl")
    assert table_dump(database) == resumed
    assert restarted.positions()["crl"] == restarted.head()
    assert len(resumed["rm_crl_entries"]) == 2


def test_a_partial_run_then_a_new_process_equals_a_rebuild(ledger: CertLedger) -> None:
    _history(ledger, 3)
    database = _database(ledger)
    first = ProjectionRunner(ledger.log, database, [CrlReadModel(), Ledger()], batch_size=2)
    assert first.run_once() == 2
    second = ProjectionRunner(ledger.log, _database(ledger), [CrlReadModel(), Ledger()])
    second.catch_up()
    resumed, ledger = table_dump(database), _ledger(database)
    second.rebuild("crl")
    second.rebuild("ledger")
    assert table_dump(database) == resumed and _ledger(database) == ledger


def test_two_runners_at_once_do_every_event_exactly_once(ledger: CertLedger) -> None:
    _history(ledger, 4)
    runners = [ProjectionRunner(ledger.log, _database(ledger), [Ledger(), CrlReadModel()],
                                batch_size=2) for _ in range(2)]
    errors: list[BaseException] = []

    def run(runner: ProjectionRunner) -> None:
        try:
            runner.catch_up()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(runner,)) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    database = runners[0].database
    assert len(_ledger(database)) == len({p for p, _ in _ledger(database)})
    assert runners[0].positions() == {"ledger": runners[0].head(), "crl": runners[0].head()}
    dump = table_dump(database)
    runners[0].rebuild("crl")
    assert table_dump(database) == dump


def test_a_position_gone_back_is_never_skipped_over(ledger: CertLedger) -> None:
    _history(ledger, 2)
    database = _database(ledger)
    runner = ProjectionRunner(ledger.log, database, [Ledger()])
    later = ledger.log.recorder.select_notifications(start=5, limit=100)
    with pytest.raises(Exception, match="batch starts after"):
        runner.apply(4, later)  # the model is at 0: events 1-4 were never read here
    assert runner.positions()["ledger"] == 0 and _ledger(database) == []


def test_the_runner_thread_follows_the_log(ledger: CertLedger) -> None:
    database = _database(ledger)
    runner = ProjectionRunner(ledger.log, database, [Ledger(), CrlReadModel()])
    follower = Follower(runner)
    follower.start()
    try:
        certificate = issue(ledger, "followed")
        ledger.certificates.revoke(OFFICER, certificate.id, RevocationReason.SUPERSEDED)
        assert runner.wait_for(runner.head(), timeout=10)
        assert database.query("SELECT reason FROM rm_crl_entries") == [(4,)]
    finally:
        follower.stop()
    assert not follower.running


def _listen_backends() -> set[int]:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        return {row[0] for row in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND query ILIKE 'LISTEN %' AND pid <> pg_backend_pid()")}


@pytest.mark.postgres
@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_the_subscription_starts_again_when_its_connection_drops(ledger: CertLedger) -> None:
    before = _listen_backends()
    database = _database(ledger)
    runner = ProjectionRunner(ledger.log, database, [Ledger()])
    follower = Follower(runner)
    follower.start()
    try:
        issue(ledger, "one")
        assert runner.wait_for(runner.head(), timeout=10)
        deadline = time.monotonic() + 10
        while not (ours := _listen_backends() - before) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ours, "the runner does not LISTEN"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            for pid in ours:
                connection.execute("SELECT pg_terminate_backend(%s)", (pid,))
        issue(ledger, "two")
        assert runner.wait_for(runner.head(), timeout=15)
        assert follower.running
    finally:
        follower.stop()
    assert len(_ledger(database)) == 4  # Applied and Issued of each, once


def test_a_postgres_database_that_is_not_utf8_is_refused_with_a_clear_error(
        tmp_path: Path) -> None:
    """A SQL_ASCII database (what some clusters default to) would mangle Chinese text:
    migrating refuses it and says how to make one that works, and applies nothing."""
    name = f"certledger_ascii_{os.getpid()}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' TEMPLATE template0")
        try:
            url = urlparse(POSTGRES_URL)._replace(path=f"/{name}").geturl()
            database = open_read_model_database(url, tmp_path, pool_size=1)
            try:
                with pytest.raises(ValueError, match="encoding is SQL_ASCII; CertLedger "
                                                     "needs UTF8"):
                    migrate(database)
                with database.transaction() as tx:
                    assert tx.query("SELECT to_regclass('rm_migrations')") == [(None,)]
            finally:
                database.close()
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
