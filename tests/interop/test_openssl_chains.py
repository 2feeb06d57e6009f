"""Our certificates, checked by tools nobody here wrote: OpenSSL's CLI and pkilint."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from api.settings import Settings
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.lint import lint_certificate
from tests.conftest import OFFICER, PORTAL, build_ledger, with_hierarchy
from tests.helpers import approve, make_csr

CASES = [(KeyAlgorithm.RSA_2048, KeyAlgorithm.RSA_2048, "tls-server"),
         (KeyAlgorithm.RSA_3072, KeyAlgorithm.ECDSA_P256, "personal-signing"),
         (KeyAlgorithm.ECDSA_P256, KeyAlgorithm.ECDSA_P256, "tls-server"),
         (KeyAlgorithm.ECDSA_P384, KeyAlgorithm.RSA_2048, "organisation-signing"),
         (KeyAlgorithm.ED25519, KeyAlgorithm.ED25519, "personal-signing"),
         (KeyAlgorithm.ECDSA_P256, KeyAlgorithm.ECDSA_P256, "encryption")]

SUBJECTS = {
    "tls-server": {"common_name": "www.example.cn", "dns_names": ["www.example.cn"],
                   "ip_addresses": ["192.0.2.7"]},
    "personal-signing": {"common_name": "王五", "emails": ["wang@example.cn"]},
    "organisation-signing": {"common_name": "山东某某科技有限公司",
                             "organization": "山东某某科技有限公司",
                             "country": "CN", "serial_number": "91370100MA3C000000"},
    "encryption": {"common_name": "王五"},
}


def _pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)


@pytest.mark.parametrize("ca_algorithm,leaf_algorithm,profile", CASES,
                         ids=[f"{a.value}-{b.value}-{p}" for a, b, p in CASES])
def test_issued_chain_passes_openssl_verify_and_pkilint(
        tmp_path: Path, sqlite_settings: Settings, ca_algorithm: KeyAlgorithm,
        leaf_algorithm: KeyAlgorithm, profile: str) -> None:
    ledger = with_hierarchy(build_ledger(sqlite_settings), ca_algorithm)
    cid = ledger.certificates.apply(PORTAL, profile=profile, csr=make_csr(leaf_algorithm)[1],
                                    subject=SUBJECTS[profile])
    approve(ledger, cid)
    leaf = ledger.certificates.issue(OFFICER, cid).certificate_der
    issuing, root = ledger.hierarchy.chain("issuing-ca")

    for der in (root, issuing, leaf):
        assert lint_certificate(der) == []
    (tmp_path / "root.pem").write_bytes(_pem(root))
    (tmp_path / "issuing.pem").write_bytes(_pem(issuing))
    (tmp_path / "leaf.pem").write_bytes(_pem(leaf))
    purpose = {"tls-server": ["-purpose", "sslserver"],
               "personal-signing": ["-purpose", "sslclient"],
               "organisation-signing": ["-purpose", "sslclient"]}.get(profile, [])
    result = subprocess.run(
        ["openssl", "verify", "-x509_strict", *purpose, "-CAfile", str(tmp_path / "root.pem"),
         "-untrusted", str(tmp_path / "issuing.pem"), str(tmp_path / "leaf.pem")],
        capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip().endswith(": OK"), \
        result.stdout + result.stderr


def test_openssl_refuses_a_leaf_under_the_wrong_root(tmp_path: Path,
                                                     sqlite_settings: Settings) -> None:
    """The check above can fail: a chain to someone else's root does not verify."""
    ledger = with_hierarchy(build_ledger(sqlite_settings))
    other = with_hierarchy(build_ledger(
        Settings(data_dir=tmp_path / "other", database_url=None,
                 public_base_url="http://ca.other.example", default_issuer="issuing-ca",
                 accept_empty_sm2_id=False)))
    cid = ledger.certificates.apply(PORTAL, profile="tls-server",
                                    csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                    subject=SUBJECTS["tls-server"])
    approve(ledger, cid)
    leaf = ledger.certificates.issue(OFFICER, cid).certificate_der
    (tmp_path / "root.pem").write_bytes(_pem(other.hierarchy.chain("issuing-ca")[1]))
    (tmp_path / "issuing.pem").write_bytes(_pem(ledger.hierarchy.chain("issuing-ca")[0]))
    (tmp_path / "leaf.pem").write_bytes(_pem(leaf))
    result = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"),
                             "-untrusted", str(tmp_path / "issuing.pem"),
                             str(tmp_path / "leaf.pem")], capture_output=True, text=True)
    assert result.returncode != 0


def test_openssl_reads_subject_and_extensions_as_we_meant(tmp_path: Path,
                                                          sqlite_settings: Settings) -> None:
    ledger = with_hierarchy(build_ledger(sqlite_settings))
    cid = ledger.certificates.apply(PORTAL, profile="organisation-signing",
                                    csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                    subject=SUBJECTS["organisation-signing"])
    approve(ledger, cid)
    (tmp_path / "leaf.pem").write_bytes(_pem(ledger.certificates.issue(OFFICER,
                                                                       cid).certificate_der))
    text = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "leaf.pem"), "-noout",
                           "-text", "-nameopt", "utf8"], capture_output=True, text=True,
                          check=True).stdout
    assert "山东某某科技有限公司" in text
    assert "Digital Signature, Non Repudiation" in text
    assert "TLS Web Client Authentication" in text
    assert "URI:http://127.0.0.1:8080/crl/issuing-ca.crl" in text
    assert "OCSP - URI:http://127.0.0.1:8080/ocsp" in text
    assert "CA Issuers - URI:http://127.0.0.1:8080/ca/issuing-ca.crt" in text
