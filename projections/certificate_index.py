"""The certificate index read model: one row per certificate (or application) with what
the issue-10 services look up, and the account fields the public query matches.

- the expiry-notice job: ``not_after`` (Unix seconds, indexed) and ``issued_position``
  (what was issued since its last run);
- the binding check: the SHA-256 of the certificate's DER, its account, status, lock
  state, ``activated`` (0 from its order's ``Placed`` until the order's ``Activated``;
  1 for a certificate without an order: dual pairs, data from before orders);
- public revocation announcements: revoked rows per issuer, newest first;
- the public query: ``order_number`` (from the order's ``Placed``),
  joined with ``rm_cert_accounts`` (username, organisation, handler's phone, the HMAC
  of the handler's ID number: never the number).

The status column is the recorded one; ``expired`` is derived when shown
(domain/expiry.py). Pure: events in, rows out.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from domain.accounts import Account
from domain.certificate import Certificate
from domain.orders import Order
from domain.reasons import RevocationReason
from domain.unlock import LockState
from projections.base import ReadModel
from projections.db import Transaction

__all__ = ["CertificateIndexModel", "INDEX_MODEL", "iso", "subject_names"]

INDEX_MODEL = "certificate_index"
_LOCK = {Certificate.LockReported.TOPIC: LockState.LOCKED,
         Certificate.UnlockRequested.TOPIC: LockState.REQUESTED,
         Certificate.UnlockApproved.TOPIC: LockState.APPROVED,
         Certificate.UnlockRejected.TOPIC: LockState.LOCKED,
         Certificate.Unlocked.TOPIC: LockState.UNLOCKED}
_STATUS = {Certificate.Approved.TOPIC: "approved", Certificate.Rejected.TOPIC: "rejected",
           Certificate.Suspended.TOPIC: "suspended", Certificate.Resumed.TOPIC: "issued"}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def subject_names(der: bytes) -> tuple[str | None, str | None]:
    """The subject's organisation and common name (None where absent or unreadable)."""
    try:
        subject = x509.load_der_x509_certificate(der).subject
    except Exception:  # noqa: BLE001 - an unreadable name must not stop the read model
        return None, None

    def first(oid: Any) -> str | None:
        values = subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    return first(NameOID.ORGANIZATION_NAME), first(NameOID.COMMON_NAME)


class CertificateIndexModel(ReadModel):
    name = INDEX_MODEL
    tables = ("rm_cert_index", "rm_cert_accounts")
    topics = frozenset({Certificate.Applied.TOPIC, Certificate.Issued.TOPIC,
                        Certificate.Revoked.TOPIC, Account.Registered.TOPIC,
                        Account.HandlerSet.TOPIC, Order.Placed.TOPIC, Order.Activated.TOPIC,
                        *_STATUS, *_LOCK})

    def process(self, tx: Transaction, event: Any, position: int) -> None:
        ident, when = str(event.originator_id), iso(event.timestamp)
        if isinstance(event, Account.Registered):
            tx.execute("INSERT INTO rm_cert_accounts (account_id, portal, username,"
                       " name_folded) VALUES (?, ?, ?, ?) ON CONFLICT (account_id) DO NOTHING",
                       (ident, event.portal, event.username, event.name.lower()))
        elif isinstance(event, Account.HandlerSet):
            tx.execute("UPDATE rm_cert_accounts SET handler_phone = ?, handler_id_hmac = ?"
                       " WHERE account_id = ?", (event.phone, event.id_number_hmac, ident))
        elif isinstance(event, Certificate.Applied):
            tx.execute("INSERT INTO rm_cert_index (certificate_id, portal, account_id, issuer,"
                       " status, applied_at, updated_at, position)"
                       " VALUES (?, ?, ?, ?, 'applied', ?, ?, ?)"
                       " ON CONFLICT (certificate_id) DO NOTHING",
                       (ident, event.portal, event.account_id, event.issuer, when, when,
                        position))
        elif isinstance(event, Certificate.Issued):
            organisation, common_name = subject_names(event.certificate_der)
            tx.execute("UPDATE rm_cert_index SET status = 'issued', serial_hex = ?,"
                       " not_before = ?, not_after = ?, der_sha256 = ?, subject_o = ?,"
                       " subject_cn = ?, updated_at = ?, position = ?, issued_position = ?"
                       " WHERE certificate_id = ?",
                       (format(event.serial_number, "x"), int(event.not_before.timestamp()),
                        int(event.not_after.timestamp()),
                        hashlib.sha256(event.certificate_der).hexdigest(), organisation,
                        common_name, when, position, position, ident))
        elif isinstance(event, Order.Placed):  # saved with (after) its certificate's Applied
            tx.execute("UPDATE rm_cert_index SET order_number = ?, order_id = ?, activated = 0"
                       " WHERE certificate_id = ?",
                       (event.order_number, ident, str(event.certificate_id)))
        elif isinstance(event, Order.Activated):
            tx.execute("UPDATE rm_cert_index SET activated = 1, updated_at = ?, position = ?"
                       " WHERE order_id = ?", (when, position, ident))
        elif isinstance(event, Certificate.Revoked):
            tx.execute("UPDATE rm_cert_index SET status = 'revoked', revocation_reason = ?,"
                       " revoked_at = ?, revoked_position = ?, updated_at = ?, position = ?"
                       " WHERE certificate_id = ?",
                       (RevocationReason(event.reason).rfc_name, iso(event.revocation_time),
                        position, when, position, ident))
        else:
            self._change(tx, event, ident, when, position)

    @staticmethod
    def _change(tx: Transaction, event: Any, ident: str, when: str, position: int) -> None:
        topic = type(event).TOPIC
        if topic in _STATUS:
            tx.execute("UPDATE rm_cert_index SET status = ?, updated_at = ?, position = ?"
                       " WHERE certificate_id = ?", (_STATUS[topic], when, position, ident))
        elif topic in _LOCK:
            serial = getattr(event, "key_serial", None)
            tx.execute("UPDATE rm_cert_index SET lock_state = ?,"
                       " key_serial = COALESCE(?, key_serial), updated_at = ?, position = ?"
                       " WHERE certificate_id = ?",
                       (_LOCK[topic].value, serial, when, position, ident))
