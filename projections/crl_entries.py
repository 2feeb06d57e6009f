"""The CRL read model: per issuing CA, the entries its next CRL lists, pre-encoded.

``process`` keeps, for every CA, the certificates that are revoked or on hold, each
with its DER revokedCertificates element made once by ``encode_revoked_entry``
when the event is projected, so publishing a CRL only concatenates bytes. A resumed
certificate leaves the entries and is kept as a removeFromCRL entry for delta CRLs;
a held certificate that is then revoked becomes a revoked entry. Every entry and
removal carries the log position of the event that made it, which is how a delta CRL
finds what changed after its base.

The Revoked, Suspended and Resumed events name only the certificate, so a small table
maps certificate ids to their CA (from Applied) and serial (from Issued).

Everything stored derives from the events and their positions (never the clock), so a
rebuild from zero gives the same rows, byte for byte.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from ca.encoding.crl_encoding import encode_revoked_entry
from domain.authority import CertificateAuthority
from domain.certificate import Certificate
from domain.reasons import RevocationReason
from projections.base import ReadModel
from projections.db import Transaction

__all__ = ["CrlReadModel", "serial_text", "CRL_MODEL"]

log = logging.getLogger("certledger.crl")

CRL_MODEL = "crl"


def serial_text(serial_number: int) -> str:
    """A serial as stored: 40 lower-case hex digits, so text order is numeric order."""
    return format(serial_number, "040x")


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


_TOPICS = (CertificateAuthority.Established, Certificate.Applied, Certificate.Rejected,
           Certificate.Issued, Certificate.Suspended, Certificate.Resumed, Certificate.Revoked)

_UPSERT_ENTRY = (
    "INSERT INTO rm_crl_entries (issuer, serial, certificate_id, reason, revocation_time,"
    " invalidity_date, entry, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (issuer, serial) DO UPDATE SET certificate_id = excluded.certificate_id,"
    " reason = excluded.reason, revocation_time = excluded.revocation_time,"
    " invalidity_date = excluded.invalidity_date, entry = excluded.entry,"
    " changed_at = excluded.changed_at")
_UPSERT_REMOVAL = (
    "INSERT INTO rm_crl_removals (issuer, serial, certificate_id, entry, removed_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (issuer, serial) DO UPDATE SET"
    " certificate_id = excluded.certificate_id, entry = excluded.entry,"
    " removed_at = excluded.removed_at")


class CrlReadModel(ReadModel):
    name = CRL_MODEL
    tables = ("rm_crl_entries", "rm_crl_removals", "rm_crl_certificates", "rm_crl_authorities")
    topics = frozenset(event.TOPIC for event in _TOPICS)  # type: ignore[attr-defined]

    # ---- inside the runner's transaction --------------------------------------------------

    def process(self, tx: Transaction, event: Any, position: int) -> None:
        if isinstance(event, CertificateAuthority.Established):
            tx.execute("INSERT INTO rm_crl_authorities (name) VALUES (?)"
                       " ON CONFLICT (name) DO NOTHING", (event.name,))
        elif isinstance(event, Certificate.Applied):
            tx.execute("INSERT INTO rm_crl_certificates (certificate_id, issuer, serial)"
                       " VALUES (?, ?, NULL) ON CONFLICT (certificate_id) DO NOTHING",
                       (str(event.originator_id), event.issuer))
        elif isinstance(event, Certificate.Rejected):
            tx.execute("DELETE FROM rm_crl_certificates WHERE certificate_id = ?",
                       (str(event.originator_id),))
        elif isinstance(event, Certificate.Issued):
            tx.execute("UPDATE rm_crl_certificates SET serial = ? WHERE certificate_id = ?",
                       (serial_text(event.serial_number), str(event.originator_id)))
        elif isinstance(event, Certificate.Suspended | Certificate.Resumed | Certificate.Revoked):
            self._status_change(tx, event, position)

    def _status_change(self, tx: Transaction, event: Any, position: int) -> None:
        certificate_id = str(event.originator_id)
        rows = tx.query("SELECT issuer, serial FROM rm_crl_certificates"
                        " WHERE certificate_id = ? AND serial IS NOT NULL", (certificate_id,))
        if not rows:
            log.warning("CRL: status change of %s, which was never issued", certificate_id)
            return
        issuer, serial = rows[0]
        serial_number = int(serial, 16)
        if isinstance(event, Certificate.Resumed):
            held = tx.query("SELECT revocation_time FROM rm_crl_entries"
                            " WHERE issuer = ? AND serial = ?", (issuer, serial))
            # the removeFromCRL entry keeps the date of the hold it lifts
            since = datetime.fromisoformat(held[0][0]) if held else event.timestamp
            entry = encode_revoked_entry(serial_number, since, RevocationReason.REMOVE_FROM_CRL)
            tx.execute("DELETE FROM rm_crl_entries WHERE issuer = ? AND serial = ?",
                       (issuer, serial))
            tx.execute(_UPSERT_REMOVAL, (issuer, serial, certificate_id, entry, position))
        else:
            if isinstance(event, Certificate.Suspended):
                reason, when, invalid = RevocationReason.CERTIFICATE_HOLD, event.timestamp, None
            else:
                reason = RevocationReason(event.reason)
                when, invalid = event.revocation_time, event.invalidity_date
            entry = encode_revoked_entry(serial_number, when, reason, invalid)
            tx.execute(_UPSERT_ENTRY, (issuer, serial, certificate_id, int(reason),
                                       _time(when), _time(invalid), entry, position))
            tx.execute("DELETE FROM rm_crl_removals WHERE issuer = ? AND serial = ?",
                       (issuer, serial))
