"""Slow and idle clients cost the real server (``certledger serve``, one worker, two
threads) no thread: with 60 of them held open, OCSP, the CRL and the RA API answer
within a second; the slow ones are closed with a JSON 408 once their read timeout is
over; a client address past its connection cap gets 429."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from api.bootstrap import CertLedger
from api.settings import Settings
from domain.actors import Role
from tests.conftest import ADMIN, PASSPHRASE, build_ledger, with_hierarchy
from tests.crl_helpers import issue
from tests.front_helpers import Client, SlowClients, ocsp_request_for
from tests.servers import ServerProcess

LIMITS = {"CERTLEDGER_HTTP_HEADER_TIMEOUT": "4", "CERTLEDGER_HTTP_BODY_TIMEOUT": "4",
          "CERTLEDGER_HTTP_MAX_PER_CLIENT": "70"}


@pytest.fixture
def served(sqlite_settings: Settings) -> Iterator[tuple[CertLedger, ServerProcess, str]]:
    ledger = with_hierarchy(build_ledger(sqlite_settings))
    token = ledger.tokens.create(ADMIN, name="slow-test", role=Role.OFFICER)
    server = ServerProcess(sqlite_settings, PASSPHRASE, env={**LIMITS, "WEB_CONCURRENCY": "1"})
    server.start()
    try:
        yield ledger, server, token
    finally:
        server.stop()


def _wait_for(check: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.1)


def test_slow_clients_do_not_starve_ocsp_crl_or_the_api(
        served: tuple[CertLedger, ServerProcess, str]) -> None:
    ledger, server, token = served
    certificate = issue(ledger, "slow")
    request = ocsp_request_for(ledger, certificate.serial_number)
    client = Client(server.port, token)
    _wait_for(lambda: client.ocsp(request) == "good")  # pre-signed by the server's processes
    _wait_for(lambda: client.call("GET", "/crl/issuing-ca.crl")[0] == 200)
    slow = SlowClients(server.port, 60, every=0.5, seconds=20)
    try:
        time.sleep(1.0)  # all of them are in, mid-request or idle
        assert slow.still_open() == 60
        for _ in range(5):
            seconds, status, _ = client.timed("POST", "/ocsp", request,
                                              {"Content-Type": "application/ocsp-request"})
            assert status == 200 and seconds < 1.0, seconds
            seconds, status, _ = client.timed("GET", "/crl/issuing-ca.crl")
            assert status == 200 and seconds < 1.0, seconds
            seconds, status, body = client.timed("GET",
                                                 f"/api/v1/certificates/{certificate.id}")
            assert status == 200 and seconds < 1.0, (seconds, body)
            fresh = Client(server.port, token)  # a new connection is accepted at once too
            seconds, status, body = fresh.timed(
                "POST", f"/api/v1/certificates/{certificate.id}/suspend", {})
            fresh.close()
            assert status in (200, 409) and seconds < 1.0, (seconds, body)
        assert slow.still_open() == 60
        _wait_for(lambda: slow.still_open() == 0, seconds=8)  # the read timeouts (4 s)
        answered = [a for a in slow.answers if a]
        assert len(answered) >= 40  # the 40 that had begun a request: 408, JSON
        assert all(a.startswith(b"HTTP/1.1 408") and b'"request_id"' in a for a in answered)
    finally:
        slow.stop()
        client.close()


def test_connections_past_the_cap_of_one_address_get_429(
        served: tuple[CertLedger, ServerProcess, str]) -> None:
    _, server, token = served
    slow = SlowClients(server.port, 70, every=1.0, seconds=10)
    try:
        time.sleep(0.5)
        status, headers, body = Client(server.port, token).call("GET", "/healthz")
        assert status == 429 and headers["content-type"] == "application/json", body
        assert b'"request_id"' in body
    finally:
        slow.stop()
    _wait_for(lambda: Client(server.port).call("GET", "/healthz")[0] == 200, seconds=5)
