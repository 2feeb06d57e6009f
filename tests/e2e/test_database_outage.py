"""PostgreSQL unreachable under a running server (``certledger serve``), through a TCP
proxy this test kills and brings back: writes get 503 with Retry-After within 2 s, OCSP
keeps answering good and revoked from memory, the CRL and the CA certificates are served
from the copies held, ``/readyz`` fails while ``/healthz`` answers; with the proxy back,
writes succeed again without a restart and nothing written before is lost. The CLI says
one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from api.settings import Settings
from domain.actors import Role
from domain.reasons import RevocationReason
from tests.conftest import (
    ADMIN,
    OFFICER,
    PASSPHRASE,
    POSTGRES_URL,
    build_ledger,
    close_ledgers,
    make_settings,
    with_hierarchy,
)
from tests.crl_helpers import crl_entries, issue
from tests.front_helpers import Client, ocsp_request_for
from tests.servers import ROOT, ServerProcess
from tests.tcp_proxy import TcpProxy


def _until(check: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)


@pytest.fixture
def pg_settings(postgres_schema: str, tmp_path: Path) -> Iterator[Settings]:
    try:
        yield make_settings(tmp_path, f"{POSTGRES_URL}?schema={postgres_schema}")
    finally:
        close_ledgers()


def test_an_outage_of_postgresql_is_served_through_and_recovered_from(
        pg_settings: Settings, csr_pem: str) -> None:
    settings = pg_settings
    assert settings.database_url is not None
    proxy = TcpProxy().up()
    through_proxy = settings.database_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert through_proxy != settings.database_url
    ledger = with_hierarchy(build_ledger(settings))
    token = ledger.tokens.create(ADMIN, name="outage-officer", role=Role.OFFICER)
    good, revoked = issue(ledger, "stays-good"), issue(ledger, "revoked")
    ledger.certificates.revoke(OFFICER, revoked.id, RevocationReason.KEY_COMPROMISE)
    server = ServerProcess(replace(settings, database_url=through_proxy), PASSPHRASE,
                           env={"CERTLEDGER_DB_POOL_TIMEOUT": "0.75",
                                "CERTLEDGER_DB_CONNECT_TIMEOUT": "2"}).start()
    client = Client(server.port, token)
    application = {"profile": "tls-server", "csr": csr_pem,
                   "subject": {"dns_names": ["outage.example.cn"]}}
    try:
        good_request = ocsp_request_for(ledger, good.serial_number)
        revoked_request = ocsp_request_for(ledger, revoked.serial_number)
        _until(lambda: client.ocsp(good_request) == "good"
               and client.ocsp(revoked_request) == "revoked")
        _until(lambda: client.call("GET", "/crl/issuing-ca.crl")[0] == 200
               and client.call("GET", "/readyz")[0] == 200)
        before = client.call("GET", "/crl/issuing-ca.crl")[2]
        assert revoked.serial_number in crl_entries(before)
        head = ledger.log.head()

        proxy.down()
        for method, path, body in (
                ("POST", "/api/v1/certificates", application),
                ("POST", f"/api/v1/certificates/{good.id}/revoke", {"reason": "superseded"})):
            started = time.monotonic()
            status, headers, reply = client.call(method, path, body)
            took = time.monotonic() - started
            assert status == 503 and took <= 2.0, (status, took, reply)
            assert headers["retry-after"] and b'"database_unavailable"' in reply
        assert client.ocsp(good_request) == "good"
        assert client.ocsp(revoked_request) == "revoked"
        assert client.call("GET", "/crl/issuing-ca.crl")[:3:2] == (200, before)
        assert client.call("GET", "/ca/issuing-ca.crt")[0] == 200
        assert client.call("GET", "/readyz")[0] == 503
        assert client.call("GET", "/healthz")[0] == 200
        cli = subprocess.run(
            [sys.executable, "-m", "api.cli", "projections", "status"], cwd=ROOT,
            env={**os.environ, "CERTLEDGER_DATA_DIR": str(settings.data_dir),
                 "CERTLEDGER_DATABASE_URL": through_proxy, "CERTLEDGER_DB_CONNECT_TIMEOUT": "2",
                 "CERTLEDGER_KEY_PASSPHRASE": PASSPHRASE.decode()},
            capture_output=True, text=True, timeout=60)
        assert cli.returncode == 3 and "Traceback" not in cli.stderr, cli.stderr
        assert len(cli.stderr.strip().splitlines()) == 1, cli.stderr
        assert "database is unavailable" in cli.stderr

        proxy.up()
        recovered = time.monotonic()
        _until(lambda: client.call("POST", "/api/v1/certificates", application)[0] == 201)
        status, _, reply = client.call("POST", f"/api/v1/certificates/{good.id}/revoke",
                                       {"reason": "superseded"})
        assert status == 200, reply
        assert time.monotonic() - recovered < 15
        _until(lambda: client.ocsp(good_request) == "revoked")
        _until(lambda: client.call("GET", "/readyz")[0] == 200)
        assert ledger.log.head() > head  # written after the outage, on top of what was
        assert ledger.certificates.get(revoked.id).status.value == "revoked"
    finally:
        client.close()
        server.stop()
        proxy.down()
