"""The CRLs ``GET /crl/...`` serves, checked by OpenSSL and pkilint, on SQLite and PostgreSQL.

Leaves: one good, one revoked (keyCompromise), one on hold, one held and then resumed.
The base CRL is fetched while both held leaves are on hold; after the resumption a new
full CRL and a delta (removeFromCRL) are published.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto.pem import armor
from flask.testing import FlaskClient

from api.app import create_app
from api.bootstrap import CertLedger
from ca.encoding.lint import lint_crl
from domain.reasons import RevocationReason
from tests.conftest import OFFICER
from tests.crl_helpers import issue

pytestmark = pytest.mark.interop
LABELS = ("good", "revoked", "held", "resumed")


@dataclass
class Published:
    directory: Path
    crls: dict[str, bytes]  # base, full, delta, root

    def pem(self, *names: str) -> str:
        path = self.directory / f"{'+'.join(names)}.crl.pem"
        path.write_bytes(b"".join(armor("X509 CRL", self.crls[name]) for name in names))
        return str(path)


def _openssl(directory: Path, *args: str) -> tuple[int, str]:
    done = subprocess.run(["openssl", *args], cwd=directory, capture_output=True, text=True,
                          timeout=60, check=False)
    return done.returncode, done.stdout + done.stderr


def _get(client: FlaskClient, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/pkix-crl"
    return response.data


@pytest.fixture
def published(ledger: CertLedger, tmp_path: Path) -> Published:
    app = create_app({"CERTLEDGER": ledger, "SETTINGS": ledger.settings,
                      "TESTING": True})
    client = app.test_client()
    ledger.clock.offset = timedelta(seconds=-5)  # all up to the base CRL: 5 s ago
    certificates = {label: issue(ledger, label) for label in LABELS}
    for label, certificate in certificates.items():
        (tmp_path / f"{label}.pem").write_bytes(armor("CERTIFICATE", certificate.certificate_der))
    issuing, root = ledger.hierarchy.chain("issuing-ca")
    (tmp_path / "issuing.pem").write_bytes(armor("CERTIFICATE", issuing))
    (tmp_path / "chain.pem").write_bytes(armor("CERTIFICATE", root) + armor("CERTIFICATE", issuing))
    ledger.certificates.revoke(OFFICER, certificates["revoked"].id, RevocationReason.KEY_COMPROMISE)
    ledger.certificates.suspend(OFFICER, certificates["held"].id)
    ledger.certificates.suspend(OFFICER, certificates["resumed"].id)
    read = ledger.read
    read.runner.catch_up()
    read.publisher.publish_due()  # what the schedule does: a first base for every CA
    base = _get(client, "/crl/issuing-ca.crl")
    ledger.clock.offset = timedelta(0)  # the next CRLs are newer than the base
    ledger.certificates.resume(OFFICER, certificates["resumed"].id)
    read.publisher.publish("issuing-ca")  # what the catch-up process does
    crls = {"base": base, "full": _get(client, "/crl/issuing-ca.crl"),
            "delta": _get(client, "/crl/issuing-ca-delta.crl"),
            "root": _get(client, "/crl/root-ca.crl")}
    return Published(tmp_path, crls)


def _verify(published: Published, label: str, crl_file: str, *flags: str) -> str:
    code, output = _openssl(published.directory, "verify", "-crl_check", *flags, "-CAfile",
                            "chain.pem", "-CRLfile", crl_file, f"{label}.pem")
    if code == 0:
        assert f"{label}.pem: OK" in output, output
        return "OK"
    assert "certificate revoked" in output, output
    return "revoked"


def test_openssl_verifies_every_crl_signature(published: Published) -> None:
    for name, crl in published.crls.items():
        path = published.directory / f"{name}.crl.der"
        path.write_bytes(crl)
        ca_file = "chain.pem"
        code, output = _openssl(published.directory, "crl", "-inform", "DER", "-in", str(path),
                                "-CAfile", ca_file, "-verify", "-noout")
        assert code == 0 and "verify OK" in output, (name, output)


def test_openssl_verify_with_the_base_crl(published: Published) -> None:
    base = published.pem("base")
    assert [_verify(published, label, base) for label in LABELS] == \
        ["OK", "revoked", "revoked", "revoked"]
    _, text = _openssl(published.directory, "crl", "-in", base, "-noout", "-text")
    assert "Key Compromise" in text and text.count("Certificate Hold") == 2


def test_openssl_verify_with_the_new_full_crl(published: Published) -> None:
    full = published.pem("full")
    assert [_verify(published, label, full) for label in LABELS] == \
        ["OK", "revoked", "revoked", "OK"]


def test_openssl_applies_the_delta_to_the_base(published: Published) -> None:
    """The delta is newer than its base (as in real life) and checked one second after its
    thisUpdate. OpenSSL 3.0 needs ``-extended_crl`` beside ``-use_deltas``:
    without it, it may take the newer delta for a complete CRL (its get_crl_score skips
    delta CRLs only with extended CRL support) and call a revoked certificate good."""
    both = published.pem("base", "delta")
    delta = asn1_crl.CertificateList.load(published.crls["delta"])
    after_delta = delta["tbs_cert_list"]["this_update"].native.timestamp() + 1
    flags = ("-use_deltas", "-extended_crl", "-attime", str(int(after_delta)))
    assert [_verify(published, label, both, *flags) for label in LABELS] == \
        ["OK", "revoked", "revoked", "OK"]  # removeFromCRL lifts the resumed leaf's hold
    _, text = _openssl(published.directory, "crl", "-in", published.pem("delta"), "-noout",
                       "-text")
    assert "Remove From CRL" in text and "Delta CRL Indicator" in text


def test_openssl_checks_the_whole_chain(published: Published) -> None:
    crls = published.pem("full", "root")
    assert _verify(published, "good", crls, "-crl_check_all") == "OK"
    assert _verify(published, "revoked", crls, "-crl_check_all") == "revoked"


def test_pkilint_finds_no_errors(published: Published) -> None:
    for name, crl in published.crls.items():
        assert lint_crl(crl) == [], name
