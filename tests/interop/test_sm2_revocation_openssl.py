"""An SM2 CA's CRL and OCSP responses, as the HTTP endpoints serve them, checked by OpenSSL.

OpenSSL 3.0 cannot take the SM2 signer ID when it verifies a CRL or an OCSP response,
so (DESIGN.md §5) the signed part and the signature are extracted and checked with
``openssl dgst -sm3 -verify pub.pem -sigopt distid:1234567812345678``. Runs on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from asn1crypto.pem import armor

from api.app import create_app
from api.bootstrap import CertLedger
from ca.encoding.algorithms import SM3_WITH_SM2_OID, KeyAlgorithm
from ca.encoding.lint import lint_crl, lint_ocsp_response
from ca.encoding.ocsp_responses import encode_cert_id, issuer_hashes
from domain.reasons import RevocationReason
from tests.conftest import OFFICER, PORTAL
from tests.crl_helpers import publish_crls
from tests.ocsp_helpers import ocsp_request, single_statuses

pytestmark = pytest.mark.interop
DIST_ID = "distid:1234567812345678"


def _run(directory: Path, *args: str) -> str:
    done = subprocess.run(["openssl", *args], cwd=directory, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _openssl_sm2_verifies(directory: Path, name: str, public_key: asn1_x509.Certificate,
                          signed: bytes, signature: bytes) -> str:
    (directory / f"{name}.pub.pem").write_bytes(armor("PUBLIC KEY", public_key.dump()))
    (directory / f"{name}.tbs").write_bytes(signed)
    (directory / f"{name}.sig").write_bytes(signature)
    return _run(directory, "dgst", "-sm3", "-verify", f"{name}.pub.pem", "-sigopt", DIST_ID,
                "-signature", f"{name}.sig", f"{name}.tbs")


def test_sm2_crl_and_ocsp_from_the_endpoints_verify_with_openssl(
        ledger: CertLedger, tmp_path: Path) -> None:
    sm2 = ledger  # beside the fixture's ECDSA hierarchy, as a CA would run both
    sm2.hierarchy.establish(OFFICER, algorithm=KeyAlgorithm.SM2, root_name="sm2-root-ca",
                            issuing_name="sm2-issuing-ca", organization="SM2 Test")
    app = create_app({"CERTLEDGER": sm2, "SETTINGS": sm2.settings, "TESTING": True})
    client = app.test_client()
    leaf_der = _issue_under(sm2, tmp_path)
    issuing = asn1_x509.Certificate.load(sm2.hierarchy.get("sm2-issuing-ca").certificate_der)
    publish_crls(sm2)  # what the CRL processes of a server do

    crl_der = client.get("/crl/sm2-issuing-ca.crl").data
    crl = asn1_crl.CertificateList.load(crl_der)
    assert crl["signature_algorithm"]["algorithm"].dotted == SM3_WITH_SM2_OID
    serial = asn1_x509.Certificate.load(leaf_der).serial_number
    revoked = [entry["user_certificate"].native for entry in crl["tbs_cert_list"]
               ["revoked_certificates"]]
    assert revoked == [serial]
    assert "Verified OK" in _openssl_sm2_verifies(
        tmp_path, "crl", issuing.public_key, crl["tbs_cert_list"].dump(),
        crl["signature"].native)
    assert lint_crl(crl_der) == []

    hashes = issuer_hashes(issuing.dump())
    request = ocsp_request(encode_cert_id("sha256", *hashes["sha256"], serial))
    reply = client.post("/ocsp", data=request, content_type="application/ocsp-request")
    assert reply.status_code == 200
    assert single_statuses(reply.data)[0][:2] == (serial, "revoked")
    basic = asn1_ocsp.OCSPResponse.load(reply.data).basic_ocsp_response
    assert basic["signature_algorithm"]["algorithm"].dotted == SM3_WITH_SM2_OID
    responder = asn1_x509.Certificate.load(basic["certs"][0].dump())
    assert "Verified OK" in _openssl_sm2_verifies(
        tmp_path, "ocsp", responder.public_key, basic["tbs_response_data"].dump(),
        basic["signature"].native)
    assert "Verified OK" in _openssl_sm2_verifies(
        tmp_path, "responder", issuing.public_key, responder["tbs_certificate"].dump(),
        responder["signature_value"].native)
    assert lint_ocsp_response(reply.data) == []


def _issue_under(ledger: CertLedger, directory: Path) -> bytes:
    _run(directory, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2",
         "-out", "leaf.key")
    _run(directory, "req", "-new", "-key", "leaf.key", "-sm3", "-sigopt", DIST_ID,
         "-subj", "/CN=ignored", "-out", "leaf.csr")
    cid = ledger.certificates.apply(PORTAL, profile="personal-signing", issuer="sm2-issuing-ca",
                                    csr=(directory / "leaf.csr").read_text(),
                                    subject={"common_name": "赵六"})
    ledger.certificates.approve(OFFICER, cid)
    certificate = ledger.certificates.issue(OFFICER, cid)
    ledger.certificates.revoke(OFFICER, cid, RevocationReason.KEY_COMPROMISE)
    assert certificate.certificate_der is not None
    return certificate.certificate_der
