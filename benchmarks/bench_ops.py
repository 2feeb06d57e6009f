"""Operations figures of the production front end (``certledger serve``, 2 workers) on
PostgreSQL, reached through a TCP proxy this benchmark controls:

- the RA API's latency (p50, p99) with nothing else running, and under a mixed load:
  ``hey -c 8`` posting OCSP requests the whole time while 4 portal threads apply,
  approve, issue and read certificates;
- a database outage: the proxy killed (connections reset, new ones refused) and brought
  back, three times: how long a write takes to get its 503, and from the proxy's return
  to the first write that succeeds (no restart).

    .venv/bin/python benchmarks/bench_ops.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from api.bootstrap import bootstrap  # noqa: E402
from api.settings import Settings  # noqa: E402
from benchmarks.peers import certledger_serve  # noqa: E402
from ca.encoding.algorithms import KeyAlgorithm  # noqa: E402
from ca.keys.keystore import KeyStore  # noqa: E402
from domain.actors import Actor, Role  # noqa: E402
from tests.front_helpers import Client, ocsp_request_for  # noqa: E402
from tests.helpers import make_csr  # noqa: E402
from tests.tcp_proxy import TcpProxy  # noqa: E402

PASSPHRASE = "benchmark passphrase, not a secret"
POSTGRES_URL = os.environ.get("CERTLEDGER_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
ADMIN = Actor("bench-admin", Role.ADMIN)
CSR = make_csr(KeyAlgorithm.ECDSA_P256)[1]


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return (f"p50 {statistics.median(ordered) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms   "
            f"({len(ordered)} calls)")


def _portal(port: int, tokens: tuple[str, str], until: float, timings: list[float],
            index: int) -> None:
    """Apply with the first token, review and issue with the second (never the same)."""
    client, reviewer = Client(port, tokens[0], timeout=30), Client(port, tokens[1], timeout=30)
    body = {"profile": "tls-server", "csr": CSR,
            "subject": {"dns_names": [f"load{index}.example.cn"]}}
    while time.monotonic() < until:
        for step in ("apply", "approve", "issue", "get"):
            started = time.monotonic()
            if step == "apply":
                status, _, reply = client.call("POST", "/api/v1/certificates", body)
                cid = json.loads(reply)["id"] if status == 201 else None
            elif cid is None:
                break
            elif step == "get":
                status, _, _ = client.call("GET", f"/api/v1/certificates/{cid}")
            else:
                status, _, _ = reviewer.call("POST", f"/api/v1/certificates/{cid}/{step}")
            timings.append(time.monotonic() - started)
            assert status in (200, 201), status
    client.close()
    reviewer.close()


def api_latency(port: int, tokens: tuple[str, str], seconds: float,
                ocsp_body: Path | None) -> str:
    timings: list[float] = []
    load = None
    if ocsp_body is not None:
        load = subprocess.Popen(
            ["hey", "-c", "8", "-z", f"{seconds + 2:.0f}s", "-m", "POST", "-T",
             "application/ocsp-request", "-D", str(ocsp_body), f"http://127.0.0.1:{port}/ocsp"],
            stdout=subprocess.PIPE, text=True)
        time.sleep(1)
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=_portal, args=(port, tokens, until, timings, index))
               for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    extra = ""
    if load is not None:
        output = load.communicate()[0]
        rate = next((line.split()[1] for line in output.splitlines()
                     if "Requests/sec" in line), "?")
        extra = f"; OCSP meanwhile {float(rate):,.0f} req/s"
    return _percentiles(timings) + extra


def outage(port: int, token: str, proxy: TcpProxy, rounds: int = 3) -> None:
    client = Client(port, token, timeout=60)
    body = {"profile": "tls-server", "csr": CSR, "subject": {"dns_names": ["o.example.cn"]}}
    for round_number in range(1, rounds + 1):
        assert client.call("POST", "/api/v1/certificates", body)[0] == 201
        proxy.down()
        started = time.monotonic()
        status = client.call("POST", "/api/v1/certificates", body)[0]
        to_503 = time.monotonic() - started
        ready = client.call("GET", "/readyz")[0]
        time.sleep(2)
        proxy.up()
        back = time.monotonic()
        attempts = 0
        while client.call("POST", "/api/v1/certificates", body)[0] != 201:
            attempts += 1
            time.sleep(0.05)
        to_recovery = time.monotonic() - back
        print(f"  round {round_number}: write during the outage: HTTP {status} after "
              f"{to_503 * 1000:.0f} ms (/readyz {ready}); first write that succeeds "
              f"{to_recovery * 1000:.0f} ms after the proxy is back ({attempts} refused "
              "before)", flush=True)
    client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    schema = f"bench_ops_{os.getpid()}"
    admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')
    proxy = TcpProxy().up()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ops-") as temporary:
            directory = Path(temporary)
            url = f"{POSTGRES_URL}?schema={schema}"
            settings = Settings(data_dir=directory, database_url=url)
            keys = KeyStore(directory / "keys", PASSPHRASE.encode(), work_factor=2**10)
            ledger = bootstrap(settings, keys=keys)
            ledger.hierarchy.establish(ADMIN, algorithm=KeyAlgorithm.ECDSA_P256,
                                       root_name="root-ca", issuing_name="issuing-ca",
                                       organization="Bench Org")
            token = ledger.tokens.create(ADMIN, name="bench-portal", role=Role.ADMIN)
            reviewer = ledger.tokens.create(ADMIN, name="bench-reviewer", role=Role.ADMIN)
            via_proxy = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
            env = {"CERTLEDGER_DATA_DIR": str(directory), "CERTLEDGER_DATABASE_URL": via_proxy,
                   "CERTLEDGER_KEY_PASSPHRASE": PASSPHRASE}
            print(f"{os.cpu_count()} CPUs; certledger serve, 2 workers, PostgreSQL through a "
                  f"proxy; load average {os.getloadavg()[0]:.2f}\n", flush=True)
            with certledger_serve(env, workers=2) as port:
                client = Client(port, token)
                certificate = None
                while certificate is None:
                    status, _, reply = client.call("POST", "/api/v1/certificates", {
                        "profile": "tls-server", "csr": CSR,
                        "subject": {"dns_names": ["ocsp.example.cn"]}})
                    certificate = json.loads(reply)["id"]
                review = Client(port, reviewer)  # whoever applies never approves
                review.call("POST", f"/api/v1/certificates/{certificate}/approve")
                issued = json.loads(
                    review.call("POST", f"/api/v1/certificates/{certificate}/issue")[2])
                review.close()
                request = ocsp_request_for(ledger, int(issued["serial_number"], 16))
                while client.ocsp(request) != "good":
                    time.sleep(0.2)
                body = directory / "ocsp.der"
                body.write_bytes(request)
                client.close()
                print("RA API (apply, approve, issue, get; 4 portals):")
                pair = (token, reviewer)
                print(f"  alone:                  {api_latency(port, pair, args.seconds, None)}")
                print(f"  beside an OCSP load:    {api_latency(port, pair, args.seconds, body)}")
                print(f"  (load average now {os.getloadavg()[0]:.2f})")
                print("\nPostgreSQL outage (proxy killed for 2 s, then back):", flush=True)
                outage(port, token, proxy)
            ledger.close()
    finally:
        proxy.down()
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
