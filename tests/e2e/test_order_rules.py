"""Issue 9's bad input (a clear 4xx, nothing recorded), two-person review with a race for
the second approval, and Idempotency-Key on applications with their orders."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from domain.actors import Role
from domain.identity import credit_code_check_character
from tests.conftest import ADMIN
from tests.e2e.conftest import Tenants
from tests.e2e.seed_helpers import csr, desk, document, topics_since

ORG = {"common_name": "某某有限公司", "organization": "某某有限公司", "country": "CN"}


def test_bad_input_is_a_clear_4xx_and_records_nothing(tenants: Tenants) -> None:
    d = desk(tenants)
    account = d.register()
    application = {"profile": "personal-signing", "csr": csr(),
                   "subject": {"common_name": "李四"}}
    d.refused("POST", "/api/v1/certificates", "portal-a", 404, "account_not_found",
              json={**application, "account_id": str(uuid.uuid4())})
    other_portal = str(tenants.call("POST", "/api/v1/accounts", "portal-b", json={
        "kind": "personal", "username": "b.user", "name": "B",
        "contacts": {"phone": "13800138000"}}).json["id"])
    d.refused("POST", "/api/v1/certificates", "portal-a", 404, "account_not_found",
              json={**application, "account_id": other_portal})
    d.refused("POST", "/api/v1/certificates", "portal-a", 400, "predecessor_required",
              json={**application, "account_id": account, "kind": "renew"})
    d.refused("POST", "/api/v1/certificates", "portal-a", 400, "bad_application_kind",
              json={**application, "account_id": account, "kind": "upgrade"})
    cid = d.apply(account)["id"]
    d.refused("POST", "/api/v1/certificates", "portal-a", 409, "predecessor_not_issued",
              json={**application, "account_id": account, "kind": "renew",
                    "predecessor_id": cid})
    # wrong state: pay before approval, ship before payment, activate before delivery
    d.refused("POST", f"/api/v1/orders/{cid}/payment", "portal-a", 409, "not_approved",
              json={"method": "cash", "amount": 10000, "reference": "r-1"})
    d.call("POST", f"/api/v1/orders/{cid}/shipping", json={"media": "usb-key", "shipping": {
        "recipient": "李四", "phone": "13800138000", "address": "北京市某路2号"}})
    d.approve(cid)
    d.refused("POST", f"/api/v1/orders/{cid}/payment", "portal-a", 409, "amount_mismatch",
              json={"method": "cash", "amount": 10000, "reference": "r-1"})
    d.refused("POST", f"/api/v1/orders/{cid}/shipment", "officer-a", 409, "order_placed",
              json={"carrier": "SF", "tracking_number": "SF1"})
    d.pay(cid, 18000)
    d.issue(cid)
    d.refused("POST", f"/api/v1/orders/{cid}/activation", "portal-a", 409, "order_paid",
              json={})
    d.refused("POST", f"/api/v1/orders/{cid}/delivery", "portal-a", 409, "order_paid",
              json={})
    # a second valid certificate for the same account and usage, without a predecessor
    d.refused("POST", "/api/v1/certificates", "portal-a", 409, "valid_certificate_exists",
              json={**application, "account_id": account})
    # documents: over the size limit, bytes that are not the declared digest
    limit = tenants.api.ledger.orders.max_document_size
    tenants.api.ledger.orders.max_document_size = 1024
    try:
        d.refused("POST", f"/api/v1/orders/{cid}/documents", "portal-a", 400,
                  "document_too_large", json=document(b"x" * 1025))
    finally:
        tenants.api.ledger.orders.max_document_size = limit
    forged = {**document(b"the real licence"), "sha256": document(b"another")["sha256"]}
    d.refused("POST", f"/api/v1/orders/{cid}/documents", "portal-a", 400, "digest_mismatch",
              json=forged)
    d.refused("POST", f"/api/v1/orders/{cid}/authorisation", "officer-a", 409,
              "letter_missing", json={"method": "letter",
                                      "document_sha256": forged["sha256"]})
    d.refused("POST", f"/api/v1/orders/{cid}/payment", "portal-a", 400, "bad_amount",
              json={"method": "cash", "amount": "18000", "reference": "r-1"})
    assert not any(tenants.api.ledger.settings.data_dir.glob("blobs/*/*/*"))


def test_two_approvers_and_a_race_for_the_second_approval(tenants: Tenants) -> None:
    d = desk(tenants)
    api = tenants.api
    api.tokens["officer-a3"] = api.ledger.tokens.create(ADMIN, name="officer-a3",
                                                        role=Role.OFFICER, portals=["a"])
    enterprise = d.register("enterprise", ORG["organization"],
                            licence_number=_licence())
    for attempt in range(3):
        cid = d.apply(enterprise, "organisation-signing", ORG)["id"]
        d.approve(cid, "officer-a")
        head = api.ledger.log.head()
        answers: dict[str, Any] = {}
        barrier = threading.Barrier(2)

        def approve(who: str, cid: str = cid, barrier: threading.Barrier = barrier,
                    answers: dict[str, Any] = answers) -> None:
            barrier.wait()
            answers[who] = tenants.call("POST", f"/api/v1/certificates/{cid}/approve", who,
                                        json={})

        threads = [threading.Thread(target=approve, args=(who,))
                   for who in ("officer-a2", "officer-a3")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(answer.status_code for answer in answers.values())
        assert statuses == [200, 409], {w: a.json for w, a in answers.items()}
        loser = next(a for a in answers.values() if a.status_code == 409)
        assert loser.json["error"]["code"] == "certificate_approved"
        assert topics_since(tenants, head) == ["Certificate.Approved"]
        d.call("POST", f"/api/v1/certificates/{cid}/reject", "officer-a2", expect=409,
               json={"reason": "too late"})
        if attempt == 2:  # the last one is issued (a new one after it would be refused)
            d.pay(cid, 60000)
            d.issue(cid)


def test_an_idempotent_application_makes_one_certificate_and_one_order(
        tenants: Tenants) -> None:
    d = desk(tenants)
    account = d.register()
    body = {"profile": "personal-signing", "csr": csr(), "account_id": account,
            "subject": {"common_name": "李四"}, "media": "usb-key",
            "shipping": {"recipient": "李四", "phone": "13800138000", "address": "某路3号"}}
    key = {"Idempotency-Key": f"apply-{uuid.uuid4()}"}
    head = tenants.api.ledger.log.head()
    first = tenants.call("POST", "/api/v1/certificates", "portal-a", json=body, headers=key)
    again = tenants.call("POST", "/api/v1/certificates", "portal-a", json=body,
                         headers=dict(key))
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"]
    assert topics_since(tenants, head) == ["Certificate.Applied", "Order.Placed",
                                           "OrderNumberClaim.Claimed"]
    changed = tenants.call("POST", "/api/v1/certificates", "portal-a",
                           json={**body, "terms_version": "v2"}, headers=dict(key))
    assert changed.status_code == 422
    cid = first.json["id"]
    d.approve(cid)
    pay_key = {"Idempotency-Key": f"pay-{uuid.uuid4()}"}
    payment = {"method": "alipay", "amount": 18000, "reference": "ali-1"}
    for _ in range(2):
        paid = tenants.call("POST", f"/api/v1/orders/{cid}/payment", "portal-a",
                            json=payment, headers=dict(pay_key))
        assert paid.status_code == 200, paid.json
    assert d.timeline(cid).count("paid") == 1


def _licence() -> str:
    first17 = "91110108MA01A2B3C"
    return first17 + credit_code_check_character(first17)


def test_a_document_larger_than_other_bodies_is_taken_up_to_its_limit(
        tenants: Tenants) -> None:
    d = desk(tenants)
    cid = d.apply(d.register())["id"]
    scan = bytes(range(256)) * 400   # 100 KiB: over the 64 KiB of other bodies
    key = {"Idempotency-Key": f"doc-{uuid.uuid4()}"}
    for _ in range(2):
        taken = tenants.call("POST", f"/api/v1/orders/{cid}/documents", "portal-a",
                             json=document(scan, "seal", "seal.png"), headers=dict(key))
        assert taken.status_code == 200, taken.json
    assert [doc["size"] for doc in taken.json["documents"]] == [len(scan)]
    limit = tenants.api.ledger.orders.max_document_size
    head = tenants.api.ledger.log.head()
    huge = tenants.call("POST", f"/api/v1/orders/{cid}/documents", "portal-a",
                        json=document(b"x" * (limit * 2)))
    assert huge.status_code == 413 and tenants.api.ledger.log.head() == head
