"""The auditor's API: the log as NDJSON pages, the latest tree head, archived CRLs; the
auditor role (and admin) only; bad parameters are a JSON 400 that records nothing."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography import x509

from ca.audit.records import parse_line, payload_matches
from domain.certificate import Certificate
from domain.reasons import RevocationReason
from tests.audit_helpers import sign_heads
from tests.conftest import OFFICER
from tests.crl_helpers import issue
from tests.e2e.conftest import Api


def _events(api: Api, query: str, role: str = "auditor") -> tuple[int, list[dict], dict]:
    answer = api.call("GET", f"/api/v1/audit/events{query}", role=role)
    lines = [json.loads(line) for line in answer.get_data(as_text=True).splitlines()]
    return answer.status_code, lines, dict(answer.headers)


def test_the_auditor_pages_through_the_whole_log_once(api: Api) -> None:
    certificate = issue(api.ledger, "paged")
    api.ledger.certificates.revoke(OFFICER, certificate.id, RevocationReason.KEY_COMPROMISE)
    head = api.ledger.log.head()
    seen, after, pages = [], 0, 0
    while True:
        status, lines, headers = _events(api, f"?after={after}&limit=7")
        assert status == 200 and headers["Content-Type"] == "application/x-ndjson"
        seen += lines
        pages += 1
        if "X-Next-After" not in headers:
            break
        assert headers["Link"] == (f'</api/v1/audit/events?after={headers["X-Next-After"]}'
                                   '&limit=7>; rel="next"')
        after = int(headers["X-Next-After"])
    assert [line["position"] for line in seen] == list(range(1, head + 1))
    assert pages == head // 7 + 1
    issued = next(line for line in seen if line["topic"] == Certificate.Issued.TOPIC
                  and line["aggregate_id"] == str(certificate.id))
    der = base64.b64decode(issued["payload"]["certificate_der"])  # lossless: the bytes
    assert x509.load_der_x509_certificate(der).serial_number == certificate.serial_number
    assert issued["actor"] == {"id": OFFICER.id, "role": "officer"}
    for line in seen:
        assert payload_matches(parse_line(json.dumps(line)))


def test_an_admin_may_read_it_and_no_other_role(api: Api) -> None:
    assert _events(api, "", role="admin")[0] == 200
    for role in ("officer", "applicant-portal"):
        answer = api.call("GET", "/api/v1/audit/events", role=role)
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    assert api.call("GET", "/api/v1/audit/events", role=None).status_code == 401


@pytest.mark.parametrize("query", ["?after=-1", "?after=x", "?limit=0", "?limit=10001",
                                   "?after=99999999999999999999", "?limit=1.5"])
def test_bad_paging_is_a_400_that_records_nothing(api: Api, query: str) -> None:
    head = api.ledger.log.head()
    answer = api.call("GET", f"/api/v1/audit/events{query}", role="auditor")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "bad_parameter"
    assert api.ledger.log.head() == head


def test_after_the_head_the_page_is_empty(api: Api) -> None:
    status, lines, headers = _events(api, f"?after={api.ledger.log.head()}")
    assert status == 200 and lines == [] and "X-Next-After" not in headers


def test_the_latest_tree_head_and_the_archived_crls(api: Api) -> None:
    answer = api.call("GET", "/api/v1/audit/tree-heads/latest", role="auditor")
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "tree_head_not_found"
    api.publish_crls()
    [head] = sign_heads(api.ledger)
    latest = api.call("GET", "/api/v1/audit/tree-heads/latest", role="auditor").get_json()
    assert (latest["number"], latest["tree_size"]) == (1, head.tree_size)
    assert latest["root_hash"] == head.root_hash.hex() and latest["position"] > 0
    numbers = api.call("GET", "/api/v1/audit/crls/issuing-ca", role="auditor").get_json()
    assert numbers == {"ca": "issuing-ca", "crl_numbers": [1, 2]}
    crl = api.call("GET", "/api/v1/audit/crls/issuing-ca/1", role="auditor")
    assert crl.status_code == 200 and crl.mimetype == "application/pkix-crl"
    assert x509.load_der_x509_crl(crl.data).extensions.get_extension_for_class(
        x509.CRLNumber).value.crl_number == 1
    assert api.call("GET", "/api/v1/audit/crls/issuing-ca/9", role="auditor").status_code \
        == 404
    assert api.call("GET", "/api/v1/audit/crls/nobody", role="auditor").status_code == 404
