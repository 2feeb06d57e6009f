"""The audit signer: the key that signs tree heads, and its certificate.

Certified by the CA the settings name (``CERTLEDGER_AUDIT_ISSUER``, by default the
default issuing CA) under the ``audit-signing`` profile (ca/policy/audit_signer_certificates.py),
for a key of that CA's algorithm, and replaced by a new key once less than a third of
its life is left or when another CA is to certify it. A root CA never certifies it.
Certification and rotation are events on the ``AuditSigner`` aggregate; the key stays
in the key store, sealed, like every other key.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ca.applications.conflicts import retry_on_conflict
from ca.applications.event_log import EventLog
from ca.applications.hierarchy import Hierarchy
from ca.applications.ports import Clock
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.signers import Signer
from ca.keys.keystore import KeyStore
from ca.policy.audit_signer_certificates import audit_signer_certificate
from ca.policy.issuance import new_serial_number
from domain.actors import SYSTEM, Actor
from domain.audit import AuditSigner
from domain.claims import SerialClaim
from domain.errors import IllegalTransition

__all__ = ["AuditSigners", "SignerCredentials"]

log = logging.getLogger("certledger.audit")


@dataclass(frozen=True)
class SignerCredentials:
    signer: Signer
    certificate_der: bytes
    not_after: datetime


class AuditSigners:
    def __init__(self, log: EventLog, hierarchy: Hierarchy, keys: KeyStore, clock: Clock, *,
                 issuer: str, lint: bool = True) -> None:
        self._log = log
        self._hierarchy = hierarchy
        self._keys = keys
        self._clock = clock
        self.issuer = issuer
        self._lint = lint
        self._lock = threading.Lock()
        self._cached: tuple[int, SignerCredentials] | None = None  # (version, credentials)

    def current(self) -> AuditSigner | None:
        return self._log.load(AuditSigner.create_id(), AuditSigner)

    def credentials(self, *, actor: Actor = SYSTEM) -> SignerCredentials:
        """The signer to sign a tree head with now: certified when there is none, a new
        key when renewal is due. IllegalTransition when the audit issuer is a root CA."""
        authority = self._hierarchy.authority(self.issuer)
        if authority.is_root:
            raise IllegalTransition(f"{self.issuer} is a root CA: it certifies CAs only, "
                                    "never the audit signer", code="root_ca_no_audit_signer")

        def attempt() -> SignerCredentials:
            current = self.current()
            if current is not None and not current.renewal_due(self._clock(), self.issuer):
                return self._credentials(current)
            return self._certify(current, actor)

        return retry_on_conflict(attempt, what="the audit signer", attempts=4)

    def _credentials(self, current: AuditSigner) -> SignerCredentials:
        with self._lock:
            if self._cached is not None and self._cached[0] == current.version:
                return self._cached[1]
        credentials = SignerCredentials(self._keys.load(current.key_ref),
                                        current.certificate_der, current.not_after)
        with self._lock:
            self._cached = (current.version, credentials)
        return credentials

    def _certify(self, current: AuditSigner | None, actor: Actor) -> SignerCredentials:
        issuer = self._hierarchy.issuer(self.issuer)
        algorithm = KeyAlgorithm(self._hierarchy.authority(self.issuer).key_algorithm)
        now = self._clock()
        key_ref, signer = self._keys.generate(algorithm, "audit-signer")
        try:
            serial = new_serial_number()
            der, not_after = audit_signer_certificate(issuer, signer, serial_number=serial,
                                                      not_before=now, lint=self._lint)
            fields: dict[str, Any] = {
                "issuer": self.issuer, "key_algorithm": algorithm.value, "key_ref": key_ref,
                "serial_number": serial, "not_before": now.replace(microsecond=0),
                "not_after": not_after, "certificate_der": der}
            if current is None:
                current = AuditSigner.certify(actor=actor, **fields)
            else:
                current.rotate(actor=actor, **fields)
            claim = SerialClaim.claim(actor=actor, issuer=self.issuer, serial_number=serial,
                                      certificate_id=current.id)
            self._log.save(current, claim)
        except BaseException:
            if not self._maybe_recorded(key_ref):  # no event names it: no key is left
                self._keys.discard(key_ref)
            raise
        log.info("audit signer certified by %s: serial %x, valid until %s", self.issuer,
                 serial, not_after.isoformat())
        return self._credentials(current)

    def _maybe_recorded(self, key_ref: str) -> bool:
        try:
            current = self.current()
        except Exception:  # cannot tell: keep the key (`certledger keys check` tells)
            return True
        return current is not None and current.key_ref == key_ref
