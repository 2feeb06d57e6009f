"""Issue 7 over HTTP: what an applicant portal can no longer get (a leaf under the root,
names that must never reach a certificate, SAN types a profile does not take), the 500s
that are 4xx now, and the revocation of a dual pair as one. Each refusal is a JSON 4xx
and leaves the event log as it was."""

from __future__ import annotations

from typing import Any

import pytest
from asn1crypto import csr as asn1_csr
from asn1crypto import pem

from ca.encoding.algorithms import KeyAlgorithm
from tests.e2e.conftest import Api
from tests.helpers import event_topics, make_csr


def _apply(api: Api, body: dict[str, Any], role: str = "applicant-portal") -> Any:
    return api.call("POST", "/api/v1/certificates", role=role, json=body)


def _refused(api: Api, body: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    before = event_topics(api.ledger)
    response = _apply(api, body)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code, response.json
    assert event_topics(api.ledger) == before
    return response.json["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("profile,subject", [
    ("tls-server", {"dns_names": ["www.example.cn"]}),
    ("personal-signing", {"common_name": "Alice"}),
])
def test_a_portal_gets_no_leaf_from_the_root_ca(api: Api, csr_pem: str, profile: str,
                                                subject: dict[str, Any]) -> None:
    error = _refused(api, {"profile": profile, "subject": subject, "csr": csr_pem,
                           "issuer": "root-ca"}, 400, "profile_not_allowed_for_ca")
    assert "root CA" in error["message"]


@pytest.mark.parametrize("common_name", [
    "Alice\u0000.evil.com", "Alice\u202egpj.exe", "Alice\nCN=root\u0007"])
def test_control_and_bidi_characters_never_reach_a_certificate(api: Api, csr_pem: str,
                                                               common_name: str) -> None:
    _refused(api, {"profile": "personal-signing", "csr": csr_pem,
                   "subject": {"common_name": common_name}}, 400, "invalid_subject")


@pytest.mark.parametrize("profile,subject", [
    ("tls-server", {"dns_names": ["www.example.cn"], "emails": ["a@example.cn"]}),
    ("tls-server", {"dns_names": ["www.example.cn"], "ip_addresses": ["0.0.0.0"]}),
    ("tls-server", {"dns_names": ["www.example.cn"], "ip_addresses": ["::"]}),
    ("personal-signing", {"common_name": "A", "dns_names": ["bank.example.com"]}),
    ("personal-signing", {"common_name": "A", "ip_addresses": ["192.0.2.7"]}),
])
def test_profiles_restrict_san_types_and_addresses(api: Api, csr_pem: str, profile: str,
                                                   subject: dict[str, Any]) -> None:
    response = _apply(api, {"profile": profile, "csr": csr_pem, "subject": subject})
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] in ("san_type_not_allowed", "ip_address_not_allowed")


def _unknown_signature_algorithm_csr() -> str:
    _, good = make_csr(KeyAlgorithm.ECDSA_P256)
    request = asn1_csr.CertificationRequest.load(pem.unarmor(good.encode())[2])
    request["signature_algorithm"] = {"algorithm": "1.2.3.4.5"}
    return pem.armor("CERTIFICATE REQUEST", request.dump(force=True)).decode()


@pytest.mark.parametrize("overrides,code", [
    ({"csr": "UNKNOWN-OID"}, "bad_csr_signature"),
    ({"profile": "personal-signing", "subject": {"common_name": "A", "emails": ["a@-.."]}},
     "invalid_subject"),
    ({"subject": {"dns_names": ["xn--zz.example.cn"]}}, "invalid_subject"),
])
def test_what_was_a_500_is_a_400_at_apply(api: Api, csr_pem: str, overrides: dict[str, Any],
                                          code: str) -> None:
    body = {"profile": "tls-server", "subject": {"dns_names": ["www.example.cn"]},
            "csr": csr_pem, **overrides}
    if body["csr"] == "UNKNOWN-OID":
        body["csr"] = _unknown_signature_algorithm_csr()
    _refused(api, body, 400, code)


def _issue(api: Api, csr_pem: str) -> str:
    created = _apply(api, {"profile": "tls-server", "csr": csr_pem,
                           "subject": {"dns_names": ["www.example.cn"]}})
    cid = created.json["id"]
    api.call("POST", f"/api/v1/certificates/{cid}/approve")
    api.call("POST", f"/api/v1/certificates/{cid}/issue")
    return str(cid)


def test_an_invalidity_date_in_year_one_never_reaches_the_crl(api: Api, csr_pem: str) -> None:
    cid = _issue(api, csr_pem)
    before = event_topics(api.ledger)
    response = api.call("POST", f"/api/v1/certificates/{cid}/revoke",
                        json={"reason": "keyCompromise",
                              "invalidity_date": "0001-01-01T00:00:00Z"})
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "invalid_invalidity_date"
    assert event_topics(api.ledger) == before


def _pair(api: Api) -> str:
    created = api.call("POST", "/api/v1/certificate-pairs", role="applicant-portal", json={
        "signing_csr": make_csr(KeyAlgorithm.ECDSA_P256)[1],
        "encryption_csr": make_csr(KeyAlgorithm.ECDSA_P256)[1],
        "subject": {"common_name": "张三"}})
    assert created.status_code == 201, created.json
    pair_id = created.json["pair_id"]
    api.call("POST", f"/api/v1/certificate-pairs/{pair_id}/approve")
    assert api.call("POST", f"/api/v1/certificate-pairs/{pair_id}/issue").status_code == 200
    return str(pair_id)


def test_a_pair_is_revoked_as_one_over_http(api: Api) -> None:
    pair_id = _pair(api)
    path = f"/api/v1/certificate-pairs/{pair_id}/revoke"
    before = event_topics(api.ledger)
    for role, status in (("auditor", 403), (None, 401)):
        assert api.call("POST", path, role=role, json={"reason": "superseded"}).status_code \
            == status
    assert api.call("POST", path, json={}).status_code == 400
    assert api.call("POST", path, json={"reason": "certificateHold"}).status_code == 400
    assert api.call("POST", "/api/v1/certificate-pairs/nope/revoke",
                    json={"reason": "superseded"}).status_code == 404
    assert event_topics(api.ledger) == before
    revoked = api.call("POST", path, role="applicant-portal", json={
        "reason": "affiliationChanged", "comment": "left the company"})
    assert revoked.status_code == 200, revoked.json
    for half in ("signing", "encryption"):
        assert revoked.json[half]["status"] == "revoked"
        assert revoked.json[half]["revocation"]["reason"] == "affiliationChanged"
    again = api.call("POST", path, json={"reason": "superseded"})
    assert again.status_code == 409 and again.json["error"]["code"] == "certificate_revoked"
