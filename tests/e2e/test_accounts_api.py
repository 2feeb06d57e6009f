"""Accounts over HTTP (seeds 000, 003, 004): the three kinds of account, contacts, the
handler, real-name verification, the list a portal searches; bad input is a clear 400 and
records nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Tenants
from tests.helpers import event_topics

ID_NUMBER = "11010519491231002X"
LICENCE = "91330100799655058B"
DEPARTMENT_CODE = "914403001922038216"
ACCOUNTS = {  # seed 003: enterprise, personal and competent-department registration
    "enterprise": {"kind": "enterprise", "username": "qh-stats", "name": "青海统计有限公司",
                   "licence_number": LICENCE,
                   "contacts": {"contact_name": "张三", "phone": "13800138000",
                                "email": "zhang@example.cn"}},
    "personal": {"kind": "personal", "username": "Li.Si", "name": "李四",
                 "contacts": {"phone": "+86 139 0013 9000"}},
    "department": {"kind": "competent-department", "username": "qh-bureau",
                   "name": "青海省统计局", "licence_number": DEPARTMENT_CODE,
                   "contacts": {"phone": "0971-1234567", "address": "西宁市"}},
}


def _register(t: Tenants, which: str, who: str = "portal-a", **change: Any) -> Any:
    return t.call("POST", "/api/v1/accounts", who, json={**ACCOUNTS[which], **change})


def test_the_three_kinds_of_account_end_to_end(tenants: Tenants) -> None:
    t = tenants
    made = {which: _register(t, which) for which in ACCOUNTS}
    for which, answer in made.items():
        assert answer.status_code == 201, answer.json
        assert answer.json["portal"] == "a" and answer.json["kind"] == ACCOUNTS[which]["kind"]
    personal = made["personal"].json
    assert personal["username"] == "LI.SI" and personal["contacts"]["phone"] == "13900139000"
    enterprise_id = made["enterprise"].json["id"]
    path = f"/api/v1/accounts/{enterprise_id}"
    assert t.call("GET", made["enterprise"].headers["Location"], "officer-a").json == \
        made["enterprise"].json

    contacts = t.call("POST", f"{path}/contacts", "portal-a",
                      json={"phone": "13800138001", "email": "li@example.cn"})
    assert contacts.status_code == 200
    assert contacts.json["contacts"] == {"contact_name": None, "phone": "13800138001",
                                         "email": "li@example.cn", "address": None}
    handler = t.call("POST", f"{path}/handler", "portal-a",
                     json={"name": "王五", "phone": "13700137000", "id_number": ID_NUMBER})
    assert handler.json["handler"] == {"name": "王五", "phone": "13700137000",
                                       "id_number_recorded": True}
    assert ID_NUMBER not in handler.get_data(as_text=True)
    verified = t.call("POST", f"{path}/verifications", "officer-a", json={
        "target": "enterprise", "name": "青海统计有限公司", "number": LICENCE,
        "method": "business licence at the counter", "evidence_sha256": "0a" * 32})
    assert verified.status_code == 200, verified.json
    record = verified.json["verifications"]["enterprise"]
    assert record["verified_by"] == "officer-a" and record["licence_number"] == LICENCE
    assert record["evidence_sha256"] == "0a" * 32 and record["verified_at"]
    person = t.call("POST", f"{path}/verifications", "portal-a", json={
        "target": "person", "name": "王五", "number": ID_NUMBER, "method": "face",
        "evidence_sha256": "0b" * 32}).json["verifications"]["person"]
    assert "number" not in person and ID_NUMBER not in str(person)
    assert event_topics(t.api.ledger).count("certledger:Account.Verified:v1") == 2

    t.api.ledger.read.runner.catch_up()
    listed = t.call("GET", "/api/v1/accounts?limit=2", "portal-a").json
    assert [item["username"] for item in listed["items"]] == ["QH-STATS", "LI.SI"]
    rest = t.call("GET", f"/api/v1/accounts?cursor={listed['next_cursor']}", "portal-a").json
    assert [item["username"] for item in rest["items"]] == ["QH-BUREAU"]
    assert rest["next_cursor"] is None
    found = t.call("GET", "/api/v1/accounts?organisation=统计局", "officer-a").json["items"]
    assert [item["kind"] for item in found] == ["competent-department"]
    [summary] = t.call("GET", "/api/v1/accounts?username=qh-s", "portal-a").json["items"]
    assert summary["verified"] == {"person": True, "enterprise": True}
    assert summary["handler_name"] == "王五" and summary["phone"] == "13800138001"


def test_a_taken_username_is_a_409_whatever_its_case(tenants: Tenants) -> None:
    assert _register(tenants, "personal").status_code == 201
    head = tenants.api.ledger.log.head()
    again = _register(tenants, "personal", username="LI.SI")
    assert again.status_code == 409 and again.json["error"]["code"] == "username_taken"
    assert tenants.api.ledger.log.head() == head
    assert _register(tenants, "personal", who="portal-b").status_code == 201  # b's own


@pytest.mark.parametrize("path,body,code", [
    ("", {**ACCOUNTS["enterprise"], "licence_number": "91330100799655058A"},
     "bad_licence_number"),
    ("", {**ACCOUNTS["enterprise"], "licence_number": None}, "bad_licence_number"),
    ("", {**ACCOUNTS["personal"], "licence_number": LICENCE}, "bad_licence_number"),
    ("", {**ACCOUNTS["personal"], "contacts": {"phone": "555"}}, "bad_phone"),
    ("", {**ACCOUNTS["personal"], "contacts": ["13800138000"]}, "bad_contacts"),
    ("", {**ACCOUNTS["personal"], "kind": "shop"}, "bad_account_kind"),
    ("", {**ACCOUNTS["personal"], "username": "李四"}, "bad_username"),
    ("", {**ACCOUNTS["personal"], "name": 7}, "bad_field"),
    ("", {"kind": "personal"}, "missing_fields"),
    ("/handler", {"name": "王五", "phone": "13700137000", "id_number": "11010519491231002Y"},
     "bad_id_number"),
    ("/handler", {"name": "王五", "phone": "0971-1234567", "id_number": ID_NUMBER},
     "bad_phone"),
    ("/verifications", {"target": "company", "name": "x", "number": LICENCE, "method": "m",
                        "evidence_sha256": "0a" * 32}, "bad_verification_target"),
    ("/verifications", {"target": "person", "name": "x", "number": ID_NUMBER, "method": "m",
                        "evidence_sha256": "not a digest"}, "bad_evidence_digest"),
    ("/verifications", {"target": "enterprise", "name": "x", "number": LICENCE,
                        "method": "m", "evidence_sha256": "0a" * 32}, "not_an_organisation"),
    ("/contacts", {"phone": "13800138000", "email": "@"}, "bad_email"),
])
def test_bad_input_is_a_clear_4xx_and_records_nothing(tenants: Tenants, path: str,
                                                      body: dict[str, Any], code: str) -> None:
    target = "/api/v1/accounts"
    if path:
        target += f"/{_register(tenants, 'personal').json['id']}{path}"
    head = tenants.api.ledger.log.head()
    refused = tenants.call("POST", target, "portal-a", json=body)
    assert refused.status_code in (400, 409) and refused.json["error"]["code"] == code
    assert ID_NUMBER[:-1] not in refused.json["error"]["message"]
    assert tenants.api.ledger.log.head() == head


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "cursor=@@@",
                                   "cursor=Yjox", "username=" + "x" * 201])
def test_bad_list_queries_are_400(tenants: Tenants, query: str) -> None:
    answer = tenants.call("GET", f"/api/v1/accounts?{query}", "portal-a")
    assert answer.status_code == 400 and answer.json["error"]["code"] in ("bad_query",
                                                                          "bad_cursor")
