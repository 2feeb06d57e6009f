"""Delegated OCSP responders: certify one per CA, rotate it, hand out its signer.

A CA certifies a key of its own algorithm to sign its OCSP responses
(ca/policy/responder_certificates.py). It is rotated, with a fresh key, once less than
a third of its life is left (``OcspResponder.rotation_due``); the old certificate stays
valid until its notAfter, so responses it signed keep verifying. Certifying and
rotating are events on the ``OcspResponder`` aggregate; the key stays in the key store.
A root CA never gets one (it is served by CRL only).

:meth:`Responders.get` only reads (the front ends' ``ResponderSource``);
:meth:`Responders.certify_or_rotate` is the command (the rotation process, the CLI).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from ca.applications.conflicts import retry_on_conflict
from ca.applications.event_log import EventLog
from ca.applications.hierarchy import Hierarchy
from ca.applications.ports import Clock
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.certificate_encoding import key_identifier
from ca.encoding.ocsp_responses import build_basic_response
from ca.encoding.signers import Signer
from ca.keys.keystore import KeyStore
from ca.policy.issuance import new_serial_number
from ca.policy.responder_certificates import responder_certificate
from domain.actors import SYSTEM, Actor
from domain.claims import SerialClaim
from domain.errors import NotFound
from domain.responder import OcspResponder, rotation_due

__all__ = ["ResponderCredentials", "Responders", "ResponderSource"]

log = logging.getLogger("certledger.ocsp")


@dataclass(frozen=True)
class ResponderCredentials:
    """What signing an OCSP response for ``issuer`` needs (the key stays behind ``signer``)."""

    issuer: str
    signer: Signer
    certificate_der: bytes
    key_hash: bytes  # ResponderID byKey
    serial_number: int
    not_before: datetime
    not_after: datetime

    def rotation_due(self, now: datetime) -> bool:
        return rotation_due(self.not_before, self.not_after, now)

    def sign(self, single_responses: Sequence[bytes], produced_at: datetime,
             nonce: bytes | None = None) -> bytes:
        """A successful OCSPResponse over ``single_responses``, with this certificate."""
        return build_basic_response(self.signer, self.certificate_der, self.key_hash,
                                    produced_at, single_responses, nonce)


class ResponderSource(Protocol):
    """What signs OCSP responses for a CA: the front ends and the signing process get
    this, never the key store."""

    def get(self, issuer: str) -> ResponderCredentials | None: ...


class Responders:
    def __init__(self, log: EventLog, hierarchy: Hierarchy, keys: KeyStore, clock: Clock, *,
                 lint: bool = True, refresh: timedelta = timedelta(seconds=60)) -> None:
        self._log = log
        self._hierarchy = hierarchy
        self._keys = keys
        self._clock = clock
        self._lint = lint
        self._refresh = refresh
        self._cache: dict[str, tuple[ResponderCredentials, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, issuer: str) -> ResponderCredentials | None:
        """The CA's current responder as recorded, cached for ``refresh``; None if it has
        none (also for a root, even one an earlier release certified a responder for).
        Changes nothing."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(issuer)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            if self._is_root(issuer):
                return None
            responder = self._load(issuer)
        except Exception:
            if cached is not None and cached[0].not_after > now:  # the log is unreachable:
                log.warning("OCSP: responder of %s not reloaded; using the one held", issuer)
                return cached[0]                                  # keep signing with it
            raise
        credentials = self._credentials(responder) if responder is not None else None
        if credentials is not None:
            with self._lock:
                self._cache[issuer] = (credentials, now + self._refresh)
        return credentials

    def held(self, issuer: str) -> ResponderCredentials | None:
        """The credentials :meth:`get` holds for ``issuer`` while they are fresh, without
        reading anything (None: ask :meth:`get`)."""
        with self._lock:
            cached = self._cache.get(issuer)
        return cached[0] if cached is not None and cached[1] > self._clock() else None

    def forget(self) -> None:
        """Drop what is cached: the next :meth:`get` reads the log (after a rotation that
        another process made, say)."""
        with self._lock:
            self._cache.clear()

    def needs_work(self, issuer: str) -> bool:
        """Whether :meth:`certify_or_rotate` would record something now."""
        responder = self._load(issuer)
        return responder is None or (responder.rotation_due(self._clock())
                                     and self._hierarchy.issuer_info(issuer).not_after
                                     > responder.not_after)

    def certify_or_rotate(self, issuer: str, *, actor: Actor = SYSTEM,
                          force: bool = False) -> ResponderCredentials:
        """The responder of ``issuer``: certified if it has none, rotated if due (or if
        ``force``). Losing a race to another process means using the winner's responder.
        IllegalTransition for a root CA, which never gets a delegated responder."""
        self._hierarchy.authority(issuer).check_may_delegate_ocsp()
        forcing = [force]

        def attempt() -> ResponderCredentials:
            responder = self._load(issuer)
            now = self._clock()
            if responder is not None and not forcing[0] and (
                    not responder.rotation_due(now)
                    or self._hierarchy.issuer_info(issuer).not_after <= responder.not_after):
                return self._credentials(responder)  # not due, or the CA ends first
            forcing[0] = False  # a lost race means taking the winner's
            credentials = self._certify(issuer, responder, actor, now)
            with self._lock:
                self._cache[issuer] = (credentials, now + self._refresh)
            return credentials

        return retry_on_conflict(attempt, what=f"the OCSP responder of {issuer!r}", attempts=4)

    def _certify(self, issuer_name: str, responder: OcspResponder | None, actor: Actor,
                 now: datetime) -> ResponderCredentials:
        issuer = self._hierarchy.issuer(issuer_name)
        algorithm = KeyAlgorithm(self._hierarchy.authority(issuer_name).key_algorithm)
        key_ref, signer = self._keys.generate(algorithm, f"{issuer_name}-ocsp")
        try:
            serial = new_serial_number()
            der, not_after = responder_certificate(issuer, signer, serial_number=serial,
                                                   not_before=now, lint=self._lint)
            fields: dict[str, Any] = {"key_ref": key_ref, "serial_number": serial,
                                      "not_before": now.replace(microsecond=0),
                                      "not_after": not_after, "certificate_der": der}
            if responder is None:
                responder = OcspResponder.certify(actor=actor, issuer=issuer_name,
                                                  key_algorithm=algorithm.value, **fields)
            else:
                responder.rotate(actor=actor, **fields)
            claim = SerialClaim.claim(actor=actor, issuer=issuer_name, serial_number=serial,
                                      certificate_id=responder.id)
            self._log.save(responder, claim)
        except BaseException as exc:
            # a database error may come after the commit: remove the key only when the
            # log surely does not name it (an IntegrityError: nothing was committed)
            if not self._maybe_recorded(issuer_name, key_ref):
                self._discard_key(key_ref, f"{type(exc).__name__} before it was recorded")
            raise
        return self._credentials(responder)

    # ---- reading ---------------------------------------------------------------------------

    def _is_root(self, issuer: str) -> bool:
        try:
            return self._hierarchy.authority(issuer).is_root
        except NotFound:
            return False  # no such CA: it has no responder either

    def _load(self, issuer: str) -> OcspResponder | None:
        return self._log.load(OcspResponder.create_id(issuer), OcspResponder)

    def _credentials(self, responder: OcspResponder) -> ResponderCredentials:
        signer = self._keys.load(responder.key_ref)
        return ResponderCredentials(
            issuer=responder.issuer, signer=signer, certificate_der=responder.certificate_der,
            key_hash=key_identifier(signer.public_key_info()),
            serial_number=responder.serial_number, not_before=responder.not_before,
            not_after=responder.not_after)

    def _maybe_recorded(self, issuer: str, key_ref: str) -> bool:
        try:
            responder = self._load(issuer)
        except Exception:  # cannot tell: keep the key (`certledger keys check` will tell)
            return True
        return responder is not None and responder.key_ref == key_ref

    def _discard_key(self, key_ref: str, why: str) -> None:
        """A responder key no event will name: remove it, or it lies in the store forever."""
        try:
            removed = self._keys.discard(key_ref)
        except OSError as exc:
            log.error("OCSP responder key %s was not recorded (%s) and could not be removed: "
                      "%s; `certledger keys check` lists it", key_ref, why, exc.strerror)
            return
        if removed:
            log.warning("OCSP responder key %s removed: %s", key_ref, why)
