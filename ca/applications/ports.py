"""The narrow interfaces the applications and processes depend on (and the clock).

Each consumer names only what it uses; the composition root (api/bootstrap.py) hands
it the object that provides it. Read models live in ``projections/``, which ``ca/``
never imports: what a process needs from them is declared here and implemented there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from ca.encoding.ocsp_responses import CertStatus
from ca.policy.issuance import Issuer, IssuerInfo
from domain.actors import Actor
from domain.authority import CertificateAuthority

__all__ = ["Clock", "utc_now", "IssuerSource", "AuthorityNames", "StatusRow", "SignedResponses",
           "OcspRowStore", "PortalDirectory", "Hmac", "SmsGateway", "TreeSnapshot",
           "AuditTreeSource"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class IssuerSource(Protocol):
    """What issuing needs to know about CAs (implemented by ``Hierarchy``)."""

    def authority(self, name: str) -> CertificateAuthority:
        """The CA as established (policy, certificate); NotFound if there is none."""
        ...

    def issuer(self, name: str) -> Issuer:
        """The CA able to sign (its key opened from the key store)."""
        ...

    def issuer_info(self, name: str) -> IssuerInfo:
        """The CA's public data, no key opened."""
        ...


class AuthorityNames(Protocol):
    """Which CAs exist (implemented by the authorities read model)."""

    def names(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One certificate's status as the OCSP read model holds it, to be signed."""

    issuer: str
    serial_number: int
    status: CertStatus
    changed_position: int  # the event that set the status: a signature is for this one
    issuer_certificate_der: bytes


@dataclass(frozen=True, slots=True)
class SignedResponses:
    """The pre-signed responses of one row: for its SHA-1 and its SHA-256 CertID."""

    row: StatusRow
    sha1: bytes
    sha256: bytes
    this_update: int  # Unix seconds
    next_update: int


class OcspRowStore(Protocol):
    """The OCSP status rows a signing process signs, and where the signatures go
    (implemented by ``projections.stored_ocsp_responses.OcspResponseStore``)."""

    def pending(self, issuers: Sequence[str], limit: int) -> list[StatusRow]:
        """Rows of ``issuers`` whose status changed since they were last signed."""
        ...

    def due(self, issuers: Sequence[str], before: int, limit: int) -> list[StatusRow]:
        """Rows of ``issuers`` whose responses expire before ``before`` (Unix seconds)."""
        ...

    def issuers(self) -> list[str]:
        """The CAs that have status rows."""
        ...

    def save(self, signed: Sequence[SignedResponses]) -> None:
        """Store the responses of rows whose status is still the one they were signed for."""
        ...


class PortalDirectory(Protocol):
    """Which portals exist and which one a new record belongs to (implemented by
    ``ca.applications.portals.Portals``)."""

    def check_exist(self, codes: Iterable[str]) -> None:
        """NotFound for the first of ``codes`` that is no portal."""
        ...

    def resolve(self, actor: Actor, requested: object | None) -> str:
        """The portal of a record ``actor`` creates (``requested``: from the request)."""
        ...


class SmsGateway(Protocol):
    """Sends a text message (a confirmation code) to a mobile number. The message is
    never logged nor recorded; ``ca.applications.sms.SmsOutbox`` keeps the last ones in
    memory (development and tests)."""

    def send(self, phone: str, text: str) -> None: ...


class Hmac(Protocol):
    """HMAC-SHA256 under a server key (``ca.keys.hmac_keys.HmacKey``)."""

    key_ref: str

    def digest(self, data: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class TreeSnapshot:
    """The audit read model's Merkle tree: ``size`` leaves, the last at ``last_position``,
    its ``frontier``; ``content_size``: leaves up to the last event that is no tree head."""

    size: int
    last_position: int
    frontier: bytes
    content_size: int


class AuditTreeSource(Protocol):
    """What signing tree heads needs from the audit read model
    (implemented by ``projections.audit_tree.AuditTree``)."""

    def snapshot(self) -> TreeSnapshot: ...

    def latest_head_number(self) -> int:
        """The highest tree head number the read model has seen (0: none)."""
        ...

    def head_position(self, number: int) -> int | None:
        """Where head ``number``'s own event is in the log (None: not seen yet)."""
        ...

    def chunks(self, first: int, last: int) -> list[tuple[int, int, bytes]]:
        """(chunk, position of its last event, root) of the complete chunks of 1024
        leaves numbered ``first`` to ``last``."""
        ...
