"""The certificate login check (seeds 000/001: "该证书与用户名不匹配"): may this certificate
log this account in, and if not, why. Pure: it takes what the certificate index holds.

The reasons, in the order they are checked (the first that applies is the answer).
``not_activated`` comes from the index's ``activated`` column: 0 from the order's
``Placed`` until its ``Activated``; 1 for a certificate without an order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["IndexedCertificate", "Refusal", "binding_refusal"]


class Refusal(enum.StrEnum):
    NOT_OURS = "not_issued_by_us"
    ANOTHER_ACCOUNT = "another_account"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"
    ON_HOLD = "on_hold"
    EXPIRED = "expired"
    NOT_ACTIVATED = "not_activated"
    PIN_LOCKED = "pin_locked"


@dataclass(frozen=True, slots=True)
class IndexedCertificate:
    certificate_id: str
    account_id: str | None
    status: str
    revocation_reason: str | None
    not_before: int | None   # Unix seconds
    not_after: int | None
    activated: bool
    lock_state: str


def binding_refusal(certificate: IndexedCertificate | None, account_id: str,
                    now: int) -> Refusal | None:
    """Why ``certificate`` may not log account ``account_id`` in at ``now`` (None: it may)."""
    if certificate is None or certificate.not_after is None:
        return Refusal.NOT_OURS
    if certificate.account_id != account_id:
        return Refusal.ANOTHER_ACCOUNT
    if certificate.status == "revoked":
        return Refusal.SUPERSEDED if certificate.revocation_reason == "superseded" \
            else Refusal.REVOKED
    if certificate.status == "suspended":
        return Refusal.ON_HOLD
    if now > certificate.not_after or (certificate.not_before or 0) > now:
        return Refusal.EXPIRED
    if not certificate.activated:
        return Refusal.NOT_ACTIVATED
    if certificate.lock_state != "unlocked":
        return Refusal.PIN_LOCKED
    return None
