"""The log is forever: a data directory written by release 0.1 (commit 24aa4de) still
loads, replays, projects and takes new commands. See tests/fixtures/make_release_0_1.py."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path
from uuid import UUID

import pytest
from cryptography import x509

from api.bootstrap import CertLedger, bootstrap
from api.settings import Settings
from ca.encoding.algorithms import KeyAlgorithm
from ca.keys.keystore import KeyStore
from domain.actors import DEFAULT_PORTAL, Actor, Role
from domain.certificate import Certificate, Status
from domain.errors import IllegalTransition, InvalidRequest, NotFound
from domain.reasons import RevocationReason
from domain.tokens import ApiToken
from tests.conftest import ADMIN, OFFICER, PORTAL
from tests.crl_helpers import crl_entries
from tests.helpers import event_topics, make_csr
from tests.interop.test_sm2_certificates import sm2_csr

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release-0.1"
PASSPHRASE = b"release 0.1 fixture passphrase"
# the fixture was made on 2026-11-30; its certificates expire, so its clock stands still
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture
def old_release(tmp_path: Path) -> tuple[CertLedger, dict[str, UUID], Settings]:
    data_dir = tmp_path / "data"
    shutil.copytree(FIXTURE, data_dir)
    settings = Settings(data_dir=data_dir, database_url=None,
                        public_base_url="http://127.0.0.1:8080", default_issuer="issuing-ca",
                        accept_empty_sm2_id=False)
    ledger = bootstrap(settings, keys=KeyStore(data_dir / "keys", PASSPHRASE),
                        clock=lambda: NOW)
    ids = {}
    for line in (data_dir / "IDS").read_text().splitlines():
        name, value = line.split()
        ids[name] = UUID(value)
    return ledger, ids, settings


def test_every_stored_event_of_release_0_1_decodes(old_release) -> None:
    ledger, _, _ = old_release
    notifications = ledger.log.recorder.select_notifications(start=1, limit=10_000)
    assert len(notifications) == 57
    for notification in notifications:
        event = ledger.log.mapper.to_domain_event(notification)
        assert getattr(type(event), "TOPIC", None) == notification.topic


def test_release_0_1_certificates_replay_to_their_states(old_release) -> None:
    ledger, ids, _ = old_release
    expected = {"good": Status.ISSUED, "revoked": Status.REVOKED, "held": Status.SUSPENDED,
                "resumed": Status.ISSUED, "sm2_leaf": Status.REVOKED,
                "rejected": Status.REJECTED}
    for name, status in expected.items():
        assert ledger.certificates.get(ids[name]).status is status, name
    revoked = ledger.certificates.get(ids["revoked"])
    assert revoked.revocation_reason is RevocationReason.KEY_COMPROMISE
    assert revoked.invalidity_date is not None
    pair = ledger.pairs.get(ids["pair"])
    assert {half.status for half in pair.halves} == {Status.ISSUED}


def test_release_0_1_read_models_rebuild_and_a_new_revocation_reaches_the_crl(
        old_release) -> None:
    ledger, ids, _ = old_release
    read_models = ledger.read
    try:
        read_models.runner.catch_up()
        for name in read_models.runner.models:
            read_models.runner.rebuild(name)
        ledger.certificates.revoke(OFFICER, ids["good"], RevocationReason.CESSATION_OF_OPERATION)
        read_models.runner.catch_up()
        full, _ = read_models.publisher.publish("issuing-ca")
        good: Certificate = ledger.certificates.get(ids["good"])
        entries = crl_entries(full.der)
        assert entries[good.serial_number] == RevocationReason.CESSATION_OF_OPERATION
        held = ledger.certificates.get(ids["held"])
        assert entries[held.serial_number] == RevocationReason.CERTIFICATE_HOLD
        assert ledger.certificates.get(ids["resumed"]).serial_number not in entries
        x509.load_der_x509_crl(full.der)
    finally:
        read_models.database.close()


def test_release_0_1_cas_get_the_issuing_policy_derived_from_their_events(
        old_release) -> None:
    """Established events of release 0.1 have no profiles or key algorithms: a root issues
    CA certificates only, an issuing CA every end-entity profile for keys of its family."""
    ledger, _, _ = old_release
    for name in ("root-ca", "issuing-ca", "sm2-root-ca", "sm2-issuing-ca"):
        authority = ledger.hierarchy.get(name)
        assert authority.profiles is None and authority.subject_key_algorithms is None
    before = event_topics(ledger)
    subject = {"common_name": "李四"}
    refusals = [("root-ca", make_csr(KeyAlgorithm.ECDSA_P256)[1], "profile_not_allowed_for_ca"),
                ("sm2-root-ca", sm2_csr(), "profile_not_allowed_for_ca"),
                ("issuing-ca", sm2_csr(), "key_not_allowed_for_ca"),
                ("sm2-issuing-ca", make_csr(KeyAlgorithm.ECDSA_P256)[1],
                 "key_not_allowed_for_ca")]
    for issuer, csr, code in refusals:
        with pytest.raises(InvalidRequest) as caught:
            ledger.certificates.apply(PORTAL, profile="personal-signing", csr=csr, subject=subject,
                                      issuer=issuer)
        assert caught.value.code == code, issuer
    with pytest.raises(IllegalTransition):
        ledger.responders.certify_or_rotate("root-ca")
    assert event_topics(ledger) == before
    for issuer, csr in (("issuing-ca", make_csr(KeyAlgorithm.ECDSA_P256)[1]),
                        ("sm2-issuing-ca", sm2_csr())):
        cid = ledger.certificates.apply(PORTAL, profile="personal-signing", csr=csr,
                                        subject=subject,
                                        issuer=issuer)
        ledger.certificates.approve(OFFICER, cid)
        assert ledger.certificates.issue(OFFICER, cid).status is Status.ISSUED


def test_release_0_1_data_belongs_to_the_default_portal(old_release) -> None:
    """Tokens and applications of release 0.1 carry no portal: an applicant-portal token of
    then acts in the default portal and its applications are the default portal's; a
    new portal's token does not see them, an officer token of then sees every portal."""
    ledger, ids, _ = old_release
    tokens = {info.name: info for info in ledger.tokens.list()}
    assert tokens["portal-a"].portals is None and tokens["portal-a"].scope == "default"
    record = ledger.log.load(tokens["portal-a"].id, ApiToken)
    assert record is not None and record.actor().portals == frozenset({DEFAULT_PORTAL})
    assert tokens["officer-old"].scope == "*"
    for name in ("good", "revoked", "sm2_leaf"):
        assert ledger.certificates.get(ids[name]).portal == DEFAULT_PORTAL
    assert {half.portal for half in ledger.pairs.get(ids["pair"]).halves} == {DEFAULT_PORTAL}
    assert ledger.certificates.get_for(PORTAL, ids["good"]).id == ids["good"]
    ledger.portals.create(ADMIN, code="qh-stats", name="青海统计")
    newcomer = Actor("portal-qh", Role.APPLICANT_PORTAL, frozenset({"qh-stats"}))
    with pytest.raises(NotFound):
        ledger.certificates.get_for(newcomer, ids["good"])
    with pytest.raises(NotFound):
        ledger.pairs.revoke(newcomer, ids["pair"], RevocationReason.CA_COMPROMISE)
    assert [p.code for p in ledger.portals.list()] == [DEFAULT_PORTAL, "qh-stats"]
