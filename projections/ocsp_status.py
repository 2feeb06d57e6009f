"""The OCSP read model: a status per (issuer, serial), and nothing else.

``process`` turns status changes into rows: Issued → good, Suspended → revoked
(certificateHold, at the suspension), Resumed → good, Revoked → revoked (time, reason);
a responder certificate (Certified, Rotated) is good too. It is deterministic: a
rebuild from zero gives the same statuses, revocation times, reasons and positions.

A status change also empties the row's stored responses (``next_update = 0``: they
answer for a status the certificate no longer has). Signing them again is the OCSP
signing process's work (ca/processes/ocsp_signing.py, through
projections/stored_ocsp_responses.py), never this projection's.

Every write bumps ``rm_ocsp_counter`` and stamps the rows it touched with the new
value, so an OCSP server that remembers the highest ``seq`` it has loaded picks up
every later change with one indexed query (writers serialise on the counter row,
so ``seq`` order is commit order).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from ca.encoding.ocsp_responses import GOOD, CertStatus, RevokedStatus
from domain.authority import CertificateAuthority
from domain.certificate import Certificate
from domain.reasons import RevocationReason
from domain.responder import OcspResponder
from projections.base import ReadModel
from projections.db import Transaction

__all__ = ["OcspReadModel", "OCSP_MODEL", "row_status", "serial_hex", "next_seq"]

log = logging.getLogger("certledger.ocsp")

OCSP_MODEL = "ocsp"


def serial_hex(serial_number: int) -> str:
    return format(serial_number, "x")


def row_status(status: str, revocation_time: str | None, reason: int | None) -> CertStatus:
    """A row's status as the OCSP encoder takes it."""
    if status == "good":
        return GOOD
    assert revocation_time is not None
    return RevokedStatus(datetime.fromisoformat(revocation_time),
                         RevocationReason(reason) if reason is not None else None)


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


class OcspReadModel(ReadModel):
    name = OCSP_MODEL
    tables = ("rm_ocsp_status", "rm_ocsp_certificates", "rm_ocsp_issuers")
    topics = frozenset(event.TOPIC for event in _TOPICS)  # type: ignore[attr-defined]

    def __init__(self) -> None:
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
                status = RevokedStatus(event.timestamp, RevocationReason.CERTIFICATE_HOLD)
            elif isinstance(event, Certificate.Revoked):
                status = RevokedStatus(event.revocation_time, RevocationReason(event.reason))
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
        if isinstance(status, RevokedStatus):
            revocation_time = status.revocation_time.astimezone(UTC).isoformat()
            reason = int(status.reason) if status.reason is not None else None
        tx.execute(_UPSERT_STATUS, (issuer, serial_hex(serial_number),
                                    "revoked" if isinstance(status, RevokedStatus) else "good",
                                    revocation_time, reason, position, self._tx_seq))

    def after_commit(self) -> None:
        self._tx = None

    def after_rollback(self) -> None:
        self._tx = None
