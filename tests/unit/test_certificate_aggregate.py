from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.actors import Actor, Role
from domain.certificate import Certificate, Status
from domain.errors import IllegalTransition
from domain.reasons import RevocationReason

OFFICER = Actor("officer", Role.OFFICER)
PORTAL = Actor("portal", Role.APPLICANT_PORTAL)  # applies; the officer reviews
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def applied() -> Certificate:
    return Certificate.apply_for(actor=PORTAL, at=T0, issuer="issuing-ca", profile="tls-server",
                                 subject={"dns_names": ["a.example"]}, csr_der=b"\x30\x00",
                                 key_algorithm="ecdsa-p256", validity_days=90)


def issued() -> Certificate:
    certificate = applied()
    certificate.approve(OFFICER, T0)
    certificate.issue(OFFICER, T0, serial_number=7, not_before=T0,
                      not_after=T0 + timedelta(days=90), certificate_der=b"\x30\x00")
    return certificate


def test_every_event_records_who_and_when() -> None:
    certificate = issued()
    certificate.revoke(OFFICER, T0 + timedelta(days=1), RevocationReason.KEY_COMPROMISE)
    applied, *reviewed = certificate.collect_events()
    assert (applied.actor_id, applied.actor_role) == ("portal", "applicant-portal")
    for event in reviewed:
        assert event.actor_id == "officer" and event.actor_role == "officer"
    for event in (applied, *reviewed):
        assert event.timestamp.tzinfo is not None


def test_approve_rejects_rejected_application() -> None:
    certificate = applied()
    certificate.reject(OFFICER, T0, "licence unreadable")
    with pytest.raises(IllegalTransition, match="rejected"):
        certificate.approve(OFFICER, T0)


def test_issue_twice_is_illegal() -> None:
    certificate = issued()
    with pytest.raises(IllegalTransition):
        certificate.issue(OFFICER, T0, serial_number=8, not_before=T0, not_after=T0,
                          certificate_der=b"")


def test_issue_needs_approval() -> None:
    with pytest.raises(IllegalTransition, match="applied"):
        applied().issue(OFFICER, T0, serial_number=8, not_before=T0, not_after=T0,
                        certificate_der=b"")


def test_revoke_rejects_already_revoked_certificate() -> None:
    certificate = issued()
    certificate.revoke(OFFICER, T0, RevocationReason.SUPERSEDED)
    with pytest.raises(IllegalTransition, match="revoked"):
        certificate.revoke(OFFICER, T0, RevocationReason.KEY_COMPROMISE)


def test_resume_needs_a_suspended_certificate() -> None:
    certificate = issued()
    with pytest.raises(IllegalTransition, match="issued"):
        certificate.resume(OFFICER, T0)
    certificate.suspend(OFFICER, T0)
    certificate.resume(OFFICER, T0)
    assert certificate.status is Status.ISSUED


def test_suspended_certificate_can_be_revoked_for_good() -> None:
    certificate = issued()
    certificate.suspend(OFFICER, T0)
    certificate.revoke(OFFICER, T0, RevocationReason.KEY_COMPROMISE)
    assert certificate.status is Status.REVOKED
    assert certificate.revocation_reason is RevocationReason.KEY_COMPROMISE


def test_certificate_hold_is_not_a_revocation_reason() -> None:
    with pytest.raises(IllegalTransition):
        issued().revoke(OFFICER, T0, RevocationReason.CERTIFICATE_HOLD)


def test_invalidity_date_cannot_be_in_the_future() -> None:
    with pytest.raises(IllegalTransition, match="future"):
        issued().revoke(OFFICER, T0, RevocationReason.KEY_COMPROMISE,
                        invalidity_date=T0 + timedelta(hours=1))


def test_expired_certificate_cannot_be_revoked() -> None:
    with pytest.raises(IllegalTransition, match="expired"):
        issued().revoke(OFFICER, T0 + timedelta(days=91), RevocationReason.SUPERSEDED)


def test_reason_parse_accepts_rfc_and_snake_names_and_refuses_hold() -> None:
    assert RevocationReason.parse("keyCompromise") is RevocationReason.KEY_COMPROMISE
    assert RevocationReason.parse("cessation_of_operation") is \
        RevocationReason.CESSATION_OF_OPERATION
    assert RevocationReason.parse(4) is RevocationReason.SUPERSEDED
    for bad in ("certificateHold", "removeFromCRL", 7, "nonsense"):
        with pytest.raises(ValueError):
            RevocationReason.parse(bad)


def test_replaying_events_rebuilds_the_same_state() -> None:
    certificate = issued()
    certificate.suspend(OFFICER, T0)
    events = certificate.collect_events()
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed == certificate
