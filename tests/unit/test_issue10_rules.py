"""The pure rules of issue 10: unlock codes and states, the login check's order of
reasons, expiry shown without an event, the public query's rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.rate_limit import RateLimiter
from ca.applications.webhooks import OutboxItem, Webhooks
from ca.processes.webhook_delivery import DeliverySettings, WebhookDelivery
from domain.bindings import IndexedCertificate, binding_refusal
from domain.errors import IllegalTransition, InvalidRequest
from domain.expiry import status_text
from domain.unlock import (
    CODE_LENGTH,
    MAX_TRIES,
    LockState,
    UnlockState,
    code_from,
    new_code,
    normalise_code,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_codes_are_long_random_and_typed_loosely() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200 and all(len(c) == CODE_LENGTH >= 8 for c in codes)
    code = next(iter(codes))
    assert normalise_code(f" {code[:4].lower()}-{code[4:]} ") == code
    assert code_from(b"\x01" * 32) == code_from(b"\x01" * 32) != code_from(b"\x02" * 32)
    for bad in ("", "O0O0", "x" * 65, 12, None):
        with pytest.raises(InvalidRequest):
            normalise_code(bad)


def test_a_code_is_dead_when_exhausted_or_expired() -> None:
    live = UnlockState(LockState.APPROVED, code_hmac="ab", expires_at=NOW + timedelta(hours=1))
    live.check_redeem(NOW)
    with pytest.raises(IllegalTransition, match="too often"):
        UnlockState(LockState.APPROVED, code_hmac="ab", expires_at=NOW + timedelta(hours=1),
                    failures=MAX_TRIES).check_redeem(NOW)
    with pytest.raises(IllegalTransition, match="expired"):
        live.check_redeem(NOW + timedelta(hours=1))
    with pytest.raises(IllegalTransition) as refused:
        live.check_review("approve", NOW)
    assert refused.value.code == "unlock_code_outstanding"
    live.check_review("approve", NOW + timedelta(hours=2))  # expired: approve again
    with pytest.raises(IllegalTransition) as none:
        UnlockState().check_redeem(NOW)
    assert none.value.code == "no_unlock_code"


def _row(**change: object) -> IndexedCertificate:
    values: dict[str, object] = {
        "certificate_id": "c", "account_id": "a", "status": "issued",
        "revocation_reason": None, "not_before": 0, "not_after": 1000, "activated": True,
        "lock_state": "unlocked"}
    values.update(change)
    return IndexedCertificate(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("row,reason", [
    (None, "not_issued_by_us"), (_row(account_id="b", status="revoked"), "another_account"),
    (_row(status="revoked", revocation_reason="superseded"), "superseded"),
    (_row(status="revoked", revocation_reason="keyCompromise", lock_state="locked"),
     "revoked"),
    (_row(status="suspended", not_after=10), "on_hold"), (_row(not_after=10), "expired"),
    (_row(activated=False, lock_state="locked"), "not_activated"),
    (_row(lock_state="unlock_requested"), "pin_locked"), (_row(), None)])
def test_the_login_checks_reasons_in_order(row: IndexedCertificate | None,
                                           reason: str | None) -> None:
    refusal = binding_refusal(row, "a", 500)
    assert (refusal.value if refusal else None) == reason


def test_expired_is_derived_for_valid_certificates_only() -> None:
    assert status_text("issued", NOW, NOW + timedelta(seconds=1)) == "expired"
    assert status_text("suspended", NOW, NOW + timedelta(seconds=1)) == "expired"
    assert status_text("revoked", NOW, NOW + timedelta(seconds=1)) == "revoked"
    assert status_text("issued", NOW, NOW) == "issued"


def test_the_rate_limit_slides_per_address() -> None:
    limiter = RateLimiter(3)
    assert [limiter.check("x", now=t) for t in (0, 1, 2)] == [None, None, None]
    assert limiter.check("x", now=3) == 57
    assert limiter.check("y", now=3) is None
    assert limiter.check("x", now=60.5) is None


class _Outbox:
    def __init__(self, items: list[OutboxItem]) -> None:
        self.items = items
        self.failures: list[tuple[str, int]] = []
        self.done: list[str] = []

    def due(self, now: int, limit: int) -> list[OutboxItem]:
        return [i for i in self.items if i.message_id not in self.done][:limit]

    def delivered(self, item: OutboxItem, at: str) -> None:
        self.done.append(item.message_id)

    def failed(self, item: OutboxItem, next_attempt_at: int, error: str) -> None:
        self.failures.append((item.message_id, next_attempt_at))


class _Secrets:
    key_ref = "test"

    def digest(self, data: bytes) -> bytes:
        return b"k" * 32


def test_a_failing_receiver_costs_one_try_a_round_and_backs_off() -> None:
    items = [OutboxItem(f"m{i}", "p", "http://127.0.0.1:9/hook", "r", "{}", 0)
             for i in range(3)] + [OutboxItem("q1", "q", "http://127.0.0.1:9/q", "r", "{}", 0)]
    outbox, posted = _Outbox(items), []

    def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        posted.append(headers["X-CertLedger-Message-Id"])
        assert headers["X-CertLedger-Signature"].startswith("sha256=")
        return 500 if url.endswith("/hook") else 200

    webhooks = Webhooks(None, None, _Secrets(), lambda: NOW)  # type: ignore[arg-type]
    delivery = WebhookDelivery(outbox, webhooks, lambda: NOW,  # type: ignore[arg-type]
                               DeliverySettings(base=5), post=post)
    assert delivery.run() == 1
    assert posted == ["m0", "q1"] and outbox.done == ["q1"]
    assert outbox.failures == [("m0", int(NOW.timestamp()) + 5)]
    assert [delivery.backoff(n) for n in (1, 2, 3, 20)] == [5, 10, 20, 3600]
