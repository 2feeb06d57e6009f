"""Public services without a token: revocation announcements (JSON and CSV, newest
first, paged) and the query service (every pair of fields works, one field alone is
refused, a wrong pair reveals nothing, the rate limit trips with Retry-After)."""

from __future__ import annotations

import csv
import io
import itertools
from typing import Any
from uuid import UUID

import pytest

from api.bootstrap import CertLedger
from ca.encoding.algorithms import KeyAlgorithm
from domain.reasons import RevocationReason
from tests.conftest import OFFICER, PORTAL
from tests.e2e.conftest import Api
from tests.helpers import make_csr

ID_NUMBER = "11010519491231002X"
QUERY = "/api/v1/public/query"


def issue(ledger: CertLedger, account_id: UUID | None = None, name: str = "a") -> UUID:
    cid = ledger.certificates.apply(
        PORTAL, csr=make_csr(KeyAlgorithm.ECDSA_P256)[1], profile="tls-server",
        subject={"dns_names": [f"{name}.example.cn"]},
        account_id=str(account_id) if account_id else None)
    ledger.certificates.approve(OFFICER, cid)
    ledger.certificates.issue(OFFICER, cid)
    return cid


def test_revocation_announcements_newest_first_json_and_csv(api: Api) -> None:
    ledger = api.ledger
    first, second, kept = issue(ledger, name="one"), issue(ledger, name="two"), issue(ledger)
    ledger.certificates.revoke(OFFICER, first, RevocationReason.KEY_COMPROMISE)
    ledger.certificates.revoke(OFFICER, second, RevocationReason.SUPERSEDED)
    ledger.read.runner.catch_up()
    page = api.call("GET", "/api/v1/public/revocations/issuing-ca?limit=1", role=None)
    assert page.status_code == 200, page.json
    assert [i["reason"] for i in page.json["items"]] == ["superseded"]
    serial = format(ledger.certificates.get(second).serial_number or 0, "x")
    assert page.json["items"][0]["serial_number"] == serial
    rest = api.call("GET", "/api/v1/public/revocations/issuing-ca?cursor="
                    + page.json["next_cursor"], role=None).json
    assert [i["reason"] for i in rest["items"]] == ["keyCompromise"]
    assert rest["next_cursor"] is None
    table = api.call("GET", "/api/v1/public/revocations/issuing-ca.csv", role=None)
    assert table.status_code == 200 and table.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(table.get_data(as_text=True))))
    assert rows[0] == ["serial_number", "organisation", "common_name", "revocation_date",
                       "reason"]
    assert [r[4] for r in rows[1:]] == ["superseded", "keyCompromise"]
    assert format(ledger.certificates.get(kept).serial_number or 0, "x") not in str(rows)
    for bad in ("/api/v1/public/revocations/no-such-ca",
                "/api/v1/public/revocations/no-such-ca.csv"):
        assert api.call("GET", bad, role=None).status_code == 404
    assert api.call("GET", "/api/v1/public/revocations/issuing-ca?cursor=zz",
                    role=None).status_code == 400


@pytest.fixture
def known(api: Api) -> dict[str, str]:
    ledger = api.ledger
    account = ledger.accounts.register(PORTAL, kind="enterprise", username="acme",
                                       name="Acme 科技有限公司",
                                       licence_number="91330100799655058B",
                                       contacts={"phone": "13800138000"})
    ledger.accounts.set_handler(PORTAL, account, name="王五", phone="13700137000",
                                id_number=ID_NUMBER)
    cid = issue(ledger, account)
    ledger.read.runner.catch_up()
    return {"certificate_id": str(cid), "username": "Acme",
            "order_number": ledger.orders.get_for(PORTAL, cid).order_number,
            "organisation": "acme 科技有限公司", "handler_phone": "13700137000",
            "handler_id_number": ID_NUMBER}


def ask(api: Api, fields: dict[str, Any], address: str = "10.0.0.1") -> Any:
    return api.client.post(QUERY, json=fields, environ_base={"REMOTE_ADDR": address})


def test_every_pair_of_fields_finds_status_and_dates_only(api: Api,
                                                          known: dict[str, str]) -> None:
    for number, pair in enumerate(itertools.combinations(sorted(known), 2)):
        answer = ask(api, {name: known[name] for name in pair}, f"10.1.0.{number}")
        assert answer.status_code == 200, (pair, answer.json)
        [item] = answer.json["items"]
        assert item["status"] == "issued" and item["not_after"]
        text = str(answer.json)
        for secret in ("Acme", "ACME", "13700137000", ID_NUMBER, "王五", known["certificate_id"]):
            assert secret not in text


def test_the_order_number_is_the_orders(api: Api, known: dict[str, str]) -> None:
    """The number people read off their order (CL-2026-000001) finds it; another does not."""
    number = known["order_number"]
    assert number.startswith("CL-")
    assert ask(api, {"order_number": number, "username": "acme"}).status_code == 200
    wrong = number[:-1] + ("2" if number[-1] != "2" else "3")
    assert ask(api, {"order_number": wrong, "username": "acme"}).status_code == 404


def test_one_field_is_refused_and_a_wrong_pair_reveals_nothing(
        api: Api, known: dict[str, str]) -> None:
    head = api.ledger.log.head()
    for name, value in known.items():
        refused = ask(api, {name: value}, "10.2.0.1")
        assert refused.status_code == 400 and refused.json["error"]["code"] == \
            "two_fields_needed"
    wrong = [{"username": "acme", "handler_phone": "13900000000"},
             {"username": "nobody", "handler_phone": "13700137000"},
             {"username": "acme", "handler_id_number": "110105194912310021"},
             {"username": "acme", "handler_id_number": "not a number"},
             {"organisation": "other", "certificate_id": known["certificate_id"]}]
    bodies = []
    for number, fields in enumerate(wrong):
        answer = ask(api, fields, f"10.3.0.{number}")
        assert answer.status_code == 404
        error = dict(answer.json["error"])
        error.pop("request_id")
        bodies.append(error)
    assert all(body == bodies[0] for body in bodies)
    assert ask(api, {"username": "acme", "extra": "x"}, "10.2.0.2").status_code == 400
    assert api.ledger.log.head() == head


def test_the_rate_limit_trips_per_client_address(api: Api, known: dict[str, str]) -> None:
    fields = {"username": "acme", "handler_phone": "13700137000"}
    limit = api.ledger.settings.query_rate
    answers = [ask(api, fields, "10.9.9.9").status_code for _ in range(limit)]
    assert answers == [200] * limit
    tripped = ask(api, fields, "10.9.9.9")
    assert tripped.status_code == 429 and int(tripped.headers["Retry-After"]) >= 1
    assert tripped.json["error"]["code"] == "rate_limited"
    assert ask(api, fields, "10.9.9.10").status_code == 200  # another address
