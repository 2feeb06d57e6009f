"""The delegated OCSP responder: a CA certifies a key of its own algorithm to sign OCSP.

The responder certificate (RFC 6960 §4.2.2.2) is issued by the CA whose
certificates it answers for: keyUsage digitalSignature, extendedKeyUsage
id-kp-OCSPSigning, id-pkix-ocsp-nocheck (so clients do not ask about the
responder itself), and a short life (:data:`RESPONDER_VALIDITY_DAYS`). It is
rotated, with a fresh key, once less than a third of that life is left; the
old certificate stays valid until its notAfter, so responses it signed keep
verifying. Certifying and rotating are events on the ``OcspResponder``
aggregate; the key stays in the key store. A root CA has no responder: it certifies
CAs only, which relying parties check by CRL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from ca.applications.certificates import CAService
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.certificate_encoding import (
    CertificateRequestParts,
    build_tbs,
    key_identifier,
    sign_tbs,
)
from ca.encoding.ocsp_encoding import build_basic_response
from ca.encoding.signers import Signer
from ca.policy.issuance import Issuer, new_serial_number
from ca.policy.subject_names import subject_name
from domain.actors import SYSTEM, Actor
from domain.claims import SerialClaim
from domain.errors import Conflict, NotFound
from domain.responder import ROTATE_WHEN_LEFT, OcspResponder

__all__ = ["RESPONDER_VALIDITY_DAYS", "ResponderCredentials", "Responders",
           "responder_certificate", "ensure_responder", "current_responder"]

RESPONDER_VALIDITY_DAYS = 30
_ATTEMPTS = 4
log = logging.getLogger("certledger.responder")


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
        return self.not_after - now < (self.not_after - self.not_before) * ROTATE_WHEN_LEFT

    def sign(self, single_responses: Sequence[bytes], produced_at: datetime,
             nonce: bytes | None = None) -> bytes:
        """A successful OCSPResponse over ``single_responses``, with this certificate."""
        return build_basic_response(self.signer, self.certificate_der, self.key_hash,
                                    produced_at, single_responses, nonce)


class Responders:
    """Responder credentials per CA, cached for ``refresh``.

    With ``rotate`` (the signing jobs) a missing responder is certified and a due one
    rotated; without it (the HTTP front ends) the recorded one is only read, and
    None means the CA has no responder yet.
    """

    def __init__(self, service: CAService, *, rotate: bool,
                 refresh: timedelta = timedelta(seconds=60)) -> None:
        self._service = service
        self._rotate = rotate
        self._refresh = refresh
        self._cache: dict[str, tuple[ResponderCredentials, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, issuer: str) -> ResponderCredentials | None:
        """None also for a root CA: it is served by CRL only (even one a release before
        this policy certified a responder for)."""
        now = self._service.clock()
        try:
            if self._service.authority_as_established(issuer).is_root:
                return None
        except NotFound:
            pass  # no such CA: answered below as before (None, or NotFound when rotating)
        with self._lock:
            cached = self._cache.get(issuer)
            if cached is not None and cached[1] > now \
                    and not (self._rotate and cached[0].rotation_due(now)):
                return cached[0]
            if self._rotate:
                credentials: ResponderCredentials | None = ensure_responder(self._service, issuer)
            else:
                credentials = current_responder(self._service, issuer)
            if credentials is not None:
                self._cache[issuer] = (credentials, now + self._refresh)
            return credentials

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def responder_certificate(issuer: Issuer, signer: Signer, *, serial_number: int,
                          not_before: datetime, validity_days: int = RESPONDER_VALIDITY_DAYS,
                          lint: bool = True) -> tuple[bytes, datetime]:
    """The responder certificate for ``signer``'s key, signed by ``issuer``; (DER, notAfter)."""
    not_before = not_before.replace(microsecond=0)
    not_after = min(not_before + timedelta(days=validity_days) - timedelta(seconds=1),
                    issuer.not_after)
    spki = signer.public_key_info()
    extensions = [
        _ext("basic_constraints", {"ca": False}, critical=True),
        _ext("key_usage", {"digital_signature"}, critical=True),
        _ext("extended_key_usage", ["ocsp_signing"]),
        _ext("ocsp_no_check", None),
        _ext("key_identifier", key_identifier(spki)),
        _ext("authority_key_identifier", {"key_identifier": issuer.key_identifier}),
    ]
    parts = CertificateRequestParts(
        serial_number=serial_number, issuer=issuer.subject, subject=_subject_for(issuer),
        public_key_info=spki, not_before=not_before, not_after=not_after,
        extensions=extensions)
    tbs = build_tbs(parts, issuer.signer.signature_algorithm())
    return sign_tbs(tbs, issuer.signer, lint=lint), not_after


def current_responder(service: CAService, issuer_name: str) -> ResponderCredentials | None:
    """The responder of ``issuer_name`` as recorded (None if it has none). Changes nothing."""
    responder = _load(service, issuer_name)
    return _credentials(service, responder) if responder is not None else None


def ensure_responder(service: CAService, issuer_name: str, *, actor: Actor = SYSTEM,
                     force: bool = False) -> ResponderCredentials:
    """The responder of ``issuer_name``: certified if it has none, rotated if due (or if
    ``force``). Losing a race to another process means using the winner's responder.
    IllegalTransition for a root CA, which never gets a delegated responder."""
    service.authority_as_established(issuer_name).check_may_delegate_ocsp()
    for _ in range(_ATTEMPTS):
        responder = _load(service, issuer_name)
        now = service.clock()
        if responder is not None and not force and not responder.rotation_due(now):
            return _credentials(service, responder)
        issuer = service.issuer(issuer_name)
        if responder is not None and not force and issuer.not_after <= responder.not_after:
            return _credentials(service, responder)  # the CA ends first: nothing to gain
        authority = service.get_authority(issuer_name)
        key_ref, signer = service.keystore.generate(KeyAlgorithm(authority.key_algorithm),
                                                    f"{issuer_name}-ocsp")
        try:
            serial = new_serial_number()
            der, not_after = responder_certificate(issuer, signer, serial_number=serial,
                                                   not_before=now, lint=service.settings.lint)
            fields: dict[str, Any] = {"key_ref": key_ref, "serial_number": serial,
                                      "not_before": now.replace(microsecond=0),
                                      "not_after": not_after, "certificate_der": der}
            if responder is None:
                responder = OcspResponder.certify(actor=actor, issuer=issuer_name,
                                                  key_algorithm=authority.key_algorithm,
                                                  **fields)
            else:
                responder.rotate(actor=actor, **fields)
            claim = SerialClaim.claim(actor=actor, issuer=issuer_name, serial_number=serial,
                                      certificate_id=responder.id)
        except BaseException as exc:
            _discard_key(service, key_ref, f"{type(exc).__name__} before it was certified")
            raise
        try:
            service.save(responder, claim)
        except IntegrityError:  # nothing was committed
            _discard_key(service, key_ref, "another process certified or rotated first")
            force = False  # take theirs
            continue
        except BaseException as exc:
            # a database error may come after the commit: remove the key only when the
            # log surely does not name it
            if not _maybe_recorded(service, issuer_name, key_ref):
                _discard_key(service, key_ref, f"the save failed ({type(exc).__name__})")
            raise
        return _credentials(service, responder)
    raise Conflict(f"the OCSP responder of {issuer_name!r} is changing too fast",
                   code="busy")


def _discard_key(service: CAService, key_ref: str, why: str) -> None:
    """A responder key no event will name: remove it, or it lies in the store forever."""
    try:
        removed = service.keystore.discard(key_ref)
    except OSError as exc:
        log.error("OCSP responder key %s was not recorded (%s) and could not be removed: "
                  "%s; `certledger keys check` lists it", key_ref, why, exc.strerror)
        return
    if removed:
        log.warning("OCSP responder key %s removed: %s", key_ref, why)


def _maybe_recorded(service: CAService, issuer_name: str, key_ref: str) -> bool:
    try:
        responder = _load(service, issuer_name)
    except Exception:  # cannot tell: keep the key (`certledger keys check` will tell)
        return True
    return responder is not None and responder.key_ref == key_ref


def _load(service: CAService, issuer_name: str) -> OcspResponder | None:
    try:
        responder: object = service.repository.get(OcspResponder.create_id(issuer_name))
    except AggregateNotFoundError:
        return None
    return responder if isinstance(responder, OcspResponder) else None


def _credentials(service: CAService, responder: OcspResponder) -> ResponderCredentials:
    signer = service.keystore.load(responder.key_ref)
    return ResponderCredentials(
        issuer=responder.issuer, signer=signer, certificate_der=responder.certificate_der,
        key_hash=key_identifier(signer.public_key_info()),
        serial_number=responder.serial_number, not_before=responder.not_before,
        not_after=responder.not_after)


def _subject_for(issuer: Issuer) -> Any:
    """The issuer's country and organisation, with CN "<issuer CN> OCSP Responder"."""
    native = issuer.subject.native
    issuer_cn = str(native.get("common_name") or issuer.name)
    subject = {"common_name": f"{issuer_cn[:64 - len(' OCSP Responder')]} OCSP Responder"}
    for key, attribute in (("country", "country_name"), ("organization", "organization_name")):
        if native.get(attribute):
            subject[key] = native[attribute]
    return subject_name(subject)


def _ext(name: str, value: Any, *, critical: bool = False) -> dict[str, Any]:
    return {"extn_id": name, "critical": critical, "extn_value": value}
