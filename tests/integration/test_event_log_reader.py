"""The audit's own reader of the event store (one query a page, on the library's tables)
gives exactly what the library's reader gives, on SQLite and PostgreSQL: a check that
fails when a library upgrade lays its tables out otherwise."""

from __future__ import annotations

from uuid import UUID

from api.bootstrap import CertLedger
from tests.conftest import OFFICER
from tests.crl_helpers import issue


def _fields(stored: object) -> tuple[object, ...]:
    return tuple(getattr(stored, name) for name in
                 ("id", "originator_id", "originator_version", "topic", "state"))


def test_the_audit_reader_reads_what_the_library_reads(ledger: CertLedger) -> None:
    certificate = issue(ledger, "reader")
    ledger.certificates.suspend(OFFICER, certificate.id)
    log = ledger.log
    library = [_fields(n) for n in log.recorder.select_notifications(start=1, limit=10_000)]
    ours = [_fields(n) for n in log.stored(page=3)]
    assert ours == library and len(ours) == log.head() > 6
    assert all(isinstance(row[1], UUID) and isinstance(row[4], bytes) for row in ours)
    assert [_fields(n) for n in log.stored_page(2, 5, 100)] == library[2:5]
    assert [_fields(n) for n in log.stored_page(0, None, 2)] == library[:2]
    assert log.stored_page(log.head(), None, 10) == []
    assert log.positions_of(certificate.id) == [row[0] for row in library
                                                if row[1] == certificate.id]
