"""Dual certificates (双证书) through the ledger, on SQLite and PostgreSQL.

A signing and an encryption certificate for one subject, each with its own key
pair from its own CSR, applied for, approved, rejected and issued as one pair:
both aggregates are saved in one call, so the pair moves together or not at all.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID, uuid4

import pytest
from asn1crypto import x509

from api.bootstrap import CertLedger
from ca.applications.pairs import CertificatePair
from ca.encoding import sm2
from ca.encoding.algorithms import KeyAlgorithm
from domain.certificate import APPLICANT_CSR, Certificate, Status
from domain.errors import IllegalTransition, InvalidRequest, NotFound
from domain.reasons import RevocationReason
from tests.conftest import ADMIN, OFFICER, PORTAL, build_ledger
from tests.helpers import event_topics, make_csr
from tests.interop.test_sm2_certificates import csr_pem, sm2_csr, sm2_csr_der

SUBJECT = {"common_name": "张三", "emails": ["zhang@example.cn"]}
APPLIED = "certledger:Certificate.Applied:v1"
APPROVED = "certledger:Certificate.Approved:v1"
ISSUED = "certledger:Certificate.Issued:v1"
CLAIMED = "certledger:SerialClaim.Claimed:v1"
SIGNING_USAGE = {"digital_signature", "non_repudiation"}
ENCRYPTION_USAGE = {
    KeyAlgorithm.SM2: {"key_encipherment", "data_encipherment", "key_agreement"},
    KeyAlgorithm.ECDSA_P256: {"key_agreement"},          # RFC 8813: EC keys never encipher
    KeyAlgorithm.RSA_2048: {"key_encipherment", "data_encipherment"},  # RSA never agrees
}


def _csr(algorithm: KeyAlgorithm) -> str:
    return sm2_csr() if algorithm is KeyAlgorithm.SM2 else make_csr(algorithm)[1]


def _issuer_for(ledger: CertLedger, algorithm: KeyAlgorithm) -> str:
    """The ECDSA fixture CA, or an SM2 hierarchy next to it for SM2 keys."""
    if algorithm is not KeyAlgorithm.SM2:
        return "issuing-ca"
    ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.SM2, root_name="sm2-root-ca",
                                issuing_name="sm2-issuing-ca", organization="Test Org")
    return "sm2-issuing-ca"


def _apply_pair(ledger: CertLedger, algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256,
                **overrides: Any) -> UUID:
    issuer = overrides.pop("issuer", None) or _issuer_for(ledger, algorithm)
    arguments = {"signing_csr": _csr(algorithm), "encryption_csr": _csr(algorithm),
                 "subject": SUBJECT, "issuer": issuer, **overrides}
    return ledger.pairs.apply(PORTAL, **arguments)


def _events(ledger: CertLedger, after: int = 0) -> list[Any]:
    return [ledger.log.mapper.to_domain_event(n)
            for n in ledger.log.recorder.select_notifications(start=after + 1, limit=10_000)]


def _key_usage(der: bytes) -> set[str]:
    return set(x509.Certificate.load(der).key_usage_value.native)


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.SM2, KeyAlgorithm.ECDSA_P256,
                                       KeyAlgorithm.RSA_2048], ids=lambda a: a.value)
def test_a_pair_is_applied_for_approved_and_issued_together(ledger: CertLedger,
                                                            algorithm: KeyAlgorithm) -> None:
    issuer = _issuer_for(ledger, algorithm)
    before = len(event_topics(ledger))
    pair_id = _apply_pair(ledger, algorithm, issuer=issuer)
    ledger.pairs.approve(OFFICER, pair_id)
    pair = ledger.pairs.issue(PORTAL, pair_id)

    events = _events(ledger, before)
    assert [type(e).TOPIC for e in events] == [APPLIED, APPLIED, APPROVED, APPROVED,
                                                ISSUED, ISSUED, CLAIMED, CLAIMED]
    applied = events[:2]
    assert {e.pair_id for e in applied} == {pair_id}
    assert [e.pair_role for e in applied] == ["signing", "encryption"]
    assert [e.profile for e in applied] == ["personal-signing", "encryption"]
    assert {e.key_source for e in applied} == {APPLICANT_CSR}
    expected_id = "1234567812345678" if algorithm is KeyAlgorithm.SM2 else None
    assert [e.csr_signer_id for e in events[4:6]] == [expected_id, expected_id]

    signing, encryption = pair.halves
    assert signing.pair_partner_id == encryption.id and encryption.pair_partner_id == signing.id
    assert signing.status is encryption.status is Status.ISSUED
    assert signing.serial_number != encryption.serial_number
    assert _key_usage(signing.certificate_der) == SIGNING_USAGE
    assert _key_usage(encryption.certificate_der) == ENCRYPTION_USAGE[algorithm]
    assert ledger.pairs.get(pair_id) == pair
    assert build_ledger(ledger.settings).pairs.get(pair_id) == pair  # replayed


def test_approving_a_pair_twice_is_a_conflict_with_one_approval_each(
        ledger: CertLedger) -> None:
    pair_id = _apply_pair(ledger)
    ledger.pairs.approve(OFFICER, pair_id)
    before = event_topics(ledger)
    with pytest.raises(IllegalTransition) as caught:
        ledger.pairs.approve(OFFICER, pair_id)
    assert caught.value.code == "certificate_approved"
    assert event_topics(ledger) == before
    assert before.count(APPROVED) == 2  # one per certificate


def test_two_officers_approving_at_once_one_wins(ledger: CertLedger) -> None:
    pair_id = _apply_pair(ledger)
    workers = [build_ledger(ledger.settings) for _ in range(2)]
    barrier = threading.Barrier(2, timeout=10)
    for worker in workers:
        original, first = worker.pairs.get, {"done": False}

        def held(pid: UUID, _original: Any = original,
                 _first: dict[str, bool] = first) -> CertificatePair:
            pair = _original(pid)
            if not _first["done"]:  # both load the unapproved pair before either saves
                _first["done"] = True
                barrier.wait()
            return pair

        worker.pairs.get = held  # type: ignore[method-assign]
    outcomes: list[Any] = [None, None]

    def run(index: int) -> None:
        try:
            outcomes[index] = workers[index].pairs.approve(OFFICER, pair_id)
        except Exception as exc:  # collected and asserted on below
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(type(o).__name__ for o in outcomes) == ["CertificatePair",
                                                          "IllegalTransition"]
    assert event_topics(ledger).count(APPROVED) == 2


def test_a_rejected_pair_cannot_be_issued(ledger: CertLedger) -> None:
    pair_id = _apply_pair(ledger)
    pair = ledger.pairs.reject(OFFICER, pair_id, "营业执照不清晰")
    assert {h.status for h in pair.halves} == {Status.REJECTED}
    assert {h.rejection_reason for h in pair.halves} == {"营业执照不清晰"}
    with pytest.raises(IllegalTransition):
        ledger.pairs.issue(OFFICER, pair_id)
    with pytest.raises(InvalidRequest):
        ledger.pairs.reject(OFFICER, pair_id, " ")


def test_a_half_is_never_reviewed_or_issued_alone(ledger: CertLedger) -> None:
    pair_id = _apply_pair(ledger)
    signing = Certificate.pair_member_id(pair_id, "signing")
    encryption = Certificate.pair_member_id(pair_id, "encryption")
    before = event_topics(ledger)
    for command in (lambda: ledger.certificates.approve(OFFICER, signing),
                    lambda: ledger.certificates.reject(OFFICER, encryption, "no"),
                    lambda: ledger.certificates.issue(OFFICER, signing)):
        with pytest.raises(IllegalTransition) as caught:
            command()
        assert caught.value.code == "pair_member"
    assert event_topics(ledger) == before
    # once issued, each certificate lives its own life (revocation is per certificate)
    ledger.pairs.approve(OFFICER, pair_id)
    ledger.pairs.issue(OFFICER, pair_id)
    ledger.certificates.revoke(OFFICER, encryption, RevocationReason.KEY_COMPROMISE)
    assert ledger.certificates.get(signing).status is Status.ISSUED


def test_pair_issuance_is_all_or_nothing(ledger: CertLedger,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pair_id = _apply_pair(ledger)
    ledger.pairs.approve(OFFICER, pair_id)
    before = event_topics(ledger)
    original, calls = ledger.issuing.sign, []

    def failing_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the HSM went away")
        return original(*args, **kwargs)

    monkeypatch.setattr(ledger.issuing, "sign", failing_second)
    with pytest.raises(RuntimeError):
        ledger.pairs.issue(OFFICER, pair_id)
    assert event_topics(ledger) == before
    assert {h.status for h in ledger.pairs.get(pair_id).halves} == {Status.APPROVED}


@pytest.mark.parametrize(("signing", "encryption", "code", "needle"), [
    ("same", "same", "pair_keys_identical", "different key pairs"),
    (KeyAlgorithm.ECDSA_P256, KeyAlgorithm.RSA_2048, "pair_keys_mismatch", "one algorithm"),
    (KeyAlgorithm.SM2, KeyAlgorithm.ECDSA_P256, "key_not_allowed_for_ca", "encryption_csr: "),
    (KeyAlgorithm.SM2, "bad", "bad_csr_signature", "encryption_csr: "),
    (KeyAlgorithm.ED25519, KeyAlgorithm.ED25519, "key_not_allowed", "encryption_csr: "),
])
def test_bad_pairs_are_refused_and_record_nothing(ledger: CertLedger, signing: Any,
                                                  encryption: Any, code: str,
                                                  needle: str) -> None:
    damaged = bytearray(sm2_csr_der())
    damaged[-2] ^= 0x01  # inside the signature's s
    csrs = {"same": sm2_csr(sm2.generate_signer()), "bad": csr_pem(bytes(damaged))}
    signing_csr = csrs.get(signing) or _csr(signing)
    encryption_csr = csrs.get(encryption) or _csr(encryption)
    issuer = _issuer_for(ledger, KeyAlgorithm.SM2 if signing == "same" else signing)
    before = event_topics(ledger)
    with pytest.raises(InvalidRequest) as caught:
        ledger.pairs.apply(PORTAL, signing_csr=signing_csr, encryption_csr=encryption_csr,
                           subject=SUBJECT, issuer=issuer)
    assert caught.value.code == code, caught.value
    assert needle in caught.value.message
    assert event_topics(ledger) == before


def test_profiles_of_a_pair(ledger: CertLedger) -> None:
    pair_id = _apply_pair(ledger, signing_profile="organisation-signing",
                          subject={"common_name": "某某公司", "organization": "某某公司",
                                   "country": "CN"})
    assert ledger.pairs.get(pair_id).signing.profile == "organisation-signing"
    for profile in ("encryption", "sub-ca", "nope"):
        with pytest.raises(InvalidRequest):
            _apply_pair(ledger, signing_profile=profile)
    with pytest.raises(NotFound):
        ledger.pairs.get(uuid4())
    with pytest.raises(NotFound):  # a certificate id is not a pair id
        ledger.pairs.get(Certificate.pair_member_id(pair_id, "signing"))


def test_applications_recorded_before_pairs_existed_still_load(ledger: CertLedger,
                                                               csr_pem: str) -> None:
    """An Applied event stored without the fields added for pairs decodes with defaults."""
    cid = ledger.certificates.apply(PORTAL, profile="personal-signing", csr=csr_pem,
                                    subject=SUBJECT)
    notification = [n for n in ledger.log.recorder.select_notifications(start=1, limit=10_000)
                    if n.topic == Certificate.Applied.TOPIC][-1]
    state = ledger.log.mapper.transcoder.decode(notification.state)
    for added in ("pair_id", "pair_role", "key_source", "csr_signer_id", "kind",
                  "terms_version", "approvals_required"):
        del state[added]
    old = type(notification)(**{**vars(notification),
                                "state": ledger.log.mapper.transcoder.encode(state)})
    event = ledger.log.mapper.to_domain_event(old)
    certificate = event.mutate(None)
    assert certificate.id == cid and certificate.pair_id is None
    assert (certificate.kind.value, certificate.approvals_required) == ("new", 1)
    assert certificate.key_source == APPLICANT_CSR and certificate.csr_signer_id is None
    assert event.pair_id is None and event.key_source == APPLICANT_CSR
