"""The CRL publish path as the system runs it, for bench_crl.py (each part in its own process).

``load``: a real CA ledger (SQLite, or PostgreSQL with ``--postgres``; an ECDSA P-256
hierarchy) whose CRL read model holds N pre-encoded entries, bulk-inserted as the
projection would have left them (so the setup takes seconds, not the hours of issuing N
certificates one by one).

``publish``: in a fresh process, the measured path: CrlPublisher.publish reads the
entries from the read-model database, assembles and signs the full and delta CRLs,
lints them (probe), records the CrlIssued events and stores the signed CRLs. Then one
more certificate is issued and revoked through the ledger, projected by the runner
and published again (the re-publish); then, with the runner thread and the schedule
running, the time from a revocation's commit to a stored CRL that covers it.

``restart``: a new process publishing for the first time, after one more revocation:
it reads the runs of the last stored full CRL and the rows changed since.
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from domain.reasons import RevocationReason

Revocation = tuple[int, datetime, RevocationReason | None, datetime | None]
# the development machines' PostgreSQL (DESIGN.md §6); a schema is made and dropped per run
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PASSPHRASE = b"benchmark passphrase, not a secret"
ISSUER = "issuing-ca"


def _service(directory: Path, database_url: str | None) -> Any:
    from api.bootstrap import bootstrap
    from api.settings import Settings
    from ca.keys.keystore import KeyStore

    settings = Settings(data_dir=directory, database_url=database_url,
                        public_base_url="http://127.0.0.1:8080", default_issuer=ISSUER,
                        accept_empty_sm2_id=False)
    return bootstrap(settings, keys=KeyStore(directory / "keys", PASSPHRASE,
                                                 work_factor=2**10))


def _read_models(ledger: Any, delay: float = 0.0) -> Any:

    from ca.applications.crl_publisher import CrlSettings

    return ledger.new_read_side(crl=CrlSettings(delay=delay))


def load(directory: Path, revocations: Iterator[Revocation], database_url: str | None) -> None:
    from ca.encoding.algorithms import KeyAlgorithm
    from ca.encoding.crl_encoding import encode_revoked_entry
    from domain.actors import Actor, Role
    from projections.crl_entries import serial_text

    ledger = _service(directory, database_url)
    ledger.hierarchy.establish(Actor("bench", Role.ADMIN), algorithm=KeyAlgorithm.ECDSA_P256,
                                root_name="root-ca", issuing_name=ISSUER, organization="Bench")
    models = _read_models(ledger)
    models.runner.catch_up()
    position = models.runner.head()
    started = time.perf_counter()
    rows: list[tuple[Any, ...]] = []
    count = 0
    for serial, revoked_at, reason, invalid_since in revocations:
        entry = encode_revoked_entry(serial, revoked_at, reason, invalid_since)
        rows.append((ISSUER, serial_text(serial), f"bench-{count}", int(reason or 0),
                     revoked_at.isoformat(), invalid_since and invalid_since.isoformat(),
                     entry, position))
        count += 1
        if len(rows) == 50_000:
            _insert(models.database, rows)
            rows = []
    _insert(models.database, rows)
    if models.database.dialect == "postgres":
        # what autovacuum does to a table some time after a bulk load (hint bits set,
        # statistics), so the measured read is not the first read after the load
        import psycopg

        with psycopg.connect(models.database._postgres_url, autocommit=True) as connection:
            connection.execute(f'SET search_path TO "{models.database.schema}"')
            connection.execute("VACUUM ANALYZE rm_crl_entries")
    print(json.dumps({"load": time.perf_counter() - started, "entries": count}))


def _insert(database: Any, rows: list[tuple[Any, ...]]) -> None:
    with database.transaction() as tx:
        tx.executemany("INSERT INTO rm_crl_entries (issuer, serial, certificate_id, reason,"
                       " revocation_time, invalidity_date, entry, changed_at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _revoke_one(ledger: Any, label: str) -> int:
    from ca.encoding.algorithms import KeyAlgorithm
    from domain.actors import Actor, Role
    from tests.helpers import make_csr

    officer = Actor("bench-officer", Role.OFFICER)
    portal = Actor("bench-portal", Role.APPLICANT_PORTAL)  # applies; the officer reviews
    cid = ledger.certificates.apply(portal, profile="tls-server",
                                    csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                    subject={"dns_names": [f"{label}.bench.example"]})
    ledger.certificates.approve(officer, cid)
    ledger.certificates.issue(officer, cid)
    ledger.certificates.revoke(officer, cid, RevocationReason.KEY_COMPROMISE)
    return int(ledger.log.recorder.max_notification_id())


def _timed(timings: list[float], function: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            timings.append(time.perf_counter() - started)

    return wrapper


def publish(directory: Path, database_url: str | None) -> None:
    ledger = _service(directory, database_url)
    models = _read_models(ledger)
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ledger.hierarchy.issuer(ISSUER)  # the CA key is unsealed once per process, not per CRL
    reads: list[float] = []
    stores: list[float] = []
    models.crls.snapshot = _timed(reads, models.crls.snapshot)
    models.crls.store = _timed(stores, models.crls.store)

    started = time.perf_counter()
    full, _ = models.publisher.publish(ISSUER, rebase=True)
    cold = time.perf_counter() - started
    read_only, store_only = reads[0], stores[0]
    entries, crl_bytes = full.entry_count, len(full.der or b"")
    del full, _  # a publisher keeps no signed CRL in memory (the store has them)

    republish, project = [], []
    for attempt in range(3):
        _revoke_one(ledger, f"again{attempt}")
        started = time.perf_counter()
        models.runner.catch_up()
        project.append(time.perf_counter() - started)
        started = time.perf_counter()
        again, _ = models.publisher.publish(ISSUER)
        republish.append(time.perf_counter() - started)
        count = again.entry_count
        del again, _
    assert count == entries + 3

    latencies = []
    models.start()  # runner thread (polling every 100 ms on SQLite) and schedule, delay 0
    try:
        for attempt in range(3):
            position = _revoke_one(ledger, f"latency{attempt}")
            committed = time.perf_counter()
            while True:
                latest = models.crls.latest(ISSUER, "full", with_der=False)
                if latest is not None and latest.log_position >= position:
                    break
                time.sleep(0.002)
            latencies.append(time.perf_counter() - committed)
    finally:
        models.stop()
    print(json.dumps({
        "cold": cold, "read_only": read_only, "store_only": store_only,
        "entries": entries, "crl_bytes": crl_bytes, "republish": statistics.median(republish),
        "project_one": statistics.median(project), "latency": statistics.median(latencies),
        "latency_max": max(latencies), "baseline_kib": baseline_kib,
        "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def restart(directory: Path, database_url: str | None) -> None:
    """A new publishing process: one more revocation, then the first publication of this
    process (its cache is empty: it starts from the last stored CRL's runs)."""
    ledger = _service(directory, database_url)
    models = _read_models(ledger)
    ledger.hierarchy.issuer(ISSUER)
    _revoke_one(ledger, "restart")
    models.runner.catch_up()
    started = time.perf_counter()
    full, _ = models.publisher.publish(ISSUER)
    print(json.dumps({"restart": time.perf_counter() - started, "entries": full.entry_count}))
