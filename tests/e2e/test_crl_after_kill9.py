"""A revocation is never lost from the CRL by a crash: ``kill -9`` of a real server after
the revocation was projected and before its CRL was published; the next start publishes
it within the configured delay. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from api.settings import Settings
from domain.actors import Role
from projections.crl_entries import CRL_MODEL
from projections.db import open_read_model_database
from projections.stored_crls import StoredCrls
from tests.conftest import ADMIN, PASSPHRASE, build_ledger, with_hierarchy
from tests.crl_helpers import crl_entries
from tests.servers import ServerProcess

DELAY = 5.0


def _call(base: str, method: str, path: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def _crl(base: str, name: str = "issuing-ca") -> bytes:
    """The stored CRL; waits while the server has not published a first one (503)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"{base}/crl/{name}.crl", timeout=30) as reply:
                return reply.read()  # type: ignore[no-any-return]
        except urllib.error.HTTPError as error:
            if error.code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_revocation_cut_off_by_kill_9_reaches_the_crl_after_restart(
        settings: Settings, csr_pem: str) -> None:
    ledger = with_hierarchy(build_ledger(settings))
    token = ledger.tokens.create(ADMIN, name="crash-officer", role=Role.OFFICER)
    portal = ledger.tokens.create(ADMIN, name="crash-portal", role=Role.APPLICANT_PORTAL)
    head = ledger.log.recorder.max_notification_id
    environment = {"CERTLEDGER_CRL_DELAY": f"{DELAY}s"}
    database = open_read_model_database(settings.database_url, settings.data_dir)
    server = ServerProcess(settings, PASSPHRASE, env=environment).start()
    try:
        created = _call(server.base_url, "POST", "/api/v1/certificates", portal, {
            "profile": "tls-server", "csr": csr_pem,
            "subject": {"dns_names": ["crash.example.cn"]}})
        _call(server.base_url, "POST", f"/api/v1/certificates/{created['id']}/approve", token)
        issued = _call(server.base_url, "POST",
                       f"/api/v1/certificates/{created['id']}/issue", token)
        serial = int(issued["serial_number"], 16)
        assert serial not in crl_entries(_crl(server.base_url))  # a base CRL is stored

        _call(server.base_url, "POST", f"/api/v1/certificates/{created['id']}/revoke", token,
              {"reason": "keyCompromise"})
        revoked_at = time.monotonic()
        target = head()
        while int(database.query("SELECT position FROM rm_tracking WHERE name = ?",
                                 (CRL_MODEL,))[0][0]) < target:
            time.sleep(0.02)  # projected: only the publication is left to do
        server.kill9()
        assert time.monotonic() - revoked_at < DELAY - 1, "too slow to crash before the CRL"
        stored = StoredCrls(database).latest("issuing-ca", "full")
        assert stored is not None and serial not in crl_entries(stored.der), \
            "the CRL was published before the crash: nothing was tested"

        server.start()
        restarted = time.monotonic()
        while serial not in crl_entries(full := _crl(server.base_url)):
            assert time.monotonic() - restarted < DELAY + 5, "the revocation never reached the CRL"
            time.sleep(0.2)
        assert crl_entries(full) == {serial: 1}
        assert crl_entries(_crl(server.base_url, "issuing-ca-delta")) == {serial: 1}
    finally:
        server.stop()
        database.close()
        ledger.close()
