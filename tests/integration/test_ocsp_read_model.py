"""The OCSP read model under the projection runner, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bootstrap import CertLedger
from ca.encoding.lint import lint_certificate, lint_ocsp_response
from ca.encoding.ocsp_responses import ResponseStatus, encode_cert_id
from ca.encoding.signers import verify_signature
from domain.certificate import Status
from domain.reasons import RevocationReason
from domain.responder import OcspResponder
from tests.conftest import OFFICER
from tests.helpers import event_topics
from tests.ocsp_helpers import OcspStack, ocsp_request, ocsp_stack, single_statuses

_STATUS_COLUMNS = ("SELECT issuer, serial_hex, status, revocation_time, reason, changed_position"
                   " FROM rm_ocsp_status ORDER BY issuer, serial_hex")


def _verify(response_der: bytes, responder_der: bytes | None = None) -> bytes:
    """Check the BasicOCSPResponse signature with the certificate it carries; return it."""
    basic = asn1_ocsp.OCSPResponse.load(response_der).basic_ocsp_response
    certificate_der = basic["certs"][0].dump()
    if responder_der is not None:
        assert certificate_der == responder_der
    spki = asn1_x509.Certificate.load(certificate_der).public_key
    verify_signature(spki, basic["signature_algorithm"], basic["signature"].native,
                     basic["tbs_response_data"].dump())
    return certificate_der


def _stored(stack: OcspStack, serial: int) -> tuple[Any, ...]:
    rows = stack.db.query("SELECT status, reason, response_sha1, response_sha256, next_update"
                          " FROM rm_ocsp_status WHERE serial_hex = ?", (format(serial, "x"),))
    return rows[0]


def test_statuses_follow_issue_suspend_resume_and_revoke(ledger: CertLedger,
                                                         tmp_path: Path) -> None:
    stack = ocsp_stack(ledger, tmp_path / "pki")
    good, held, revoked = (stack.issue(label) for label in ("good", "held", "revoked"))
    stack.sync()
    ledger.certificates.suspend(OFFICER, held.id)
    ledger.certificates.revoke(OFFICER, revoked.id, RevocationReason.KEY_COMPROMISE)
    stack.sync()
    assert _stored(stack, good.serial_number)[:2] == ("good", None)
    assert _stored(stack, held.serial_number)[:2] == ("revoked", 6)
    assert _stored(stack, revoked.serial_number)[:2] == ("revoked", 1)

    ledger.certificates.resume(OFFICER, held.id)
    stack.sync()
    assert _stored(stack, held.serial_number)[:2] == ("good", None)
    answer = stack.answers.answer(ocsp_request(stack.cert_id(revoked.serial_number)))
    ((serial, status, info),) = single_statuses(answer.body)
    assert (serial, status) == (revoked.serial_number, "revoked")
    assert info["revocation_reason"] == "key_compromise"
    assert info["revocation_time"] == ledger.certificates.get(revoked.id).revocation_time \
        .replace(microsecond=0)


def test_pre_signed_responses_for_both_certid_hashes_verify_and_lint_clean(
        ledger: CertLedger, tmp_path: Path) -> None:
    stack = ocsp_stack(ledger, tmp_path / "pki")
    certificate = stack.issue("leaf")
    stack.sync()
    _, _, sha1, sha256, next_update = _stored(stack, certificate.serial_number)
    responder = ledger.responders.get("issuing-ca")
    assert responder is not None
    assert lint_certificate(responder.certificate_der) == []
    for hash_name, stored in (("sha1", sha1), ("sha256", sha256)):
        body = bytes(stored)
        assert _verify(body, responder.certificate_der)
        assert lint_ocsp_response(body) == []
        single = asn1_ocsp.OCSPResponse.load(body).basic_ocsp_response[
            "tbs_response_data"]["responses"][0]
        assert single["cert_id"].dump() == stack.cert_id(certificate.serial_number, hash_name)
        assert int(single["next_update"].native.timestamp()) == next_update
        # one CertID, no nonce: the stored response is served as it is
        answer = stack.answers.answer(ocsp_request(stack.cert_id(certificate.serial_number,
                                                                 hash_name)))
        assert answer.body == body and answer.cache is not None


def test_rebuild_gives_the_same_statuses_and_signs_again(ledger: CertLedger,
                                                         tmp_path: Path) -> None:
    stack = ocsp_stack(ledger, tmp_path / "pki")
    first, second = stack.issue("first"), stack.issue("second")
    ledger.certificates.revoke(OFFICER, first.id, RevocationReason.SUPERSEDED)
    ledger.certificates.suspend(OFFICER, second.id)
    stack.sync()
    before = stack.db.query(_STATUS_COLUMNS)
    seq = stack.answers.seq
    stack.runner.rebuild("ocsp")
    assert stack.db.query(_STATUS_COLUMNS) == before
    stack.signing.sign_pending()  # what the signing process does when the rebuild wakes it
    unsigned = stack.db.query("SELECT count(*) FROM rm_ocsp_status WHERE next_update = 0")
    assert unsigned == [(0,)]
    stack.answers.refresh()
    assert stack.answers.seq > seq  # servers see the rebuilt rows as changes


def test_due_responses_are_signed_again_before_next_update(ledger: CertLedger,
                                                           tmp_path: Path) -> None:
    offset = [timedelta(0)]
    stack = ocsp_stack(ledger, tmp_path / "pki", clock=lambda: ledger.clock() + offset[0])
    certificate = stack.issue("leaf")
    stack.sync()
    old = _stored(stack, certificate.serial_number)
    assert stack.signing.resign_due() == 0  # nothing due yet
    offset[0] = timedelta(minutes=31)  # less than half of the hour is left
    assert stack.signing.resign_due() == 2  # the leaf and the responder certificate
    new = _stored(stack, certificate.serial_number)
    assert new[4] >= old[4] + 31 * 60 and new[2] != old[2]
    stack.answers.refresh()
    answer = stack.answers.answer(ocsp_request(stack.cert_id(certificate.serial_number)))
    assert answer.body == bytes(new[2])


def test_responder_near_expiry_is_rotated_and_new_responses_verify(ledger: CertLedger,
                                                                   tmp_path: Path) -> None:
    stack = ocsp_stack(ledger, tmp_path / "pki")
    certificate = stack.issue("leaf")
    stack.sync()
    old = ledger.responders.get("issuing-ca")
    assert old is not None
    ledger.clock.offset = timedelta(days=21)  # 9 of 30 days left: less than a third
    stack.rotation.run()
    new = ledger.responders.get("issuing-ca")
    assert new is not None and new.serial_number != old.serial_number
    assert new.signer.public_key_info().dump() != old.signer.public_key_info().dump()
    assert "certledger:OcspResponder.Rotated:v1" in event_topics(ledger)
    responder = ledger.log.repository.get(OcspResponder.create_id("issuing-ca"))
    assert responder.rotations == 1 and responder.certificate_der == new.certificate_der
    stack.sync()
    _, _, sha1, _, _ = _stored(stack, certificate.serial_number)
    assert _verify(bytes(sha1), new.certificate_der)  # re-signed by the new responder
    # the new responder certificate answers "good" itself
    answer = stack.answers.answer(ocsp_request(stack.cert_id(new.serial_number)))
    assert single_statuses(answer.body)[0][1] == "good"


def test_unknown_serials_other_issuers_and_several_cert_ids(ledger: CertLedger,
                                                            tmp_path: Path) -> None:
    stack = ocsp_stack(ledger, tmp_path / "pki")
    good, revoked = stack.issue("good"), stack.issue("revoked")
    ledger.certificates.revoke(OFFICER, revoked.id, RevocationReason.AFFILIATION_CHANGED)
    stack.sync()
    request = ocsp_request(stack.cert_id(good.serial_number),
                           stack.cert_id(revoked.serial_number, "sha256"),
                           stack.cert_id(12345), nonce=b"\x01" * 16)
    answer = stack.answers.answer(request)
    assert [s[:2] for s in single_statuses(answer.body)] == [
        (good.serial_number, "good"), (revoked.serial_number, "revoked"), (12345, "unknown")]
    assert answer.cache is None
    nonce = asn1_ocsp.OCSPResponse.load(answer.body).basic_ocsp_response[
        "tbs_response_data"]["response_extensions"][0]
    assert nonce["extn_value"].parsed.native == b"\x01" * 16
    foreign = encode_cert_id("sha1", b"\x07" * 20, b"\x08" * 20, good.serial_number)
    assert stack.answers.answer(ocsp_request(foreign)).status is ResponseStatus.UNAUTHORIZED
    mixed = ocsp_request(stack.cert_id(good.serial_number), foreign)
    assert stack.answers.answer(mixed).status is ResponseStatus.UNAUTHORIZED


_OPERATIONS = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(
    ["suspend", "resume", "revoke", "noop"])), max_size=8)


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=_OPERATIONS)
def test_ocsp_says_what_each_certificate_is(ledger: CertLedger, tmp_path_factory: Any,
                                            operations: list[tuple[int, str]]) -> None:
    stack = ocsp_stack(ledger, tmp_path_factory.mktemp("pki"))
    issued = [stack.issue(f"leaf{i}") for i in range(3)]
    for index, operation in operations:
        certificate = ledger.certificates.get(issued[index].id)
        if operation == "suspend" and certificate.status is Status.ISSUED:
            ledger.certificates.suspend(OFFICER, certificate.id)
        elif operation == "resume" and certificate.status is Status.SUSPENDED:
            ledger.certificates.resume(OFFICER, certificate.id)
        elif operation == "revoke" and certificate.status in (Status.ISSUED, Status.SUSPENDED):
            ledger.certificates.revoke(OFFICER, certificate.id,
                                       RevocationReason.CESSATION_OF_OPERATION)
    stack.sync()
    for certificate in issued:
        state = ledger.certificates.get(certificate.id)
        for hash_name in ("sha1", "sha256"):
            for nonce in (None, b"\x42" * 8):
                answer = stack.answers.answer(ocsp_request(
                    stack.cert_id(state.serial_number, hash_name), nonce=nonce))
                ((serial, status, info),) = single_statuses(answer.body)
                assert serial == state.serial_number
                if state.status is Status.ISSUED:
                    assert status == "good"
                else:
                    expected = "certificate_hold" if state.status is Status.SUSPENDED \
                        else "cessation_of_operation"
                    assert (status, info["revocation_reason"]) == ("revoked", expected)


def test_a_response_about_to_expire_is_signed_again_once_and_kept(ledger: CertLedger,
                                                                  tmp_path: Path) -> None:
    offset = [timedelta(0)]
    stack = ocsp_stack(ledger, tmp_path / "pki", clock=lambda: ledger.clock() + offset[0])
    certificate = stack.issue("leaf")
    stack.sync()
    request = ocsp_request(stack.cert_id(certificate.serial_number))
    stored = stack.answers.answer(request)
    offset[0] = timedelta(minutes=59, seconds=30)  # the upkeep did not run: 30 s are left
    fresh = stack.answers.answer(request)
    assert fresh.body != stored.body and fresh.cache is not None
    assert fresh.cache.next_update > stored.cache.next_update  # type: ignore[union-attr]
    assert stack.answers.answer(request) is fresh  # signed once, then served from memory
    ledger.certificates.revoke(OFFICER, certificate.id, RevocationReason.KEY_COMPROMISE)
    stack.sync()  # the row changed: what was kept is dropped
    assert single_statuses(stack.answers.answer(request).body)[0][1] == "revoked"
