"""Separation of duties and two-person review on the Certificate aggregate, and the
Order aggregate's states."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.actors import Actor, Role
from domain.certificate import ApplicationKind, Certificate, Status
from domain.errors import IllegalTransition, InvalidRequest
from domain.orders import Order, OrderStatus
from tests.unit.test_certificate_aggregate import OFFICER, PORTAL, T0

OTHER = Actor("officer-2", Role.OFFICER)
SHIPPING = {"recipient": "王五", "phone": "13700137000", "address": "北京市海淀区某路1号"}


def _applied(actor: Actor = PORTAL, approvals: int = 1) -> Certificate:
    return Certificate.apply_for(actor=actor, at=T0, issuer="issuing-ca",
                                 profile="organisation-signing",
                                 subject={"common_name": "x"}, csr_der=b"\x30\x00",
                                 key_algorithm="ecdsa-p256", validity_days=90,
                                 approvals_required=approvals)


def test_the_submitter_never_reviews_its_application() -> None:
    certificate = _applied(OFFICER)
    with pytest.raises(IllegalTransition) as refused:
        certificate.approve(OFFICER, T0)
    assert refused.value.code == "own_application"
    with pytest.raises(IllegalTransition):
        certificate.reject(OFFICER, T0, "no")
    certificate.approve(OTHER, T0)
    assert certificate.status is Status.APPROVED


def test_two_approvers_are_two_distinct_officers() -> None:
    certificate = _applied(approvals=2)
    certificate.approve(OFFICER, T0, comment="licence checked")
    assert certificate.status is Status.APPLIED and certificate.approvals == ["officer"]
    with pytest.raises(IllegalTransition) as twice:
        certificate.approve(OFFICER, T0)
    assert twice.value.code == "already_approved"
    certificate.approve(OTHER, T0)
    assert certificate.status is Status.APPROVED
    names = [type(e).__name__ for e in certificate.collect_events()]
    assert names == ["Applied", "Endorsed", "Approved"]


def test_a_successor_names_its_predecessor_and_a_new_one_none() -> None:
    with pytest.raises(ValueError):
        Certificate.apply_for(actor=PORTAL, at=T0, issuer="i", profile="p", subject={},
                              csr_der=b"", key_algorithm="k", validity_days=1,
                              kind=ApplicationKind.RENEW)
    assert ApplicationKind.CHANGE.supersession_reason.rfc_name == "affiliationChanged"
    assert ApplicationKind.REAPPLY.supersession_reason.rfc_name == "superseded"


def _order(media: str | None = None) -> Order:
    return Order.place(actor=PORTAL, at=T0, certificate_id=uuid4(), portal="a",
                       account_id=None, order_number="CL-2026-000001", kind="new",
                       profile="personal-signing", amount=100, currency="CNY", media=media,
                       shipping=SHIPPING if media else None)


def test_an_order_is_paid_after_approval_shipped_after_payment_activated_after_delivery(
        ) -> None:
    order = _order("usb-key")
    with pytest.raises(IllegalTransition) as early:
        order.pay(PORTAL, T0, method="wechat", amount=100, reference="r", approved=False)
    assert early.value.code == "not_approved"
    with pytest.raises(IllegalTransition):
        order.pay(PORTAL, T0, method="wechat", amount=99, reference="r", approved=True)
    with pytest.raises(InvalidRequest):
        order.pay(PORTAL, T0, method="wechat", amount="100", reference="r", approved=True)
    with pytest.raises(IllegalTransition):
        order.ship(OFFICER, T0, carrier="SF", tracking_number="1", issued=True)
    order.pay(PORTAL, T0, method="wechat", amount=100, reference="r", approved=True)
    with pytest.raises(IllegalTransition) as not_issued:
        order.ship(OFFICER, T0, carrier="SF", tracking_number="1", issued=False)
    assert not_issued.value.code == "not_issued"
    with pytest.raises(IllegalTransition):
        order.activate(PORTAL, T0, issued=True)
    order.ship(OFFICER, T0, carrier="SF", tracking_number="1", issued=True)
    order.deliver(PORTAL, T0)
    order.activate(PORTAL, T0, issued=True)
    assert order.status is OrderStatus.ACTIVATED


def test_an_order_without_a_medium_is_activated_once_paid_and_issued() -> None:
    order = _order()
    with pytest.raises(IllegalTransition):
        order.activate(PORTAL, T0, issued=True)
    order.pay(PORTAL, T0, method="cash", amount=100, reference="r", approved=True)
    with pytest.raises(IllegalTransition):
        order.activate(PORTAL, T0, issued=False)
    order.activate(PORTAL, T0, issued=True)


def test_an_sms_code_is_confirmed_in_time_and_within_the_attempts() -> None:
    order = _order()
    order.send_code(PORTAL, T0, phone_tail="7000", code_hmac="ab" * 32, hmac_key="k",
                    expires_at=T0 + timedelta(minutes=10))
    assert order.confirm_code(PORTAL, T0, "cd" * 32) is False
    assert order.confirm_code(PORTAL, T0, "ab" * 32) is True
    assert order.authorisation is not None and order.authorisation["method"] == "sms"
    late = _order()
    late.send_code(PORTAL, T0, phone_tail="7000", code_hmac="ab" * 32, hmac_key="k",
                   expires_at=T0 + timedelta(minutes=10))
    with pytest.raises(IllegalTransition):
        late.confirm_code(PORTAL, T0 + timedelta(minutes=11), "ab" * 32)
    tried = _order()
    tried.send_code(PORTAL, T0, phone_tail="7000", code_hmac="ab" * 32, hmac_key="k",
                    expires_at=T0 + timedelta(minutes=10))
    for _ in range(5):
        assert tried.confirm_code(PORTAL, T0, "cd" * 32) is False
    with pytest.raises(IllegalTransition):
        tried.confirm_code(PORTAL, T0, "ab" * 32)
