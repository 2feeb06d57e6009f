"""The pure rules of issue 10: unlock codes and states, the login check's order of
reasons, expiry shown without an event, the public query's rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.rate_limit import RateLimiter
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
