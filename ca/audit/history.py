"""What the CA knew at an instant: certificates replayed from the log up to a time.

The certificates' own aggregates are rebuilt from their events whose time is at or
before the instant (the same domain rules the CA ran, so the status is the CA's), with
every step kept: when, at which position, by whom (actor and role), what. Events come
from the live log or from an export, decoded by the application's mapper. Selecting by
serial reads the log twice (the serial appears only when the certificate is issued),
keeping just that certificate; selecting by CA keeps each of the CA's certificates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.certificate import Certificate, Status
from domain.reasons import RevocationReason

__all__ = ["Step", "CertificateAt", "state_at", "Events"]

Events = Callable[[], Iterable[tuple[int, Any]]]  # (position, decoded event), in log order
_CERTIFICATE_EVENTS = (Certificate.Applied, Certificate.Approved, Certificate.Rejected,
                       Certificate.Issued, Certificate.Suspended, Certificate.Resumed,
                       Certificate.Revoked)


@dataclass(frozen=True)
class Step:
    time: datetime
    position: int
    actor: str
    role: str
    what: str


@dataclass
class CertificateAt:
    certificate: Certificate
    steps: list[Step] = field(default_factory=list)

    def status(self, at: datetime) -> str:
        """``valid``, ``expired``, ``on hold``, ``revoked``, or the application's state."""
        certificate = self.certificate
        if certificate.status is Status.ISSUED:
            expired = certificate.not_after is not None and at > certificate.not_after
            return "expired" if expired else "valid"
        if certificate.status is Status.SUSPENDED:
            return "on hold"
        return certificate.status.value

    def detail(self) -> str:
        certificate = self.certificate
        if certificate.status is Status.REVOKED and certificate.revocation_reason is not None:
            time = certificate.revocation_time.isoformat() if certificate.revocation_time \
                else "?"
            return f"{certificate.revocation_reason.rfc_name} since {time}"
        if certificate.not_after is not None:
            return f"notAfter {certificate.not_after.isoformat()}"
        return ""


def state_at(events: Events, at: datetime, *, serial: int | None = None,
             issuer: str | None = None) -> tuple[list[CertificateAt], int]:
    """The certificates (of ``serial`` and/or ``issuer``) as they were at ``at``, and the
    position of the last event at or before ``at``."""
    wanted: set[UUID] | None = None
    if serial is not None:
        wanted = {event.originator_id for _, event in events()
                  if isinstance(event, Certificate.Issued) and event.serial_number == serial}
    found: dict[UUID, CertificateAt] = {}
    last = 0
    for position, event in events():
        if event.timestamp > at:
            continue
        last = max(last, position)
        if not isinstance(event, _CERTIFICATE_EVENTS) or (
                wanted is not None and event.originator_id not in wanted):
            continue
        if isinstance(event, Certificate.Applied):
            if issuer is not None and event.issuer != issuer:
                continue
            found[event.originator_id] = CertificateAt(_mutate(event, None))
        elif event.originator_id in found:
            entry = found[event.originator_id]
            entry.certificate = _mutate(event, entry.certificate)
        else:
            continue
        found[event.originator_id].steps.append(Step(
            event.timestamp, position, getattr(event, "actor_id", "?"),
            getattr(event, "actor_role", "?"), describe(event)))
    return list(found.values()), last


def _mutate(event: Any, certificate: Certificate | None) -> Certificate:
    """The certificate after ``event``, by the aggregate's own rules."""
    mutated = event.mutate(certificate)
    assert isinstance(mutated, Certificate)
    return mutated


def describe(event: Any) -> str:
    """One step, in words."""
    name = type(event).__name__.lower()
    if isinstance(event, Certificate.Applied):
        return f"applied ({event.profile}, {event.issuer})"
    if isinstance(event, Certificate.Issued):
        return f"issued serial {event.serial_number:x}, notAfter {event.not_after.isoformat()}"
    if isinstance(event, Certificate.Revoked):
        return f"revoked ({RevocationReason(event.reason).rfc_name})"
    if isinstance(event, Certificate.Rejected):
        return f"rejected ({event.reason})"
    return name
