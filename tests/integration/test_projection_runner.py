"""The projection runner: exactly once, crash and resume, rebuild, several runners, following
the log (PostgreSQL's subscription, SQLite's polling). On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from ca.applications.certificates import CAService
from domain.reasons import RevocationReason
from projections.base import ReadModel
from projections.crl import CrlReadModel
from projections.db import ReadModelDatabase, Transaction, open_read_model_database
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


def _database(service: CAService) -> ReadModelDatabase:
    database = open_read_model_database(service.settings.database_url, service.settings.data_dir)
    migrate(database)
    with database.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS rm_test_ledger ("
                   " position BIGINT PRIMARY KEY, topic TEXT NOT NULL)")
    return database


def _history(service: CAService, count: int = 3) -> None:
    for index in range(count):
        certificate = issue(service, f"h{index}")
        if index % 2 == 0:
            service.revoke(OFFICER, certificate.id, RevocationReason.KEY_COMPROMISE)


def _ledger(database: ReadModelDatabase) -> list[tuple[Any, ...]]:
    return sorted(database.query("SELECT position, topic FROM rm_test_ledger"))


def test_migrations_apply_once(service: CAService) -> None:
    database = _database(service)
    assert migrate(database) == []  # applied already by _database
    names = [path.name for path in migration_files(database.dialect)]
    assert names[:2] == ["001_tracking.sql", "002_crl.sql"]
    assert applied_migrations(database) == names


def test_each_event_once_position_with_rows_and_a_batch_twice_changes_nothing(
        service: CAService) -> None:
    _history(service)
    database = _database(service)
    runner = ProjectionRunner(service, database, [Ledger(), CrlReadModel()], batch_size=4)
    runner.catch_up()
    head = runner.head()
    assert runner.positions() == {"ledger": head, "crl": head}
    wanted = [(n.id, n.topic) for n in service.recorder.select_notifications(start=1, limit=999)
              if n.topic in Ledger.topics]
    assert _ledger(database) == wanted
    before = table_dump(database)

    batch = service.recorder.select_notifications(start=1, limit=6)
    assert runner.apply(0, batch) == 0  # both models are past it: nothing is done again
    assert _ledger(database) == wanted and table_dump(database) == before
    assert runner.positions() == {"ledger": head, "crl": head}


def test_a_crash_between_events_resumes_to_what_a_rebuild_gives(service: CAService) -> None:
    _history(service, 4)
    database = _database(service)
    crashing = ProjectionRunner(service, database, [Crashing(crash_at=7)], batch_size=3)
    with pytest.raises(RuntimeError, match="power cut"):
        crashing.catch_up()
    stopped_at = crashing.positions()["crl"]
    assert 0 < stopped_at < crashing.head()  # the batches before the crash committed

    restarted = ProjectionRunner(service, database, [CrlReadModel()], batch_size=3)
    restarted.catch_up()
    resumed = table_dump(database)
    restarted.rebuild("crl")
    assert table_dump(database) == resumed
    assert restarted.positions()["crl"] == restarted.head()
    assert len(resumed["rm_crl_entries"]) == 2


def test_a_partial_run_then_a_new_process_equals_a_rebuild(service: CAService) -> None:
    _history(service, 3)
    database = _database(service)
    first = ProjectionRunner(service, database, [CrlReadModel(), Ledger()], batch_size=2)
    assert first.run_once() == 2
    second = ProjectionRunner(service, open_read_model_database(
        service.settings.database_url, service.settings.data_dir), [CrlReadModel(), Ledger()])
    second.catch_up()
    resumed, ledger = table_dump(database), _ledger(database)
    second.rebuild("crl")
    second.rebuild("ledger")
    assert table_dump(database) == resumed and _ledger(database) == ledger


def test_two_runners_at_once_do_every_event_exactly_once(service: CAService) -> None:
    _history(service, 4)
    runners = [ProjectionRunner(service, _database(service), [Ledger(), CrlReadModel()],
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


def test_a_position_gone_back_is_never_skipped_over(service: CAService) -> None:
    _history(service, 2)
    database = _database(service)
    runner = ProjectionRunner(service, database, [Ledger()])
    later = service.recorder.select_notifications(start=5, limit=100)
    with pytest.raises(Exception, match="batch starts after"):
        runner.apply(4, later)  # the model is at 0: events 1-4 were never read here
    assert runner.positions()["ledger"] == 0 and _ledger(database) == []


def test_the_runner_thread_follows_the_log(service: CAService) -> None:
    database = _database(service)
    runner = ProjectionRunner(service, database, [Ledger(), CrlReadModel()])
    runner.start()
    try:
        certificate = issue(service, "followed")
        service.revoke(OFFICER, certificate.id, RevocationReason.SUPERSEDED)
        assert runner.wait_for(runner.head(), timeout=10)
        assert database.query("SELECT reason FROM rm_crl_entries") == [(4,)]
    finally:
        runner.stop()
    assert not runner.running


def _listen_backends() -> set[int]:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        return {row[0] for row in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND query ILIKE 'LISTEN %' AND pid <> pg_backend_pid()")}


@pytest.mark.postgres
@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_the_subscription_starts_again_when_its_connection_drops(service: CAService) -> None:
    before = _listen_backends()
    database = _database(service)
    runner = ProjectionRunner(service, database, [Ledger()])
    runner.start()
    try:
        issue(service, "one")
        assert runner.wait_for(runner.head(), timeout=10)
        deadline = time.monotonic() + 10
        while not (ours := _listen_backends() - before) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ours, "the runner does not LISTEN"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            for pid in ours:
                connection.execute("SELECT pg_terminate_backend(%s)", (pid,))
        issue(service, "two")
        assert runner.wait_for(runner.head(), timeout=15)
        assert runner.running
    finally:
        runner.stop()
    assert len(_ledger(database)) == 4  # Applied and Issued of each, once
