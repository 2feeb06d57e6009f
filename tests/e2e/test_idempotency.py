"""Idempotency-Key on POST: a retried request gets the first answer and records nothing
twice, also when two race and when the process died between the command and the answer."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ca.encoding.algorithms import KeyAlgorithm
from tests.conftest import ADMIN
from tests.e2e.conftest import Api, Tenants
from tests.helpers import event_topics, make_csr

CSR = make_csr(KeyAlgorithm.ECDSA_P256)[1]
APPLICATION = {"profile": "tls-server", "subject": {"dns_names": ["a.example.cn"]},
               "csr": CSR}
APPLIED = "certledger:Certificate.Applied:v1"


def _post(api: Api, path: str, body: Any, key: str | None, role: str = "applicant-portal"
          ) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.call("POST", path, role=role, json=body, headers=headers)


def _applied(api: Api) -> int:
    return event_topics(api.ledger).count(APPLIED)


def _crash_after_the_command(api: Api, key: str) -> None:
    """As if the process died after the command, before it stored the answer, and the
    lease has run out since."""
    with api.ledger.read.database.transaction() as tx:
        tx.execute("UPDATE rm_idempotency_keys SET status = NULL, body = NULL,"
                   " started_at = started_at - 3600 WHERE idempotency_key = ?", (key,))


def test_the_same_post_twice_with_one_key_makes_one_application(api: Api) -> None:
    first = _post(api, "/api/v1/certificates", APPLICATION, "apply-1")
    assert first.status_code == 201
    head = api.ledger.log.head()
    again = _post(api, "/api/v1/certificates", APPLICATION, "apply-1")
    assert (again.status_code, again.json) == (201, first.json)
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.ledger.log.head() == head and _applied(api) == 1
    other = _post(api, "/api/v1/certificates", APPLICATION, "apply-2")  # a new key: new one
    assert other.status_code == 201 and other.json["id"] != first.json["id"]
    assert _applied(api) == 2


def test_the_same_key_with_another_body_is_a_422_and_records_nothing(api: Api) -> None:
    assert _post(api, "/api/v1/certificates", APPLICATION, "k").status_code == 201
    head = api.ledger.log.head()
    changed = {**APPLICATION, "subject": {"dns_names": ["b.example.cn"]}}
    refused = _post(api, "/api/v1/certificates", changed, "k")
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "idempotency_key_reused"
    elsewhere = _post(api, "/api/v1/accounts", APPLICATION, "k")  # another path, same key
    assert elsewhere.status_code == 422
    assert api.ledger.log.head() == head


def test_keys_are_per_caller(tenants: Tenants) -> None:
    api = tenants.api
    a = _post(api, "/api/v1/certificates", APPLICATION, "same", role="portal-a")
    b = _post(api, "/api/v1/certificates", APPLICATION, "same", role="portal-b")
    assert (a.json["portal"], b.json["portal"]) == ("a", "b")
    assert _applied(api) == 2


def test_a_refusal_is_answered_again_and_a_retry_after_a_crash_makes_nothing_twice(
        api: Api) -> None:
    made = _post(api, "/api/v1/certificates", APPLICATION, "crash")
    _crash_after_the_command(api, "crash")
    head = api.ledger.log.head()
    retried = _post(api, "/api/v1/certificates", APPLICATION, "crash")
    assert (retried.status_code, retried.json["id"]) == (201, made.json["id"])
    assert api.ledger.log.head() == head and _applied(api) == 1
    cid = made.json["id"]
    approve = f"/api/v1/certificates/{cid}/approve"
    assert _post(api, approve, {}, "approve", role="officer").status_code == 200
    _crash_after_the_command(api, "approve")
    head = api.ledger.log.head()
    again = _post(api, approve, {}, "approve", role="officer")
    assert again.status_code == 409 and again.json["error"]["code"] == "certificate_approved"
    assert api.ledger.log.head() == head  # the state refuses a second approval


def test_a_racing_twin_gets_the_same_answer_or_409_in_progress(api: Api) -> None:
    answers: list[Any] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        client = api.client.application.test_client()
        barrier.wait()
        answers.append(client.post("/api/v1/certificates", json=APPLICATION, headers={
            "Authorization": f"Bearer {api.tokens['applicant-portal']}",
            "Idempotency-Key": "race"}))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [a for a in answers if a.status_code == 201]
    assert created and {a.json["id"] for a in created} == {created[0].json["id"]}
    assert all(a.status_code == 201 or (a.status_code == 409 and a.json["error"]["code"] ==
                                        "idempotency_in_progress") for a in answers)
    assert _applied(api) == 1


def test_a_new_token_is_made_from_the_key_and_never_stored(api: Api) -> None:
    api.ledger.portals.create(ADMIN, code="a", name="A")
    body = {"name": "portal-a-web", "role": "applicant-portal", "portal": "a"}
    first = _post(api, "/api/v1/admin/tokens", body, "token-1", role="admin")
    assert first.status_code == 201, first.json
    again = _post(api, "/api/v1/admin/tokens", body, "token-1", role="admin")
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    topics = event_topics(api.ledger)
    assert topics.count("certledger:ApiToken.Created:v1") == len(api.tokens) + 1
    token = first.json["token"]
    rows = api.ledger.read.database.query("SELECT body FROM rm_idempotency_keys")
    assert all(row[0] is None or token.encode() not in bytes(row[0]) for row in rows)
    actor = api.ledger.tokens.authenticate(token)
    assert actor is not None and actor.portals == frozenset({"a"})
    assert _post(api, "/api/v1/admin/tokens", body, "token-2", role="admin").json["token"] \
        != token


def test_a_5xx_keeps_nothing_and_the_retry_runs(api: Api,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(api.ledger.certificates, "apply", broken)
    assert _post(api, "/api/v1/certificates", APPLICATION, "k").status_code == 500
    monkeypatch.undo()
    assert _post(api, "/api/v1/certificates", APPLICATION, "k").status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ", "a\tb"])
def test_a_bad_key_is_a_400(api: Api, key: str) -> None:
    head = api.ledger.log.head()
    refused = _post(api, "/api/v1/certificates", APPLICATION, key)
    assert refused.status_code == 400, refused.json
    assert refused.json["error"]["code"] == "bad_idempotency_key"
    assert api.ledger.log.head() == head
