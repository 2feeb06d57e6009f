"""Shared fixtures: a CA service on SQLite or PostgreSQL, CSRs, an HTTP client with tokens.

PostgreSQL tests are never skipped: when the server cannot be reached they fail,
so CI cannot pass without having run them. Each test gets its own schema.
"""

from __future__ import annotations

import os
import uuid

from tests.connection_budget import APP_NAME, ConnectionSampler

os.environ["PGAPPNAME"] = APP_NAME  # before anything connects: the budget counts by this name
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from api.bootstrap import bootstrap
from api.settings import Settings
from ca.applications.certificates import CAService
from ca.encoding.algorithms import KeyAlgorithm
from ca.keys.keystore import KeyStore
from domain.actors import Actor, Role
from tests.helpers import make_csr

POSTGRES_URL = os.environ.get("CERTLEDGER_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
PASSPHRASE = b"test passphrase, not a secret"
CONNECTION_BUDGET = 20  # PostgreSQL connections the whole suite may hold at any moment
ADMIN = Actor("test-admin", Role.ADMIN)
OFFICER = Actor("officer-li", Role.OFFICER)
PORTAL = Actor("portal", Role.APPLICANT_PORTAL)


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
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    if request.param == "postgres":
        schema = request.getfixturevalue("postgres_schema")
        return f"{POSTGRES_URL}?schema={schema}"
    return None


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for one test, on each backend in turn."""
    return Settings(data_dir=tmp_path, database_url=_database_url(request, tmp_path),
                    public_base_url="http://127.0.0.1:8080", default_issuer="issuing-ca",
                    accept_empty_sm2_id=False)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=None, public_base_url="http://127.0.0.1:8080",
                    default_issuer="issuing-ca", accept_empty_sm2_id=False)


def build_service(settings: Settings, **overrides: Any) -> CAService:
    keystore = KeyStore(settings.data_dir / "keys", PASSPHRASE, work_factor=2**10)
    return bootstrap(replace(settings, **overrides), keystore=keystore)


def with_hierarchy(service: CAService,
                   algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256) -> CAService:
    service.establish_hierarchy(ADMIN, algorithm=algorithm, root_name="root-ca",
                                issuing_name="issuing-ca", organization="Test Org")
    return service


@pytest.fixture
def service(settings: Settings) -> CAService:
    """A CA service with an ECDSA P-256 root and issuing CA, on each backend."""
    return with_hierarchy(build_service(settings))


@pytest.fixture
def sqlite_service(sqlite_settings: Settings) -> CAService:
    return with_hierarchy(build_service(sqlite_settings))


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
