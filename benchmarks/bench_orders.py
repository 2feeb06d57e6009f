"""Orders (issue 9): list and work-queue queries over 100,000 orders, and complete
new-application flows per second, through HTTP (``certledger serve``, 2 workers).

1. 100,000 orders (10,000 accounts) in the orders read model, SQLite and PostgreSQL:
   the rows are written in bulk straight into ``rm_orders``/``rm_accounts`` (synthetic,
   as the projection would write them; projecting 100,000 real applications would take
   the benchmark most of an hour on this machine), then each query is asked
   ``--queries`` times, one after the other: p50 and p99 (target p99 <= 50 ms).
2. Complete flows on SQLite: register -> apply -> approve -> pay -> issue -> activate, by
   ``--clients`` threads for ``--seconds`` (applicant portal token for the applicant's
   steps, an officer's for review and issuance): flows per second (target >= 60/s ECDSA).

    .venv/bin/python benchmarks/bench_orders.py [--orders 100000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from api.bootstrap import bootstrap  # noqa: E402
from api.settings import Settings  # noqa: E402
from benchmarks.peers import certledger_serve  # noqa: E402
from ca.encoding.algorithms import KeyAlgorithm  # noqa: E402
from ca.keys.keystore import KeyStore  # noqa: E402
from domain.actors import Actor, Role  # noqa: E402
from projections.db import ReadModelDatabase  # noqa: E402
from tests.front_helpers import Client  # noqa: E402
from tests.helpers import make_csr  # noqa: E402

PASSPHRASE = "benchmark passphrase, not a secret"
POSTGRES_URL = os.environ.get("CERTLEDGER_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
ADMIN = Actor("bench-admin", Role.ADMIN)
BASE = 10_000_000   # synthetic log positions, far above the setup's own events
STEPS = [("officer", "review"), ("applicant", "payment"), ("officer", "issue"),
         ("applicant", "activation"), (None, None)]
STATUS = {"review": ("placed", "applied"), "payment": ("placed", "approved"),
          "issue": ("paid", "approved"), "activation": ("paid", "issued"),
          None: ("activated", "issued")}


def _fill(database: ReadModelDatabase, orders: int) -> None:
    accounts = max(1, orders // 10)
    with database.transaction() as tx:
        tx.executemany(
            "INSERT INTO rm_accounts (account_id, portal, kind, username, name, name_folded,"
            " phone, registered_at, registered_position, updated_position)"
            " VALUES (?, 'default', 'enterprise', ?, ?, ?, '13800138000',"
            " '2026-01-01T00:00:00Z', ?, ?)",
            [(f"acct-{i}", f"USER{i:06d}", f"某某公司{i:06d}", f"某某公司{i:06d}", BASE + i,
              BASE + i) for i in range(accounts)])
        rows = []
        for i in range(orders):
            waiting_for, step = STEPS[i % len(STEPS)]
            order_status, certificate_status = STATUS[step]
            position = BASE + accounts + i
            day = f"2026-{1 + i * 12 // orders:02d}-{1 + i % 28:02d}T08:00:00Z"
            rows.append((str(uuid.UUID(int=i + 1)), str(uuid.UUID(int=10**9 + i)),
                         f"CL-2026-{i + 1:06d}", f"acct-{i % accounts}",
                         ("new", "renew", "change", "reapply")[i % 4],
                         ("personal-signing", "organisation-signing", "tls-server")[i % 3],
                         order_status, certificate_status, waiting_for, step,
                         None if step is None else position,
                         None if step is None else day, day, position, day, position))
            if len(rows) == 5000:
                _insert(tx, rows)
                rows = []
        _insert(tx, rows)


def _insert(tx: Any, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        tx.executemany(
            "INSERT INTO rm_orders (certificate_id, order_id, order_number, portal, account_id,"
            " kind, profile, order_status, certificate_status, amount, currency, approvals,"
            " approvals_required, applied_by, subject_name, waiting_for, waiting_step,"
            " waiting_position, waiting_since, placed_at, placed_position, updated_at,"
            " updated_position) VALUES (?, ?, ?, 'default', ?, ?, ?, ?, ?, 10000, 'CNY', 0,"
            " 1, 'bench-portal', '某某公司', ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return (f"p50 {statistics.median(ordered) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms")


def queries(port: int, portal: str, officer: str, count: int, orders: int) -> None:
    clients = {"portal": Client(port, portal, timeout=30),
               "officer": Client(port, officer, timeout=30)}
    status, _, reply = clients["portal"].call("GET", "/api/v1/orders?limit=50")
    assert status == 200, reply[:300]
    cursor = json.loads(reply)["next_cursor"]
    cases = [
        ("portal", "/api/v1/orders?limit=50", "orders, first page (oldest first)"),
        ("portal", f"/api/v1/orders?limit=50&cursor={cursor}", "orders, next page (cursor)"),
        ("portal", "/api/v1/orders?limit=50&sort=-placed", "orders, newest first"),
        ("portal", "/api/v1/orders?limit=50&status=paid&kind=renew", "status + kind filter"),
        ("portal", "/api/v1/orders?limit=50&profile=tls-server&placed_from="
                   "2026-06-01T00:00:00Z&placed_to=2026-07-01T00:00:00Z", "profile + dates"),
        ("portal", f"/api/v1/orders?order_number=CL-2026-{orders // 2:06d}", "by order number"),
        ("portal", f"/api/v1/orders?username=USER{orders // 30:06d}", "by username (prefix)"),
        ("portal", "/api/v1/orders?limit=20&organisation=" + quote(f"公司{orders // 30:06d}"),
         "by organisation (part of the name)"),
        ("officer", "/api/v1/work-queue?limit=50", "work queue: the officers'"),
        ("officer", "/api/v1/work-queue?limit=50&step=issue", "work queue: to issue"),
        ("portal", "/api/v1/work-queue?waiting_for=applicant&limit=50",
         "work queue: the applicants'"),
    ]
    for who, path, label in cases:
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            status, _, reply = clients[who].call("GET", path)
            timings.append(time.perf_counter() - started)
            assert status == 200, (path, reply[:300])
        items = len(json.loads(reply)["items"])
        print(f"  {label:<38} {_percentiles(timings)}  ({items} items)", flush=True)
    for client in clients.values():
        client.close()


def _ledger(directory: Path, url: str | None) -> Any:
    directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=directory, database_url=url)
    keys = KeyStore(directory / "keys", PASSPHRASE.encode(), work_factor=2**10)
    ledger = bootstrap(settings, keys=keys)
    ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.ECDSA_P256, root_name="root-ca",
                               issuing_name="issuing-ca", organization="Bench Org")
    return ledger


def query_figures(directory: Path, url: str | None, orders: int, count: int) -> None:
    ledger = _ledger(directory, url)
    started = time.monotonic()
    _fill(ledger.read.database, orders)
    print(f"  ({orders:,} orders written in {time.monotonic() - started:.1f} s)", flush=True)
    portal = ledger.tokens.create(ADMIN, name="bench-portal", role=Role.APPLICANT_PORTAL)
    officer = ledger.tokens.create(ADMIN, name="bench-officer", role=Role.OFFICER)
    env = {"CERTLEDGER_DATA_DIR": str(directory), "CERTLEDGER_KEY_PASSPHRASE": PASSPHRASE}
    if url:
        env["CERTLEDGER_DATABASE_URL"] = url
    ledger.close()
    with certledger_serve(env, workers=2) as port:
        queries(port, portal, officer, count, orders)


def flows(directory: Path, clients: int, seconds: float) -> None:
    ledger = _ledger(directory, None)
    portal = ledger.tokens.create(ADMIN, name="bench-portal", role=Role.APPLICANT_PORTAL)
    officer = ledger.tokens.create(ADMIN, name="bench-officer", role=Role.OFFICER)
    ledger.close()
    csr = make_csr(KeyAlgorithm.ECDSA_P256)[1]
    env = {"CERTLEDGER_DATA_DIR": str(directory), "CERTLEDGER_KEY_PASSPHRASE": PASSPHRASE}
    done: list[float] = []
    failures: list[str] = []

    def applicant(index: int, until: float) -> None:
        me, review = Client(port, portal, timeout=60), Client(port, officer, timeout=60)
        n = 0
        while time.monotonic() < until:
            n += 1
            started = time.monotonic()
            try:
                status, _, reply = me.call("POST", "/api/v1/accounts", {
                    "kind": "personal", "username": f"b{index}x{n}", "name": "李四",
                    "contacts": {"phone": "13800138000"}})
                assert status == 201, reply[:200]
                account = json.loads(reply)["id"]
                status, _, reply = me.call("POST", "/api/v1/certificates", {
                    "profile": "personal-signing", "csr": csr, "account_id": account,
                    "subject": {"common_name": "李四"}})
                assert status == 201, reply[:200]
                cid = json.loads(reply)["id"]
                for client, path, body in (
                        (review, f"/api/v1/certificates/{cid}/approve", {}),
                        (me, f"/api/v1/orders/{cid}/payment",
                         {"method": "wechat", "amount": 10000, "reference": f"wx-{n}"}),
                        (review, f"/api/v1/certificates/{cid}/issue", {}),
                        (me, f"/api/v1/orders/{cid}/activation", {})):
                    status, _, reply = client.call("POST", path, body)
                    assert status == 200, (path, reply[:200])
                done.append(time.monotonic() - started)
            except AssertionError as failure:
                failures.append(str(failure))
        me.close()
        review.close()

    with certledger_serve(env, workers=2) as port:
        applicant(0, time.monotonic() + 2)   # warm up
        done.clear()
        started = time.monotonic()
        threads = [threading.Thread(target=applicant, args=(i + 1, started + seconds))
                   for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    print(f"  {len(done)} flows in {elapsed:.1f} s by {clients} clients: "
          f"{len(done) / elapsed:.1f} flows/s; one flow {_percentiles(done)}; "
          f"{len(failures)} failed{': ' + failures[0] if failures else ''}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} (a shared machine: "
          "other work runs beside this)\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-orders-") as temporary:
        print(f"Queries over {args.orders:,} orders, SQLite, certledger serve (2 workers):")
        query_figures(Path(temporary) / "sqlite", None, args.orders, args.queries)
    if not args.skip_postgres:
        schema = f"bench_orders_{os.getpid()}"
        admin = psycopg.connect(POSTGRES_URL, autocommit=True)
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            with tempfile.TemporaryDirectory(prefix="bench-orders-") as temporary:
                print(f"\nQueries over {args.orders:,} orders, PostgreSQL, certledger serve "
                      "(2 workers):")
                query_figures(Path(temporary) / "postgres", f"{POSTGRES_URL}?schema={schema}",
                              args.orders, args.queries)
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            admin.close()
    with tempfile.TemporaryDirectory(prefix="bench-orders-") as temporary:
        print("\nComplete flows (register -> apply -> approve -> pay -> issue -> activate), "
              "ECDSA P-256, SQLite, certledger serve (2 workers):")
        flows(Path(temporary) / "flows", args.clients, args.seconds)
    print(f"\n(load average now {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
