"""The lifecycle through the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from cryptography import x509

from api.bootstrap import CertLedger
from domain.certificate import Status
from domain.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from domain.reasons import RevocationReason
from tests.conftest import OFFICER, PORTAL, build_ledger
from tests.helpers import event_topics


def test_apply_approve_issue_revoke_records_one_event_each(ledger: CertLedger,
                                                            csr_pem: str) -> None:
    before = len(event_topics(ledger))
    cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr_pem,
                                    subject={"dns_names": ["shop.example.cn"]})
    ledger.certificates.approve(OFFICER, cid)
    certificate = ledger.certificates.issue(OFFICER, cid)
    ledger.certificates.revoke(OFFICER, cid, RevocationReason.KEY_COMPROMISE)

    topics = event_topics(ledger)[before:]
    assert topics == ["certledger:Certificate.Applied:v1", "certledger:Order.Placed:v1",
                      "certledger:OrderNumberClaim.Claimed:v1",
                      "certledger:Certificate.Approved:v1",
                      "certledger:Certificate.Issued:v1", "certledger:SerialClaim.Claimed:v1",
                      "certledger:Certificate.Revoked:v1"]
    parsed = x509.load_der_x509_certificate(certificate.certificate_der)
    assert parsed.serial_number == certificate.serial_number
    assert parsed.serial_number.bit_length() >= 64
    assert parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName) == ["shop.example.cn"]


def test_a_second_process_replays_the_same_state(ledger: CertLedger, csr_pem: str) -> None:
    cid = ledger.certificates.apply(PORTAL, profile="personal-signing", csr=csr_pem,
                                    subject={"common_name": "张三", "emails": ["zhang@example.cn"]})
    ledger.certificates.approve(OFFICER, cid)
    ledger.certificates.issue(OFFICER, cid)
    ledger.certificates.suspend(OFFICER, cid)
    original = ledger.certificates.get(cid)

    replica = build_ledger(ledger.settings)
    assert replica.certificates.get(cid) == original
    assert replica.certificates.get(cid).status is Status.SUSPENDED


def test_rules_broken_are_domain_errors_and_record_nothing(ledger: CertLedger,
                                                           csr_pem: str) -> None:
    cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr_pem,
                                    subject={"dns_names": ["a.example.cn"]})
    before = event_topics(ledger)
    with pytest.raises(IllegalTransition):
        ledger.certificates.issue(OFFICER, cid)
    with pytest.raises(IllegalTransition):
        ledger.certificates.revoke(OFFICER, cid, RevocationReason.SUPERSEDED)
    with pytest.raises(InvalidRequest):
        ledger.certificates.reject(OFFICER, cid, "  ")
    with pytest.raises(NotFound):
        ledger.hierarchy.get("no-such-ca")
    assert event_topics(ledger) == before


def test_second_hierarchy_with_same_names_is_a_conflict(ledger: CertLedger) -> None:
    from ca.encoding.algorithms import KeyAlgorithm
    from tests.conftest import ADMIN

    with pytest.raises(Conflict):
        ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.ECDSA_P256,
                                    root_name="root-ca", issuing_name="issuing-ca",
                                    organization="Again")


def test_issued_chain_is_the_issuers(ledger: CertLedger) -> None:
    chain = ledger.hierarchy.chain("issuing-ca")
    issuing, root = (x509.load_der_x509_certificate(d) for d in chain)
    assert issuing.issuer == root.subject
    issuing.verify_directly_issued_by(root)
