"""``/metrics`` as Prometheus reads it (prometheus_client's text-format parser), ``/readyz``
beside ``/healthz``, and JSON log lines with the request id and escaped text; through
the production front end (api/front_end.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.bootstrap import CertLedger
from api.front_end import FrontEnd
from api.logs import JsonFormatter, request_id
from api.ocsp_server import RunningServer, run_in_thread
from api.text import install_log_escaping
from domain.actors import Role
from domain.reasons import RevocationReason
from tests.conftest import ADMIN, OFFICER
from tests.crl_helpers import issue, publish_crls
from tests.front_helpers import Client, ocsp_request_for


@pytest.fixture
def front(ledger: CertLedger) -> Iterator[RunningServer]:
    app = create_app({"CERTLEDGER": ledger, "TESTING": True})
    front_end = FrontEnd(app, ledger.settings, bind=("127.0.0.1", 0), signing_processes=0)
    running = run_in_thread(lambda sock, started: front_end.serve([sock], started))
    try:
        yield running
    finally:
        running.stop()


def _families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _samples(family: Any, name: str | None = None) -> list[Any]:
    return [s for s in family.samples if name is None or s.name == name]


def test_metrics_parse_and_carry_the_series_operators_need(
        ledger: CertLedger, front: RunningServer) -> None:
    token = ledger.tokens.create(ADMIN, name="metrics-officer", role=Role.OFFICER)
    good, revoked = issue(ledger, "good"), issue(ledger, "revoked")
    ledger.certificates.revoke(OFFICER, revoked.id, RevocationReason.KEY_COMPROMISE)
    publish_crls(ledger)
    client = Client(front.port, token)
    deadline = time.monotonic() + 10
    while client.ocsp(ocsp_request_for(ledger, good.serial_number)) != "good":
        assert time.monotonic() < deadline  # the front end loads signed rows every 100 ms
        time.sleep(0.05)
    assert client.call("GET", "/crl/issuing-ca.crl")[0] == 200
    assert client.call("GET", f"/api/v1/certificates/{good.id}")[0] == 200
    assert client.call("GET", "/api/v1/certificates/not-an-id")[0] == 404
    status, headers, body = client.call("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    families = _families(body.decode())

    requests = families["certledger_http_requests"]
    assert requests.type == "counter"
    routes = {(s.labels["route"], s.labels["status"]) for s in requests.samples}
    assert {("/ocsp", "200"), ("/crl/<name>.crl", "200"),
            ("/api/v1/certificates/<certificate_id>", "404")} <= routes
    latency = families["certledger_http_request_duration_seconds"]
    assert latency.type == "histogram"
    ocsp_buckets = [s for s in _samples(latency, "certledger_http_request_duration_seconds_bucket")
                    if s.labels["route"] == "/ocsp"]
    assert ocsp_buckets[-1].labels["le"] == "+Inf" and ocsp_buckets[-1].value >= 1
    counts = {(s.labels["ca"], s.labels["status"]): s.value
              for s in families["certledger_certificates"].samples}
    assert counts[("issuing-ca", "good")] >= 1 and counts[("issuing-ca", "revoked")] == 1
    lag = {s.labels["model"]: s.value for s in families["certledger_projection_lag_events"].samples}
    assert set(lag) >= {"crl", "ocsp"} and all(value == 0 for value in lag.values())
    assert "certledger_projection_lag_seconds" in families
    crl_ages = {(s.labels["ca"], s.labels["kind"]): s.value
                for s in families["certledger_crl_age_seconds"].samples}
    assert 0 <= crl_ages[("issuing-ca", "full")] < 600
    oldest = families["certledger_ocsp_oldest_response_age_seconds"].samples
    assert [s.labels["ca"] for s in oldest] == ["issuing-ca"] and 0 <= oldest[0].value < 600
    for gauge in ("certledger_http_requests_waiting", "certledger_ocsp_on_demand_in_progress",
                  "certledger_database_up", "certledger_leader", "certledger_http_connections"):
        assert families[gauge].type == "gauge", gauge
    assert families["certledger_database_up"].samples[0].value == 1
    if ledger.settings.database_url:  # PostgreSQL's pools report their use
        pools = {s.labels["pool"] for s in families["certledger_db_pool"].samples}
        assert pools == {"read_models", "event_store"}
    client.close()


def test_readyz_says_what_is_not_ready_and_healthz_stays(
        ledger: CertLedger, front: RunningServer) -> None:
    client = Client(front.port)
    ledger.read.runner.catch_up()  # the CAs are known; no CRL is published yet
    status, _, body = client.call("GET", "/readyz")
    checks = json.loads(body)["checks"]
    assert status == 503 and checks["database"]["ok"] and not checks["crl"]["ok"]
    assert "issuing-ca" in checks["crl"]["stale_or_missing"]  # no CRL published yet
    publish_crls(ledger)
    status, _, body = client.call("GET", "/readyz")
    assert status == 200 and json.loads(body)["status"] == "ready"
    assert client.call("GET", "/healthz")[0] == 200
    client.close()


def test_error_bodies_and_log_lines_carry_the_request_id(
        ledger: CertLedger, front: RunningServer) -> None:
    status, headers, body = Client(front.port, "clt_unknown").call(
        "GET", "/api/v1/certificates/x")
    assert status == 401
    assert json.loads(body)["error"]["request_id"] == headers["x-request-id"]


def test_a_json_log_line_is_one_line_with_control_characters_escaped() -> None:
    install_log_escaping()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("certledger.test-json")
    logger.addHandler(handler)
    token = request_id.set("req-42")
    try:
        logger.warning("comment %s", "ok\n     42  2026 Revoked\x1b[31m\u202e")
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            logger.exception("failed")
    finally:
        request_id.reset(token)
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["request_id"] == second["request_id"] == "req-42"
    assert first["message"] == "comment ok\\n     42  2026 Revoked\\x1b[31m\\u202e"
    assert "ValueError: bad\\nvalue" in second["exception"]
