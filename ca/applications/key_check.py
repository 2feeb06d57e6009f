"""Key files against the log: every key the store holds should be named by an event, and
every key an event names should be in the store (``certledger keys check``).

A key no event names was made for a certification whose save failed (ca/applications/responders.py
removes those; a crash in between can still leave one, and a certification in progress
shows as one for a moment). A key named but missing is a CA or responder that cannot sign.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Any

from ca.applications.event_log import EventLog
from ca.keys.keystore import KeyStore
from domain.audit import AuditSigner
from domain.authority import CertificateAuthority
from domain.responder import OcspResponder

__all__ = ["KeyCheck", "check_keys", "key_events"]


@dataclass(frozen=True)
class KeyCheck:
    referenced: dict[str, str] = field(default_factory=dict)  # key_ref -> whose key it is
    unreferenced: list[str] = field(default_factory=list)     # files no event names
    missing: list[str] = field(default_factory=list)          # named by an event, no file

    @property
    def ok(self) -> bool:
        return not self.unreferenced and not self.missing


def key_events() -> list[type[Any]]:
    """The event classes that carry a ``key_ref`` (CA, responder and audit signer keys)."""
    found = []
    for aggregate in (CertificateAuthority, OcspResponder, AuditSigner):
        for value in vars(aggregate).values():
            if isinstance(value, type) and hasattr(value, "TOPIC") \
                    and "key_ref" in typing.get_type_hints(value):
                found.append(value)
    return found


def check_keys(log: EventLog, keystore: KeyStore) -> KeyCheck:
    owners: dict[Any, str] = {}
    referenced: dict[str, str] = {}
    for _, event in log.read(topics=[cls.TOPIC for cls in key_events()]):
        if isinstance(event, CertificateAuthority.Established):
            owners[event.originator_id] = f"CA {event.name}"
        elif isinstance(event, OcspResponder.Certified):
            owners[event.originator_id] = f"OCSP responder of {event.issuer}"
        elif isinstance(event, AuditSigner.Certified):
            owners[event.originator_id] = "audit signer"
        referenced[event.key_ref] = owners.get(event.originator_id, str(event.originator_id))
    files = keystore.key_refs()
    present = set(files)
    return KeyCheck(referenced=referenced,
                    unreferenced=[ref for ref in files if ref not in referenced],
                    missing=sorted(ref for ref in referenced if ref not in present))
