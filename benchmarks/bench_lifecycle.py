"""Full certificate lifecycles (apply -> approve -> issue) per second.

Through the ledger layer and through HTTP (gunicorn), on SQLite and PostgreSQL,
for ECDSA P-256 and RSA-2048 (CA and subscriber keys of the same type). In the
same run: bare pyca/cryptography build+sign of a comparable certificate, as the
ceiling a Python CA could reach, and the ratio to it.

    .venv/bin/python benchmarks/bench_lifecycle.py [--count 300] [--processes 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from api.bootstrap import bootstrap  # noqa: E402
from api.settings import Settings  # noqa: E402
from ca.encoding.algorithms import KeyAlgorithm  # noqa: E402
from ca.keys.keystore import KeyStore  # noqa: E402
from domain.actors import Actor, Role  # noqa: E402
from tests.helpers import make_csr, private_key_for  # noqa: E402

PG = os.environ.get("CERTLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PASSPHRASE = b"benchmark passphrase only"
OFFICER = Actor("bench-officer", Role.OFFICER)
PORTAL = Actor("bench-portal", Role.APPLICANT_PORTAL)  # applies; the officer reviews
SUBJECT = {"dns_names": ["bench.example.cn"]}


def _settings(data_dir: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url,
                    public_base_url="http://127.0.0.1:8080", default_issuer="issuing-ca",
                    accept_empty_sm2_id=False)


def _service(settings: Settings) -> Any:
    return bootstrap(settings, keys=KeyStore(settings.data_dir / "keys", PASSPHRASE))


def _database(backend: str, data_dir: Path) -> tuple[str | None, Any]:
    if backend == "sqlite":
        return None, lambda: None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(PG, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return f"{PG}?schema={schema}", drop


def _lifecycles(settings: Settings, csr: str, count: int) -> None:
    ledger = _service(settings)
    try:
        for _ in range(count):
            cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr,
                                            subject=SUBJECT)
            ledger.certificates.approve(OFFICER, cid)
            ledger.certificates.issue(OFFICER, cid)
    finally:
        ledger.close()


def bench_service(backend: str, algorithm: KeyAlgorithm, count: int, processes: int) -> float:
    data_dir = Path(tempfile.mkdtemp(prefix="certledger-bench-"))
    database_url, drop = _database(backend, data_dir)
    try:
        settings = _settings(data_dir, database_url)
        ledger = _service(settings)
        ledger.hierarchy.establish(
            OFFICER, algorithm=algorithm, root_name="root-ca", issuing_name="issuing-ca",
            organization="Bench")
        ledger.close()
        csr = make_csr(algorithm)[1]
        _lifecycles(settings, csr, 5)  # warm up: imports, validators, key unsealing
        per_process = count // processes
        start = time.perf_counter()
        if processes == 1:
            _lifecycles(settings, csr, per_process)
        else:
            context = multiprocessing.get_context("fork")
            workers = [context.Process(target=_lifecycles, args=(settings, csr, per_process))
                       for _ in range(processes)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
                if worker.exitcode != 0:
                    raise RuntimeError("a benchmark worker failed")
        return per_process * processes / (time.perf_counter() - start)
    finally:
        drop()
        shutil.rmtree(data_dir, ignore_errors=True)


def bench_bare_cryptography(algorithm: KeyAlgorithm, seconds: float = 2.0) -> float:
    """Build and sign a comparable leaf with CertificateBuilder: no events, no lint."""
    ca_key = private_key_for(algorithm)
    leaf_key = private_key_for(algorithm).public_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench Issuing CA")])
    now = dt.datetime.now(dt.timezone.utc)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        builder = (x509.CertificateBuilder().subject_name(x509.Name([]))
                   .issuer_name(name).public_key(leaf_key)
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + dt.timedelta(days=90))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.DNSName("bench.example.cn")]), True))
        builder.sign(ca_key, hashes.SHA256())
        done += 1
    return done / (time.perf_counter() - start)


def bench_http(backend: str, algorithm: KeyAlgorithm, count: int, clients: int) -> float:
    data_dir = Path(tempfile.mkdtemp(prefix="certledger-bench-http-"))
    database_url, drop = _database(backend, data_dir)
    env = {**os.environ, "CERTLEDGER_DATA_DIR": str(data_dir),
           "CERTLEDGER_KEY_PASSPHRASE": PASSPHRASE.decode()}
    if database_url:
        env["CERTLEDGER_DATABASE_URL"] = database_url
    cli = [sys.executable, "-m", "api.cli"]
    root = Path(__file__).resolve().parents[1]
    port = 18000 + os.getpid() % 1000
    server = None
    try:
        subprocess.run([*cli, "init", "--algorithm", algorithm.value], env=env, check=True,
                       cwd=root, capture_output=True)
        token = subprocess.run([*cli, "token", "create", "--role", "officer", "--portals", "*",
                                "--name", "bench"],
                               env=env, check=True, cwd=root, capture_output=True,
                               text=True).stdout.strip()
        portal = subprocess.run([*cli, "token", "create", "--role", "applicant-portal",
                                 "--name", "bench-portal"],   # applies; the officer reviews
                                env=env, check=True, cwd=root, capture_output=True,
                                text=True).stdout.strip()
        server = subprocess.Popen([*cli, "serve", "--bind", f"127.0.0.1:{port}", "--workers",
                                   "2", "--threads", "4"], env=env, cwd=root,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(port)
        body = json.dumps({"profile": "tls-server", "csr": make_csr(algorithm)[1],
                           "subject": SUBJECT})
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def client(n: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for _ in range(n):
                connection.request("POST", "/api/v1/certificates", body,
                                   {**headers, "Authorization": f"Bearer {portal}"})
                response = connection.getresponse()
                cid = json.loads(response.read())["id"]
                for step in ("approve", "issue"):
                    connection.request("POST", f"/api/v1/certificates/{cid}/{step}", "",
                                       {"Authorization": headers["Authorization"]})
                    reply = connection.getresponse()
                    reply.read()
                    if reply.status != 200:
                        raise RuntimeError(f"{step} answered {reply.status}")

        client(3)  # warm up both workers
        per_client = count // clients
        threads = [threading.Thread(target=client, args=(per_client,)) for _ in range(clients)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return per_client * clients / (time.perf_counter() - start)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        drop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _wait_for(port: int) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    print(f"lifecycles (apply -> approve -> issue), {args.count} per figure, "
          f"{os.cpu_count()} cores")
    print(f"{'layer':<8} {'backend':<9} {'algorithm':<11} {'1 proc/s':>9} "
          f"{str(args.processes) + ' procs/s':>10} {'bare crypto/s':>14} {'ratio':>7}")
    for algorithm in (KeyAlgorithm.ECDSA_P256, KeyAlgorithm.RSA_2048):
        bare = bench_bare_cryptography(algorithm)
        for backend in ("sqlite", "postgres"):
            one = bench_service(backend, algorithm, args.count, 1)
            many = bench_service(backend, algorithm, args.count, args.processes)
            print(f"{'ledger':<8} {backend:<9} {algorithm.value:<11} {one:>9.0f} {many:>10.0f} "
                  f"{bare:>14.0f} {max(one, many) / bare:>7.3f}", flush=True)
            over_http = bench_http(backend, algorithm, args.count, 8)
            print(f"{'http':<8} {backend:<9} {algorithm.value:<11} {'':>9} {over_http:>10.0f} "
                  f"{bare:>14.0f} {over_http / bare:>7.3f}   (gunicorn 2x4, 8 clients)",
                  flush=True)


if __name__ == "__main__":
    main()
