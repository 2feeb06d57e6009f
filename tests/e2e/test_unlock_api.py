"""PIN unlock (解锁, seed 002) end to end through HTTP: lock reported, request, approval
(the code returned once), wrong tries to exhaustion, a fresh approval, redemption, the
code refused afterwards, expiry after 24 h with a moved clock, a race of two
redemptions, both halves of a dual pair; and the plaintext code nowhere stored or logged.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from api.bootstrap import CertLedger
from ca.encoding.algorithms import KeyAlgorithm
from tests.conftest import OFFICER, PORTAL
from tests.e2e.conftest import Api, Tenants
from tests.helpers import make_csr

TLS = {"profile": "tls-server", "subject": {"dns_names": ["key.example.cn"]}}
C = "/api/v1/certificates/{}"


def issued(ledger: CertLedger) -> str:
    cid = ledger.certificates.apply(PORTAL, csr=make_csr(KeyAlgorithm.ECDSA_P256)[1], **TLS)
    ledger.certificates.approve(OFFICER, cid)
    ledger.certificates.issue(OFFICER, cid)
    return str(cid)


def post(api: Api, cid: str, action: str, role: str = "applicant-portal",
         body: dict[str, Any] | None = None) -> Any:
    return api.call("POST", C.format(cid) + action, role=role, json=body or {})


def approve(api: Api, cid: str) -> str:
    answer = post(api, cid, "/unlock-request/approve", "officer")
    assert answer.status_code == 200, answer.json
    code = answer.json["unlock_code"]
    assert isinstance(code, str) and len(code) >= 8
    return code


def locked_and_requested(api: Api, cid: str) -> None:
    lock = post(api, cid, "/pin-lock", body={"key_serial": "UK-2024-0001"})
    assert lock.status_code == 200, lock.json
    assert lock.json["pin_lock"]["state"] == "locked"
    request = post(api, cid, "/unlock-request", body={"key_serial": "UK-2024-0001"})
    assert request.status_code == 200, request.json
    assert request.json["pin_lock"]["state"] == "unlock_requested"


def wrong(code: str) -> str:
    return ("2" if code[0] != "2" else "3") + code[1:]


def test_unlock_end_to_end_and_no_code_is_kept(api: Api,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cid = issued(api.ledger)
    locked_and_requested(api, cid)
    first = approve(api, cid)
    for attempt in range(1, 6):
        answer = post(api, cid, "/unlock", body={"code": wrong(first)})
        assert answer.status_code == 409 and answer.json["error"]["code"] == \
            "wrong_unlock_code", attempt
        assert first not in str(answer.json)
    exhausted = post(api, cid, "/unlock", body={"code": first})
    assert exhausted.json["error"]["code"] == "unlock_code_exhausted"
    view = api.call("GET", C.format(cid), role="officer").json
    assert view["pin_lock"]["failed_tries"] == 5
    second = approve(api, cid)  # a fresh approval: a new code
    assert second != first
    done = post(api, cid, "/unlock", body={"code": second.lower()})
    assert done.status_code == 200, done.json
    assert "pin_lock" not in done.json and done.json["status"] == "issued"
    again = post(api, cid, "/unlock", body={"code": second})
    assert again.status_code == 409 and again.json["error"]["code"] == "no_unlock_code"
    # the plaintext codes are in no event, no read-model row, no log line
    api.ledger.read.runner.catch_up()
    for code in (first, second):
        for haystack in (stored_events(api.ledger), read_model_rows(api.ledger),
                         caplog.text):
            assert code not in haystack and code.lower() not in haystack


def test_a_code_expires_after_24_hours(api: Api) -> None:
    cid = issued(api.ledger)
    locked_and_requested(api, cid)
    code = approve(api, cid)
    api.ledger.clock.offset = timedelta(hours=24, seconds=1)  # type: ignore[attr-defined]
    expired = post(api, cid, "/unlock", body={"code": code})
    assert expired.status_code == 409 and expired.json["error"]["code"] == \
        "unlock_code_expired"
    rejected = post(api, cid, "/unlock-request/reject", "officer",
                    body={"reason": "call the subscriber first"})
    assert rejected.status_code == 200 and rejected.json["pin_lock"]["state"] == "locked"


def test_an_approval_retried_with_its_key_gives_the_same_code(api: Api) -> None:
    cid = issued(api.ledger)
    locked_and_requested(api, cid)
    headers = {"Idempotency-Key": "approve-unlock-1"}
    answers = [api.call("POST", C.format(cid) + "/unlock-request/approve", role="officer",
                        json={}, headers=dict(headers)) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json["unlock_code"] == answers[1].json["unlock_code"]
    assert post(api, cid, "/unlock", body={"code": answers[0].json["unlock_code"]}) \
        .status_code == 200


def test_the_same_key_for_a_later_approval_makes_another_code(api: Api) -> None:
    """A key reused for a new approval (the key locked again, a new request) never brings
    back the code already redeemed: the code depends on the approval's place too."""
    cid = issued(api.ledger)
    headers = {"Idempotency-Key": "approve-unlock-again"}
    codes = []
    for _ in range(2):
        locked_and_requested(api, cid)
        answer = api.call("POST", C.format(cid) + "/unlock-request/approve", role="officer",
                          json={}, headers=dict(headers))
        assert answer.status_code == 200, answer.json
        codes.append(answer.json["unlock_code"])
        if len(codes) == 1:
            assert post(api, cid, "/unlock", body={"code": codes[0]}).status_code == 200
    assert codes[0] != codes[1]
    old = post(api, cid, "/unlock", body={"code": codes[0]})
    assert old.status_code == 409 and old.json["error"]["code"] == "wrong_unlock_code"
    assert post(api, cid, "/unlock", body={"code": codes[1]}).status_code == 200


def test_two_redemptions_racing_unlock_once(api: Api) -> None:
    """Through HTTP, two clients at once: one 200, one 409; one Unlocked event."""
    cid = issued(api.ledger)
    locked_and_requested(api, cid)
    code = approve(api, cid)
    barrier, outcomes = threading.Barrier(2), []
    headers = {"Authorization": f"Bearer {api.tokens['applicant-portal']}"}

    def redeem() -> None:
        client = api.client.application.test_client()
        barrier.wait()
        answer = client.post(C.format(cid) + "/unlock", json={"code": code}, headers=headers)
        outcomes.append("unlocked" if answer.status_code == 200 else
                        f"{answer.status_code} {answer.json['error']['code']}")

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409 no_unlock_code", "unlocked"]
    topics = [n.topic for n in api.ledger.log.recorder.select_notifications(
        start=1, limit=100_000) if n.originator_id == UUID(cid)]
    assert topics.count("certledger:Certificate.Unlocked:v1") == 1


def test_both_halves_of_a_pair_are_one_key(api: Api) -> None:
    ledger = api.ledger
    account = ledger.accounts.register(PORTAL, kind="personal", username="li.si",
                                       name="李四", contacts={"phone": "13800138000"})
    pair_id = ledger.pairs.apply(PORTAL, subject={"common_name": "李四"},
                                 signing_csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                 encryption_csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                 account_id=str(account))
    ledger.pairs.approve(OFFICER, pair_id)
    pair = ledger.pairs.issue(OFFICER, pair_id)
    signing, encryption = str(pair.signing.id), str(pair.encryption.id)
    locked_and_requested(api, signing)
    partner = api.call("GET", C.format(encryption), role="officer").json
    assert partner["pin_lock"]["state"] == "unlock_requested"
    code = approve(api, encryption)
    assert post(api, signing, "/unlock", body={"code": code}).status_code == 200
    for cid in (signing, encryption):
        assert "pin_lock" not in api.call("GET", C.format(cid), role="officer").json
    ledger.read.runner.catch_up()  # the pair is told once: approved, unlock approved, done
    messages = api.call("GET", f"/api/v1/accounts/{account}/messages", role="officer").json
    assert [(m["kind"], m["certificate_id"]) for m in messages["items"]] == [
        ("system", signing), ("system", signing), ("review", signing)]


@pytest.mark.parametrize("step,expected", [("/pin-lock", "certificate_applied"),
                                           ("/unlock-request", "certificate_applied")])
def test_an_unissued_certificate_has_no_key_to_unlock(api: Api, step: str,
                                                       expected: str) -> None:
    cid = str(api.ledger.certificates.apply(PORTAL, csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                            **TLS))
    head = api.ledger.log.head()
    answer = post(api, cid, step)
    assert answer.status_code == 409 and answer.json["error"]["code"] == expected
    assert api.ledger.log.head() == head


@pytest.mark.parametrize("step,role,body,status,code", [
    ("/unlock", "applicant-portal", {"code": "ABCDEFGHJKMN"}, 409, "no_unlock_code"),
    ("/unlock", "applicant-portal", {"code": "not a code!"}, 400, "bad_code"),
    ("/unlock", "applicant-portal", {"code": 12}, 400, "bad_code"),
    ("/unlock", "applicant-portal", {}, 400, "missing_fields"),
    ("/unlock-request/approve", "officer", {}, 409, "no_unlock_request"),
    ("/unlock-request/reject", "officer", {"reason": "no"}, 409, "no_unlock_request"),
    ("/unlock-request", "applicant-portal", {}, 409, "pin_not_locked"),
    ("/pin-lock", "applicant-portal", {"key_serial": "bad serial/"}, 400, "bad_key_serial"),
    ("/unlock-request/approve", "applicant-portal", {}, 403, "forbidden"),
])
def test_bad_input_and_wrong_states_record_nothing(api: Api, step: str, role: str,
                                                   body: dict[str, Any], status: int,
                                                   code: str) -> None:
    cid = issued(api.ledger)
    head = api.ledger.log.head()
    answer = post(api, cid, step, role, body)
    assert answer.status_code == status and answer.json["error"]["code"] == code
    assert api.ledger.log.head() == head


def test_another_key_serial_is_refused(api: Api) -> None:
    cid = issued(api.ledger)
    assert post(api, cid, "/pin-lock", body={"key_serial": "UK-1"}).status_code == 200
    head = api.ledger.log.head()
    answer = post(api, cid, "/unlock-request", body={"key_serial": "UK-2"})
    assert answer.json["error"]["code"] == "key_serial_mismatch"
    assert api.ledger.log.head() == head


def stored_events(ledger: CertLedger) -> str:
    texts = []
    for notification in ledger.log.recorder.select_notifications(start=1, limit=100_000):
        texts.append(notification.state.decode("latin-1"))
        texts.append(str(vars(ledger.log.mapper.to_domain_event(notification))))
    return "\n".join(texts)


def read_model_rows(ledger: CertLedger) -> str:
    database = ledger.read.database
    if database.dialect == "sqlite":
        tables = [r[0] for r in database.query(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
    else:
        tables = [r[0] for r in database.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
            (database.schema,))]
    assert "rm_tracking" in tables
    return "\n".join(str(row) for table in tables
                     for row in database.query(f'SELECT * FROM "{table}"'))


def test_an_unknown_certificate_is_404(api: Api) -> None:
    head = api.ledger.log.head()
    for step in ("/pin-lock", "/unlock-request", "/unlock"):
        answer = post(api, "00000000-0000-4000-8000-000000000000", step,
                      body={"code": "ABCDEFGHJKMN"})
        assert answer.status_code == 404 and answer.json["error"]["code"] == \
            "certificate_not_found"
    assert api.ledger.log.head() == head


def test_an_unlock_asked_by_the_keys_serial_in_its_portal_only(tenants: Tenants) -> None:
    ledger = tenants.api.ledger
    cid = ledger.certificates.apply(tenants.actors["portal-a"],
                                    csr=make_csr(KeyAlgorithm.ECDSA_P256)[1], **TLS)
    ledger.certificates.approve(tenants.actors["officer-a"], cid)
    ledger.certificates.issue(tenants.actors["officer-a"], cid)
    ledger.unlocks.report_lock(tenants.actors["portal-a"], cid, "UK-77")
    ledger.read.runner.catch_up()
    head = ledger.log.head()
    for who, status in (("portal-b", 404), ("officer-b", 404), (None, 401), ("auditor", 403)):
        answer = tenants.call("POST", "/api/v1/unlock-requests", who,
                              json={"key_serial": "UK-77"})
        assert answer.status_code == status, who
    assert tenants.call("POST", "/api/v1/unlock-requests", "portal-a",
                        json={"key_serial": "bad serial"}).status_code == 400
    assert ledger.log.head() == head
    done = tenants.call("POST", "/api/v1/unlock-requests", "portal-a",
                        json={"key_serial": "UK-77"})
    assert done.status_code == 200 and done.json["id"] == str(cid)
    assert done.json["pin_lock"]["state"] == "unlock_requested"
