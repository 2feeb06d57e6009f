"""Two hierarchies in one data directory are told apart by their subject names (issue 7,
item 16), and a dual pair is revoked as one (item 19), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from asn1crypto import x509

from api.bootstrap import CertLedger
from api.cli import main as cli_main
from ca.encoding.algorithms import KeyAlgorithm
from domain.certificate import Certificate, Status
from domain.errors import Conflict, IllegalTransition
from domain.reasons import RevocationReason
from tests.conftest import ADMIN, OFFICER, PASSPHRASE, PORTAL, build_ledger
from tests.helpers import event_topics, make_csr

REVOKED = "certledger:Certificate.Revoked:v1"


def _subject(ledger: CertLedger, name: str) -> dict[str, Any]:
    return dict(x509.Certificate.load(ledger.hierarchy.get(name).certificate_der)
                .subject.native)


def test_default_subject_names_carry_the_algorithm(ledger: CertLedger) -> None:
    assert _subject(ledger, "root-ca")["common_name"] == "Test Org ECDSA P-256 Root CA"
    assert _subject(ledger, "issuing-ca")["common_name"] == "Test Org ECDSA P-256 Issuing CA"
    ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.SM2, root_name="sm2-root-ca",
                                issuing_name="sm2-issuing-ca", organization="Test Org")
    assert _subject(ledger, "sm2-root-ca")["common_name"] == "Test Org SM2 Root CA"
    issuing, root = ledger.hierarchy.chain("sm2-issuing-ca")
    assert x509.Certificate.load(issuing).issuer == x509.Certificate.load(root).subject


def test_a_ca_whose_subject_name_is_taken_is_refused_before_any_key_is_made(
        ledger: CertLedger) -> None:
    keys = ledger.settings.data_dir / "keys"
    before, key_files = event_topics(ledger), sorted(keys.iterdir())
    attempts: list[dict[str, Any]] = [
        {},  # the same defaults as the fixture's hierarchy: both names taken
        {"root_common_name": "Another Root"},  # the issuing CA's name is still taken
        {"root_common_name": "Test Org ECDSA P-256 Issuing CA",  # an existing CA's name
         "issuing_common_name": "Another Issuing"},
        {"root_common_name": "Same", "issuing_common_name": "Same"},
        {"root_common_name": "test org ecdsa p-256 root ca",  # RFC 5280 §7.1: case folds
         "issuing_common_name": "Another Issuing"},
    ]
    for names in attempts:
        with pytest.raises(Conflict) as caught:
            ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.ECDSA_P256,
                                        root_name="second-root", issuing_name="second-issuing",
                                        organization="Test Org", **names)
        assert caught.value.code == "ca_subject_exists", names
    assert event_topics(ledger) == before and sorted(keys.iterdir()) == key_files
    ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.ECDSA_P256,
                                root_name="second-root", issuing_name="second-issuing",
                                organization="Test Org", root_common_name="Second Root",
                                issuing_common_name="Second Issuing")
    assert _subject(ledger, "second-issuing")["common_name"] == "Second Issuing"


def test_certledger_init_takes_the_common_names(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CERTLEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CERTLEDGER_KEY_PASSPHRASE", PASSPHRASE.decode())
    monkeypatch.delenv("CERTLEDGER_DATABASE_URL", raising=False)
    assert cli_main(["init"]) == 0
    assert cli_main(["init", "--root-name", "r2", "--issuing-name", "i2"]) == 2
    assert "has the subject" in capsys.readouterr().err
    assert cli_main(["init", "--root-name", "r2", "--issuing-name", "i2", "--root-cn",
                     "Ops Root", "--issuing-cn", "Ops Issuing"]) == 0
    from api.settings import Settings

    ledger = build_ledger(Settings.from_env())
    assert _subject(ledger, "root-ca")["common_name"] == "CertLedger Demo ECDSA P-256 Root CA"
    assert _subject(ledger, "i2")["common_name"] == "Ops Issuing"


# ---- dual pairs are revoked as one -----------------------------------------------------

def _issued_pair(ledger: CertLedger) -> UUID:
    pair_id = ledger.pairs.apply(PORTAL, signing_csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                 encryption_csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                 subject={"common_name": "张三"})
    ledger.pairs.approve(OFFICER, pair_id)
    ledger.pairs.issue(OFFICER, pair_id)
    return pair_id


def test_revoking_a_pair_revokes_both_halves_in_one_save(ledger: CertLedger) -> None:
    pair_id = _issued_pair(ledger)
    before = len(event_topics(ledger))
    pair = ledger.pairs.revoke(PORTAL, pair_id, RevocationReason.AFFILIATION_CHANGED)
    assert event_topics(ledger)[before:] == [REVOKED, REVOKED]
    reloaded = build_ledger(ledger.settings).pairs.get(pair_id)
    for half in (*pair.halves, *reloaded.halves):
        assert half.status is Status.REVOKED
        assert half.revocation_reason is RevocationReason.AFFILIATION_CHANGED
    with pytest.raises(IllegalTransition) as caught:
        ledger.pairs.revoke(OFFICER, pair_id, RevocationReason.SUPERSEDED)
    assert caught.value.code == "certificate_revoked"


def test_a_pair_revocation_that_fails_halfway_records_nothing(
        ledger: CertLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    pair_id = _issued_pair(ledger)
    before = event_topics(ledger)
    original, calls = Certificate.revoke, []

    def failing_second(self: Certificate, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        original(self, *args, **kwargs)

    monkeypatch.setattr(Certificate, "revoke", failing_second)
    with pytest.raises(RuntimeError):
        ledger.pairs.revoke(OFFICER, pair_id, RevocationReason.KEY_COMPROMISE)
    assert event_topics(ledger) == before
    assert {h.status for h in ledger.pairs.get(pair_id).halves} == {Status.ISSUED}


def test_one_half_may_still_be_revoked_alone_then_the_pair(sqlite_ledger: CertLedger) -> None:
    pair_id = _issued_pair(sqlite_ledger)
    encryption = sqlite_ledger.pairs.get(pair_id).encryption
    sqlite_ledger.certificates.revoke(OFFICER, encryption.id, RevocationReason.KEY_COMPROMISE)
    pair = sqlite_ledger.pairs.get(pair_id)
    assert (pair.signing.status, pair.encryption.status) == (Status.ISSUED, Status.REVOKED)
    before = len(event_topics(sqlite_ledger))
    pair = sqlite_ledger.pairs.revoke(OFFICER, pair_id, RevocationReason.CESSATION_OF_OPERATION)
    assert event_topics(sqlite_ledger)[before:] == [REVOKED]
    assert pair.signing.revocation_reason is RevocationReason.CESSATION_OF_OPERATION
    assert pair.encryption.revocation_reason is RevocationReason.KEY_COMPROMISE
