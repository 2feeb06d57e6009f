"""PIN unlock (解锁, seed 002): the rules, kept apart from the Certificate aggregate.

A subscriber's USB key locks itself after too many wrong PINs. The portal reports the
lock (with the key's serial), the subscriber asks for an unlock, an officer reviews the
request; an approval makes a one-time unlock authorisation code (解锁授权码) that the
approving call returns once. Events carry only its HMAC (``code_hmac``). The code is
valid for :data:`CODE_VALIDITY`, takes at most :data:`MAX_TRIES` wrong tries (each an
event), and is redeemed once; a redeemed, expired or exhausted code never works again
(a fresh approval makes a new one).

States (:class:`LockState`)::

    UNLOCKED ──report──▶ LOCKED ──request──▶ REQUESTED ──approve──▶ APPROVED ──redeem──▶ UNLOCKED
                            ▲                    │   ▲ approve again   │ (code dead)
                            └──────reject────────┴───┴─────────────────┘

Both halves of a dual pair are on one key: every unlock event is recorded on both.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import IllegalTransition, InvalidRequest

__all__ = ["LockState", "UnlockState", "CODE_VALIDITY", "MAX_TRIES", "CODE_LENGTH",
           "new_code", "code_from", "normalise_code", "check_key_serial", "UNLOCKED"]

CODE_VALIDITY = timedelta(hours=24)
MAX_TRIES = 5
CODE_LENGTH = 12
# no 0/O, 1/I/L: read over the telephone and typed by hand
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_KEY_SERIAL = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")


class LockState(enum.StrEnum):
    UNLOCKED = "unlocked"
    LOCKED = "locked"
    REQUESTED = "unlock_requested"
    APPROVED = "unlock_approved"


@dataclass(frozen=True)
class UnlockState:
    """What a certificate remembers of its key's lock (replaced, never changed)."""

    state: LockState = LockState.UNLOCKED
    key_serial: str | None = None
    code_hmac: str | None = None
    expires_at: datetime | None = None
    failures: int = 0
    approval_id: str | None = None
    rejection_reason: str | None = None

    @property
    def locked(self) -> bool:
        return self.state is not LockState.UNLOCKED

    def code_dead(self, at: datetime) -> bool:
        """The outstanding code is exhausted or expired (or there is none)."""
        return (self.code_hmac is None or self.failures >= MAX_TRIES
                or self.expires_at is None or at >= self.expires_at)

    # ---- the rules: each raises when the step does not apply ----------------------------

    def check_report(self) -> None:
        if self.locked:
            raise IllegalTransition("the key's lock is reported already",
                                    code="pin_already_locked")

    def check_request(self, key_serial: str | None) -> None:
        if self.state is LockState.UNLOCKED:
            raise IllegalTransition("no lock is reported for this certificate's key",
                                    code="pin_not_locked")
        if self.state is not LockState.LOCKED:
            raise IllegalTransition("an unlock is requested already",
                                    code="unlock_already_requested")
        if key_serial is not None and self.key_serial is not None \
                and key_serial != self.key_serial:
            raise IllegalTransition("the key serial is not the one the lock was reported for",
                                    code="key_serial_mismatch")

    def check_review(self, command: str, at: datetime) -> None:
        if self.state is LockState.REQUESTED:
            return
        if self.state is LockState.APPROVED and (command == "reject" or self.code_dead(at)):
            return
        if self.state is LockState.APPROVED:
            raise IllegalTransition("an unlock code is outstanding and still valid",
                                    code="unlock_code_outstanding")
        raise IllegalTransition(f"cannot {command} an unlock: none is requested",
                                code="no_unlock_request")

    def check_redeem(self, at: datetime) -> None:
        if self.state is not LockState.APPROVED or self.code_hmac is None:
            raise IllegalTransition("no unlock code is outstanding for this certificate",
                                    code="no_unlock_code")
        if self.failures >= MAX_TRIES:
            raise IllegalTransition("the unlock code was tried wrongly too often; ask for "
                                    "a new approval", code="unlock_code_exhausted")
        if self.expires_at is None or at >= self.expires_at:
            raise IllegalTransition("the unlock code has expired; ask for a new approval",
                                    code="unlock_code_expired")


UNLOCKED = UnlockState()


def new_code() -> str:
    """A fresh unlock code: :data:`CODE_LENGTH` characters from the OS's CSPRNG."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def code_from(material: bytes) -> str:
    """A code made from ``material`` (a server-keyed derivation for a retried request)."""
    number = int.from_bytes(material, "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "".join(chars)


def normalise_code(code: object) -> str:
    """The code as typed: case, spaces and hyphens do not matter. InvalidRequest if it
    cannot be a code (nothing is counted for that)."""
    if not isinstance(code, str) or len(code) > 64:
        raise InvalidRequest("code is the unlock authorisation code (text)", code="bad_code")
    text = re.sub(r"[\s-]", "", code).upper()
    if not text or any(c not in _ALPHABET for c in text):
        raise InvalidRequest(f"an unlock code is {CODE_LENGTH} letters and digits",
                             code="bad_code")
    return text


def check_key_serial(value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _KEY_SERIAL.match(value):
        raise InvalidRequest("key_serial is the USB key's serial: 1 to 64 letters, digits, "
                             "'.', '_', ':' or '-'", code="bad_key_serial")
    return value
