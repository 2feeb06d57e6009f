"""Answering OCSP requests from the OCSP read model: the one decision logic.

Both HTTP front ends (the Flask blueprint and the standalone server) hand the
request DER to :meth:`OcspAnswers.answer`. The read model's rows are held in
memory, keyed by the CertID DER a client sends (SHA-1 or SHA-256 hash, NULL
parameters), and :meth:`OcspAnswers.refresh` loads the rows written since the
last call (``seq`` > the highest seen), so a poll costs one indexed query.

The decisions:

- not a DER OCSPRequest, an unsupported hash, more than 16 CertIDs, a nonce that
  is not 1 to 32 octets → ``malformedRequest``;
- a CertID naming an issuer this service does not answer for, or CertIDs of
  several issuers (one response has one signer) → ``unauthorized``;
- one CertID, no nonce, and a pre-signed response with time left → that response
  as stored, with HTTP caching information;
- otherwise the response is signed now by the issuer's delegated responder:
  ``good``/``revoked`` from the row, ``unknown`` for a serial the CA never issued,
  the nonce echoed. A single-CertID answer without nonce is kept in memory until
  the row changes (so floods of "unknown" cost one signature);
- no responder yet → ``tryLater``; anything unexpected → ``internalError``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ca.applications.responders import ResponderCredentials, ResponderSource
from ca.encoding.ocsp_requests import OCSPRequestError, parse_request
from ca.encoding.ocsp_responses import (
    UNKNOWN,
    CertStatus,
    ResponseStatus,
    encode_cert_id,
    encode_single_response,
    error_response,
    issuer_hashes,
)
from ca.processes.ocsp_signing import HASH_NAMES, OcspSettings
from projections.db import ReadModelDatabase
from projections.ocsp_status import row_status

__all__ = ["OcspAnswers", "Answer", "CacheInfo", "SigningPlan"]

log = logging.getLogger("certledger.ocsp")

_PAGE = 5000
_RETRY_SECONDS = 1.0  # after a failed refresh
_ON_DEMAND_MAX = 20_000
_UNKNOWN_VALIDITY = timedelta(minutes=5)  # an "unknown" may become "good" soon after


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """For HTTP caching (RFC 5019 §6): the response's thisUpdate and nextUpdate (Unix
    seconds) and an ETag (a hash of the response)."""

    this_update: int
    next_update: int
    etag: str


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes
    cache: CacheInfo | None = None  # None: signed for this request only (or an error)
    status: ResponseStatus = ResponseStatus.SUCCESSFUL


@dataclass(frozen=True, slots=True)
class SigningPlan:
    """An on-demand response to sign: ``credentials.sign(singles, produced_at, nonce)``
    (here, or in a signing process that holds the same responder)."""

    credentials: ResponderCredentials
    singles: list[bytes]
    produced_at: datetime
    nonce: bytes | None
    cache_key: bytes | None  # the CertID to keep the answer under (one CertID, no nonce)
    entry: Any               # the row it was signed for (unchanged: keep the answer)
    next_update: int


@dataclass(slots=True)
class _Entry:
    status: CertStatus
    answer: Answer | None  # the pre-signed response, None while the row is unsigned


def _cache_info(body: bytes, this_update: int, next_update: int) -> CacheInfo:
    return CacheInfo(this_update, next_update, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def _error(status: ResponseStatus) -> Answer:
    return Answer(error_response(status), None, status)


class OcspAnswers:
    """The OCSP read model in memory, and the answers it gives. Thread-safe."""

    def __init__(self, db: ReadModelDatabase, responders: ResponderSource, *,
                 settings: OcspSettings | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._db = db
        self._responders = responders
        self._settings = settings or OcspSettings()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._min_left = min(60.0, self._settings.validity.total_seconds() / 4)
        self._entries: dict[bytes, _Entry] = {}  # canonical CertID DER -> entry
        self._on_demand: dict[bytes, Answer] = {}
        self._served: dict[tuple[str, bytes, bytes], str] = {}  # (hash, name, key) -> CA
        self._hashes: dict[str, Mapping[str, tuple[bytes, bytes]]] = {}
        self._position: tuple[int, str, str] = (0, "", "")
        self._refresh_lock = threading.Lock()
        self._refreshed_at = float("-inf")

    @property
    def seq(self) -> int:
        """The highest change counter loaded."""
        return self._position[0]

    # ---- loading -------------------------------------------------------------------------

    def refresh_if_older(self, seconds: float) -> None:
        """Refresh unless that was done less than ``seconds`` ago (for request handlers)."""
        if time.monotonic() - self._refreshed_at >= seconds:
            try:
                self.refresh()
            except Exception as exc:  # the database is away: answer from memory meanwhile
                log.warning("OCSP: cannot load changed statuses (%s); answering from memory",
                            exc)
                self._refreshed_at = time.monotonic() + _RETRY_SECONDS

    def refresh(self) -> int:
        """Load the rows written since the last call; returns how many. Never blocks on
        another thread's refresh (that one loads the same rows)."""
        if not self._refresh_lock.acquire(blocking=False):
            return 0
        try:
            loaded = 0
            while True:
                seq, issuer, serial = self._position
                rows = self._db.query(
                    "SELECT seq, issuer, serial_hex, status, revocation_time, reason,"
                    " this_update, next_update, response_sha1, response_sha256"
                    " FROM rm_ocsp_status WHERE seq > ? OR (seq = ? AND (issuer > ?"
                    " OR (issuer = ? AND serial_hex > ?)))"
                    f" ORDER BY seq, issuer, serial_hex LIMIT {_PAGE}",
                    (seq, seq, issuer, issuer, serial))
                for row in rows:
                    self._load(row)
                loaded += len(rows)
                if rows:
                    self._position = (int(rows[-1][0]), rows[-1][1], rows[-1][2])
                if len(rows) < _PAGE:
                    self._refreshed_at = time.monotonic()
                    return loaded
        finally:
            self._refresh_lock.release()

    def _load(self, row: tuple[Any, ...]) -> None:
        _, issuer, serial, status, revocation_time, reason, this_update, next_update = row[:8]
        hashes = self._hashes.get(issuer) or self._load_issuer(issuer)
        if hashes is None:
            return
        cert_status = row_status(status, revocation_time, reason)
        for name, response in zip(HASH_NAMES, row[8:10], strict=True):
            key = encode_cert_id(name, *hashes[name], int(serial, 16))
            answer = None
            if response is not None and next_update:
                body = bytes(response)
                answer = Answer(body, _cache_info(body, int(this_update), int(next_update)))
            self._entries[key] = _Entry(cert_status, answer)
            self._on_demand.pop(key, None)

    def _load_issuer(self, issuer: str) -> Mapping[str, tuple[bytes, bytes]] | None:
        rows = self._db.query("SELECT certificate_der FROM rm_ocsp_issuers WHERE name = ?",
                              (issuer,))
        if not rows:
            log.warning("OCSP: statuses for %s, whose certificate is not loaded", issuer)
            return None
        hashes = issuer_hashes(bytes(rows[0][0]))
        self._hashes[issuer] = hashes
        for name, (name_hash, key_hash) in hashes.items():
            self._served[(name, name_hash, key_hash)] = issuer
        return hashes

    # ---- answering -----------------------------------------------------------------------

    def answer(self, request_der: bytes) -> Answer:
        """The OCSPResponse for one request (never raises), signed here if need be."""
        ready = self.quick(request_der)
        if ready is not None:
            return ready
        plan = self.plan(request_der)
        if plan is None or isinstance(plan, Answer):
            return plan or _error(ResponseStatus.TRY_LATER)
        try:
            return self.complete(plan, plan.credentials.sign(plan.singles, plan.produced_at,
                                                             plan.nonce))
        except Exception:
            log.exception("OCSP: cannot sign a response")
            return _error(ResponseStatus.INTERNAL_ERROR)

    def quick(self, request_der: bytes) -> Answer | None:
        """The answer if it needs no signature and no database (a pre-signed response
        from memory, or malformedRequest), else None: :meth:`plan` and sign, off the
        event loop. Never raises."""
        try:
            parsed = parse_request(request_der)
        except OCSPRequestError as exc:
            return _error(exc.status)
        if parsed.nonce is None and len(parsed.cert_ids) == 1:
            key = parsed.cert_ids[0].der
            entry = self._entries.get(key)
            horizon = self._clock().timestamp() + self._min_left
            for ready in (entry.answer if entry is not None else None,
                          self._on_demand.get(key)):
                if ready is not None and ready.cache is not None \
                        and ready.cache.next_update > horizon:
                    return ready
        return None

    def plan(self, request_der: bytes, *, held_only: bool = False
             ) -> Answer | SigningPlan | None:
        """What to sign for a request :meth:`quick` could not answer, or the answer
        without a signature (unauthorized; tryLater when no responder can be had: none
        yet, or the database is away and none is cached). ``held_only``: None rather than
        read the responder from the log (so it can run on an event loop). Never raises."""
        try:
            parsed = parse_request(request_der)
        except OCSPRequestError as exc:
            return _error(exc.status)
        cert_ids = parsed.cert_ids
        issuers = {self._served.get((c.hash_name, c.issuer_name_hash, c.issuer_key_hash))
                   for c in cert_ids}
        if len(issuers) != 1 or None in issuers:
            return _error(ResponseStatus.UNAUTHORIZED)
        (issuer,) = issuers
        credentials = self._credentials(issuer, held_only)  # type: ignore[arg-type]
        if credentials is None and held_only:
            return None
        if credentials is None:
            return _error(ResponseStatus.TRY_LATER)
        now = self._clock().replace(microsecond=0)
        singles, keys, entries = [], [], []
        next_update = now
        for cert_id in cert_ids:
            key = encode_cert_id(cert_id.hash_name, cert_id.issuer_name_hash,
                                 cert_id.issuer_key_hash, cert_id.serial_number)
            entry = self._entries.get(key)
            status = entry.status if entry is not None else UNKNOWN
            validity = min(self._settings.validity, _UNKNOWN_VALIDITY) if entry is None \
                else self._settings.validity
            next_update = min(now + validity, credentials.not_after)
            singles.append(encode_single_response(cert_id.der, status, now, next_update))
            keys.append(key)
            entries.append(entry)
        cacheable = parsed.nonce is None and len(cert_ids) == 1 and keys[0] == cert_ids[0].der
        return SigningPlan(credentials, singles, now, parsed.nonce,
                           keys[0] if cacheable else None, entries[0],
                           int(next_update.timestamp()))

    def _credentials(self, issuer: str, held_only: bool) -> ResponderCredentials | None:
        if held_only:  # what the responders hold, without a read (None: not held)
            held = getattr(self._responders, "held", None)
            return held(issuer) if held is not None else None  # type: ignore[no-any-return]
        try:
            return self._responders.get(issuer)
        except Exception:
            log.exception("OCSP: the responder of %s cannot be loaded", issuer)
            return None

    def complete(self, plan: SigningPlan, body: bytes) -> Answer:
        """The answer for a signed ``plan``; kept in memory when it can serve others."""
        if plan.cache_key is None:
            return Answer(body)
        answer = Answer(body, _cache_info(body, int(plan.produced_at.timestamp()),
                                          plan.next_update))
        if self._entries.get(plan.cache_key) is plan.entry:  # the row did not change
            if len(self._on_demand) >= _ON_DEMAND_MAX:
                self._on_demand.clear()
            self._on_demand[plan.cache_key] = answer
        return answer
