"""The RA API over HTTP (Flask test client), on SQLite and PostgreSQL.

Every bad request gets its 4xx with a JSON error and leaves the event log as it was.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ca.encoding.algorithms import KeyAlgorithm
from tests.e2e.conftest import Api
from tests.helpers import event_topics, make_csr

TLS = {"profile": "tls-server", "subject": {"dns_names": ["portal.example.cn"]}}


def _apply(api: Api, csr_pem: str, role: str = "applicant-portal", **overrides: Any) -> Any:
    body = {**TLS, "csr": csr_pem, **overrides}
    return api.call("POST", "/api/v1/certificates", role=role, json=body)


def test_full_lifecycle_over_http(api: Api, csr_pem: str) -> None:
    created = _apply(api, csr_pem)
    assert created.status_code == 201, created.json
    cid = created.json["id"]
    assert created.headers["Location"].endswith(cid)
    assert api.call("POST", f"/api/v1/certificates/{cid}/approve").json["status"] == "approved"
    issued = api.call("POST", f"/api/v1/certificates/{cid}/issue", role="applicant-portal")
    assert issued.status_code == 200 and issued.json["status"] == "issued"
    leaf = x509.load_pem_x509_certificate(issued.json["certificate_pem"].encode())
    issuing = x509.load_der_x509_certificate(api.client.get("/ca/issuing-ca.crt").data)
    leaf.verify_directly_issued_by(issuing)
    revoked = api.call("POST", f"/api/v1/certificates/{cid}/revoke",
                       json={"reason": "keyCompromise", "comment": "lost Ukey"})
    assert revoked.json["revocation"]["reason"] == "keyCompromise"
    again = api.call("POST", f"/api/v1/certificates/{cid}/revoke", json={"reason": "superseded"})
    assert again.status_code == 409 and again.json["error"]["code"] == "certificate_revoked"
    assert api.call("GET", f"/api/v1/certificates/{cid}", role="auditor").status_code == 200


def test_public_ca_endpoints(api: Api) -> None:
    der = api.client.get("/ca/root-ca.crt")
    assert der.status_code == 200 and der.mimetype == "application/pkix-cert"
    chain = api.client.get("/ca/issuing-ca-chain.pem")
    certificates = x509.load_pem_x509_certificates(chain.data)
    assert len(certificates) == 2
    assert api.client.get("/ca/nope.crt").status_code == 404
    assert api.client.get("/ca/nope.crt").json["error"]["code"] == "ca_not_found"


def _weak_rsa_csr() -> str:
    key = rsa.generate_private_key(65537, 1024)
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weak")]))
               .sign(key, hashes.SHA256()))
    return request.public_bytes(serialization.Encoding.PEM).decode()


def _bad_signature_csr(csr_pem: str) -> str:
    der = bytearray(x509.load_pem_x509_csr(csr_pem.encode()).public_bytes(
        serialization.Encoding.DER))
    der[-5] ^= 0x55  # inside the signature value
    body = base64.encodebytes(bytes(der)).decode()
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{body}-----END CERTIFICATE REQUEST-----\n"


def _truncated_csr(csr_pem: str) -> str:
    der = x509.load_pem_x509_csr(csr_pem.encode()).public_bytes(serialization.Encoding.DER)
    body = base64.encodebytes(der[: len(der) // 2]).decode()
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{body}-----END CERTIFICATE REQUEST-----\n"


BAD_APPLICATIONS = {
    "garbage csr": ({"csr": "hello"}, 400, "bad_csr"),
    "truncated csr": ({"csr": "TRUNCATED"}, 400, "bad_csr"),
    "signature does not verify": ({"csr": "BADSIG"}, 400, "bad_csr_signature"),
    "weak rsa key": ({"csr": "WEAK"}, 400, "weak_or_bad_key"),
    "unknown profile": ({"profile": "gold"}, 400, "unknown_profile"),
    "missing subject fields": ({"profile": "organisation-signing",
                                "subject": {"common_name": "x"}}, 400,
                               "missing_subject_fields"),
    "bad subject field": ({"subject": {"dns_names": ["not a name"]}}, 400, "invalid_subject"),
    "unknown subject field": ({"subject": {"title": "x"}}, 400, "invalid_subject"),
    "too long validity": ({"validity_days": 5000}, 400, "invalid_validity"),
    "unknown issuer": ({"issuer": "other-ca"}, 404, "ca_not_found"),
    "csr not a string": ({"csr": 5}, 400, "bad_csr"),
}


@pytest.mark.parametrize("case", sorted(BAD_APPLICATIONS))
def test_bad_application_is_refused_and_records_nothing(api: Api, csr_pem: str,
                                                        case: str) -> None:
    overrides, status, code = BAD_APPLICATIONS[case]
    overrides = dict(overrides)
    substitutes = {"TRUNCATED": _truncated_csr(csr_pem), "BADSIG": _bad_signature_csr(csr_pem),
                   "WEAK": _weak_rsa_csr()}
    if overrides.get("csr") in substitutes:
        overrides["csr"] = substitutes[overrides["csr"]]
    before = event_topics(api.ledger)
    response = _apply(api, csr_pem, **overrides)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert event_topics(api.ledger) == before


def test_transport_level_bad_requests(api: Api, csr_pem: str) -> None:
    before = event_topics(api.ledger)
    path = "/api/v1/certificates"
    oversize = api.call("POST", path, role="applicant-portal",
                        data=json.dumps({**TLS, "csr": "x" * 100_000}),
                        content_type="application/json")
    assert oversize.status_code == 413 and oversize.json["error"]["code"]
    wrong_type = api.call("POST", path, role="applicant-portal", data="csr=1",
                          content_type="application/x-www-form-urlencoded")
    assert wrong_type.status_code == 415
    not_json = api.call("POST", path, role="applicant-portal", data="{nope",
                        content_type="application/json")
    assert not_json.status_code == 400 and not_json.json["error"]["code"] == "bad_json"
    array = api.call("POST", path, role="applicant-portal", json=[1, 2])
    assert array.status_code == 400
    missing = api.call("POST", path, role="applicant-portal", json={"csr": csr_pem})
    assert missing.status_code == 400 and missing.json["error"]["code"] == "missing_fields"
    no_token = api.call("POST", path, role=None, json={**TLS, "csr": csr_pem})
    assert no_token.status_code == 401
    bad_token = api.call("POST", path, role=None, json={**TLS, "csr": csr_pem},
                         headers={"Authorization": "Bearer clt_not-a-token"})
    assert bad_token.status_code == 401 and bad_token.json["error"]["code"] == "bad_token"
    wrong_role = api.call("POST", path, role="auditor", json={**TLS, "csr": csr_pem})
    assert wrong_role.status_code == 403 and wrong_role.json["error"]["code"] == "forbidden"
    assert api.call("GET", "/api/v1/certificates/not-a-uuid").status_code == 404
    assert api.call("GET", "/api/v1/nothing-here").status_code == 404
    assert event_topics(api.ledger) == before


def test_officer_only_commands_refuse_the_portal(api: Api, csr_pem: str) -> None:
    cid = _apply(api, csr_pem).json["id"]
    before = event_topics(api.ledger)
    response = api.call("POST", f"/api/v1/certificates/{cid}/approve", role="applicant-portal")
    assert response.status_code == 403
    assert event_topics(api.ledger) == before


@pytest.mark.parametrize("body,code", [
    ({"reason": "certificateHold"}, "bad_reason"),
    ({"reason": "sorry"}, "bad_reason"),
    ({"reason": "keyCompromise", "invalidity_date": "yesterday"}, "bad_time"),
    ({"reason": "keyCompromise", "invalidity_date": "2026-01-01T00:00:00"}, "bad_time"),
    ({}, "missing_fields"),
])
def test_bad_revocations_are_refused(api: Api, csr_pem: str, body: dict[str, Any],
                                     code: str) -> None:
    cid = _apply(api, csr_pem).json["id"]
    api.call("POST", f"/api/v1/certificates/{cid}/approve")
    api.call("POST", f"/api/v1/certificates/{cid}/issue")
    before = event_topics(api.ledger)
    response = api.call("POST", f"/api/v1/certificates/{cid}/revoke", json=body)
    assert response.status_code == 400 and response.json["error"]["code"] == code
    assert event_topics(api.ledger) == before


def test_other_key_types_are_accepted(api: Api) -> None:
    for algorithm in (KeyAlgorithm.RSA_2048, KeyAlgorithm.ED25519, KeyAlgorithm.ECDSA_P384):
        response = _apply(api, make_csr(algorithm)[1])
        assert response.status_code == 201, response.json
        assert response.json["key_algorithm"] == algorithm.value
