"""The CRL read model and publishing, on SQLite and PostgreSQL: entries, full and delta CRLs,
CRL numbers recorded as events with the digest an auditor can recompute."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ca.applications.crl_publisher
from api.bootstrap import CertLedger
from api.read_side import ReadSide
from ca.applications.crl_publisher import CrlUnavailable
from ca.encoding.crl_encoding import encode_revoked_entry, entries_digest
from domain.authority import CertificateAuthority
from domain.certificate import Certificate, Status
from domain.reasons import RevocationReason
from projections.crl_entries import CrlReadModel, serial_text
from projections.migrate import migrate
from projections.stored_crls import StoredCrls
from tests.conftest import OFFICER
from tests.crl_helpers import (
    crl_entries,
    crl_field,
    drop_fresh_database,
    fresh_database,
    issue,
    read_models,
)

ISSUER = "issuing-ca"
CRL_ISSUED = CertificateAuthority.CrlIssued.TOPIC  # type: ignore[attr-defined]


def _crl_events(ledger: CertLedger, issuer: str = ISSUER) -> list[Any]:
    authority_id = CertificateAuthority.create_id(issuer)
    return [ledger.log.mapper.to_domain_event(n)
            for n in ledger.log.recorder.select_notifications(start=1, limit=100_000)
            if n.topic == CRL_ISSUED and n.originator_id == authority_id]


def _rows(models: ReadSide) -> list[tuple[Any, ...]]:
    return models.database.query("SELECT serial, reason, entry FROM rm_crl_entries ORDER BY serial")


def test_entries_follow_holds_resumptions_and_revocations(ledger: CertLedger) -> None:
    models = read_models(ledger)
    held = issue(ledger, "held")
    ledger.certificates.suspend(OFFICER, held.id)
    models.runner.catch_up()
    [(serial, reason, entry)] = _rows(models)
    assert (serial, reason) == (serial_text(held.serial_number), 6)
    suspended_at = ledger.certificates.get(held.id).suspended_at
    assert bytes(entry) == encode_revoked_entry(held.serial_number, suspended_at,
                                                RevocationReason.CERTIFICATE_HOLD)

    ledger.certificates.resume(OFFICER, held.id)
    models.runner.catch_up()
    assert _rows(models) == []
    [(removal,)] = models.database.query("SELECT entry FROM rm_crl_removals")
    assert bytes(removal) == encode_revoked_entry(held.serial_number, suspended_at,
                                                  RevocationReason.REMOVE_FROM_CRL)

    ledger.certificates.suspend(OFFICER, held.id)
    revoked = ledger.certificates.revoke(OFFICER, held.id, RevocationReason.KEY_COMPROMISE,
                                         invalidity_date=suspended_at)
    models.runner.catch_up()
    assert models.database.query("SELECT entry FROM rm_crl_removals") == []
    [(_, reason, entry)] = _rows(models)
    assert reason == 1 and bytes(entry) == encode_revoked_entry(
        held.serial_number, revoked.revocation_time, RevocationReason.KEY_COMPROMISE,
        suspended_at)


def test_a_publication_catches_the_read_model_up_first(ledger: CertLedger) -> None:
    models = read_models(ledger)
    certificate = issue(ledger, "late")
    ledger.certificates.revoke(OFFICER, certificate.id, RevocationReason.SUPERSEDED)
    full, _ = models.publisher.publish(ISSUER)  # no catch_up() here: publish does it
    assert crl_entries(full.der) == {certificate.serial_number: 4}


def test_crl_numbers_rise_and_are_events_whose_digest_an_auditor_recomputes(
        ledger: CertLedger) -> None:
    models = read_models(ledger)
    first, second = issue(ledger, "first"), issue(ledger, "second")
    ledger.certificates.revoke(OFFICER, first.id, RevocationReason.KEY_COMPROMISE)
    published = list(models.publisher.publish(ISSUER))
    ledger.certificates.suspend(OFFICER, second.id)
    published += models.publisher.publish(ISSUER)
    published += models.publisher.publish(ISSUER, rebase=True)

    events = _crl_events(ledger)
    assert [e.crl_number for e in events] == [1, 2, 3, 4, 5, 6]
    assert [(e.kind, e.base_crl_number, e.delta_base) for e in events] == [
        ("full", None, True), ("delta", 1, False), ("full", None, False), ("delta", 1, False),
        ("full", None, True), ("delta", 5, False)]
    for event, publication in zip(events, published, strict=True):
        assert crl_field(publication.der, "crl_number") == event.crl_number
        # the auditor's first check: the CRL's own entries give the recorded digest
        assert entries_digest(publication.der) == (event.entry_count, event.entries_sha256)
    assert crl_field(published[3].der, "delta_crl_indicator") == 1
    assert crl_entries(published[3].der) == {second.serial_number: 6}

    # the second: replaying the log up to the recorded position gives the same entries
    auditor = fresh_database(ledger, "audit")
    try:
        migrate(auditor)
        model = CrlReadModel()
        for event in events:
            if event.kind != "full":
                continue
            with auditor.transaction() as tx:
                for table in model.tables:
                    tx.execute(f"DELETE FROM {table}")
                for notification in ledger.log.recorder.select_notifications(
                        start=1, limit=100_000, stop=event.log_position):
                    if notification.topic in model.topics:
                        model.process(tx, ledger.log.mapper.to_domain_event(notification),
                                      notification.id)
            entries = auditor.query("SELECT entry FROM rm_crl_entries WHERE issuer = ?"
                                    " ORDER BY serial", (ISSUER,))
            assert hashlib.sha256(b"".join(bytes(e) for (e,) in entries)).hexdigest() \
                == event.entries_sha256
            assert len(entries) == event.entry_count
    finally:
        drop_fresh_database(ledger, auditor)


def test_racing_publishers_never_share_a_number(ledger: CertLedger) -> None:
    publishers = [read_models(ledger).publisher for _ in range(2)]  # separate locks
    certificate = issue(ledger, "raced")
    ledger.certificates.revoke(OFFICER, certificate.id, RevocationReason.AFFILIATION_CHANGED)
    made: list[Any] = []
    errors: list[BaseException] = []

    def publish(publisher: Any) -> None:
        try:
            for _ in range(3):
                made.extend(publisher.publish(ISSUER))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(p,)) for p in publishers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    numbers = sorted(crl_field(p.der, "crl_number") for p in made)
    assert numbers == list(range(1, 13))
    assert [e.crl_number for e in _crl_events(ledger)] == numbers


def test_a_crl_that_fails_lint_is_never_published(ledger: CertLedger,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    models = read_models(ledger)
    models.publisher.publish(ISSUER)
    before = models.crls.latest(ISSUER, "full")
    monkeypatch.setattr(ca.applications.crl_publisher, "lint_crl",
                        lambda der: ["ERROR pkix.made_up"])
    with pytest.raises(CrlUnavailable, match="made_up"):
        models.publisher.publish(ISSUER)
    assert len(_crl_events(ledger)) == 2
    assert models.crls.latest(ISSUER, "full") == before


def test_large_crls_are_linted_as_a_probe(ledger: CertLedger,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    models = read_models(ledger, lint_limit=2)
    for label in ("a", "b", "c"):
        ledger.certificates.revoke(OFFICER, issue(ledger, label).id, RevocationReason.SUPERSEDED)
    linted: list[int] = []
    real = ca.applications.crl_publisher.lint_crl
    monkeypatch.setattr(ca.applications.crl_publisher, "lint_crl",
                        lambda der: linted.append(len(crl_entries(der))) or real(der))
    full, delta = models.publisher.publish(ISSUER)
    assert (full.entry_count, delta.entry_count) == (3, 0)
    assert linted == [2, 0]  # the probe: first and last entry; the delta whole


# ---- the property: a CRL lists exactly what is revoked or on hold ---------------------------

REASONS = [RevocationReason.UNSPECIFIED, RevocationReason.KEY_COMPROMISE,
           RevocationReason.CA_COMPROMISE, RevocationReason.AFFILIATION_CHANGED,
           RevocationReason.SUPERSEDED, RevocationReason.CESSATION_OF_OPERATION,
           RevocationReason.PRIVILEGE_WITHDRAWN]
OPERATIONS = st.lists(st.tuples(st.sampled_from(["issue", "revoke", "suspend", "resume"]),
                                st.integers(0, 7), st.sampled_from(REASONS)),
                      min_size=1, max_size=6)


@dataclass(repr=False)
class World:
    ledger: CertLedger
    models: ReadSide
    certificates: list[Certificate] = field(default_factory=list)
    base: dict[int, int | None] | None = None  # the entries of the base full CRL

    def __repr__(self) -> str:
        return f"World({len(self.certificates)} certificates)"


@pytest.fixture
def world(ledger: CertLedger) -> World:
    return World(ledger, read_models(ledger))


def _expected(world: World) -> dict[int, int | None]:
    """serial -> CRLReason code of every certificate revoked or on hold (None: unspecified,
    which a CRL entry leaves out)."""
    expected: dict[int, int | None] = {}
    for certificate in world.certificates:
        current = world.ledger.certificates.get(certificate.id)
        if current.status is Status.SUSPENDED:
            expected[current.serial_number] = 6  # type: ignore[index]
        elif current.status is Status.REVOKED:
            reason = current.revocation_reason
            expected[current.serial_number] = int(reason) or None  # type: ignore[index, arg-type]
    return expected


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=OPERATIONS)
def test_crls_list_exactly_the_revoked_and_held_certificates(world: World,
                                                             operations: list[Any]) -> None:
    ledger = world.ledger
    for operation, index, reason in operations:
        if operation == "issue" or not world.certificates:
            world.certificates.append(issue(ledger, f"p{len(world.certificates)}"))
            continue
        target = ledger.certificates.get(world.certificates[index % len(world.certificates)].id)
        if operation == "revoke" and target.status in (Status.ISSUED, Status.SUSPENDED):
            ledger.certificates.revoke(OFFICER, target.id, reason)
        elif operation == "suspend" and target.status is Status.ISSUED:
            ledger.certificates.suspend(OFFICER, target.id)
        elif operation == "resume" and target.status is Status.SUSPENDED:
            ledger.certificates.resume(OFFICER, target.id)
    full, delta = world.models.publisher.publish(ISSUER)
    expected = _expected(world)
    assert crl_entries(full.der) == expected
    if world.base is None:
        world.base = crl_entries(full.der)  # the first full CRL is the base of every delta
    applied = dict(world.base)
    for serial, reason in crl_entries(delta.der).items():
        if reason == RevocationReason.REMOVE_FROM_CRL:
            applied.pop(serial, None)
        else:
            applied[serial] = reason
    assert applied == expected


def test_stored_crls_come_back_byte_for_byte_and_every_one_stays_archived(
        ledger: CertLedger) -> None:
    models = read_models(ledger)
    for label in ("a", "b", "c"):
        ledger.certificates.revoke(OFFICER, issue(ledger, label).id, RevocationReason.SUPERSEDED)
    first = models.publisher.publish(ISSUER)
    ledger.certificates.suspend(OFFICER, issue(ledger, "d").id)
    full, delta = models.publisher.publish(ISSUER)
    cold = StoredCrls(models.database)  # another process: nothing cached
    assert cold.latest(ISSUER, "full").der == full.der  # type: ignore[union-attr]
    assert cold.latest(ISSUER, "delta").der == delta.der  # type: ignore[union-attr]
    assert first is not None
    for publication in (*first, full, delta):  # the earlier ones too, for auditors
        assert cold.archived(ISSUER, publication.crl_number) == publication.der
    assert cold.archived_numbers(ISSUER) == [p.crl_number for p in (*first, full, delta)]
    assert cold.archived(ISSUER, delta.crl_number + 1) is None
    used = {row[0] for row in models.database.query(
        "SELECT digest FROM rm_crl_pieces UNION SELECT digest FROM rm_crl_archive_pieces")}
    stored = {row[0] for row in models.database.query("SELECT digest FROM rm_crl_blobs")}
    assert stored == used


def test_the_schedule_makes_a_base_only_when_due(ledger: CertLedger) -> None:
    models = read_models(ledger)
    assert sorted(models.publisher.publish_due()) == ["issuing-ca", "root-ca"]
    assert models.publisher.publish_due() == []  # both bases are fresh
    assert [e.crl_number for e in _crl_events(ledger)] == [1, 2]


def test_a_new_publisher_starts_from_the_lastpublished_runs(ledger: CertLedger) -> None:
    from projections.crl_entry_runs import published_runs

    models = read_models(ledger)
    certificates = [issue(ledger, f"w{index}") for index in range(5)]
    for certificate in certificates[:3]:
        ledger.certificates.revoke(OFFICER, certificate.id, RevocationReason.KEY_COMPROMISE)
    models.publisher.publish(ISSUER)
    ledger.certificates.suspend(OFFICER, certificates[3].id)
    ledger.certificates.revoke(OFFICER, certificates[4].id, RevocationReason.SUPERSEDED)
    ledger.certificates.resume(OFFICER, certificates[3].id)
    models.runner.catch_up()
    database = models.database
    truth = b"".join(bytes(entry) for (entry,) in database.query(
        "SELECT entry FROM rm_crl_entries WHERE issuer = ? ORDER BY serial", (ISSUER,)))

    with database.snapshot() as tx:
        epoch = int(tx.query("SELECT epoch FROM rm_tracking WHERE name = 'crl'")[0][0])
        warm = published_runs(tx, ISSUER, epoch, models.runner.head())
    assert warm is not None and b"".join(warm.runs) == truth and sum(warm.counts) == 4
    fresh = StoredCrls(database).snapshot(ISSUER, None)  # another process
    assert b"".join(fresh.entries) == truth and fresh.count == 4

    models.runner.rebuild("crl")  # a new epoch: the published runs may not match any more
    with database.snapshot() as tx:
        epoch = int(tx.query("SELECT epoch FROM rm_tracking WHERE name = 'crl'")[0][0])
        assert published_runs(tx, ISSUER, epoch, models.runner.head()) is None
    assert b"".join(StoredCrls(database).snapshot(ISSUER, None).entries) == truth


def test_a_change_missed_by_a_dead_process_is_published_from_stored_state(
        ledger: CertLedger) -> None:
    """Nothing in memory says a CRL is due: a fresh publisher (a process started after a
    kill -9) finds the revocation its CA's stored CRL lacks, and publishes it once its
    delay has passed since the revocation, not the next base six hours later."""
    models = read_models(ledger, delay=3600)
    leaf = issue(ledger)
    models.publisher.publish(ISSUER)
    ledger.certificates.revoke(OFFICER, leaf.id, RevocationReason.KEY_COMPROMISE)
    models.runner.catch_up()
    assert models.publisher.pending_due(ISSUER) is False  # projected, not due for an hour
    models.database.close()

    restarted = read_models(ledger, delay=0)  # the same stores, nothing carried over
    assert restarted.crls.unpublished_change(ISSUER) is not None
    assert restarted.processes.processes["crl-catch-up"].run() == [ISSUER]
    full = restarted.crls.latest(ISSUER, "full")
    assert full is not None and crl_entries(full.der) == {leaf.serial_number: 1}
    assert restarted.crls.unpublished_change(ISSUER) is None
    assert restarted.processes.processes["crl-catch-up"].run() == []  # published once, not again
    restarted.database.close()
