"""Issuing policy recorded on the CA (issue 7, items 2 and 3) and the bounds of an
invalidity date (item 8), on the aggregates alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ca.encoding.algorithms import KeyAlgorithm
from domain.actors import Actor, Role
from domain.authority import INTERNATIONAL_KEYS, SM2_KEYS, CertificateAuthority, key_family
from domain.errors import IllegalTransition, InvalidRequest
from domain.reasons import RevocationReason
from tests.unit.test_certificate_aggregate import OFFICER, T0, issued

ADMIN = Actor("admin", Role.ADMIN)


def _ca(name: str, parent: str | None, key_algorithm: str = "ecdsa-p256",
        **policy: object) -> CertificateAuthority:
    return CertificateAuthority.establish(actor=ADMIN, name=name, key_algorithm=key_algorithm,
                                          key_ref="ref", certificate_der=b"\x30\x00",
                                          parent=parent, **policy)  # type: ignore[arg-type]


def test_every_key_algorithm_belongs_to_exactly_one_hierarchy() -> None:
    assert SM2_KEYS | INTERNATIONAL_KEYS == {a.value for a in KeyAlgorithm}
    assert not SM2_KEYS & INTERNATIONAL_KEYS
    assert key_family("sm2") == SM2_KEYS and key_family("rsa-4096") == INTERNATIONAL_KEYS


def test_a_root_never_issues_an_end_entity_certificate_whatever_it_records() -> None:
    root = _ca("root-ca", None, profiles=["sub-ca", "tls-server"])
    root.check_may_issue("sub-ca", ca_profile=True)
    with pytest.raises(InvalidRequest) as caught:
        root.check_may_issue("tls-server", ca_profile=False)
    assert caught.value.code == "profile_not_allowed_for_ca"
    with pytest.raises(IllegalTransition) as refused:
        root.check_may_delegate_ocsp()
    assert refused.value.code == "root_ca_no_responder"


def test_an_issuing_ca_issues_its_recorded_profiles_only() -> None:
    issuing = _ca("issuing-ca", "root-ca", profiles=["personal-signing"])
    issuing.check_may_issue("personal-signing", ca_profile=False)
    issuing.check_may_delegate_ocsp()
    for profile, is_ca in (("tls-server", False), ("sub-ca", True)):
        with pytest.raises(InvalidRequest, match=f"does not issue {profile}"):
            issuing.check_may_issue(profile, ca_profile=is_ca)


def test_without_recorded_profiles_the_policy_follows_the_rank() -> None:
    """What a CA established by release 0.1 (no profiles field) gets."""
    root, issuing = _ca("root-ca", None), _ca("issuing-ca", "root-ca")
    assert root.profiles is None and issuing.profiles is None
    root.check_may_issue("sub-ca", ca_profile=True)
    issuing.check_may_issue("tls-server", ca_profile=False)
    with pytest.raises(InvalidRequest):
        root.check_may_issue("personal-signing", ca_profile=False)
    with pytest.raises(InvalidRequest):
        issuing.check_may_issue("sub-ca", ca_profile=True)


@pytest.mark.parametrize("ca_key,allowed,refused", [
    ("ecdsa-p256", ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-4096", "ed25519"], ["sm2"]),
    ("rsa-3072", ["ecdsa-p256", "ed25519", "rsa-3072"], ["sm2"]),
    ("sm2", ["sm2"], ["ecdsa-p256", "rsa-2048", "ed25519"]),
])
def test_a_ca_certifies_keys_of_its_own_hierarchy(ca_key: str, allowed: list[str],
                                                  refused: list[str]) -> None:
    authority = _ca("issuing-ca", "root-ca", key_algorithm=ca_key)
    for key in allowed:
        authority.check_may_certify(key)
    for key in refused:
        with pytest.raises(InvalidRequest) as caught:
            authority.check_may_certify(key)
        assert caught.value.code == "key_not_allowed_for_ca"
        authority.check_may_certify(key, any_family=True)  # a profile may allow it


def test_a_ca_recording_no_key_policy_derives_it_from_its_key() -> None:
    authority = _ca("issuing-ca", "root-ca", key_algorithm="sm2")
    authority.subject_key_algorithms = None  # as a CA established by release 0.1
    authority.check_may_certify("sm2")
    with pytest.raises(InvalidRequest):
        authority.check_may_certify("ecdsa-p256")


def test_invalidity_date_is_between_not_before_and_now() -> None:
    certificate = issued()  # notBefore T0
    for date in (datetime(1, 1, 1, tzinfo=timezone.utc), T0 - timedelta(seconds=1)):
        with pytest.raises(IllegalTransition, match="notBefore") as caught:
            certificate.revoke(OFFICER, T0 + timedelta(days=1), RevocationReason.KEY_COMPROMISE,
                               invalidity_date=date)
        assert caught.value.code == "invalid_invalidity_date"
    certificate.revoke(OFFICER, T0 + timedelta(days=1), RevocationReason.KEY_COMPROMISE,
                       invalidity_date=T0)
    assert certificate.invalidity_date == T0
