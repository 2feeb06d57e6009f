"""The lifecycle through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from cryptography import x509

from ca.applications.certificates import CAService
from domain.certificate import Status
from domain.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from domain.reasons import RevocationReason
from tests.conftest import OFFICER, PORTAL, build_service
from tests.helpers import event_topics


def test_apply_approve_issue_revoke_records_one_event_each(service: CAService,
                                                            csr_pem: str) -> None:
    before = len(event_topics(service))
    cid = service.apply(PORTAL, profile="tls-server", csr=csr_pem,
                        subject={"dns_names": ["shop.example.cn"]})
    service.approve(OFFICER, cid)
    certificate = service.issue(OFFICER, cid)
    service.revoke(OFFICER, cid, RevocationReason.KEY_COMPROMISE)

    topics = event_topics(service)[before:]
    assert topics == ["certledger:Certificate.Applied:v1", "certledger:Certificate.Approved:v1",
                      "certledger:Certificate.Issued:v1", "certledger:SerialClaim.Claimed:v1",
                      "certledger:Certificate.Revoked:v1"]
    parsed = x509.load_der_x509_certificate(certificate.certificate_der)
    assert parsed.serial_number == certificate.serial_number
    assert parsed.serial_number.bit_length() >= 64
    assert parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName) == ["shop.example.cn"]


def test_a_second_process_replays_the_same_state(service: CAService, csr_pem: str) -> None:
    cid = service.apply(PORTAL, profile="personal-signing", csr=csr_pem,
                        subject={"common_name": "张三", "emails": ["zhang@example.cn"]})
    service.approve(OFFICER, cid)
    service.issue(OFFICER, cid)
    service.suspend(OFFICER, cid)
    original = service.get_certificate(cid)

    replica = build_service(service_settings(service))
    assert replica.get_certificate(cid) == original
    assert replica.get_certificate(cid).status is Status.SUSPENDED


def service_settings(service: CAService):  # type: ignore[no-untyped-def]
    from api.settings import Settings

    return Settings(data_dir=service.settings.data_dir, database_url=service.settings.database_url,
                    public_base_url=service.settings.public_base_url,
                    default_issuer=service.settings.default_issuer, accept_empty_sm2_id=False)


def test_rules_broken_are_domain_errors_and_record_nothing(service: CAService,
                                                           csr_pem: str) -> None:
    cid = service.apply(PORTAL, profile="tls-server", csr=csr_pem,
                        subject={"dns_names": ["a.example.cn"]})
    before = event_topics(service)
    with pytest.raises(IllegalTransition):
        service.issue(OFFICER, cid)
    with pytest.raises(IllegalTransition):
        service.revoke(OFFICER, cid, RevocationReason.SUPERSEDED)
    with pytest.raises(InvalidRequest):
        service.reject(OFFICER, cid, "  ")
    with pytest.raises(NotFound):
        service.get_authority("no-such-ca")
    assert event_topics(service) == before


def test_second_hierarchy_with_same_names_is_a_conflict(service: CAService) -> None:
    from ca.encoding.algorithms import KeyAlgorithm
    from tests.conftest import ADMIN

    with pytest.raises(Conflict):
        service.establish_hierarchy(ADMIN, algorithm=KeyAlgorithm.ECDSA_P256,
                                    root_name="root-ca", issuing_name="issuing-ca",
                                    organization="Again")


def test_issued_chain_is_the_issuers(service: CAService) -> None:
    chain = service.chain("issuing-ca")
    issuing, root = (x509.load_der_x509_certificate(d) for d in chain)
    assert issuing.issuer == root.subject
    issuing.verify_directly_issued_by(root)
