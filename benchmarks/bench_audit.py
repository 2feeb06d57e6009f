"""The auditor's passes over a log of a million events, beside a bare read-and-decode.

    .venv/bin/python benchmarks/bench_audit.py [--events 1000000] [--backends sqlite,postgres]
                                               [--lifecycles 1500]

For each backend, one log is built: a root and issuing CA, then lifecycles made by
cloning real events (Applied, Approved, Issued, SerialClaim.Claimed; one in ten also
Revoked; each with its own aggregate ids and serial), projected by the runner and given
a signed tree head every 1000 events, as the process would. Then, on that same log:

- read-and-decode: every event read from the store by the library's reader and decoded
  by the application's mapper (the peer figure); and the same with the audit's own
  reader (``EventLog.stored_page``: one plain query a page, no dictionary per row);
- export (``audit export``: lines written to a file, decoded by worker processes);
- verify (``audit verify --skip-payloads``: that file's leaves against the tree heads,
  their signatures and signer chains up to the root certificate), and the default
  ``audit verify``, which also compares each line's payload with its stored state;
- replay (``audit replay``: every read model rebuilt in a temporary store, then compared
  row by row with the stored ones);
- the start-up check (the whole stored log hashed against its heads).

Targets (issue 11): verify >= 100,000 events/s; replay >= 50% of read-and-decode;
export >= 50,000 events/s. And, apart: lifecycles (apply, approve, issue) per second in
one process with the runner and processes running, without the audit read model, with it
but no head due, with heads every 1000 events: signing heads must cost <= 5%.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from eventsourcing.persistence import StoredEvent  # noqa: E402

from api.bootstrap import CertLedger, bootstrap  # noqa: E402
from api.settings import Settings  # noqa: E402
from ca.applications.audit_export import export_lines  # noqa: E402
from ca.applications.tree_heads import AuditSettings  # noqa: E402
from ca.audit.parallel import default_workers  # noqa: E402
from ca.audit.verify_export import verify_export  # noqa: E402
from ca.encoding.algorithms import KeyAlgorithm  # noqa: E402
from ca.keys.keystore import KeyStore  # noqa: E402
from domain.actors import Actor, Role  # noqa: E402
from domain.reasons import RevocationReason  # noqa: E402
from projections.replay_check import replay_check  # noqa: E402
from tests.helpers import make_csr  # noqa: E402

PG = os.environ.get("CERTLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PASSPHRASE = b"benchmark passphrase only"
OFFICER = Actor("bench-officer", Role.OFFICER)
PORTAL = Actor("bench-portal", Role.APPLICANT_PORTAL)  # applies; the officer reviews
SUBJECT = {"dns_names": ["bench.example.cn"]}
HEAD_EVERY = 1000


def _ledger(settings: Settings) -> CertLedger:
    return bootstrap(settings, keys=KeyStore(settings.data_dir / "keys", PASSPHRASE,
                                             work_factor=2**10))


def _database(backend: str) -> tuple[str | None, Callable[[], None]]:
    if backend == "sqlite":
        return None, lambda: None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(PG, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return f"{PG}?schema={schema}", drop


def _templates(ledger: CertLedger) -> list[Any]:
    """One real lifecycle with a revocation: Applied, Approved, Issued, Claimed, Revoked."""
    csr = make_csr(KeyAlgorithm.ECDSA_P256)[1]
    cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr, subject=SUBJECT)
    ledger.certificates.approve(OFFICER, cid)
    ledger.certificates.issue(OFFICER, cid)
    ledger.certificates.revoke(OFFICER, cid, RevocationReason.SUPERSEDED)
    return [n for n in ledger.log.stored() if n.originator_id == cid
            or "SerialClaim" in n.topic][-5:]


def _clone(templates: list[Any], rng: random.Random, revoke: bool) -> list[StoredEvent]:
    """A lifecycle like the template's, with its own ids and serial."""
    certificate, claim = templates[0].originator_id, templates[3].originator_id
    new_certificate, new_claim = uuid.uuid4(), uuid.uuid4()
    serial = str(templates[2].state).split('"serial_number":')[1].split(",")[0]
    new_serial = str(rng.getrandbits(120) | (1 << 120)).encode()
    events = []
    for template in templates[:5 if revoke else 4]:
        state = template.state.replace(serial.encode(), new_serial).replace(
            certificate.hex.encode(), new_certificate.hex.encode())
        is_claim = template.originator_id == claim
        events.append(StoredEvent(new_claim if is_claim else new_certificate,
                                  template.originator_version, template.topic, state))
    return events


def build_log(backend: str, data_dir: Path, count: int) -> tuple[Settings, Callable[[], None]]:
    url, drop = _database(backend)
    settings = Settings(data_dir=data_dir, database_url=url, audit=AuditSettings(
        head_every=HEAD_EVERY, heads_dir=data_dir / "tree-heads"))
    ledger = _ledger(settings)
    try:
        ledger.hierarchy.establish(OFFICER, algorithm=KeyAlgorithm.ECDSA_P256,
                                   root_name="root-ca", issuing_name="issuing-ca",
                                   organization="Bench")
        templates, rng = _templates(ledger), random.Random(11)
        read, started = ledger.read, time.perf_counter()
        while (head := ledger.log.head()) < count:
            batch: list[StoredEvent] = []
            while len(batch) < min(HEAD_EVERY, count - head):
                batch += _clone(templates, rng, revoke=rng.random() < 0.1)
            ledger.log.recorder.insert_events(batch)
            read.runner.catch_up()
            read.tree_heads.sign()
            if ledger.log.head() // 100_000 != head // 100_000:
                print(f"  built {ledger.log.head():,} events "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
        read.runner.catch_up()
    finally:
        ledger.close()
    return settings, drop


def measure(settings: Settings, workers: int) -> dict[str, float]:
    ledger = _ledger(settings)
    rates: dict[str, float] = {}
    try:
        log, events = ledger.log, ledger.log.head()

        def timed(name: str, run: Callable[[], Any]) -> Any:
            start = time.perf_counter()
            result = run()
            rates[name] = events / (time.perf_counter() - start)
            return result

        def read_and_decode() -> None:  # the library's own reader and mapper
            decode, position = log.decode, 0
            while batch := log.recorder.select_notifications(start=position + 1, limit=2000):
                for stored in batch:
                    decode(stored)
                position = batch[-1].id

        def read_and_decode_ours() -> None:  # the audit's reader (EventLog.stored_page)
            decode = log.decode
            for stored in log.stored(page=2000):
                decode(stored)

        timed("read-and-decode", read_and_decode)
        timed("ours: read+decode", read_and_decode_ours)
        path = settings.data_dir / "export.jsonl"

        def export() -> None:
            with path.open("w") as out:
                for text in export_lines(log, workers=workers):
                    out.write(text)

        timed("export", export)
        root = ledger.hierarchy.authority("root-ca").certificate_der
        from asn1crypto import x509

        from api.commands.audit_history import record_decoder

        def verify(payloads: bool) -> Any:
            with path.open("rb") as stream:
                return verify_export(stream, decode=record_decoder(),
                                     trust=x509.Certificate.load(root), workers=workers,
                                     payloads=payloads)

        report = timed("verify", lambda: verify(False))
        assert report.ok and len(report.heads) >= events // (2 * HEAD_EVERY), report.findings
        report = timed("verify+payloads", lambda: verify(True))
        assert report.ok, report.findings
        replayed = timed("replay", lambda: replay_check(log, ledger.read.database,
                                                        workers=workers))
        assert replayed.ok, replayed.differences[:5]
        findings = timed("start-up check", ledger.read.integrity.check)
        assert findings == [], findings
        rates["events"] = events
        rates["export MB"] = path.stat().st_size / 1e6
        path.unlink()
    finally:
        ledger.close()
    return rates


def lifecycles(backend: str, count: int, mode: str) -> float:
    """Lifecycles per second with the runner and processes running in this process."""
    data_dir = Path(tempfile.mkdtemp(prefix="certledger-bench-heads-"))
    url, drop = _database(backend)
    import api.bootstrap as composition
    from projections.registry import read_models

    never = AuditSettings(head_every=16384, head_interval=timedelta(days=1))
    audit = AuditSettings(head_every=HEAD_EVERY) if mode == "heads" else never
    original = composition.read_models
    if mode == "no audit model":
        composition.read_models = lambda: [m for m in read_models() if m.name != "audit"]
    try:
        settings = Settings(data_dir=data_dir, database_url=url, audit=audit)
        ledger = _ledger(settings)
        ledger.hierarchy.establish(OFFICER, algorithm=KeyAlgorithm.ECDSA_P256,
                                   root_name="root-ca", issuing_name="issuing-ca",
                                   organization="Bench")
        csr = make_csr(KeyAlgorithm.ECDSA_P256)[1]
        ledger.read.start()
        for _ in range(5):  # warm up
            cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr,
                                            subject=SUBJECT)
            ledger.certificates.approve(OFFICER, cid)
            ledger.certificates.issue(OFFICER, cid)
        start = time.perf_counter()
        for _ in range(count):
            cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr,
                                            subject=SUBJECT)
            ledger.certificates.approve(OFFICER, cid)
            ledger.certificates.issue(OFFICER, cid)
        rate = count / (time.perf_counter() - start)
        heads = ledger.read.tree_heads.latest()
        ledger.close()
        return rate if mode != "heads" or heads is not None else float("nan")
    finally:
        composition.read_models = original
        drop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    import logging

    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: already running"
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--lifecycles", type=int, default=1000)
    args = parser.parse_args()
    workers = default_workers()
    print(f"audit passes over {args.events:,} events, {os.cpu_count()} cores, "
          f"{workers} worker processes, load average {os.getloadavg()[0]:.2f} at the start")
    for backend in args.backends.split(","):
        data_dir = Path(tempfile.mkdtemp(prefix="certledger-bench-audit-"))
        try:
            print(f"[{backend}] building the log", flush=True)
            settings, drop = build_log(backend, data_dir, args.events)
            try:
                rates = measure(settings, workers)
            finally:
                drop()
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
        base = rates["read-and-decode"]
        print(f"[{backend}] {rates['events']:,.0f} events, export {rates['export MB']:,.0f} MB")
        for name, target in (("read-and-decode", None), ("ours: read+decode", None),
                             ("export", 50_000),
                             ("verify", 100_000), ("verify+payloads", 100_000),
                             ("replay", base / 2), ("start-up check", None)):
            rate = rates[name]
            verdict = "" if target is None else ("  ok" if rate >= target else "  BELOW") \
                + f" (target {target:,.0f})"
            print(f"  {name:<16} {rate:>10,.0f} events/s  {rate / base:5.0%} of "
                  f"read-and-decode{verdict}", flush=True)
    for backend in args.backends.split(","):
        rates = {}
        for mode in ("no audit model", "no head due", "heads", "no audit model",
                     "no head due", "heads"):
            rate = lifecycles(backend, args.lifecycles, mode)
            rates[mode] = max(rates.get(mode, 0.0), rate)
        plain, heads = rates["no audit model"], rates["heads"]
        print(f"[{backend}] lifecycles/s, runner and processes running: without the audit "
              f"model {plain:.0f}, audit model but no head due {rates['no head due']:.0f}, "
              f"a head every {HEAD_EVERY} events {heads:.0f}: signing costs "
              f"{1 - heads / rates['no head due']:.1%}, the whole audit "
              f"{1 - heads / plain:.1%} (target <= 5%)", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine "
          "slows every figure)")


if __name__ == "__main__":
    main()
