"""The certificate login check, ``POST /api/v1/bindings/verify``: one test per reason a
certificate may not log an account in, the allowed case, bad certificates (400, nothing
recorded), and the owning portal only."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ca.encoding.algorithms import KeyAlgorithm
from domain.reasons import RevocationReason
from tests.e2e.conftest import Tenants
from tests.helpers import make_csr

TLS = {"profile": "tls-server", "subject": {"dns_names": ["login.example.cn"]}}
PATH = "/api/v1/bindings/verify"


def account(t: Tenants, username: str, who: str = "portal-a") -> UUID:
    return t.api.ledger.accounts.register(t.actors[who], kind="personal", username=username,
                                          name="李四", contacts={"phone": "13800138000"})


def certificate(t: Tenants, owner: UUID, activate: bool = True) -> tuple[UUID, bytes]:
    """An issued certificate of ``owner``, its order paid and activated (激活) unless not
    ``activate``: the portal's subscriber may use it from then on."""
    ledger, portal = t.api.ledger, t.actors["portal-a"]
    cid = ledger.certificates.apply(portal, csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                    account_id=str(owner), **TLS)
    ledger.certificates.approve(t.actors["officer-a"], cid)
    der = ledger.certificates.issue(t.actors["officer-a"], cid).certificate_der
    assert der is not None
    if activate:
        amount = ledger.orders.get_for(portal, cid).amount
        ledger.orders.pay(portal, cid, method="cash", amount=amount, reference="r-1")
        ledger.orders.activate(portal, cid)
    return cid, der


def check(t: Tenants, username: str, der: bytes, who: str = "portal-a",
          pem: bool = True) -> Any:
    t.api.ledger.read.runner.catch_up()
    text = x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode() if pem \
        else base64.b64encode(der).decode()
    return t.call("POST", PATH, who, json={"username": username, "certificate": text})


def self_signed() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not ours")])
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7).not_valid_before(now)
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256())
            .public_bytes(Encoding.DER))


def test_a_valid_certificate_of_the_account_may_log_in(tenants: Tenants) -> None:
    owner = account(tenants, "li.si")
    cid, der = certificate(tenants, owner)
    for pem in (True, False):
        answer = check(tenants, "LI.SI", der, pem=pem)
        assert answer.status_code == 200, answer.json
        assert answer.json == {"allowed": True, "reason": None, "certificate_id": str(cid)}


def _revoke(reason: RevocationReason) -> Callable[[Tenants, UUID], None]:
    def act(t: Tenants, cid: UUID) -> None:
        t.api.ledger.certificates.revoke(t.actors["officer-a"], cid, reason)
    return act


def _suspend(t: Tenants, cid: UUID) -> None:
    t.api.ledger.certificates.suspend(t.actors["officer-a"], cid)


def _expire(t: Tenants, cid: UUID) -> None:
    t.api.ledger.clock.offset = timedelta(days=400)  # type: ignore[attr-defined]


def _not_activated(t: Tenants, cid: UUID) -> None:
    """Nothing to do: the certificate of this case is issued and paid, never activated."""


def _lock(t: Tenants, cid: UUID) -> None:
    t.api.ledger.unlocks.report_lock(t.actors["portal-a"], cid, "UK-9")


@pytest.mark.parametrize("change,reason", [
    (_revoke(RevocationReason.KEY_COMPROMISE), "revoked"),
    (_revoke(RevocationReason.SUPERSEDED), "superseded"),
    (_suspend, "on_hold"), (_expire, "expired"), (_not_activated, "not_activated"),
    (_lock, "pin_locked")])
def test_each_reason_to_refuse(tenants: Tenants, change: Callable[[Tenants, UUID], None],
                               reason: str) -> None:
    owner = account(tenants, "li.si")
    cid, der = certificate(tenants, owner, activate=reason != "not_activated")
    change(tenants, cid)
    answer = check(tenants, "li.si", der)
    assert answer.status_code == 200, answer.json
    assert answer.json == {"allowed": False, "reason": reason, "certificate_id": str(cid)}


def test_another_accounts_certificate(tenants: Tenants) -> None:
    account(tenants, "li.si")
    _, der = certificate(tenants, account(tenants, "zhang.san"))
    assert check(tenants, "li.si", der).json["reason"] == "another_account"


def test_a_certificate_we_did_not_issue(tenants: Tenants) -> None:
    account(tenants, "li.si")
    answer = check(tenants, "li.si", self_signed())
    assert answer.json == {"allowed": False, "reason": "not_issued_by_us",
                           "certificate_id": None}


def test_the_owning_portal_only(tenants: Tenants) -> None:
    _, der = certificate(tenants, account(tenants, "li.si"))
    for who in ("portal-b", "officer-b"):
        answer = check(tenants, "li.si", der, who=who)
        assert answer.status_code == 404 and answer.json["error"]["code"] == \
            "account_not_found"
    assert check(tenants, "li.si", der, who="officer-a").json["allowed"] is True
    assert check(tenants, "li.si", der, who=None).status_code == 401
    assert check(tenants, "li.si", der, who="auditor").status_code == 403


@pytest.mark.parametrize("value,code", [
    ("A" * 20_000, "certificate_too_large"), ("not a certificate", "bad_certificate"),
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "bad_certificate"),
    (base64.b64encode(b"\x30\x03\x02\x01\x01").decode(), "bad_certificate"),
    (12, "bad_certificate"), ("", "bad_certificate")])
def test_oversize_or_malformed_certificates_are_400(tenants: Tenants, value: Any,
                                                     code: str) -> None:
    account(tenants, "li.si")
    head = tenants.api.ledger.log.head()
    answer = tenants.call("POST", PATH, "portal-a",
                          json={"username": "li.si", "certificate": value})
    assert answer.status_code == 400 and answer.json["error"]["code"] == code
    assert tenants.api.ledger.log.head() == head
