"""The seed manuals (../shared/seeds/) end to end through HTTP: each flow checks the events
written and the order's timeline.

- 000/001: register, apply, review, pay, issue, activate; re-apply after loss: the old
  certificate superseded (and the CRL and OCSP models see it revoked).
- 002: renewal with review.
- 003: three account types; change of the enterprise's name with two-person review;
  revocation the subscriber asked for (注销).
- 004: a new application with legal-person authorisation by SMS and by letter, payment,
  invoice, shipping, delivery, activation.
"""

from __future__ import annotations

import re

from tests.e2e.conftest import Tenants
from tests.e2e.seed_helpers import desk, document, topics_since

ORG = {"common_name": "北京某某科技有限公司", "organization": "北京某某科技有限公司",
       "country": "CN"}
LICENCE = "91110108MA01A2B3C4"


def _licence(tenants: Tenants) -> str:
    from domain.identity import credit_code_check_character
    return LICENCE[:17] + credit_code_check_character(LICENCE[:17])


def test_seed_000_001_register_apply_issue_activate_and_reapply_after_loss(
        tenants: Tenants) -> None:
    d = desk(tenants)
    account = d.register()
    head = tenants.api.ledger.log.head()
    first = d.apply(account, terms_version="2026-01")
    cid = first["id"]
    assert (first["kind"], first["status"], first["approvals_required"]) == ("new", "applied", 1)
    assert topics_since(tenants, head) == ["Certificate.Applied", "Order.Placed",
                                           "OrderNumberClaim.Claimed"]
    order = d.order(cid)
    assert re.fullmatch(r"CL-\d{4}-\d{6}", order["order_number"])
    assert (order["amount"], order["currency"], order["status"]) == (10000, "CNY", "placed")
    d.approve(cid)
    d.pay(cid, 10000)
    issued = d.issue(cid)
    assert issued["status"] == "issued"
    pending = d.call("GET", f"/api/v1/certificates/{cid}")
    assert (pending["activation"], pending["usable"]) == ("pending", False)
    d.call("POST", f"/api/v1/orders/{cid}/activation")
    usable = d.call("GET", f"/api/v1/certificates/{cid}")
    assert (usable["activation"], usable["usable"]) == ("activated", True)
    assert d.timeline(cid) == ["applied", "placed", "approved", "paid", "issued", "activated"]
    entries = d.order(cid)["timeline"]
    assert [e["actor_id"] for e in entries] == ["portal-a", "portal-a", "officer-a",
                                                "portal-a", "officer-a", "portal-a"]

    # a second new application for the same account and usage: refused, nothing recorded
    d.refused("POST", "/api/v1/certificates", "portal-a", 409, "valid_certificate_exists",
              json={"profile": "personal-signing", "csr": issued and _csr(),
                    "account_id": account, "subject": {"common_name": "李四"}})

    # the USB key is lost: re-apply (重新申请), naming the lost certificate
    second = d.apply(account, kind="reapply", predecessor_id=cid)["id"]
    assert d.order(second)["amount"] == 8000
    d.approve(second)
    d.pay(second, 8000)
    head = tenants.api.ledger.log.head()
    d.issue(second)
    assert topics_since(tenants, head) == ["Certificate.Issued", "SerialClaim.Claimed",
                                           "Certificate.Revoked", "AccountUsage.Succeeded"]
    old = d.call("GET", f"/api/v1/certificates/{cid}")
    assert old["status"] == "revoked"
    assert old["revocation"]["reason"] == "superseded"
    assert old["revocation"]["requested_by"] == "superseded"
    assert old["revocation"]["superseded_by"] == second
    assert d.timeline(cid)[-1] == "revoked"
    database = tenants.api.ledger.read.database
    ocsp = database.query("SELECT status, reason FROM rm_ocsp_status WHERE serial_hex = ?",
                          (old["serial_number"],))
    assert [tuple(r) for r in ocsp] == [("revoked", 4)]
    listed = d.call("GET", f"/api/v1/accounts/{account}/certificates")["items"]
    assert [(i["id"], i["certificate_status"]) for i in listed] == [
        (cid, "revoked"), (second, "issued")]


def _csr() -> str:
    from tests.e2e.seed_helpers import csr
    return csr()


def test_seed_002_renewal_with_review(tenants: Tenants) -> None:
    d = desk(tenants)
    account = d.register()
    cid = d.apply(account)["id"]
    d.approve(cid)
    d.pay(cid, 10000)
    d.issue(cid)
    renewal = d.apply(account, kind="renew", predecessor_id=cid)["id"]
    # the officer who submits on the applicant's behalf may not approve it
    by_officer = d.apply(account, kind="renew", predecessor_id=cid, who="officer-a")["id"]
    d.refused("POST", f"/api/v1/certificates/{by_officer}/approve", "officer-a", 409,
              "own_application", json={})
    d.call("POST", f"/api/v1/certificates/{by_officer}/reject", "officer-a2",
           json={"reason": "duplicate of the portal's renewal"})
    d.refused("POST", f"/api/v1/orders/{renewal}/payment", "portal-a", 409, "not_approved",
              json={"method": "wechat", "amount": 8000, "reference": "wx-1"})
    d.approve(renewal, comment="documents checked")
    d.pay(renewal, 8000)
    d.issue(renewal)
    old = d.call("GET", f"/api/v1/certificates/{cid}")
    assert (old["status"], old["revocation"]["reason"]) == ("revoked", "superseded")
    timeline = d.order(renewal)["timeline"]
    assert [e["event"] for e in timeline] == ["applied", "placed", "approved", "paid",
                                             "issued"]
    assert timeline[2]["detail"] == {"comment": "documents checked"}
    rejected = d.order(by_officer)["timeline"][-1]
    assert (rejected["event"], rejected["actor_id"], rejected["detail"]) == (
        "rejected", "officer-a2", {"reason": "duplicate of the portal's renewal"})


def test_seed_003_account_types_change_of_name_and_subscriber_revocation(
        tenants: Tenants) -> None:
    d = desk(tenants)
    licence = _licence(tenants)
    enterprise = d.register("enterprise", ORG["organization"], licence_number=licence)
    d.register("personal", "王五")
    d.register("competent-department", "某某市商务局")
    cid = d.apply(enterprise, "organisation-signing", ORG)["id"]
    assert d.order(cid)["amount"] == 60000
    endorsed = d.approve(cid, "officer-a")
    assert (endorsed["status"], endorsed["approvals"]) == ("applied", ["officer-a"])
    d.refused("POST", f"/api/v1/certificates/{cid}/approve", "officer-a", 409,
              "already_approved", json={})
    assert d.approve(cid, "officer-a2")["status"] == "approved"
    d.pay(cid, 60000)
    d.issue(cid)
    renamed = {**ORG, "common_name": "北京某某新科技有限公司",
               "organization": "北京某某新科技有限公司"}
    change = d.apply(enterprise, "organisation-signing", renamed, kind="change",
                     predecessor_id=cid)["id"]
    d.approve(change, "officer-a")
    d.approve(change, "officer-a2")
    d.pay(change, 20000)
    d.issue(change)
    old = d.call("GET", f"/api/v1/certificates/{cid}")
    assert old["revocation"]["reason"] == "affiliationChanged"
    assert d.timeline(change) == ["applied", "placed", "endorsed", "approved", "paid",
                                  "issued"]
    head = tenants.api.ledger.log.head()
    cancelled = d.call("POST", f"/api/v1/certificates/{change}/cancel",
                       json={"comment": "the company closes its account"})
    assert cancelled["revocation"]["reason"] == "cessationOfOperation"
    assert cancelled["revocation"]["requested_by"] == "subscriber"
    assert topics_since(tenants, head) == ["Certificate.Revoked"]
    tenants.api.ledger.read.runner.catch_up()
    # an organisation is found by its account's name or any name its applications gave
    # (the new name after a change): with every order of the account
    found = d.call("GET", "/api/v1/orders?organisation=新科技")["items"]
    assert [i["id"] for i in found] == [cid, change]
    assert d.call("GET", "/api/v1/orders?organisation=旧科技")["items"] == []
    found = d.call("GET", "/api/v1/orders?organisation=某某&kind=change")["items"]
    assert [i["id"] for i in found] == [change]
    assert [i["id"] for i in d.call("GET", "/api/v1/orders?organisation=某某")["items"]] \
        == [cid, change]


def test_seed_004_new_application_authorised_paid_shipped_delivered_activated(
        tenants: Tenants) -> None:
    d = desk(tenants)
    licence = _licence(tenants)
    enterprise = d.register("enterprise", ORG["organization"], licence_number=licence)
    d.call("POST", f"/api/v1/accounts/{enterprise}/handler",
           json={"name": "王五", "phone": "13700137000", "id_number": "11010519491231002X"})
    shipping = {"recipient": "王五", "phone": "13700137000", "address": "北京市海淀区某路1号",
                "postcode": "100080"}
    cid = d.apply(enterprise, "organisation-signing", ORG, media="usb-key",
                  shipping=shipping)["id"]
    other = d.apply(enterprise, "organisation-signing", ORG)["id"]
    assert d.order(cid)["amount"] == 68000   # the certificate and its USB key
    # authorisation by SMS: the legal person's name, ID number and mobile; the code goes
    # to that mobile; only the code's and the ID number's HMACs are recorded
    legal_person = {"name": "张三", "id_number": "11010519491231002X", "phone": "13900139000"}
    d.call("POST", f"/api/v1/orders/{cid}/authorisation/sms",
           json={"legal_person": legal_person})
    assert tenants.api.ledger.sms.last("13700137000") is None   # not the handler's
    message = tenants.api.ledger.sms.last("13900139000")
    assert message is not None
    code = message.rsplit(" ", 1)[-1]
    wrong = "000000" if code != "000000" else "111111"
    answer = tenants.call("POST", f"/api/v1/orders/{cid}/authorisation", "portal-a",
                          json={"method": "sms", "code": wrong})
    assert (answer.status_code, answer.json["error"]["code"]) == (400, "wrong_code")
    d.call("POST", f"/api/v1/orders/{cid}/authorisation", json={"method": "sms",
                                                                "code": code})
    # authorisation by letter on the other application
    letter = document(b"%PDF-1.4 letter of authorisation", "authorisation-letter",
                      "授权书.pdf")
    d.call("POST", f"/api/v1/orders/{other}/documents", json=letter)
    d.refused("POST", f"/api/v1/orders/{other}/authorisation", "portal-a", 403,
              "officer_only", json={"method": "letter", "document_sha256": letter["sha256"]})
    authorised = d.call("POST", f"/api/v1/orders/{other}/authorisation", "officer-a",
                        json={"method": "letter", "document_sha256": letter["sha256"]})
    assert authorised["authorisation"] == {"method": "letter",
                                           "document_sha256": letter["sha256"]}
    blob = tenants.api.ledger.orders._blobs.get(letter["sha256"])
    assert blob == b"%PDF-1.4 letter of authorisation"
    d.approve(cid, "officer-a")
    d.approve(cid, "officer-a2")
    d.call("POST", f"/api/v1/orders/{cid}/invoice",
           json={"title": ORG["organization"], "tax_number": licence})
    d.refused("POST", f"/api/v1/orders/{cid}/shipment", "officer-a", 409, "order_placed",
              json={"carrier": "SF", "tracking_number": "SF100"})
    d.pay(cid, 68000)
    d.issue(cid)
    d.refused("POST", f"/api/v1/orders/{cid}/activation", "portal-a", 409, "order_paid",
              json={})
    d.call("POST", f"/api/v1/orders/{cid}/shipment", "officer-a",
           json={"carrier": "SF", "tracking_number": "SF1234567890"})
    d.call("POST", f"/api/v1/orders/{cid}/delivery", json={})
    final = d.call("POST", f"/api/v1/orders/{cid}/activation", json={})
    assert final["status"] == "activated"
    assert final["invoice"]["tax_number"] == licence
    assert final["shipment"] == {"carrier": "SF", "tracking_number": "SF1234567890"}
    assert d.timeline(cid) == [
        "applied", "placed", "sms_code_sent", "sms_code_failed", "authorised", "endorsed",
        "approved", "invoice_requested", "paid", "issued", "shipped", "delivered",
        "activated"]
    stored = tenants.api.ledger.log.recorder.select_notifications(start=1, limit=100_000)
    sent = [n.state for n in stored if n.topic == "certledger:Order.SmsCodeSent:v1"]
    assert len(sent) == 1 and code.encode() not in sent[0]
    assert not any(b"11010519491231002X" in n.state for n in stored)
    assert "张三".encode() in sent[0] or b"\\u5f20" in sent[0]


def test_the_orders_read_model_is_rebuilt_the_same_from_the_log(tenants: Tenants) -> None:
    """Exactly once and rebuildable: a rebuild and a replay into a fresh store agree."""
    from projections.replay_check import replay_check

    d = desk(tenants)
    account = d.register()
    cid = d.apply(account)["id"]
    d.approve(cid)
    d.pay(cid, 10000)
    d.issue(cid)
    d.apply(account, kind="renew", predecessor_id=cid)
    read = tenants.api.ledger.read
    read.runner.catch_up()
    before = (d.call("GET", "/api/v1/orders")["items"], d.order(cid)["timeline"],
              d.call("GET", "/api/v1/work-queue")["items"])
    read.runner.rebuild("orders")
    after = (d.call("GET", "/api/v1/orders")["items"], d.order(cid)["timeline"],
             d.call("GET", "/api/v1/work-queue")["items"])
    assert after == before and len(before[0]) == 2
    report = replay_check(tenants.api.ledger.log, read.database)
    assert report.ok, str(report)
