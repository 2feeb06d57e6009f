"""``GET /crl/<ca>.crl`` and ``-delta.crl`` over HTTP (Flask test client), on SQLite and
PostgreSQL: caching headers, bad input as JSON 4xx, and a revocation through the API
reaching the CRL within the configured delay (runner thread and schedule running)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.bootstrap import CertLedger
from ca.applications.crl_publisher import CrlSettings
from domain.actors import Role
from tests.conftest import ADMIN, build_ledger
from tests.crl_helpers import crl_entries, crl_field
from tests.e2e.conftest import Api
from tests.helpers import event_topics


def test_a_get_never_signs_or_records_a_crl(api: Api) -> None:
    """Before the processes publish a CA's first CRL, a GET says so (503, Retry-After)
    and changes nothing: no CrlIssued event, no stored CRL."""
    before = event_topics(api.ledger)
    response = api.call("GET", "/crl/issuing-ca.crl", role=None)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json["error"]["code"] == "crl_not_published"
    assert event_topics(api.ledger) == before
    assert api.ledger.read.crls.latest("issuing-ca", "full") is None


def test_the_crls_and_their_caching_headers(api: Api) -> None:
    api.publish_crls()
    response = api.call("GET", "/crl/issuing-ca.crl", role=None)
    assert response.status_code == 200 and response.mimetype == "application/pkix-crl"
    this_update = parsedate_to_datetime(response.headers["Last-Modified"])
    next_update = parsedate_to_datetime(response.headers["Expires"])
    assert (next_update - this_update).total_seconds() == 24 * 3600
    assert 24 * 3600 - 60 < response.cache_control.max_age <= 24 * 3600
    assert response.cache_control.public
    etag = response.headers["ETag"]
    assert etag == '"issuing-ca-full-1"' and crl_field(response.data, "crl_number") == 1
    assert crl_field(response.data, "freshest_crl")[0]["distribution_point"] == \
        ["http://127.0.0.1:8080/crl/issuing-ca-delta.crl"]

    again = api.call("GET", "/crl/issuing-ca.crl", role=None, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    since = api.call("GET", "/crl/issuing-ca.crl", role=None,
                     headers={"If-Modified-Since": response.headers["Last-Modified"]})
    assert since.status_code == 304
    head = api.client.head("/crl/issuing-ca.crl")
    assert head.status_code == 200 and head.headers["ETag"] == etag

    delta = api.call("GET", "/crl/issuing-ca-delta.crl", role=None)
    assert delta.status_code == 200 and delta.headers["ETag"] == '"issuing-ca-delta-2"'
    assert crl_field(delta.data, "delta_crl_indicator") == 1
    root = api.call("GET", "/crl/root-ca.crl", role=None)
    assert root.status_code == 200 and crl_field(root.data, "crl_number") == 1


@pytest.mark.parametrize("path", [
    "/crl/nope.crl", "/crl/nope-delta.crl", "/crl/ISSUING-CA.crl", "/crl/-delta.crl",
    "/crl/issuing-ca.crl.crl", "/crl/issuing-ca-delta-delta.crl", "/crl/" + "a" * 300 + ".crl",
    "/crl/..%2Fissuing-ca.crl", "/crl/%00.crl", "/crl/issuing-ca", "/crl/", "/crl/.crl"])
def test_unknown_names_are_404_json(api: Api, path: str) -> None:
    response = api.call("GET", path, role=None)
    assert response.status_code == 404, (path, response.data[:200])
    assert response.json["error"]["code"] in ("ca_not_found", "not_found")


def test_other_methods_are_405_json(api: Api) -> None:
    response = api.call("POST", "/crl/issuing-ca.crl", role=None, data=b"x")
    assert response.status_code == 405 and response.json["error"]["code"]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=80))
@example(name="/0")  # found by CI: an encoded "/" becomes "//", which Werkzeug redirects
def test_no_crl_name_makes_the_server_fail(api: Api, name: str) -> None:
    response = api.call("GET", f"/crl/{quote(name, safe='')}.crl", role=None)
    # 308: Werkzeug folds the "//" that an encoded "/" leaves (e.g. name "/0") and redirects
    assert response.status_code in (200, 308, 404), (name, response.status_code)
    if response.status_code == 404:
        assert response.json["error"]["code"]
    if response.status_code == 308:
        assert "//" not in response.headers["Location"].split("://", 1)[-1]


@pytest.fixture
def live(ledger: CertLedger) -> Iterator[tuple[Api, float]]:
    """An app whose runner thread and CRL schedule run, with a short delay."""
    delay = 0.5
    running = build_ledger(ledger.settings, crl=CrlSettings(delay=delay))
    app = create_app({"CERTLEDGER": running, "TESTING": True, "RUN_PROCESSES": True})
    tokens = {"officer": ledger.tokens.create(ADMIN, name="officer-crl", role=Role.OFFICER),
              "applicant-portal": ledger.tokens.create(ADMIN, name="portal-crl",
                                                       role=Role.APPLICANT_PORTAL)}
    try:
        yield Api(app.test_client(), running, tokens), delay
    finally:
        running.read.stop()


def test_a_revocation_through_the_api_is_in_the_crl_within_the_delay(
        live: tuple[Api, float], csr_pem: str) -> None:
    api, delay = live
    started = time.monotonic()
    while (first := api.call("GET", "/crl/issuing-ca.crl", role=None)).status_code == 503:
        assert time.monotonic() - started < 10, "no first CRL from the processes"
        time.sleep(0.05)
    assert crl_entries(first.data) == {}
    created = api.call("POST", "/api/v1/certificates", json={
        "profile": "tls-server", "csr": csr_pem, "subject": {"dns_names": ["fresh.example.cn"]}})
    certificate_id = created.json["id"]
    assert api.call("POST", f"/api/v1/certificates/{certificate_id}/approve").status_code == 200
    issued = api.call("POST", f"/api/v1/certificates/{certificate_id}/issue").json
    serial = int(issued["serial_number"], 16)

    revoked = api.call("POST", f"/api/v1/certificates/{certificate_id}/revoke",
                       json={"reason": "keyCompromise"})
    assert revoked.status_code == 200
    committed = time.monotonic()
    while True:
        full = api.call("GET", "/crl/issuing-ca.crl", role=None).data
        if serial in crl_entries(full):
            break
        assert time.monotonic() - committed < delay + 2.5, "not in the CRL in time"
        time.sleep(0.05)
    assert crl_entries(full) == {serial: 1}
    delta = api.call("GET", "/crl/issuing-ca-delta.crl", role=None).data
    assert crl_entries(delta) == {serial: 1}
    assert crl_field(delta, "delta_crl_indicator") == 1  # the first base the processes made
    assert isinstance(parsedate_to_datetime(
        api.call("GET", "/crl/issuing-ca.crl", role=None).headers["Expires"]), datetime)


def test_the_command_line(ledger: CertLedger, capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    from api.cli import main
    from domain.reasons import RevocationReason
    from tests.conftest import OFFICER, PASSPHRASE
    from tests.crl_helpers import issue

    monkeypatch.setenv("CERTLEDGER_DATA_DIR", str(ledger.settings.data_dir))
    monkeypatch.setenv("CERTLEDGER_KEY_PASSPHRASE", PASSPHRASE.decode())
    if ledger.settings.database_url:
        monkeypatch.setenv("CERTLEDGER_DATABASE_URL", ledger.settings.database_url)
    else:
        monkeypatch.delenv("CERTLEDGER_DATABASE_URL", raising=False)
    ledger.certificates.revoke(OFFICER, issue(ledger, "cli").id, RevocationReason.SUPERSEDED)

    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0
    assert "read models are up to date" in capsys.readouterr().out
    assert main(["projections", "rebuild", "crl"]) == 0
    done = capsys.readouterr()
    assert "100%" in done.err and "crl: rebuilt up to position" in done.out
    assert main(["projections", "status"]) == 0
    [crl_line] = [line for line in capsys.readouterr().out.splitlines()
                  if line.startswith("crl ")]
    assert crl_line.endswith("(0 behind)")
    assert main(["crl", "publish", "issuing-ca"]) == 0
    assert "issuing-ca: CRL #1 (1 entries), delta #2 on base #1" in capsys.readouterr().out
    assert main(["projections", "rebuild", "nope"]) == 2
    assert "no read model 'nope'" in capsys.readouterr().err
