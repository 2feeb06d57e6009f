"""Issuing policy through the ledger (issue 7): which CA issues which profile and which
keys (items 2, 3), the lint preview at apply (item 7), the validity and invalidity date
bounds (item 8). Every refusal records nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from asn1crypto import x509 as asn1_x509
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.bootstrap import CertLedger
from api.cli import main as cli_main
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.certificate_encoding import CertificateLintError
from ca.encoding.lint import lint_certificate, tolerated_findings
from ca.policy.issuance import issue_certificate, new_serial_number
from ca.policy.profiles import PROFILES
from ca.policy.requests import check_request
from ca.processes.responder_rotation import ResponderRotation
from domain.certificate import Certificate, Status
from domain.errors import IllegalTransition, InvalidRequest
from domain.reasons import RevocationReason
from tests.conftest import ADMIN, OFFICER, PASSPHRASE, PORTAL
from tests.helpers import event_topics, make_csr
from tests.interop.test_sm2_certificates import sm2_csr

SUBJECTS: dict[str, dict[str, Any]] = {
    "personal-signing": {"common_name": "张三", "emails": ["zhang@example.cn"]},
    "organisation-signing": {"common_name": "Signer", "organization": "某某公司",
                             "country": "CN"},
    "tls-server": {"dns_names": ["www.example.cn"]},
    "encryption": {"common_name": "张三"},
}


def _with_sm2(ledger: CertLedger) -> CertLedger:
    ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.SM2, root_name="sm2-root-ca",
                                issuing_name="sm2-issuing-ca", organization="Test Org")
    return ledger


def _refused(ledger: CertLedger, code: str, error: type[Exception] = InvalidRequest,
             **application: Any) -> str:
    """Apply; the application must be refused with ``code`` and leave the log as it was."""
    before = event_topics(ledger)
    with pytest.raises(error) as caught:
        ledger.certificates.apply(PORTAL, **application)
    assert getattr(caught.value, "code", None) == code, caught.value
    assert event_topics(ledger) == before
    return str(caught.value)


def _issued(ledger: CertLedger, **application: Any) -> Certificate:
    cid = ledger.certificates.apply(PORTAL, **application)
    ledger.certificates.approve(OFFICER, cid)
    return ledger.certificates.issue(PORTAL, cid)


def _recorded_by_release_0_1(ledger: CertLedger, *, issuer: str, profile: str, csr: str,
                             subject: dict[str, Any]) -> UUID:
    """An application as release 0.1 recorded it, before any of today's policy, approved."""
    request = check_request(csr)
    certificate = Certificate.apply_for(
        actor=PORTAL, at=ledger.clock(), issuer=issuer, profile=profile, subject=subject,
        csr_der=request.der, key_algorithm=request.key_algorithm.value,
        validity_days=PROFILES[profile].default_validity_days)
    certificate.approve(OFFICER, ledger.clock())
    ledger.log.save(certificate)
    return certificate.id


# ---- item 2: a root CA signs CA certificates only ------------------------------------------

@pytest.mark.parametrize("profile", sorted(SUBJECTS))
def test_the_root_ca_takes_no_application_for_a_leaf(ledger: CertLedger, csr_pem: str,
                                                      profile: str) -> None:
    message = _refused(ledger, "profile_not_allowed_for_ca", profile=profile, csr=csr_pem,
                       subject=SUBJECTS[profile], issuer="root-ca")
    assert "root CA" in message
    other_csr = make_csr(KeyAlgorithm.ECDSA_P256)[1]
    with pytest.raises(InvalidRequest, match="root CA"):
        ledger.pairs.apply(PORTAL, signing_csr=csr_pem, encryption_csr=other_csr,
                           subject=SUBJECTS["personal-signing"], issuer="root-ca")


def test_an_approved_root_application_of_an_older_release_is_never_issued(
        sqlite_ledger: CertLedger, csr_pem: str) -> None:
    cid = _recorded_by_release_0_1(sqlite_ledger, issuer="root-ca", profile="tls-server",
                                   csr=csr_pem, subject=SUBJECTS["tls-server"])
    before = event_topics(sqlite_ledger)
    with pytest.raises(IllegalTransition) as caught:
        sqlite_ledger.certificates.issue(OFFICER, cid)
    assert caught.value.code == "profile_not_allowed_for_ca"
    assert event_topics(sqlite_ledger) == before
    assert sqlite_ledger.certificates.get(cid).status is Status.APPROVED


def test_the_root_ca_gets_no_ocsp_responder(sqlite_ledger: CertLedger,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    before = event_topics(sqlite_ledger)
    with pytest.raises(IllegalTransition) as caught:
        sqlite_ledger.responders.certify_or_rotate("root-ca")
    assert caught.value.code == "root_ca_no_responder"
    assert sqlite_ledger.responders.get("root-ca") is None
    assert sqlite_ledger.responders.get("no-such-ca") is None  # as before
    monkeypatch.setenv("CERTLEDGER_DATA_DIR", str(sqlite_ledger.settings.data_dir))
    monkeypatch.setenv("CERTLEDGER_KEY_PASSPHRASE", PASSPHRASE.decode())
    monkeypatch.delenv("CERTLEDGER_DATABASE_URL", raising=False)
    assert cli_main(["ocsp", "rotate", "--issuer", "root-ca"]) == 2
    assert "served by CRL only" in capsys.readouterr().err
    assert event_topics(sqlite_ledger) == before
    assert sqlite_ledger.responders.certify_or_rotate("issuing-ca").issuer == "issuing-ca"


def test_ocsp_signing_copes_with_a_leaf_an_older_release_issued_under_the_root(
        sqlite_ledger: CertLedger, csr_pem: str) -> None:
    """The root has no responder: its (illegitimate) leaf stays unsigned, and the issuing
    CA's rows are signed all the same."""
    ledger = sqlite_ledger
    legacy = Certificate.apply_for(actor=PORTAL, at=ledger.clock(), issuer="root-ca",
                                   profile="tls-server", subject=SUBJECTS["tls-server"],
                                   csr_der=check_request(csr_pem).der,
                                   key_algorithm="ecdsa-p256", validity_days=90)
    legacy.approve(OFFICER, ledger.clock())
    request = check_request(csr_pem)
    serial, now = new_serial_number(), ledger.clock()
    der, not_after = issue_certificate(
        ledger.hierarchy.issuer("root-ca"), profile=PROFILES["tls-server"],
        subject=SUBJECTS["tls-server"], public_key_info=request.public_key_info,
        key_algorithm=request.key_algorithm, serial_number=serial, not_before=now,
        validity_days=90, urls=ledger.urls)
    legacy.issue(OFFICER, now, serial_number=serial, not_before=now.replace(microsecond=0),
                 not_after=not_after, certificate_der=der)
    ledger.log.save(legacy)
    leaf = _issued(ledger, profile="tls-server", csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                   subject=SUBJECTS["tls-server"])
    read = ledger.read
    db = read.database
    try:
        read.runner.catch_up()
        ResponderRotation(ledger.responders, ledger.hierarchy, read.authorities).run()
        read.runner.catch_up()
        read.ocsp_signing.run()
        rows = dict(db.query("SELECT issuer, next_update FROM rm_ocsp_status"
                             " WHERE serial_hex IN (?, ?)",
                             (format(serial, "x"), format(leaf.serial_number, "x"))))
    finally:
        ledger.close()
    assert rows["root-ca"] == 0  # pending for ever: the root is served by CRL only
    assert rows["issuing-ca"] > 0


# ---- item 3: a hierarchy certifies keys of its own family ----------------------------------

def test_each_hierarchy_certifies_its_own_keys_only(ledger: CertLedger) -> None:
    _with_sm2(ledger)
    subject = SUBJECTS["personal-signing"]
    message = _refused(ledger, "key_not_allowed_for_ca", profile="personal-signing",
                       csr=sm2_csr(), subject=subject, issuer="issuing-ca")
    assert "sm2" in message and "ecdsa-p256" in message
    for algorithm in (KeyAlgorithm.ECDSA_P256, KeyAlgorithm.RSA_2048, KeyAlgorithm.ED25519):
        _refused(ledger, "key_not_allowed_for_ca", profile="personal-signing",
                 csr=make_csr(algorithm)[1], subject=subject, issuer="sm2-issuing-ca")
        assert _issued(ledger, profile="personal-signing", csr=make_csr(algorithm)[1],
                       subject=subject).status is Status.ISSUED
    assert _issued(ledger, profile="personal-signing", csr=sm2_csr(), subject=subject,
                   issuer="sm2-issuing-ca").status is Status.ISSUED


def test_an_older_mixed_application_is_refused_at_issue(sqlite_ledger: CertLedger) -> None:
    cid = _recorded_by_release_0_1(sqlite_ledger, issuer="issuing-ca",
                                   profile="personal-signing", csr=sm2_csr(),
                                   subject=SUBJECTS["personal-signing"])
    before = event_topics(sqlite_ledger)
    with pytest.raises(IllegalTransition) as caught:
        sqlite_ledger.certificates.issue(OFFICER, cid)
    assert caught.value.code == "key_not_allowed_for_ca"
    assert event_topics(sqlite_ledger) == before


def test_a_profile_flag_may_allow_keys_of_another_hierarchy(
        sqlite_ledger: CertLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PROFILES, "personal-signing",
                        replace(PROFILES["personal-signing"], any_key_family=True))
    issued = _issued(sqlite_ledger, profile="personal-signing", csr=sm2_csr(),
                     subject=SUBJECTS["personal-signing"])
    assert issued.status is Status.ISSUED and issued.key_algorithm == "sm2"


# ---- item 7: what lint would refuse is refused at apply -----------------------------------

@pytest.mark.parametrize("subject", [
    {"dns_names": ["1.2.3.4"]}, {"dns_names": ["*.co.uk"]}, {"dns_names": ["xn--zz.example.cn"]},
    {"dns_names": ["www.example.cn"], "common_name": "www.example.cn\u0000"},
])
def test_tls_names_that_could_never_be_issued_are_refused_at_apply(
        ledger: CertLedger, csr_pem: str, subject: dict[str, Any]) -> None:
    _refused(ledger, "invalid_subject", profile="tls-server", csr=csr_pem, subject=subject)


def test_emails_that_could_never_be_issued_are_refused_at_apply(sqlite_ledger: CertLedger,
                                                                csr_pem: str) -> None:
    for email in ("a\u0000b@example.cn", "a@-..", "a@xn--zz.example.cn"):
        _refused(sqlite_ledger, "invalid_subject", profile="personal-signing", csr=csr_pem,
                 subject={"common_name": "A", "emails": [email]})


def test_a_certificate_lint_would_refuse_is_refused_at_apply_with_the_findings(
        sqlite_ledger: CertLedger, csr_pem: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile that puts keyCertSign in a leaf: pkilint refuses that, so does apply."""
    broken = replace(PROFILES["personal-signing"],
                     key_usage=frozenset({"digital_signature", "key_cert_sign"}))
    monkeypatch.setitem(PROFILES, "personal-signing", broken)
    message = _refused(sqlite_ledger, "lint_refused", profile="personal-signing", csr=csr_pem,
                       subject=SUBJECTS["personal-signing"])
    assert "pkix.ee_certificate_keycertsign_keyusage_set" in message
    assert "ERROR" in message


def test_a_wildcard_is_issued_and_linted_as_pkilint_s_tls_linter_does(
        sqlite_ledger: CertLedger, csr_pem: str) -> None:
    issued = _issued(sqlite_ledger, profile="tls-server", csr=csr_pem,
                     subject={"dns_names": ["*.shop.example.cn", "shop.example.cn"]})
    der = issued.certificate_der
    assert der is not None and lint_certificate(der) == []
    names = asn1_x509.Certificate.load(der).subject_alt_name_value.native
    assert names == ["*.shop.example.cn", "shop.example.cn"]
    assert tolerated_findings(der) == {"pkix.invalid_domain_name_syntax"}
    # the toleration covers wildcards only: any other name off the syntax still fails lint
    request = check_request(csr_pem)
    with pytest.raises(CertificateLintError, match="invalid_domain_name_syntax"):
        issue_certificate(sqlite_ledger.hierarchy.issuer("issuing-ca"),
                          profile=PROFILES["tls-server"],
                          subject={"dns_names": ["*.example.cn", "-bad.example.cn"]},
                          public_key_info=request.public_key_info,
                          key_algorithm=request.key_algorithm,
                          serial_number=new_serial_number(), not_before=sqlite_ledger.clock(),
                          validity_days=30, urls=sqlite_ledger.urls)


_LABEL = st.text(alphabet="ab1-_*", min_size=1, max_size=6) | st.sampled_from(
    ["xn--zz", "xn--fiqs8s", "xn--a", "co", "uk", "123", "*"])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.lists(_LABEL, min_size=1, max_size=4))
@example(labels=["www", "example", "cn"])
@example(labels=["*", "shop", "xn--fiqs8s"])
def test_whatever_apply_accepts_is_issued(sqlite_ledger: CertLedger, csr_pem: str,
                                          labels: list[str]) -> None:
    """The promise of item 7: an accepted application never fails lint at issue."""
    name = ".".join(labels)
    try:
        cid = sqlite_ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr_pem,
                                               subject={"dns_names": [name]})
    except InvalidRequest:
        return
    sqlite_ledger.certificates.approve(OFFICER, cid)
    assert sqlite_ledger.certificates.issue(OFFICER, cid).status is Status.ISSUED


# ---- item 8: dates ----------------------------------------------------------------------

def test_validity_past_the_issuing_ca_is_refused_at_apply_and_at_issue(
        sqlite_ledger: CertLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = sqlite_ledger
    ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.ECDSA_P256,
                                root_name="short-root", issuing_name="short-issuing",
                                organization="Short Org", issuing_validity_days=30)
    subject = SUBJECTS["personal-signing"]
    csr = make_csr(KeyAlgorithm.ECDSA_P256)[1]
    message = _refused(ledger, "validity_exceeds_ca", profile="personal-signing", csr=csr,
                       subject=subject, issuer="short-issuing")  # the default: 365 days
    assert "notAfter" in message
    _refused(ledger, "validity_exceeds_ca", profile="personal-signing", csr=csr,
             subject=subject, issuer="short-issuing", validity_days=31)
    cid = ledger.certificates.apply(PORTAL, profile="personal-signing", csr=csr, subject=subject,
                                    issuer="short-issuing", validity_days=20)
    ledger.certificates.approve(OFFICER, cid)
    monkeypatch.setattr(ledger.clock, "offset", timedelta(days=15))
    before = event_topics(ledger)
    with pytest.raises(IllegalTransition) as caught:
        ledger.certificates.issue(OFFICER, cid)
    assert caught.value.code == "validity_exceeds_ca"
    assert event_topics(ledger) == before


def test_the_view_s_validity_is_the_certificate_s(sqlite_ledger: CertLedger,
                                                   csr_pem: str) -> None:
    issued = _issued(sqlite_ledger, profile="tls-server", csr=csr_pem,
                     subject=SUBJECTS["tls-server"], validity_days=398)
    assert issued.not_after is not None and issued.not_before is not None
    assert issued.not_after - issued.not_before == timedelta(days=398, seconds=-1)


def test_an_invalidity_date_before_the_certificate_is_refused(ledger: CertLedger,
                                                              csr_pem: str) -> None:
    issued = _issued(ledger, profile="tls-server", csr=csr_pem,
                     subject=SUBJECTS["tls-server"])
    before = event_topics(ledger)
    assert issued.not_before is not None
    for date in (issued.not_before.replace(year=1), issued.not_before - timedelta(days=1)):
        with pytest.raises(IllegalTransition) as caught:
            ledger.certificates.revoke(OFFICER, issued.id, RevocationReason.KEY_COMPROMISE,
                                       invalidity_date=date)
        assert caught.value.code == "invalid_invalidity_date"
    assert event_topics(ledger) == before
