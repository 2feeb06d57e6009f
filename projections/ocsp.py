"""The OCSP read model: a status per (issuer, serial) and pre-signed OCSPResponses.

``process`` turns status changes into rows, and nothing else: Issued → good,
Suspended → revoked (certificateHold, at the suspension), Resumed → good,
Revoked → revoked (time, reason); a responder certificate (Certified, Rotated)
is good too. It is deterministic: a rebuild from zero gives the same statuses.

Signing is apart from ``process``: a status change empties the row's responses
(``next_update = 0``) and :meth:`OcspReadModel.sign_pending` (run after every
committed batch) signs them, one OCSPResponse for the SHA-1 and one for the
SHA-256 CertID (hashAlgorithm parameters NULL), thisUpdate = now, nextUpdate =
now + validity. :meth:`OcspReadModel.resign_due` (a periodic job) re-signs rows
whose nextUpdate is less than half the validity away. Until a row is signed the
front ends sign on demand, so the status they answer is always the row's.

What "identical after a rebuild" means here: the same rows with the same status,
revocation time, reason and changed_position; the signed responses carry the same
CertIDs and statuses, only thisUpdate/nextUpdate/producedAt, the signature (and the
responder, if it rotated meanwhile) differ.

Every write bumps ``rm_ocsp_counter`` and stamps the rows it touched with the new
value, so an OCSP server that remembers the highest ``seq`` it has loaded picks up
every later change with one indexed query (writers serialise on the counter row,
so ``seq`` order is commit order).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ca.applications.responders import ResponderCredentials
from ca.encoding.ocsp_encoding import (
    GOOD,
    CertStatus,
    Revoked,
    encode_cert_id,
    encode_single_response,
)
from ca.encoding.ocsp_encoding import issuer_hashes as compute_issuer_hashes
from domain.authority import CertificateAuthority
from domain.certificate import Certificate
from domain.reasons import RevocationReason
from domain.responder import OcspResponder
from projections.base import ReadModel
from projections.db import ReadModelDatabase, Transaction

__all__ = ["OcspSettings", "OcspReadModel", "ocsp_read_model", "ResponderSource", "row_status",
           "serial_hex", "signed_pair", "next_seq", "HASH_NAMES"]

log = logging.getLogger("certledger.ocsp")

HASH_NAMES = ("sha1", "sha256")
_BATCH = 256


class ResponderSource(Protocol):
    def get(self, issuer: str) -> ResponderCredentials | None: ...


@dataclass(frozen=True)
class OcspSettings:
    """``validity``: nextUpdate - thisUpdate of every response (CERTLEDGER_OCSP_VALIDITY,
    seconds, default one hour); rows are re-signed when less than half of it is left."""

    validity: timedelta = timedelta(hours=1)

    @property
    def resign_margin(self) -> timedelta:
        return self.validity / 2

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OcspSettings:
        env = os.environ if environ is None else environ
        seconds = int(env.get("CERTLEDGER_OCSP_VALIDITY", "3600"))
        if not 60 <= seconds <= 7 * 86400:
            raise ValueError("CERTLEDGER_OCSP_VALIDITY is 60 to 604800 seconds")
        return cls(validity=timedelta(seconds=seconds))


def serial_hex(serial_number: int) -> str:
    return format(serial_number, "x")


def row_status(status: str, revocation_time: str | None, reason: int | None) -> CertStatus:
    if status == "good":
        return GOOD
    assert revocation_time is not None
    return Revoked(datetime.fromisoformat(revocation_time),
                   RevocationReason(reason) if reason is not None else None)


def signed_pair(credentials: ResponderCredentials, hashes: Mapping[str, tuple[bytes, bytes]],
                serial_number: int, status: CertStatus, this_update: datetime,
                next_update: datetime) -> tuple[bytes, bytes]:
    """The pre-signed responses for the SHA-1 and the SHA-256 CertID of one certificate."""
    return tuple(  # type: ignore[return-value]
        credentials.sign([encode_single_response(
            encode_cert_id(name, *hashes[name], serial_number), status, this_update,
            next_update)], this_update)
        for name in HASH_NAMES)


def next_seq(tx: Transaction) -> int:
    """Bump the change counter; every row written in this transaction gets the value."""
    rows = tx.query("UPDATE rm_ocsp_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq")
    if rows:
        return int(rows[0][0])
    tx.execute("INSERT INTO rm_ocsp_counter (id, seq) VALUES (1, 1)")
    return 1


_TOPICS = (CertificateAuthority.Established, Certificate.Applied, Certificate.Issued,
           Certificate.Suspended, Certificate.Resumed, Certificate.Revoked,
           OcspResponder.Certified, OcspResponder.Rotated)

_UPSERT_STATUS = (
    "INSERT INTO rm_ocsp_status (issuer, serial_hex, status, revocation_time, reason,"
    " changed_position, seq, this_update, next_update, response_sha1, response_sha256)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, NULL, NULL)"
    " ON CONFLICT (issuer, serial_hex) DO UPDATE SET status = excluded.status,"
    " revocation_time = excluded.revocation_time, reason = excluded.reason,"
    " changed_position = excluded.changed_position, seq = excluded.seq, this_update = 0,"
    " next_update = 0, response_sha1 = NULL, response_sha256 = NULL")


def ocsp_read_model(service: Any, database: ReadModelDatabase) -> OcspReadModel:
    """The registry's factory: signing with the service's responders (certified, rotated
    on use), settings from the environment."""
    from ca.applications.responders import Responders

    return OcspReadModel(database, Responders(service, rotate=True),
                         settings=OcspSettings.from_env(), clock=service.clock)


class OcspReadModel(ReadModel):
    name = "ocsp"
    tables = ("rm_ocsp_status", "rm_ocsp_certificates", "rm_ocsp_issuers")
    topics = frozenset(event.TOPIC for event in _TOPICS)  # type: ignore[attr-defined]

    def __init__(self, db: ReadModelDatabase, responders: ResponderSource | None, *,
                 settings: OcspSettings | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        """``responders`` signs (None: statuses only, the front ends sign on demand)."""
        self.db = db
        self.responders = responders
        self.settings = settings or OcspSettings()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._tx: Transaction | None = None
        self._tx_seq = 0

    # ---- statuses (inside the runner's transaction) -------------------------------------

    def process(self, tx: Transaction, event: Any, position: int) -> None:
        if isinstance(event, CertificateAuthority.Established):
            tx.execute("INSERT INTO rm_ocsp_issuers (name, certificate_der) VALUES (?, ?)"
                       " ON CONFLICT (name) DO UPDATE SET"
                       " certificate_der = excluded.certificate_der",
                       (event.name, event.certificate_der))
        elif isinstance(event, Certificate.Applied):
            self._remember(tx, event.originator_id, event.issuer, None)
        elif isinstance(event, OcspResponder.Certified):
            self._remember(tx, event.originator_id, event.issuer, event.serial_number)
            self._set(tx, event.issuer, event.serial_number, GOOD, position)
        elif isinstance(event, Certificate.Issued | OcspResponder.Rotated):
            rows = tx.query("SELECT issuer FROM rm_ocsp_certificates WHERE certificate_id = ?",
                            (str(event.originator_id),))
            if not rows:
                log.warning("OCSP: %s issued without a known issuer", event.originator_id)
                return
            tx.execute("UPDATE rm_ocsp_certificates SET serial_hex = ? WHERE certificate_id = ?",
                       (serial_hex(event.serial_number), str(event.originator_id)))
            self._set(tx, rows[0][0], event.serial_number, GOOD, position)
        elif isinstance(event, Certificate.Suspended | Certificate.Resumed | Certificate.Revoked):
            rows = tx.query("SELECT issuer, serial_hex FROM rm_ocsp_certificates"
                            " WHERE certificate_id = ? AND serial_hex IS NOT NULL",
                            (str(event.originator_id),))
            if not rows:
                log.warning("OCSP: status change of unissued %s", event.originator_id)
                return
            status: CertStatus = GOOD
            if isinstance(event, Certificate.Suspended):
                status = Revoked(event.timestamp, RevocationReason.CERTIFICATE_HOLD)
            elif isinstance(event, Certificate.Revoked):
                status = Revoked(event.revocation_time, RevocationReason(event.reason))
            self._set(tx, rows[0][0], int(rows[0][1], 16), status, position)

    def _remember(self, tx: Transaction, aggregate_id: Any, issuer: str,
                  serial_number: int | None) -> None:
        tx.execute("INSERT INTO rm_ocsp_certificates (certificate_id, issuer, serial_hex)"
                   " VALUES (?, ?, ?) ON CONFLICT (certificate_id) DO NOTHING",
                   (str(aggregate_id), issuer,
                    None if serial_number is None else serial_hex(serial_number)))

    def _set(self, tx: Transaction, issuer: str, serial_number: int, status: CertStatus,
             position: int) -> None:
        if tx is not self._tx:  # one counter bump per transaction
            self._tx, self._tx_seq = tx, next_seq(tx)
        revocation_time = reason = None
        if isinstance(status, Revoked):
            revocation_time = status.revocation_time.astimezone(UTC).isoformat()
            reason = int(status.reason) if status.reason is not None else None
        tx.execute(_UPSERT_STATUS, (issuer, serial_hex(serial_number),
                                    "revoked" if isinstance(status, Revoked) else "good",
                                    revocation_time, reason, position, self._tx_seq))

    # ---- signing (own transactions) ------------------------------------------------------

    def after_commit(self) -> None:
        self._tx = None
        self.sign_pending()

    def after_rollback(self) -> None:
        self._tx = None

    def maintain(self) -> tuple[int, int]:
        """The periodic job: rotate due responders, sign pending rows, re-sign due ones."""
        if self.responders is not None:
            for (issuer,) in self.db.query("SELECT DISTINCT issuer FROM rm_ocsp_status"):
                self.responders.get(issuer)
        return self.sign_pending(), self.resign_due()

    def sign_pending(self) -> int:
        """Sign rows whose status changed since they were last signed."""
        return self._sign_where("s.next_update = 0", ())

    def resign_due(self) -> int:
        """Re-sign rows whose nextUpdate is less than the re-sign margin away."""
        horizon = self.clock() + self.settings.resign_margin
        return self._sign_where("s.next_update < ?", (int(horizon.timestamp()),))

    def _sign_where(self, condition: str, params: tuple[Any, ...]) -> int:
        if self.responders is None:
            return 0
        done = 0
        count = self.db.query(
            f"SELECT count(*) FROM rm_ocsp_status s WHERE {condition}", params)[0][0]
        for _ in range(int(count) // _BATCH + 2):  # bounded: a row may stay due
            rows = self.db.query(
                "SELECT s.issuer, s.serial_hex, s.status, s.revocation_time, s.reason,"
                " s.changed_position, i.certificate_der FROM rm_ocsp_status s"
                " JOIN rm_ocsp_issuers i ON i.name = s.issuer"
                f" WHERE {condition} ORDER BY s.next_update LIMIT {_BATCH}", params)
            if not rows:
                return done
            try:
                updates = self._sign_rows(rows)
            except Exception:  # a key that does not open: leave the rows to the next round
                log.exception("OCSP: signing failed; the front ends sign on demand meanwhile")
                return done
            with self.db.transaction() as tx:
                seq = next_seq(tx)
                tx.executemany(
                    "UPDATE rm_ocsp_status SET response_sha1 = ?, response_sha256 = ?,"
                    " this_update = ?, next_update = ?, seq = ? WHERE issuer = ?"
                    " AND serial_hex = ? AND changed_position = ?",
                    [(*update[:4], seq, *update[4:]) for update in updates])
            done += len(updates)
            if len(rows) < _BATCH:
                break
        return done

    def _sign_rows(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        assert self.responders is not None
        now = self.clock().replace(microsecond=0)
        hashes: dict[str, Mapping[str, tuple[bytes, bytes]]] = {}
        updates = []
        for issuer, serial, status, revocation_time, reason, position, ca_der in rows:
            credentials = self.responders.get(issuer)
            if credentials is None:  # a root CA (served by CRL only): not the others' loss
                continue
            if issuer not in hashes:
                hashes[issuer] = compute_issuer_hashes(bytes(ca_der))
            next_update = min(now + self.settings.validity, credentials.not_after)
            sha1, sha256 = signed_pair(credentials, hashes[issuer], int(serial, 16),
                                       row_status(status, revocation_time, reason), now,
                                       next_update)
            updates.append((sha1, sha256, int(now.timestamp()), int(next_update.timestamp()),
                            issuer, serial, position))
        return updates
