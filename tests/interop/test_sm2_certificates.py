"""SM2/SM3 (国密) certificates from our CA, checked by OpenSSL 3 and pkilint.

OpenSSL 3.0 applies ``-vfyopt distid:...`` only to the certificate it is asked to
verify; the CA certificates above it are checked with the empty signer ID, so a
chain of certificates signed with the GM/T 0009 default ID never verifies in one
``openssl verify`` (an all-OpenSSL SM2 chain fails the same way, at depth 1). Each
link is checked on its own instead: the leaf under the issuing CA and the issuing
CA under the root with ``-partial_chain``, and every signature, the root's
self-signature included, with ``openssl dgst -sm3 -sigopt distid:...``.

The helpers here (``openssl``, ``sm2_csr``, ...) are shared by the other SM2 tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import csr, keys, pem, x509
from cryptography.hazmat.primitives import serialization
from pkilint import loader
from pkilint.validation import ValidationFindingSeverity

from api.bootstrap import CertLedger
from api.settings import Settings
from ca.encoding import sm2
from ca.encoding.algorithms import SM2_CURVE_OID, SM3_WITH_SM2_OID, KeyAlgorithm
from ca.encoding.certificate_encoding import CertificateLintError
from ca.encoding.lint import (
    SM2_TOLERATED_FINDINGS,
    _certificate_validator,
    lint_certificate,
    tolerated_findings,
)
from ca.encoding.signers import DEFAULT_SM2_ID
from ca.policy.issuance import issue_certificate, new_serial_number
from ca.policy.profiles import PROFILES
from ca.policy.requests import check_request
from domain.certificate import Certificate
from tests.conftest import ADMIN, OFFICER, PORTAL, build_ledger, with_hierarchy
from tests.helpers import approve, make_csr

pytestmark = pytest.mark.interop

DISTID = f"distid:{DEFAULT_SM2_ID.decode()}"
# AlgorithmIdentifier { 1.2.156.10197.1.501 } with the parameters absent (GM/T 0015)
SM3_WITH_SM2_DER = bytes.fromhex("300a06082a811ccf55018375")
SUBJECTS: dict[str, dict[str, Any]] = {
    "personal-signing": {"common_name": "王五", "emails": ["wang@example.cn"]},
    "organisation-signing": {"common_name": "山东某某科技有限公司",
                             "organization": "山东某某科技有限公司", "country": "CN"},
    "tls-server": {"common_name": "www.example.cn", "dns_names": ["www.example.cn"]},
    "encryption": {"common_name": "王五"},
}
KEY_USAGE = {
    "personal-signing": {"digital_signature", "non_repudiation"},
    "organisation-signing": {"digital_signature", "non_repudiation"},
    "tls-server": {"digital_signature"},
    "encryption": {"key_encipherment", "data_encipherment", "key_agreement"},
}


# ---- helpers shared with tests/e2e/test_sm2_api.py and tests/integration ------------------

def openssl(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = os.environ.get("OPENSSL") or (
        "/usr/bin/openssl" if Path("/usr/bin/openssl").exists() else shutil.which("openssl"))
    assert binary, "the openssl command line tool is needed for these tests"
    result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                            timeout=60)
    if check:
        assert result.returncode == 0, f"openssl {args}: {result.stdout}{result.stderr}"
    return result


def sm2_csr_der(signer: sm2.Sm2Signer | None = None, *, signer_id: bytes = DEFAULT_SM2_ID,
                common_name: str = "sm2 applicant") -> bytes:
    """A PKCS#10 request signed by ``signer`` (a new SM2 key if None) with ``signer_id``."""
    signer = signer or sm2.generate_signer()
    info = csr.CertificationRequestInfo({
        "version": "v1", "subject": csr.Name.build({"common_name": common_name}),
        "subject_pk_info": signer.public_key_info(), "attributes": []})
    return csr.CertificationRequest({
        "certification_request_info": info,
        "signature_algorithm": signer.signature_algorithm(),
        "signature": signer.sign(info.dump(), signer_id=signer_id)}).dump()


def csr_pem(der: bytes) -> str:
    return pem.armor("CERTIFICATE REQUEST", der).decode()


def sm2_csr(signer: sm2.Sm2Signer | None = None, **kwargs: Any) -> str:
    return csr_pem(sm2_csr_der(signer, **kwargs))


def write_pem(path: Path, der: bytes) -> Path:
    path.write_bytes(pem.armor("CERTIFICATE", der))
    return path


def openssl_verifies_link(tmp_path: Path, issuer_der: bytes, der: bytes,
                          *options: str) -> subprocess.CompletedProcess[str]:
    """``openssl verify`` of ``der`` with its issuer as the trust anchor (one chain link)."""
    ca_file = write_pem(tmp_path / "link-ca.pem", issuer_der)
    target = write_pem(tmp_path / "link-target.pem", der)
    return openssl("verify", "-vfyopt", DISTID, "-x509_strict", *options, "-partial_chain",
                   "-CAfile", ca_file, target, check=False)


def openssl_dgst_verifies(tmp_path: Path, issuer_der: bytes, der: bytes) -> bool:
    """The certificate's signature, checked by ``openssl dgst`` with the issuer's key."""
    certificate = x509.Certificate.load(der)
    issuer = x509.Certificate.load(issuer_der)
    (tmp_path / "pub.pem").write_bytes(pem.armor("PUBLIC KEY", issuer.public_key.dump()))
    (tmp_path / "tbs.der").write_bytes(certificate["tbs_certificate"].dump())
    (tmp_path / "sig.der").write_bytes(certificate["signature_value"].native)
    result = openssl("dgst", "-sm3", "-verify", tmp_path / "pub.pem", "-sigopt", DISTID,
                     "-signature", tmp_path / "sig.der", tmp_path / "tbs.der", check=False)
    return result.returncode == 0 and "Verified OK" in result.stdout


def issue(ledger: CertLedger, profile: str, csr_text: str, *, subject: dict[str, Any] | None = None,
          issuer: str = "issuing-ca") -> Certificate:
    cid = ledger.certificates.apply(PORTAL, profile=profile, csr=csr_text,
                                    subject=subject or SUBJECTS[profile], issuer=issuer)
    approve(ledger, cid)
    return ledger.certificates.issue(OFFICER, cid)


def pkilint_blocking(der: bytes) -> set[str]:
    """Every ERROR/FATAL finding code pkilint reports, before any toleration."""
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    blocking = {ValidationFindingSeverity.ERROR, ValidationFindingSeverity.FATAL}
    return {d.finding.code for result in _certificate_validator().validate(document.root)
            for d in result.finding_descriptions if d.finding.severity in blocking}


# ---- tests ------------------------------------------------------------------------------

@pytest.fixture
def sm2_ledger(sqlite_settings: Settings) -> CertLedger:
    return with_hierarchy(build_ledger(sqlite_settings), KeyAlgorithm.SM2)


def test_certificates_carry_the_sm2_oids(sm2_ledger: CertLedger, tmp_path: Path) -> None:
    leaf = issue(sm2_ledger, "personal-signing", sm2_csr()).certificate_der
    issuing, root = sm2_ledger.hierarchy.chain("issuing-ca")
    assert sm2_ledger.hierarchy.get("root-ca").key_algorithm == "sm2"
    for der in (root, issuing, leaf):
        certificate = x509.Certificate.load(der)
        assert certificate["signature_algorithm"]["algorithm"].dotted == SM3_WITH_SM2_OID
        assert certificate["signature_algorithm"].dump() == SM3_WITH_SM2_DER  # no parameters
        assert certificate["tbs_certificate"]["signature"].dump() == SM3_WITH_SM2_DER
        spki = certificate.public_key
        assert spki["algorithm"]["algorithm"].dotted == "1.2.840.10045.2.1"  # id-ecPublicKey
        assert spki["algorithm"]["parameters"].chosen.dotted == SM2_CURVE_OID
        sm2.validate_public_key_info(spki)
    text = openssl("x509", "-in", write_pem(tmp_path / "leaf.pem", leaf), "-noout",
                   "-text").stdout
    assert "Signature Algorithm: SM2-with-SM3" in text and "ASN1 OID: SM2" in text


def test_openssl_verifies_each_link_of_the_chain(sm2_ledger: CertLedger,
                                                 tmp_path: Path) -> None:
    leaf = issue(sm2_ledger, "personal-signing", sm2_csr()).certificate_der
    issuing, root = sm2_ledger.hierarchy.chain("issuing-ca")

    for issuer_der, der, options in ((issuing, leaf, ("-purpose", "sslclient")),
                                     (root, issuing, ())):
        result = openssl_verifies_link(tmp_path, issuer_der, der, *options)
        assert result.returncode == 0 and result.stdout.strip().endswith(": OK"), \
            result.stdout + result.stderr
    assert openssl_dgst_verifies(tmp_path, root, root)  # the self-signature
    assert openssl_dgst_verifies(tmp_path, root, issuing)
    assert openssl_dgst_verifies(tmp_path, issuing, leaf)

    # The checks can fail: the empty ID, the wrong issuer, a damaged signature.
    without_id = openssl("verify", "-partial_chain", "-CAfile",
                         write_pem(tmp_path / "i.pem", issuing),
                         write_pem(tmp_path / "l.pem", leaf), check=False)
    assert without_id.returncode != 0
    assert openssl_verifies_link(tmp_path, root, leaf).returncode != 0
    assert not openssl_dgst_verifies(tmp_path, root, leaf)
    damaged = bytearray(leaf)
    damaged[-3] ^= 0x01
    assert not openssl_dgst_verifies(tmp_path, issuing, bytes(damaged))


@pytest.mark.parametrize("profile", sorted(SUBJECTS))
def test_every_profile_issues_sm2_certificates_that_pass_pkilint(
        sm2_ledger: CertLedger, profile: str, tmp_path: Path) -> None:
    assert KeyAlgorithm.SM2 in PROFILES[profile].key_algorithms
    leaf = issue(sm2_ledger, profile, sm2_csr()).certificate_der
    issuing, root = sm2_ledger.hierarchy.chain("issuing-ca")

    assert set(x509.Certificate.load(leaf).key_usage_value.native) == KEY_USAGE[profile]
    for der in (root, issuing, leaf):
        assert lint_certificate(der) == []
        assert tolerated_findings(der) == SM2_TOLERATED_FINDINGS
    assert pkilint_blocking(root) == pkilint_blocking(issuing) == set()
    # pkilint's only complaint: RFC 8813 keyEncipherment/dataEncipherment rule for EC keys,
    # which does not hold for SM2 keys (they encipher: GB/T 32918.4).
    expected = {"pkix.key_usage_value_prohibited_for_ec"} if profile == "encryption" else set()
    assert pkilint_blocking(leaf) == expected
    assert openssl_dgst_verifies(tmp_path, issuing, leaf)


def test_the_tolerated_findings_are_exactly_the_documented_ones() -> None:
    assert frozenset({"pkix.key_usage_value_prohibited_for_ec"}) == SM2_TOLERATED_FINDINGS


def test_the_toleration_is_for_sm2_keys_only(sm2_ledger: CertLedger) -> None:
    sm2_ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.ECDSA_P256,
                                    root_name="ec-root-ca", issuing_name="ec-issuing-ca",
                                    organization="Test Org")
    # RSA and ECDSA keys, under an ECDSA CA and under an SM2 CA: nothing is tolerated. The
    # ledger certifies keys of the CA's own hierarchy only (README, "Issuance policy"), so
    # the mixed ones are made with the encoder itself, as the ledger would sign them.
    def encoded(issuer: str, csr_text: str) -> bytes:
        request = check_request(csr_text)
        der, _ = issue_certificate(
            sm2_ledger.hierarchy.issuer(issuer), profile=PROFILES["encryption"],
            subject=SUBJECTS["encryption"], public_key_info=request.public_key_info,
            key_algorithm=request.key_algorithm, serial_number=new_serial_number(),
            not_before=datetime.now(UTC), validity_days=30, urls=sm2_ledger.urls)
        return der

    for algorithm in (KeyAlgorithm.ECDSA_P256, KeyAlgorithm.RSA_2048):
        for der in (issue(sm2_ledger, "encryption", make_csr(algorithm)[1],
                          issuer="ec-issuing-ca").certificate_der,
                    encoded("issuing-ca", make_csr(algorithm)[1])):
            assert tolerated_findings(der) == frozenset()
            assert pkilint_blocking(der) == set()
    ec_issuing, ec_root = sm2_ledger.hierarchy.chain("ec-issuing-ca")
    assert tolerated_findings(ec_issuing) == tolerated_findings(ec_root) == frozenset()
    # An SM2 key under an ECDSA CA keeps its toleration: it is the key that counts.
    der = encoded("ec-issuing-ca", sm2_csr())
    assert tolerated_findings(der) == SM2_TOLERATED_FINDINGS

    # keyEncipherment on an ECDSA key stays an error, even under an SM2 CA (SM2's key
    # usage is forced onto the ECDSA key here by naming the wrong key algorithm).
    key = make_csr(KeyAlgorithm.ECDSA_P256)[0]
    ecdsa_spki = keys.PublicKeyInfo.load(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(CertificateLintError, match="key_usage_value_prohibited_for_ec"):
        issue_certificate(sm2_ledger.hierarchy.issuer("issuing-ca"), profile=PROFILES["encryption"],
                          subject=SUBJECTS["encryption"], public_key_info=ecdsa_spki,
                          key_algorithm=KeyAlgorithm.SM2, serial_number=new_serial_number(),
                          not_before=datetime.now(UTC), validity_days=30, urls=sm2_ledger.urls)
