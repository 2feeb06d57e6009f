"""Signed tree heads: what the audit signer signs.

The audit signer signs (TLS presentation language, integers big-endian)::

    struct {
        opaque label[24] = "CertLedger tree head v1" followed by one 0x00;
        uint64 number;          /* 1, 2, 3 ... */
        uint64 tree_size;       /* leaves covered: the first tree_size events of the log */
        uint64 last_position;   /* the log position of the last of them */
        uint64 timestamp;       /* microseconds since 1970-01-01T00:00:00Z: the event's time */
        opaque root_hash[32];   /* RFC 9162 tree hash of those leaves */
    } TreeHeadData;

with its key's algorithm (ECDSA with SHA-256/384, RSA PKCS #1 v1.5 with SHA-256,
Ed25519, or SM2 with SM3 and the default signer ID "1234567812345678"), named in the
head by its DER AlgorithmIdentifier. Its certificate is issued by an issuing CA of the
log (never a root), with keyUsage digitalSignature and the extended key usage
:data:`AUDIT_SIGNING_OID` alone (ca/audit/head_checks.py checks both).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["AUDIT_SIGNING_OID", "LABEL", "SignedHead", "signed_data"]

# id-kp-timeStamping (RFC 5280 §4.2.1.12), critical and alone, as RFC 3161 §2.3 asks of
# a key reserved for signing statements of time: a tree head states what the log held
# at a time. The CA gives it to no other profile, so no subscriber key signs a head. (A
# private OID from a UUID, arc 2.25, was tried: pkilint, like Windows, refuses arcs over
# 32 bits.)
AUDIT_SIGNING_OID = "1.3.6.1.5.5.7.3.8"
LABEL = b"CertLedger tree head v1\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBERS = struct.Struct(">QQQQ")


def signed_data(number: int, tree_size: int, last_position: int, timestamp: datetime,
                root_hash: bytes) -> bytes:
    """The TreeHeadData octets a head's signature is over."""
    micros = (timestamp - _EPOCH) // timedelta(microseconds=1)
    return LABEL + _NUMBERS.pack(number, tree_size, last_position, micros) + root_hash


@dataclass(frozen=True)
class SignedHead:
    """A TreeHead.Signed event as a checker sees it; ``position`` is where the head
    event itself is in the log (0 when it is not known)."""

    number: int
    tree_size: int
    last_position: int
    root_hash: bytes
    timestamp: datetime
    signature: bytes
    signature_algorithm: bytes
    signer_certificate: bytes
    leaf_hashes: bytes = b""
    frontier: bytes = b""
    position: int = 0

    @classmethod
    def from_event(cls, event: Any, position: int = 0) -> SignedHead:
        return cls(event.number, event.tree_size, event.last_position, event.root_hash,
                   event.timestamp, event.signature, event.signature_algorithm,
                   event.signer_certificate, event.leaf_hashes, event.frontier, position)

    def data(self) -> bytes:
        return signed_data(self.number, self.tree_size, self.last_position, self.timestamp,
                           self.root_hash)

    def summary(self) -> str:
        return (f"tree head #{self.number} ({self.tree_size} events up to position "
                f"{self.last_position}, root {self.root_hash.hex()[:16]}…)")
