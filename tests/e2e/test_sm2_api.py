"""SM2/SM3 (国密) over the HTTP API, on SQLite and PostgreSQL, with OpenSSL-made keys and CSRs.

Every refused request gets a 4xx JSON error and leaves the event log as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asn1crypto import algos, core, csr, keys, pem, x509

from api.app import create_app
from api.cli import main as cli_main
from api.settings import Settings
from ca.encoding import sm2
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.sm2 import curve
from tests.conftest import ADMIN, PASSPHRASE, build_ledger
from tests.e2e.conftest import Api
from tests.helpers import event_topics
from tests.interop.test_sm2_certificates import (
    DISTID,
    csr_pem,
    openssl,
    openssl_dgst_verifies,
    openssl_verifies_link,
    sm2_csr_der,
)

ISSUER = "sm2-issuing-ca"
PERSON = {"common_name": "李四", "emails": ["li@example.cn"]}
ISSUED = "certledger:Certificate.Issued:v1"


@pytest.fixture(scope="module")
def openssl_csrs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Keys and CSRs made by OpenSSL: with -sigopt distid (two keys) and without it."""
    folder = tmp_path_factory.mktemp("openssl-sm2-csrs")
    made: dict[str, str] = {}
    for name, options in (("signing", ["-sigopt", DISTID]), ("encryption", ["-sigopt", DISTID]),
                          ("empty_id", [])):
        key, request = folder / f"{name}.key", folder / f"{name}.csr"
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", key)
        openssl("req", "-new", "-key", key, "-sm3", *options, "-subj", "/CN=x", "-out", request)
        made[name] = request.read_text()
    return made


@pytest.fixture
def sm2_api(api: Api) -> Api:
    """The API with an SM2 root and issuing CA next to the fixture's ECDSA ones."""
    api.ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.SM2, root_name="sm2-root-ca",
                                    issuing_name=ISSUER, organization="Test Org")
    return api


def _apply(api: Api, csr_text: str, **overrides: Any) -> Any:
    body = {"profile": "personal-signing", "csr": csr_text, "subject": PERSON,
            "issuer": ISSUER, **overrides}
    return api.call("POST", "/api/v1/certificates", role="applicant-portal", json=body)


def _issued_signer_ids(api: Api) -> list[str | None]:
    notifications = api.ledger.log.recorder.select_notifications(start=1, limit=10_000)
    return [api.ledger.log.mapper.to_domain_event(n).csr_signer_id
            for n in notifications if n.topic == ISSUED]


def _chain(api: Api) -> tuple[bytes, bytes]:
    return api.client.get(f"/ca/{ISSUER}.crt").data, api.client.get("/ca/sm2-root-ca.crt").data


def _der(certificate_pem: str) -> bytes:
    return pem.unarmor(certificate_pem.encode())[2]


def test_an_openssl_csr_is_issued_over_http_and_verifies_with_openssl(
        sm2_api: Api, openssl_csrs: dict[str, str], tmp_path: Path) -> None:
    created = _apply(sm2_api, openssl_csrs["signing"])
    assert created.status_code == 201, created.json
    assert created.json["key_algorithm"] == "sm2"
    assert created.json["csr_signer_id"] == "1234567812345678"
    cid = created.json["id"]
    assert sm2_api.call("POST", f"/api/v1/certificates/{cid}/approve").status_code == 200
    issued = sm2_api.call("POST", f"/api/v1/certificates/{cid}/issue", role="applicant-portal")
    assert issued.status_code == 200, issued.json

    leaf = _der(issued.json["certificate_pem"])
    issuing, root = _chain(sm2_api)
    result = openssl_verifies_link(tmp_path, issuing, leaf, "-purpose", "sslclient")
    assert result.returncode == 0 and result.stdout.strip().endswith(": OK"), result.stderr
    assert openssl_dgst_verifies(tmp_path, root, issuing)
    assert openssl_dgst_verifies(tmp_path, root, root)
    assert _issued_signer_ids(sm2_api) == ["1234567812345678"]


def test_a_csr_signed_with_the_empty_id_is_refused_by_default(
        sm2_api: Api, openssl_csrs: dict[str, str]) -> None:
    before = event_topics(sm2_api.ledger)
    refused = _apply(sm2_api, openssl_csrs["empty_id"])
    assert refused.status_code == 400
    assert refused.json["error"]["code"] == "sm2_empty_signer_id"
    assert "-sigopt distid:1234567812345678" in refused.json["error"]["message"]
    assert event_topics(sm2_api.ledger) == before


def test_a_csr_signed_with_the_empty_id_is_accepted_when_the_ca_allows_it(
        sm2_api: Api, settings: Settings, openssl_csrs: dict[str, str]) -> None:
    lenient_service = build_ledger(settings, accept_empty_sm2_id=True)
    lenient = Api(create_app({"CERTLEDGER": lenient_service,
                              "SETTINGS": lenient_service.settings,
                              "TESTING": True}).test_client(), lenient_service, sm2_api.tokens)
    created = _apply(lenient, openssl_csrs["empty_id"])
    assert created.status_code == 201, created.json
    assert created.json["csr_signer_id"] == ""
    default_id = _apply(lenient, openssl_csrs["signing"])
    assert default_id.json["csr_signer_id"] == "1234567812345678"  # the default ID first

    # Reviewed and issued by a CA that no longer accepts the empty ID: the application was
    # accepted under the setting of its day, and the Issued event records the ID that did.
    for cid in (created.json["id"], default_id.json["id"]):
        assert sm2_api.call("POST", f"/api/v1/certificates/{cid}/approve").status_code == 200
        issued = sm2_api.call("POST", f"/api/v1/certificates/{cid}/issue")
        assert issued.status_code == 200, issued.json
    assert _issued_signer_ids(sm2_api) == ["", "1234567812345678"]


# ---- malformed SM2 requests, edited with asn1crypto ---------------------------------------

def _edited(edit: str) -> str:
    """An SM2 CSR (valid, default ID) with one thing broken."""
    request = csr.CertificationRequest.load(sm2_csr_der())
    info = request["certification_request_info"]
    spki = info["subject_pk_info"]
    point = bytes(spki["public_key"].native)
    signature = algos.DSASignature.load(request["signature"].native).native
    if edit == "point_not_on_curve":
        spki = _spki(point[:-1] + bytes([point[-1] ^ 0x01]))
    elif edit == "p256_curve_oid":
        spki = _spki(point, curve_oid="1.2.840.10045.3.1.7")
    elif edit == "unknown_curve_oid":
        spki = _spki(point, curve_oid="1.2.156.10197.1.301.9")
    elif edit == "r_zero":
        signature["r"] = 0
    elif edit == "s_equal_to_n":
        signature["s"] = curve.N
    elif edit == "r_above_n":
        signature["r"] += curve.N
    info = csr.CertificationRequestInfo({**{k: info[k] for k in ("version", "subject",
                                                                  "attributes")},
                                         "subject_pk_info": spki})
    value = algos.DSASignature(signature).dump()
    if edit == "truncated_signature":
        value = value[:-5]
    algorithm = request["signature_algorithm"]
    if edit == "null_parameters":  # SM3withSM2 with NULL parameters: accepted on input
        algorithm = algos.SignedDigestAlgorithm({"algorithm": algorithm["algorithm"].dotted,
                                                 "parameters": core.Null()})
    return csr_pem(csr.CertificationRequest({
        "certification_request_info": info, "signature_algorithm": algorithm,
        "signature": value}).dump())


def _spki(point: bytes, curve_oid: str = "1.2.156.10197.1.301") -> keys.PublicKeyInfo:
    return keys.PublicKeyInfo({
        "algorithm": keys.PublicKeyAlgorithm({
            "algorithm": "ec",
            "parameters": keys.ECDomainParameters(name="named", value=curve_oid)}),
        "public_key": point})


@pytest.mark.parametrize(("edit", "code"), [
    ("point_not_on_curve", "weak_or_bad_key"),
    ("p256_curve_oid", "weak_or_bad_key"),
    ("unknown_curve_oid", "weak_or_bad_key"),
    ("truncated_signature", "bad_csr_signature"),
    ("r_zero", "bad_csr_signature"),
    ("s_equal_to_n", "bad_csr_signature"),
    ("r_above_n", "bad_csr_signature"),
])
def test_malformed_sm2_requests_are_refused_and_record_nothing(sm2_api: Api, edit: str,
                                                               code: str) -> None:
    before = event_topics(sm2_api.ledger)
    refused = _apply(sm2_api, _edited(edit))
    assert refused.status_code == 400, refused.json
    assert refused.json["error"]["code"] == code
    pair = sm2_api.call("POST", "/api/v1/certificate-pairs", json={
        "signing_csr": csr_pem(sm2_csr_der()), "encryption_csr": _edited(edit),
        "subject": PERSON, "issuer": ISSUER})
    assert pair.status_code == 400 and pair.json["error"]["code"] == code
    assert pair.json["error"]["message"].startswith("encryption_csr: ")
    assert event_topics(sm2_api.ledger) == before


@pytest.mark.parametrize("edit", ["nothing", "null_parameters"])
def test_requests_rebuilt_the_same_way_are_accepted(sm2_api: Api, edit: str) -> None:
    """The edits above, not the rebuilding, are what makes those requests fail."""
    assert _apply(sm2_api, _edited(edit)).status_code == 201


# ---- dual certificates (双证书) ---------------------------------------------------------

def _apply_pair(api: Api, csrs: dict[str, str], **overrides: Any) -> Any:
    body = {"signing_csr": csrs["signing"], "encryption_csr": csrs["encryption"],
            "subject": PERSON, "issuer": ISSUER, "validity_days": 730, **overrides}
    return api.call("POST", "/api/v1/certificate-pairs", role="applicant-portal", json=body)


def test_a_dual_certificate_pair_over_http(sm2_api: Api, openssl_csrs: dict[str, str],
                                           tmp_path: Path) -> None:
    created = _apply_pair(sm2_api, openssl_csrs)
    assert created.status_code == 201, created.json
    pair_id = created.json["pair_id"]
    signing, encryption = created.json["signing"], created.json["encryption"]
    assert created.headers["Location"].endswith(f"/api/v1/certificate-pairs/{pair_id}")
    assert signing["pair"] == {"id": pair_id, "role": "signing", "partner_id": encryption["id"]}
    assert encryption["pair"] == {"id": pair_id, "role": "encryption",
                                  "partner_id": signing["id"]}
    assert (signing["profile"], encryption["profile"]) == ("personal-signing", "encryption")
    assert encryption["key_source"] == "applicant-csr"

    approved = sm2_api.call("POST", f"/api/v1/certificate-pairs/{pair_id}/approve")
    assert approved.status_code == 200
    before = event_topics(sm2_api.ledger)
    again = sm2_api.call("POST", f"/api/v1/certificate-pairs/{pair_id}/approve")
    assert again.status_code == 409 and again.json["error"]["code"] == "certificate_approved"
    assert event_topics(sm2_api.ledger) == before
    assert before.count("certledger:Certificate.Approved:v1") == 2  # one per certificate

    issued = sm2_api.call("POST", f"/api/v1/certificate-pairs/{pair_id}/issue",
                          role="applicant-portal")
    assert issued.status_code == 200, issued.json
    assert sm2_api.call("GET", f"/api/v1/certificate-pairs/{pair_id}",
                        role="auditor").json == issued.json
    issuing, _ = _chain(sm2_api)
    usages = {"signing": {"digital_signature", "non_repudiation"},
              "encryption": {"key_encipherment", "data_encipherment", "key_agreement"}}
    for role, usage in usages.items():
        view = issued.json[role]
        assert view["status"] == "issued" and view["pair"]["id"] == pair_id
        der = _der(view["certificate_pem"])
        assert set(x509.Certificate.load(der).key_usage_value.native) == usage
        result = openssl_verifies_link(tmp_path, issuing, der)
        assert result.returncode == 0, result.stdout + result.stderr
    assert sm2_api.call("GET", f"/api/v1/certificates/{signing['id']}",
                        role="auditor").json["pair"]["partner_id"] == encryption["id"]


def test_pair_commands_refused(sm2_api: Api, openssl_csrs: dict[str, str]) -> None:
    created = _apply_pair(sm2_api, openssl_csrs)
    pair_id, signing_id = created.json["pair_id"], created.json["signing"]["id"]
    before = event_topics(sm2_api.ledger)
    cases = [
        ("POST", f"/api/v1/certificates/{signing_id}/approve", "officer", None, 409,
         "pair_member"),
        ("POST", f"/api/v1/certificate-pairs/{pair_id}/issue", "officer", None, 409,
         "certificate_applied"),
        ("POST", f"/api/v1/certificate-pairs/{pair_id}/approve", "applicant-portal", None, 403,
         "forbidden"),
        ("POST", f"/api/v1/certificate-pairs/{pair_id}/reject", "officer", {}, 400,
         "missing_fields"),
        ("GET", "/api/v1/certificate-pairs/not-a-uuid", "officer", None, 404, "pair_not_found"),
        ("GET", f"/api/v1/certificate-pairs/{signing_id}", "officer", None, 404,
         "pair_not_found"),
        ("POST", "/api/v1/certificate-pairs", "officer", {"signing_csr": "x"}, 400,
         "missing_fields"),
        ("POST", "/api/v1/certificate-pairs", "officer",
         {"signing_csr": openssl_csrs["signing"], "encryption_csr": openssl_csrs["signing"],
          "subject": PERSON, "issuer": ISSUER}, 400, "pair_keys_identical"),
        ("POST", "/api/v1/certificate-pairs", "officer",
         {"signing_csr": openssl_csrs["signing"], "encryption_csr": 7, "subject": PERSON},
         400, "bad_csr"),
        ("POST", "/api/v1/certificate-pairs", "officer",
         {"signing_csr": openssl_csrs["signing"], "encryption_csr": openssl_csrs["encryption"],
          "subject": PERSON, "issuer": ISSUER, "signing_profile": "encryption"}, 400,
         "profile_not_allowed"),
    ]
    for method, path, role, body, status, code in cases:
        response = sm2_api.call(method, path, role=role,
                                **({"json": body} if body is not None else {}))
        assert (response.status_code, response.json["error"]["code"]) == (status, code), \
            (path, response.json)
    assert event_topics(sm2_api.ledger) == before

    rejected = sm2_api.call("POST", f"/api/v1/certificate-pairs/{pair_id}/reject",
                            json={"reason": "授权书未签字"})
    assert {rejected.json[r]["status"] for r in ("signing", "encryption")} == {"rejected"}


# ---- the command line -------------------------------------------------------------------

def test_certledger_init_makes_an_sm2_hierarchy(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTLEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CERTLEDGER_KEY_PASSPHRASE", PASSPHRASE.decode())
    monkeypatch.delenv("CERTLEDGER_DATABASE_URL", raising=False)
    assert cli_main(["init", "--algorithm", "sm2", "--root-name", "sm2-root-ca",
                     "--issuing-name", "sm2-issuing-ca"]) == 0

    settings = Settings.from_env()
    ledger = build_ledger(settings)  # opens the CLI's sealed keys with the same passphrase
    for name in ("sm2-root-ca", "sm2-issuing-ca"):
        authority = ledger.hierarchy.get(name)
        assert authority.key_algorithm == "sm2"
        assert isinstance(ledger.keys.load(authority.key_ref), sm2.Sm2Signer)
    issuing, root = ledger.hierarchy.chain("sm2-issuing-ca")
    assert x509.Certificate.load(issuing).issuer == x509.Certificate.load(root).subject
