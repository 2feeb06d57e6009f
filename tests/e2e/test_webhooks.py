"""Webhook delivery against a real HTTP receiver on loopback: signed (HMAC-SHA256), a
receiver that fails three times then succeeds gets each message exactly once after
deduplication by its stable id, the admin sees the delivery state; and nothing is lost
across a kill -9 of the sending server (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta
from typing import Any

from api.settings import Settings
from ca.encoding.algorithms import KeyAlgorithm
from domain.actors import Actor, Role
from tests.conftest import ADMIN, PASSPHRASE, build_ledger, with_hierarchy
from tests.e2e.conftest import Api
from tests.helpers import make_csr
from tests.servers import ServerProcess
from tests.webhook_receiver import Receiver

PORTAL_W = Actor("portal-w", Role.APPLICANT_PORTAL, frozenset({"w"}))
OFFICER_W = Actor("officer-w", Role.OFFICER, frozenset({"w"}))
TLS = {"profile": "tls-server", "subject": {"dns_names": ["hook.example.cn"]}}


def reviewed(ledger: Any, username: str) -> None:
    """An application of an account of portal w, approved: one review notice."""
    account = ledger.accounts.register(PORTAL_W, kind="personal", username=username,
                                       name="孙八", contacts={"phone": "13800138000"})
    cid = ledger.certificates.apply(PORTAL_W, csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                    account_id=str(account), **TLS)
    ledger.certificates.approve(OFFICER_W, cid)


def test_fails_three_times_then_delivers_once_signed(api: Api) -> None:
    ledger = api.ledger
    ledger.portals.create(ADMIN, code="w", name="Portal W")
    with Receiver(failures=3) as receiver:
        made = api.call("POST", "/api/v1/admin/webhooks", role="admin",
                        json={"portal": "w", "url": receiver.url})
        assert made.status_code == 201, made.json
        receiver.secret = made.json["secret"]
        reviewed(ledger, "sun.ba")
        ledger.read.runner.catch_up()
        for _ in range(6):
            ledger.read.delivery.run()
            ledger.clock.offset += timedelta(hours=1)  # type: ignore[attr-defined]
        assert len(receiver.attempts) == 4 and len(set(receiver.attempts)) == 1
        assert receiver.bad_signatures == 0 and receiver.duplicates == 0
        [(message_id, message)] = receiver.delivered.items()
        assert message["id"] == message_id and message["kind"] == "review"
        state = api.call("GET", "/api/v1/admin/webhooks/w/deliveries", role="admin").json
        assert [(d["message_id"], d["attempts"]) for d in state["items"]] == [(message_id, 4)]
        assert state["items"][0]["delivered_at"] and state["items"][0]["last_error"] is None
        hooks = api.call("GET", "/api/v1/admin/webhooks", role="admin").json["items"]
        assert [(h["portal"], h["delivered"], h["pending"]) for h in hooks] == [("w", 1, 0)]
        for who in ("officer", "applicant-portal"):
            assert api.call("GET", "/api/v1/admin/webhooks", role=who).status_code == 403
        assert api.call("GET", "/api/v1/admin/webhooks", role="auditor").status_code == 200
        stored = [n.state for n in ledger.log.recorder.select_notifications(start=1,
                                                                            limit=10_000)]
        assert not any(receiver.secret.encode() in state for state in stored)


def _call(base: str, path: str, token: str, body: Any) -> Any:
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(),
                                     method="POST", headers={
                                         "Authorization": f"Bearer {token}",
                                         "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def test_nothing_is_lost_across_a_kill_9_of_the_sender(settings: Settings) -> None:
    ledger = with_hierarchy(build_ledger(settings))
    ledger.portals.create(ADMIN, code="w", name="Portal W")
    environment = {"CERTLEDGER_WEBHOOK_EVERY": "0.3", "CERTLEDGER_WEBHOOK_BACKOFF": "1"}
    with Receiver(failures=3) as receiver:
        receiver.secret = ledger.webhooks.register(ADMIN, "w", receiver.url).secret
        for number in range(5):
            reviewed(ledger, f"user.{number}")
        server = ServerProcess(settings, PASSPHRASE, env=environment).start()
        try:
            deadline = time.monotonic() + 30
            while not receiver.attempts:  # the sender is at work: it has failed once
                assert time.monotonic() < deadline, "no delivery was tried"
                time.sleep(0.02)
            server.kill9()
            seen_before_restart = len(receiver.delivered)
            server.start()
            deadline = time.monotonic() + 60
            while len(receiver.delivered) < 5:
                assert time.monotonic() < deadline, \
                    f"delivered {len(receiver.delivered)} of 5 after the restart"
                time.sleep(0.05)
        finally:
            server.stop()
    assert seen_before_restart < 5, "everything was delivered before the kill: untested"
    assert receiver.bad_signatures == 0
    assert {m["kind"] for m in receiver.delivered.values()} == {"review"}
