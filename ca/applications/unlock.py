"""Commands of PIN unlock (解锁, seed 002): report a locked key, request an unlock, review
it, redeem the one-time code. The rules are in domain/unlock.py, the events on the
Certificate aggregate.

The code is made here (``secrets``), returned once to the approving call and recorded
only as its HMAC under a server key (``ca.keys.hmac_keys.UNLOCK_CODE_KEY``). An approval
retried with its Idempotency-Key makes the same code again (derived from the request's
id under the same key), so the answer holding it is never stored.

Both halves of a dual pair live on one key: every event is recorded on both, saved
together. A lost race is retried from the load (``retry_on_conflict``): of two
redemptions of one code, one unlocks and the other meets the unlocked key (409).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ca.applications.certificates import Certificates
from ca.applications.conflicts import retry_on_conflict
from ca.applications.event_log import EventLog
from ca.applications.ports import Clock, Hmac
from domain.actors import Actor
from domain.certificate import Certificate
from domain.errors import IllegalTransition
from domain.unlock import (
    CODE_VALIDITY,
    MAX_TRIES,
    LockState,
    check_key_serial,
    code_from,
    new_code,
    normalise_code,
)

__all__ = ["Unlocks", "Approval"]


@dataclass(frozen=True)
class Approval:
    certificate: Certificate
    code: str              # the plaintext code: for the approving caller's answer only
    expires_at: datetime


class Unlocks:
    def __init__(self, log: EventLog, certificates: Certificates, codes: Hmac,
                 clock: Clock) -> None:
        self._log = log
        self._certificates = certificates
        self._codes = codes
        self._clock = clock

    def report_lock(self, actor: Actor, certificate_id: UUID, key_serial: object,
                    comment: str = "") -> Certificate:
        serial = check_key_serial(key_serial, required=False)
        return self._update(actor, certificate_id,
                            lambda c, at: c.report_lock(actor, at, serial, comment))

    def request(self, actor: Actor, certificate_id: UUID, key_serial: object,
                comment: str = "") -> Certificate:
        serial = check_key_serial(key_serial, required=False)
        return self._update(actor, certificate_id,
                            lambda c, at: c.request_unlock(actor, at, serial, comment))

    def approve(self, actor: Actor, certificate_id: UUID,
                new_id: UUID | None = None) -> Approval:
        """Approve the requested unlock: a new code, valid for 24 hours. With ``new_id``
        (a retried request's id) the code is derived from it and from the certificate's
        version the approval follows, so a retry of the approval that made the
        outstanding code answers with that code again, while the same id used for a
        later approval makes another code."""
        made: dict[str, str] = {}

        def approve(certificate: Certificate, at: datetime) -> None:
            state = certificate.unlock_state
            if new_id is not None and state.state is LockState.APPROVED \
                    and state.approval_id is not None \
                    and state.approval_id.split("@")[0] == str(new_id):
                made.setdefault("code", self._derived(state.approval_id))
                return  # approved by this very request already: the same code
            if "code" not in made:  # the first of a pair's halves decides
                approval_id = None if new_id is None else f"{new_id}@{certificate.version}"
                made["approval_id"] = approval_id or ""
                made["code"] = new_code() if approval_id is None else \
                    self._derived(approval_id)
            certificate.approve_unlock(actor, at, code_hmac=self.digest(made["code"]),
                                       hmac_key=self._codes.key_ref,
                                       expires_at=at + CODE_VALIDITY,
                                       approval_id=made.get("approval_id") or None)

        certificate = self._update(actor, certificate_id, approve, before=made.clear)
        expires_at = certificate.unlock_state.expires_at
        assert expires_at is not None
        return Approval(certificate, made["code"], expires_at)

    def _derived(self, approval_id: str) -> str:
        return code_from(self._codes.digest(b"unlock-derive:" + approval_id.encode()))

    def reject(self, actor: Actor, certificate_id: UUID, reason: str) -> Certificate:
        Certificate.check_rejection_reason(reason)
        return self._update(actor, certificate_id,
                            lambda c, at: c.reject_unlock(actor, at, reason))

    def redeem(self, actor: Actor, certificate_id: UUID, code: object) -> Certificate:
        """Unlock with the code. A wrong code is recorded (counted) and refused (409
        ``wrong_unlock_code``); the fifth wrong try exhausts the code."""
        digest = self.digest(normalise_code(code))
        outcome: dict[str, bool] = {}

        def redeem(certificate: Certificate, at: datetime) -> None:
            outcome["right"] = certificate.redeem_unlock(actor, at, digest)

        certificate = self._update(actor, certificate_id, redeem)
        if not outcome["right"]:
            left = MAX_TRIES - certificate.unlock_state.failures
            raise IllegalTransition(
                f"wrong unlock code; {left} tries left" if left else
                "wrong unlock code; the code is exhausted: ask for a new approval",
                code="wrong_unlock_code")
        return certificate

    def digest(self, code: str) -> str:
        return self._codes.digest(b"unlock-code:" + code.encode()).hex()

    def _update(self, actor: Actor, certificate_id: UUID,
                command: Callable[[Certificate, datetime], None],
                before: Callable[[], None] | None = None) -> Certificate:
        """Load the certificate (and its pair's other half: one key holds both), run the
        command on each at one moment, save them together (``before``: called at the
        start of every attempt)."""

        def attempt() -> Certificate:
            if before is not None:
                before()
            certificate = self._certificates.get_for(actor, certificate_id)
            both = [certificate]
            partner_id = certificate.pair_partner_id
            if partner_id is not None:
                partner = self._log.load(partner_id, Certificate)
                if partner is not None:
                    both.append(partner)
            at = self._clock()
            for each in both:
                command(each, at)
            self._log.save(*both)
            return certificate

        return retry_on_conflict(attempt, what="the certificate")
