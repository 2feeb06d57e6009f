"""Issue 10's figures: the expiry-notice job over 1,000,000 issued certificates (synthetic
rows in the certificate index read model, inserted in bulk; notAfter spread evenly over
the next two years, every 50th revoked) on SQLite and PostgreSQL: the first run (every
certificate due within 30 days gets a notice: an event each) and an incremental run a
day later (only what became due that day); and binding checks per second through HTTP
(``certledger serve`` with 2 workers, ``hey -c 16``), SQLite.

Targets: first run <= 20 s, incremental <= 1 s, >= 1,000 binding checks/s.

    .venv/bin/python benchmarks/bench_notices.py [--certificates 1000000] [--seconds 10]
        [--skip-postgres] [--skip-http] [--skip-notices]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

from api.bootstrap import CertLedger, bootstrap  # noqa: E402
from api.settings import Settings  # noqa: E402
from benchmarks.peers import certledger_serve  # noqa: E402
from ca.applications.notices import ExpiryNotices  # noqa: E402
from ca.encoding.algorithms import KeyAlgorithm  # noqa: E402
from ca.keys.keystore import KeyStore  # noqa: E402
from domain.actors import Actor, Role  # noqa: E402
from projections.expiry_index import ExpiryIndexStore  # noqa: E402
from tests.helpers import make_csr  # noqa: E402

POSTGRES_URL = os.environ.get("CERTLEDGER_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
PASSPHRASE = b"benchmark passphrase only"
ADMIN = Actor("bench-admin", Role.ADMIN)
COLUMNS = ("certificate_id", "portal", "account_id", "issuer", "status", "serial_hex",
           "not_before", "not_after", "applied_at", "updated_at", "position",
           "issued_position")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _rows(count: int, now: int) -> Any:
    rng = random.Random(10)
    stamp = datetime.fromtimestamp(now, UTC).isoformat()
    for i in range(1, count + 1):
        status = "revoked" if i % 50 == 0 else "issued"
        yield (str(uuid.UUID(int=rng.getrandbits(128), version=4)), "default",
               f"acct-{i % 100_000}", "issuing-ca", status, format(i, "x"), now - 86400,
               now + rng.randint(60, 730 * 86400), stamp, stamp, i, i)


def _fill(ledger: CertLedger, count: int, now: int) -> float:
    database = ledger.read.database
    start = time.perf_counter()
    placeholders = ", ".join("?" for _ in COLUMNS)
    if database.dialect == "sqlite":
        with database.transaction() as tx:
            tx.executemany(f"INSERT INTO rm_cert_index ({', '.join(COLUMNS)}) VALUES "
                           f"({placeholders})", list(_rows(count, now)))
    else:
        url = database.postgres_url
        assert url is not None
        with psycopg.connect(url) as connection:
            connection.execute(f'SET search_path TO "{database.schema}"')
            with connection.cursor() as cursor:
                with cursor.copy(f"COPY rm_cert_index ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in _rows(count, now):
                        copy.write_row(row)
            connection.execute("ANALYZE rm_cert_index")
    return time.perf_counter() - start


def notices(name: str, database_url: str | None, directory: Path, count: int) -> None:
    settings = Settings(data_dir=directory, database_url=database_url)
    ledger = bootstrap(settings, keys=KeyStore(directory / "keys", PASSPHRASE,
                                               work_factor=2**10))
    try:
        clock = Clock()
        filled = _fill(ledger, count, int(clock.now.timestamp()))
        job = ExpiryNotices(ledger.log, ExpiryIndexStore(ledger.read.database), clock)
        start = time.perf_counter()
        first = job.run()
        first_s = time.perf_counter() - start
        clock.now += timedelta(days=1)
        start = time.perf_counter()
        second = job.run()
        second_s = time.perf_counter() - start
        print(f"{name:<10} {count:,} certificates (inserted in {filled:.1f} s)\n"
              f"           first run       {first_s:6.2f} s  ({first.due:,} due, "
              f"{first.sent:,} notices recorded)  target <= 20 s\n"
              f"           a day later     {second_s:6.2f} s  ({second.due:,} due, "
              f"{second.sent:,} notices recorded)  target <= 1 s", flush=True)
    finally:
        ledger.close()


def bindings(directory: Path, seconds: int, workers: int) -> None:
    settings = Settings(data_dir=directory)
    ledger = bootstrap(settings, keys=KeyStore(directory / "keys", PASSPHRASE,
                                               work_factor=2**10))
    ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.ECDSA_P256, root_name="root-ca",
                               issuing_name="issuing-ca", organization="Bench")
    portal = Actor("bench-portal", Role.APPLICANT_PORTAL)
    officer = Actor("bench-officer", Role.OFFICER)
    token = ledger.tokens.create(ADMIN, name="bench-portal", role=Role.APPLICANT_PORTAL)
    account = ledger.accounts.register(portal, kind="personal", username="bench.user",
                                       name="张三", contacts={"phone": "13800138000"})
    cid = ledger.certificates.apply(portal, csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                    profile="tls-server", account_id=str(account),
                                    subject={"dns_names": ["bench.example.cn"]})
    ledger.certificates.approve(officer, cid)
    der = ledger.certificates.issue(officer, cid).certificate_der
    assert der is not None
    ledger.read.runner.catch_up()
    ledger.close()
    import base64

    body = directory / "binding.json"
    body.write_text(json.dumps({"username": "bench.user",
                                "certificate": base64.b64encode(der).decode()}))
    env = {"CERTLEDGER_DATA_DIR": str(directory),
           "CERTLEDGER_KEY_PASSPHRASE": PASSPHRASE.decode(), "CERTLEDGER_LOG_FORMAT": "text"}
    with certledger_serve(env, workers=workers) as port:
        url = f"http://127.0.0.1:{port}/api/v1/bindings/verify"
        request = urllib.request.Request(url, data=body.read_bytes(), method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            answer = json.load(reply)
        assert answer["allowed"] is True, answer  # the checks measured are real ones
        command = ["hey", "-c", "16", "-m", "POST", "-T", "application/json",
                   "-H", f"Authorization: Bearer {token}", "-D", str(body)]
        subprocess.run([*command, "-z", "2s", url], capture_output=True, check=True)  # warm-up
        output = subprocess.run([*command, "-z", f"{seconds}s", url], capture_output=True,
                                text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    codes = ", ".join(f"HTTP {code}: {number}" for code, number
                      in re.findall(r"\[(\d{3})\]\s+(\d+) responses", output))
    print(f"binding checks through HTTP ({workers} workers, hey -c 16, {seconds} s, SQLite): "
          f"{rate:,.0f}/s ({codes})  target >= 1,000/s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-notices", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; thresholds 30, 7, 1 days\n", flush=True)
    directory = Path(tempfile.mkdtemp(prefix="bench-notices-"))
    try:
        if not args.skip_notices:
            notices("SQLite", None, directory / "sqlite", args.certificates)
        if not args.skip_postgres and not args.skip_notices:
            schema = f"bench_notices_{os.getpid()}"
            with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{schema}"')
            try:
                notices("PostgreSQL", f"{POSTGRES_URL}?schema={schema}",
                        directory / "postgres", args.certificates)
            finally:
                with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
                    connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        if not args.skip_http and shutil.which("hey"):
            bindings(directory / "http", args.seconds, args.workers)
        return 0
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
