"""Shared fixtures: a CA (CertLedger) on SQLite or PostgreSQL, CSRs, connection budget.

PostgreSQL tests are never skipped: when the server cannot be reached they fail,
so CI cannot pass without having run them. Each test gets its own schema. Everything a
test builds with :func:`build_ledger` is closed when its settings fixture ends, before
the schema is dropped; the suite's peak of PostgreSQL connections is measured and must
stay within :data:`CONNECTION_BUDGET`.
"""

from __future__ import annotations

import os
import uuid

from tests.connection_budget import APP_NAME, ConnectionSampler, over_budget

os.environ["PGAPPNAME"] = APP_NAME  # before anything connects: the budget counts by this name
# the commands and servers tests run (in this process or as children) keep few connections
os.environ.update({"CERTLEDGER_DB_POOL_SIZE": "1", "CERTLEDGER_DB_MAX_OVERFLOW": "3",
                   "CERTLEDGER_READ_POOL_SIZE": "2",
                   # small pools are waited for longer than in production (0.75 s): the
                   # suite's threads share them; the outage test sets the production value
                   "CERTLEDGER_DB_POOL_TIMEOUT": "10"})

from collections.abc import Iterator  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import psycopg  # noqa: E402
import pytest  # noqa: E402

from api.bootstrap import CertLedger, bootstrap  # noqa: E402
from api.settings import Settings  # noqa: E402
from ca.encoding.algorithms import KeyAlgorithm  # noqa: E402
from ca.keys.keystore import KeyStore  # noqa: E402
from domain.actors import Actor, Role  # noqa: E402
from tests.helpers import MovableClock, make_csr  # noqa: E402

POSTGRES_URL = os.environ.get("CERTLEDGER_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
PASSPHRASE = b"test passphrase, not a secret"
CONNECTION_BUDGET = 20  # PostgreSQL connections the whole suite may hold at any moment
ADMIN = Actor("test-admin", Role.ADMIN)
OFFICER = Actor("officer-li", Role.OFFICER)
PORTAL = Actor("portal", Role.APPLICANT_PORTAL)
_open: list[CertLedger] = []


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards. Fails if PostgreSQL is down."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        connection = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required and not reachable at {POSTGRES_URL}: {exc}")
    with connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def make_settings(data_dir: Path, database_url: str | None = None) -> Settings:
    """Settings as the tests use them: small connection pools (the suite's budget)."""
    return Settings(data_dir=data_dir, database_url=database_url,
                    public_base_url="http://127.0.0.1:8080", default_issuer="issuing-ca",
                    accept_empty_sm2_id=False, pool_size=1, max_overflow=3, read_pool_size=2,
                    pool_timeout=10.0)


def close_ledgers() -> None:
    while _open:
        _open.pop().close()


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for one test, on each backend in turn."""
    url = None
    if request.param == "postgres":
        url = f"{POSTGRES_URL}?schema={request.getfixturevalue('postgres_schema')}"
    try:
        yield make_settings(tmp_path, url)
    finally:
        close_ledgers()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Iterator[Settings]:
    try:
        yield make_settings(tmp_path)
    finally:
        close_ledgers()


def build_ledger(settings: Settings, **overrides: Any) -> CertLedger:
    """A CertLedger over ``settings`` with a fast key store; closed after the test."""
    settings = replace(settings, **overrides)
    keys = KeyStore(settings.data_dir / "keys", PASSPHRASE, work_factor=2**10)
    ledger = bootstrap(settings, keys=keys, clock=MovableClock())
    _open.append(ledger)
    return ledger


def with_hierarchy(ledger: CertLedger,
                   algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256) -> CertLedger:
    ledger.hierarchy.establish(ADMIN, algorithm=algorithm, root_name="root-ca",
                               issuing_name="issuing-ca", organization="Test Org")
    return ledger


@pytest.fixture
def ledger(settings: Settings) -> CertLedger:
    """A CA with an ECDSA P-256 root and issuing CA, on each backend."""
    return with_hierarchy(build_ledger(settings))


@pytest.fixture
def sqlite_ledger(sqlite_settings: Settings) -> CertLedger:
    return with_hierarchy(build_ledger(sqlite_settings))


@pytest.fixture(scope="session")
def csr_pem() -> str:
    return make_csr(KeyAlgorithm.ECDSA_P256)[1]


_sampler: ConnectionSampler | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _sampler
    try:
        _sampler = ConnectionSampler(POSTGRES_URL).start()
    except psycopg.OperationalError:
        _sampler = None  # the PostgreSQL tests fail on their own, loudly


def pytest_runtest_setup(item: pytest.Item) -> None:
    if _sampler is not None:
        _sampler.current_test = item.nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _sampler is None:
        return
    _sampler.stop()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    line = (f"PostgreSQL connections held at once: peak {_sampler.peak} "
            f"(budget {CONNECTION_BUDGET}), during {_sampler.peak_test or '-'}")
    if reporter is not None:
        reporter.write_line(line)
    problem = over_budget(_sampler, CONNECTION_BUDGET)
    if problem is not None:  # the suite fails: a server shared with others ran out before
        if reporter is not None:
            reporter.write_line(f"FAILED: {problem}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
