"""An export verified elsewhere, and tree heads checked with OpenSSL.

- On another machine's worth of state: a fresh directory holding the export, the root
  certificate, the shipped tree heads and a proof, and nothing else; ``certledger audit
  verify`` and ``verify-proof`` run there in a separate process with no database URL,
  no key passphrase and a data directory that does not exist (and is not made).
- The audit signer's certificate verifies with ``openssl verify -purpose timestampsign``
  up to the root, and a tree head's signature with ``openssl dgst`` over TreeHeadData as
  docs/audit.md defines it (packed here, not by our code): ECDSA and SM2 (国密).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import x509

from api.settings import Settings
from api.views import pem
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.signers import DEFAULT_SM2_ID
from domain.audit import TreeHead
from domain.reasons import RevocationReason
from tests.audit_helpers import audited_settings, cli, sign_heads
from tests.conftest import OFFICER, build_ledger, with_hierarchy
from tests.crl_helpers import issue, publish_crls

pytestmark = pytest.mark.interop
ROOT = Path(__file__).resolve().parents[2]


def _elsewhere(directory: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``certledger`` in another process that knows nothing of the CA's stores or keys."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CERTLEDGER_", "PG"))}
    env.update(CERTLEDGER_DATA_DIR=str(directory / "no-data-here"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "api.cli", *argv], cwd=directory, env=env,
                          capture_output=True, text=True, timeout=120)


def test_an_export_verifies_elsewhere_with_only_the_root_certificate(
        settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    ledger = with_hierarchy(build_ledger(audited_settings(settings)))
    certificate = issue(ledger, "offline")
    ledger.certificates.revoke(OFFICER, certificate.id, RevocationReason.KEY_COMPROMISE)
    publish_crls(ledger)
    sign_heads(ledger)
    issue(ledger, "second")
    sign_heads(ledger)
    serial = format(certificate.serial_number, "x")
    with cli(audited_settings(settings)) as run:
        status, export = run("audit", "export")
        assert status == 0
        status, proof = run("audit", "prove", "--serial", serial)
        assert status == 0

    elsewhere = tmp_path_factory.mktemp("auditor")
    (elsewhere / "log.jsonl").write_text(export)
    (elsewhere / "proof.json").write_text(proof)
    (elsewhere / "root.pem").write_text(pem(ledger.hierarchy.authority("root-ca")
                                            .certificate_der))
    shutil.copytree(settings.data_dir / "tree-heads", elsewhere / "heads")
    done = _elsewhere(elsewhere, "audit", "verify", "log.jsonl", "--trust", "root.pem",
                      "--heads", "heads")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 signed tree heads" in done.stdout and "verified" in done.stdout
    done = _elsewhere(elsewhere, "audit", "verify-proof", "proof.json", "--trust", "root.pem")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("is in the log under this head") == 4  # applied .. revoked
    assert not (elsewhere / "no-data-here").exists()

    # a payload changed in the copy (its stored state kept) and a state changed: both found
    lines = export.splitlines()
    index, line = next((i, json.loads(text)) for i, text in enumerate(lines)
                       if "Certificate.Revoked" in text)
    line["payload"]["reason"] = 4
    (elsewhere / "payload.jsonl").write_text("\n".join(
        lines[:index] + [json.dumps(line)] + lines[index + 1:]) + "\n")
    done = _elsewhere(elsewhere, "audit", "verify", "payload.jsonl", "--trust", "root.pem")
    assert done.returncode == 1
    assert f"FAILED payload: position {line['position']}" in done.stdout
    assert '"reason":1' in line["state"]
    line["state"] = line["state"].replace('"reason":1', '"reason":4')
    (elsewhere / "state.jsonl").write_text("\n".join(
        lines[:index] + [json.dumps(line)] + lines[index + 1:]) + "\n")
    done = _elsewhere(elsewhere, "audit", "verify", "state.jsonl", "--trust", "root.pem")
    assert done.returncode == 1
    assert f"FAILED modified: position {line['position']}" in done.stdout

    # another root is not trusted
    other = with_hierarchy(build_ledger(Settings(data_dir=tmp_path_factory.mktemp("other"))))
    (elsewhere / "other.pem").write_text(pem(other.hierarchy.authority("root-ca")
                                             .certificate_der))
    done = _elsewhere(elsewhere, "audit", "verify", "log.jsonl", "--trust", "other.pem")
    assert done.returncode == 1 and "does not trust" in done.stdout


def _packed(head: TreeHead) -> bytes:
    """TreeHeadData, from docs/audit.md."""
    micros = (head.created_on - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
    return (b"CertLedger tree head v1\x00"
            + struct.pack(">QQQQ", head.number, head.tree_size, head.last_position,
                          round(micros * 1_000_000)) + head.root_hash)


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.ECDSA_P256, KeyAlgorithm.SM2])
def test_openssl_checks_the_audit_signer_and_a_tree_head(
        sqlite_settings: Settings, tmp_path: Path, algorithm: KeyAlgorithm) -> None:
    ledger = with_hierarchy(build_ledger(sqlite_settings), algorithm)
    [head] = sign_heads(ledger)
    signer = x509.Certificate.load(head.signer_certificate)
    assert signer.issuer == x509.Certificate.load(
        ledger.hierarchy.authority("issuing-ca").certificate_der).subject  # never the root
    usage = signer.extended_key_usage_value
    assert [purpose.dotted for purpose in usage] == ["1.3.6.1.5.5.7.3.8"]
    assert signer.critical_extensions >= {"extended_key_usage", "key_usage"}
    for name, der in (("root", ledger.hierarchy.authority("root-ca").certificate_der),
                      ("issuing", ledger.hierarchy.authority("issuing-ca").certificate_der),
                      ("signer", head.signer_certificate)):
        (tmp_path / f"{name}.pem").write_text(pem(der))
    (tmp_path / "data.bin").write_bytes(_packed(head))
    (tmp_path / "sig.der").write_bytes(head.signature)

    def openssl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["openssl", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)

    assert openssl("x509", "-in", "signer.pem", "-pubkey", "-noout", "-out",
                   "pub.pem").returncode == 0
    digest = ["-sm3", "-sigopt", f"distid:{DEFAULT_SM2_ID.decode()}"] \
        if algorithm is KeyAlgorithm.SM2 else ["-sha256"]
    checked = openssl("dgst", *digest, "-verify", "pub.pem", "-signature", "sig.der",
                      "data.bin")
    if algorithm is not KeyAlgorithm.SM2:
        chain = openssl("verify", "-purpose", "timestampsign", "-CAfile", "root.pem",
                        "-untrusted", "issuing.pem", "signer.pem")
        assert chain.returncode == 0, chain.stdout + chain.stderr
    assert checked.returncode == 0 and "Verified OK" in checked.stdout, checked.stderr
    (tmp_path / "data.bin").write_bytes(_packed(head)[:-1] + b"\x00")
    assert openssl("dgst", *digest, "-verify", "pub.pem", "-signature", "sig.der",
                   "data.bin").returncode != 0
