"""Pre-signing OCSP responses: the process that follows the OCSP read model.

The read model (projections/ocsp_status.py) turns status changes into rows and nothing
else. This process signs what needs signing: rows whose status changed since they were
last signed (woken by the projection runner right after it commits them), and rows
whose responses have less than half their validity left (every ``every`` seconds). Each
row gets one OCSPResponse for its SHA-1 and one for its SHA-256 CertID (hashAlgorithm
parameters NULL), thisUpdate now, nextUpdate now + validity (never past the responder
certificate). A response is stored only if the row still has the status it was signed
for. What is to be signed is read from the rows, so nothing is lost by a crash; until a
row is signed, the front ends sign on demand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ca.applications.ports import Clock, OcspRowStore, SignedResponses, StatusRow
from ca.applications.responders import ResponderCredentials, ResponderSource
from ca.encoding.ocsp_responses import (
    CertStatus,
    encode_cert_id,
    encode_single_response,
    issuer_hashes,
)

__all__ = ["OcspSettings", "OcspSigning", "HASH_NAMES", "signed_pair"]

log = logging.getLogger("certledger.ocsp")

HASH_NAMES = ("sha1", "sha256")
_BATCH = 256
_MAX_BATCHES = 10_000  # bounded: a row that keeps failing to sign is left for the next run


@dataclass(frozen=True)
class OcspSettings:
    """``validity``: nextUpdate - thisUpdate of every response (default one hour); rows
    are signed again when less than half of it is left."""

    validity: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if not timedelta(seconds=60) <= self.validity <= timedelta(days=7):
            raise ValueError("the OCSP validity is 60 to 604800 seconds")

    @property
    def resign_margin(self) -> timedelta:
        return self.validity / 2


def signed_pair(credentials: ResponderCredentials, hashes: Mapping[str, tuple[bytes, bytes]],
                serial_number: int, status: CertStatus, this_update: datetime,
                next_update: datetime) -> tuple[bytes, bytes]:
    """The pre-signed responses for the SHA-1 and the SHA-256 CertID of one certificate."""
    sha1, sha256 = (
        credentials.sign([encode_single_response(
            encode_cert_id(name, *hashes[name], serial_number), status, this_update,
            next_update)], this_update)
        for name in HASH_NAMES)
    return sha1, sha256


class OcspSigning:
    name = "ocsp-signing"
    every = 60.0

    def __init__(self, rows: OcspRowStore, responders: ResponderSource, clock: Clock,
                 settings: OcspSettings | None = None) -> None:
        self.rows = rows
        self.responders = responders
        self.clock = clock
        self.settings = settings or OcspSettings()
        self._hashes: dict[bytes, Mapping[str, tuple[bytes, bytes]]] = {}

    def run(self) -> tuple[int, int]:
        """Sign the pending rows, then re-sign the due ones; (pending, due) signed."""
        return self.sign_pending(), self.resign_due()

    def sign_pending(self) -> int:
        return self._sign_all(lambda issuers: self.rows.pending(issuers, _BATCH))

    def resign_due(self) -> int:
        horizon = int((self.clock() + self.settings.resign_margin).timestamp())
        return self._sign_all(lambda issuers: self.rows.due(issuers, horizon, _BATCH))

    def _sign_all(self, select: Callable[[list[str]], list[StatusRow]]) -> int:
        """Sign batch after batch of what ``select`` finds, for the CAs that have a
        responder (the others' rows wait: a CA gets one soon after it is established;
        a root never does, it is served by CRL only)."""
        ready = {}
        for issuer in self.rows.issuers():
            try:
                responder = self.responders.get(issuer)
            except Exception:  # a key that does not open: the front ends sign on demand
                log.exception("OCSP: the responder of %s cannot sign; its rows wait", issuer)
                continue
            if responder is not None:
                ready[issuer] = responder
        done = 0
        for _ in range(_MAX_BATCHES):
            rows = select(list(ready)) if ready else []
            if not rows:
                break
            signed = [self._sign(ready[row.issuer], row) for row in rows]
            self.rows.save(signed)
            done += len(signed)
            if len(rows) < _BATCH:
                break
        return done

    def _sign(self, responder: ResponderCredentials, row: StatusRow) -> SignedResponses:
        now = self.clock().replace(microsecond=0)
        hashes = self._hashes.get(row.issuer_certificate_der)
        if hashes is None:
            hashes = self._hashes[row.issuer_certificate_der] = issuer_hashes(
                row.issuer_certificate_der)
        next_update = min(now + self.settings.validity, responder.not_after)
        sha1, sha256 = signed_pair(responder, hashes, row.serial_number, row.status, now,
                                   next_update)
        return SignedResponses(row, sha1, sha256, int(now.timestamp()),
                               int(next_update.timestamp()))
