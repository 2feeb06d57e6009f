"""OCSP serving: ours against nginx, ``openssl ocsp -index`` and cfssl ``ocspserve``, same
load, same run.

    .venv/bin/python benchmarks/bench_ocsp.py [--seconds 10] [--certificates 100]
        [--workers 2] [--latency-samples 30] [--skip-postgres]

One ECDSA P-256 CA (made through the ledger, on SQLite) issues ``--certificates``
certificates and revokes every fifth. Then, each in turn on loopback with
``hey -c 16 -z <seconds>`` and the same single-certificate request without nonce:

- the harness's own limit: Debian's nginx (``nginx-light``, 2 worker processes)
  answering every request ``return 200`` with a fixed body of the response's size;
- ours in production: ``certledger serve`` (the event-loop front end, 2 workers),
  POST and GET, then POST again with 50 slow connections held open beside the load;
- ours: ``certledger ocsp serve`` (pre-signed responses from the read model), POST and
  RFC 5019 GET, with each ``--workers`` count;
- ``openssl ocsp -index index.txt -port ... -rsigner ... -rkey ... -CA ...`` over an
  index of the same certificates, with our responder certificate and key (it signs every
  response on demand);
- ``cfssl ocspserve -responses FILE`` over our pre-signed responses (Go, from memory).

Then the revocation-to-OCSP latency, on SQLite and PostgreSQL: a revocation committed
through the ledger, the projection runner in a thread (as in the API process), our
server in its own process polling the read model every 100 ms, and a client asking
every 2 ms until it says "revoked"; p50 and p99 over ``--latency-samples`` revocations.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asn1crypto import ocsp as asn1_ocsp  # noqa: E402
from asn1crypto.pem import armor  # noqa: E402

from api.bootstrap import bootstrap  # noqa: E402
from api.settings import Settings  # noqa: E402
from benchmarks.peers import (  # noqa: E402
    certledger_serve,
    free_port,
    nginx_fixed_body,
    wait_for_port,
)
from ca.keys.keystore import KeyStore  # noqa: E402
from domain.actors import Actor, Role  # noqa: E402
from domain.reasons import RevocationReason  # noqa: E402
from tests.front_helpers import SlowClients  # noqa: E402
from tests.helpers import make_csr  # noqa: E402
from tests.ocsp_helpers import ocsp_request  # noqa: E402

PASSPHRASE = "benchmark passphrase, not a secret"
POSTGRES_URL = os.environ.get("CERTLEDGER_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
ADMIN, OFFICER, PORTAL = (Actor("bench-admin", Role.ADMIN), Actor("bench-officer", Role.OFFICER),
                          Actor("bench-portal", Role.APPLICANT_PORTAL))


def _wait_for_answers(url: str, request: bytes, process: subprocess.Popen[Any]) -> None:
    """For ``openssl ocsp``, which hangs on a connection closed without a request (so no
    port probing): retry a real request until it is answered."""
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            _check(url, request)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Pki:
    """A ledger with a hierarchy, certificates, some revoked, projected into the read model."""

    def __init__(self, directory: Path, database_url: str | None, count: int) -> None:
        self.settings = Settings(data_dir=directory, database_url=database_url,
                                 public_base_url="http://127.0.0.1:8080",
                                 default_issuer="issuing-ca", accept_empty_sm2_id=False)
        keystore = KeyStore(directory / "keys", PASSPHRASE.encode(), work_factor=2**10)
        self.ledger = bootstrap(self.settings, keys=keystore)
        self.ledger.hierarchy.establish(ADMIN, algorithm=_algorithm(), root_name="root-ca",
                                         issuing_name="issuing-ca", organization="Bench Org")
        self.read = self.ledger.read
        self.database = self.read.database
        self.runner = self.read.runner
        self.certificates = [self.issue(index) for index in range(count)]
        for certificate in self.certificates[::5]:
            self.ledger.certificates.revoke(OFFICER, certificate.id,
                                            RevocationReason.KEY_COMPROMISE)
        self.settle()

    def settle(self) -> None:
        """What the processes of a server do: project, certify the responder, sign."""
        for process in self.read.processes.processes.values():
            self.runner.catch_up()
            process.run()
        self.runner.catch_up()
        self.read.ocsp_signing.run()

    def issue(self, index: int) -> Any:
        _, csr = make_csr(_algorithm(), common_name=f"bench {index}")
        cid = self.ledger.certificates.apply(PORTAL, profile="personal-signing", csr=csr,
                                             subject={"common_name": f"bench {index}"})
        self.ledger.certificates.approve(OFFICER, cid)
        return self.ledger.certificates.issue(OFFICER, cid)

    def request(self, certificate: Any) -> bytes:
        from ca.encoding.ocsp_responses import encode_cert_id, issuer_hashes

        hashes = issuer_hashes(self.ledger.hierarchy.get("issuing-ca").certificate_der)
        return ocsp_request(encode_cert_id("sha1", *hashes["sha1"], certificate.serial_number))

    def serve(self, workers: int) -> tuple[subprocess.Popen[Any], int]:
        port = free_port()
        env = {**os.environ, "CERTLEDGER_DATA_DIR": str(self.settings.data_dir),
               "CERTLEDGER_KEY_PASSPHRASE": PASSPHRASE}
        if self.settings.database_url:
            env["CERTLEDGER_DATABASE_URL"] = self.settings.database_url
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "certledger"), "ocsp", "serve", "--bind",
             f"127.0.0.1:{port}", "--workers", str(workers), "--maintain-seconds", "0"],
            env=env, stdout=subprocess.DEVNULL)
        wait_for_port(port, process)
        return process, port


def _algorithm() -> Any:
    from ca.encoding.algorithms import KeyAlgorithm

    return KeyAlgorithm.ECDSA_P256


def hey(url: str, seconds: int, body: Path | None = None) -> tuple[float, str]:
    command = ["hey", "-c", "16", "-z", f"{seconds}s"]
    if body is not None:
        command += ["-m", "POST", "-T", "application/ocsp-request", "-D", str(body)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    codes = ", ".join(f"HTTP {code}: {count}" for code, count
                      in re.findall(r"\[(\d{3})\]\s+(\d+) responses", output))
    return rate, codes


def _check(url: str, body: bytes) -> str:
    """One request by hand: the OCSP status the server answers."""
    host, port = url.split("/")[2].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("POST", "/" + url.split("/", 3)[3].rstrip("/"), body,
                       {"Content-Type": "application/ocsp-request"})
    reply = connection.getresponse().read()
    connection.close()
    response = asn1_ocsp.OCSPResponse.load(reply)
    if response["response_status"].native != "successful":
        return response["response_status"].native
    data = response.basic_ocsp_response["tbs_response_data"]
    return str(data["responses"][0]["cert_status"].name)


def _check_get(url: str) -> str:
    host, port = url.split("/")[2].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/" + url.split("/", 3)[3])
    reply = connection.getresponse()
    body = reply.read()
    connection.close()
    if reply.status != 200:
        return f"HTTP {reply.status} to GET"
    response = asn1_ocsp.OCSPResponse.load(body)
    return str(response.basic_ocsp_response["tbs_response_data"]["responses"][0][
        "cert_status"].name)


def throughput(pki: Pki, directory: Path, seconds: int, worker_counts: list[int]) -> None:
    good = pki.certificates[1]
    request = pki.request(good)
    request_path = directory / "request.der"
    request_path.write_bytes(request)
    results: dict[str, float] = {}

    def measure(label: str, url: str, body: Path | None, *, ocsp: bool = True) -> None:
        status = "a fixed body"
        if ocsp:
            status = _check(url, request) if body is not None else _check_get(url)
        if status.startswith("HTTP"):
            print(f"{label:<44} {'n/a':>10}         ({status})", flush=True)
            return
        load = os.getloadavg()[0]
        rate, codes = hey(url, seconds, body)
        results[label] = rate
        print(f"{label:<44} {rate:>10,.0f} req/s   ({codes}; answers {status}; "
              f"load {load:.2f})", flush=True)

    get_path = quote(base64.b64encode(request).decode(), safe="")
    size = len(pki.ledger.read.database.query(
        "SELECT response_sha1 FROM rm_ocsp_status WHERE serial_hex = ?",
        (format(good.serial_number, "x"),))[0][0])
    with nginx_fixed_body(size, workers=2) as port:
        measure(f"nginx-light return 200 ({size} B), 2w", f"http://127.0.0.1:{port}/ocsp",
                request_path, ocsp=False)
    env = {"CERTLEDGER_DATA_DIR": str(pki.settings.data_dir),
           "CERTLEDGER_KEY_PASSPHRASE": PASSPHRASE, "CERTLEDGER_LOG_FORMAT": "json",
           # the slow connections stay for the whole measurement (not closed at 10 s)
           "CERTLEDGER_HTTP_HEADER_TIMEOUT": "120", "CERTLEDGER_HTTP_BODY_TIMEOUT": "120"}
    with certledger_serve(env, workers=2) as port:
        url = f"http://127.0.0.1:{port}/ocsp"
        deadline = time.monotonic() + 30
        while _check(url, request) != "good" and time.monotonic() < deadline:
            time.sleep(0.2)  # the workers load the pre-signed responses
        while time.monotonic() < deadline:  # the start-up work (responders, CRLs) is done
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5):
                    break
            except OSError:
                time.sleep(0.2)
        hey(url, 2, request_path)  # warm-up, not counted
        measure("certledger serve (front end), 2w, POST", url, request_path)
        measure("certledger serve (front end), 2w, GET", f"{url}/{get_path}", None)
        slow = SlowClients(port, 50, every=1.0, seconds=seconds * 3)
        try:
            time.sleep(1.0)
            measure("certledger serve, 2w, POST, 50 slow conns", url, request_path)
            print(f"{'':<44} (slow connections still open: {slow.still_open()} of 50)")
        finally:
            slow.stop()
    for workers in worker_counts:
        process, port = pki.serve(workers)
        try:
            measure(f"certledger ocsp serve, {workers}w, POST", f"http://127.0.0.1:{port}/ocsp",
                    request_path)
            measure(f"certledger ocsp serve, {workers}w, GET",
                    f"http://127.0.0.1:{port}/ocsp/{get_path}", None)
        finally:
            _stop(process)

    files = _peer_files(pki, directory)
    port = free_port()
    openssl = subprocess.Popen(
        ["openssl", "ocsp", "-index", str(files["index"]), "-port", str(port), "-rsigner",
         str(files["responder"]), "-rkey", str(files["key"]), "-CA", str(files["issuing"]),
         "-nmin", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_answers(f"http://127.0.0.1:{port}/", request, openssl)
        measure("openssl ocsp -index (signs each)", f"http://127.0.0.1:{port}/", request_path)
    finally:
        _stop(openssl)
    port = free_port()
    cfssl = subprocess.Popen(["cfssl", "ocspserve", "-port", str(port), "-responses",
                              str(files["responses"]), "-loglevel", "5"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, cfssl)
        measure("cfssl ocspserve (pre-signed)", f"http://127.0.0.1:{port}/", request_path)
        # cfssl ocspserve decodes a GET path with its leading '/' (and '+' as ' '): HTTP 400
        measure("cfssl ocspserve (pre-signed), GET", f"http://127.0.0.1:{port}/{get_path}",
                None)
    finally:
        _stop(cfssl)

    front = results["certledger serve (front end), 2w, POST"]
    nginx = next(rate for label, rate in results.items() if label.startswith("nginx"))
    openssl_rate = results["openssl ocsp -index (signs each)"]
    cfssl_rate = results["cfssl ocspserve (pre-signed)"]
    slow = results["certledger serve, 2w, POST, 50 slow conns"]
    print(f"\nfront end / nginx fixed body:          {front / nginx:.2f}x   (target >= 0.8x)")
    print(f"front end / openssl ocsp:              {front / openssl_rate:.2f}x   "
          "(target >= 2.5x)")
    print(f"front end / cfssl ocspserve:           {front / cfssl_rate:.2f}x")
    print(f"front end, 50 slow conns / without:    {slow / front:.2f}x", flush=True)


def _peer_files(pki: Pki, directory: Path) -> dict[str, Path]:
    """index.txt for openssl, a responses file for cfssl, the CA and responder as PEM."""
    from cryptography.hazmat.primitives import serialization

    responder = pki.ledger.responders.certify_or_rotate("issuing-ca")
    files = {"issuing": directory / "issuing.pem", "responder": directory / "responder.pem",
             "key": directory / "responder.key", "index": directory / "index.txt",
             "responses": directory / "responses.txt"}
    files["issuing"].write_bytes(armor("CERTIFICATE", pki.ledger.hierarchy.chain("issuing-ca")[0]))
    files["responder"].write_bytes(armor("CERTIFICATE", responder.certificate_der))
    key_der = responder.signer.private_key_der()  # type: ignore[attr-defined]
    key = serialization.load_der_private_key(key_der, None)
    files["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    files["key"].chmod(0o600)
    lines = []
    for certificate in pki.certificates:
        state = pki.ledger.certificates.get(certificate.id)
        expiry = state.not_after.strftime("%y%m%d%H%M%SZ")
        serial = format(state.serial_number, "X")
        if len(serial) % 2:
            serial = "0" + serial
        revoked = ""
        if state.revocation_time is not None:
            revoked = state.revocation_time.strftime("%y%m%d%H%M%SZ") + ",keyCompromise"
        lines.append(f"{'R' if revoked else 'V'}\t{expiry}\t{revoked}\t{serial}\tunknown\t"
                     f"/CN=bench")
    files["index"].write_text("\n".join(lines) + "\n")
    (directory / "index.txt.attr").write_text("unique_subject = no\n")
    rows = pki.database.query("SELECT response_sha1 FROM rm_ocsp_status")
    files["responses"].write_text("".join(base64.b64encode(bytes(r[0])).decode() + "\n"
                                          for r in rows))
    return files


def latency(pki: Pki, samples: int) -> tuple[float, float]:
    """Milliseconds from a committed revocation to our server answering "revoked"."""
    targets = [pki.issue(1000 + index) for index in range(samples)]
    pki.read.start()
    process, port = pki.serve(1)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    timings = []
    try:
        warm = pki.request(targets[0])
        deadline = time.monotonic() + 30
        while _ask(connection, warm) != "good":  # the runner and server have caught up
            if time.monotonic() > deadline:
                raise RuntimeError("the server never answered good")
            time.sleep(0.05)
        for certificate in targets:
            request = pki.request(certificate)
            pki.ledger.certificates.revoke(OFFICER, certificate.id, RevocationReason.SUPERSEDED)
            committed = time.monotonic()
            while _ask(connection, request) != "revoked":
                if time.monotonic() - committed > 10:
                    raise RuntimeError("a revocation did not reach OCSP in 10 s")
                time.sleep(0.002)
            timings.append((time.monotonic() - committed) * 1000)
            time.sleep(0.05)
    finally:
        connection.close()
        _stop(process)
        pki.read.stop()
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1,
                                                   int(len(timings) * 0.99))]


def _ask(connection: http.client.HTTPConnection, request: bytes) -> str:
    connection.request("POST", "/ocsp", request, {"Content-Type": "application/ocsp-request"})
    response = asn1_ocsp.OCSPResponse.load(connection.getresponse().read())
    if response["response_status"].native != "successful":
        return str(response["response_status"].native)
    return str(response.basic_ocsp_response["tbs_response_data"]["responses"][0][
        "cert_status"].name)


def _postgres_schema() -> tuple[str, Any]:
    import psycopg

    schema = f"bench_ocsp_{os.getpid()}"
    connection = psycopg.connect(POSTGRES_URL, autocommit=True)
    connection.execute(f'CREATE SCHEMA "{schema}"')
    return schema, connection


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--certificates", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--latency-samples", type=int, default=30)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    for tool in ("hey", "openssl", "cfssl", "nginx"):
        if shutil.which(tool) is None:
            print(f"bench_ocsp: {tool} is not installed", file=sys.stderr)
            return 2
    print(f"{os.cpu_count()} CPUs; hey -c 16 -z {args.seconds}s on loopback; "
          f"{args.certificates} ECDSA P-256 certificates, every fifth revoked\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-ocsp-") as temporary:
        directory = Path(temporary)
        pki = Pki(directory / "sqlite", None, args.certificates)
        throughput(pki, directory, args.seconds, args.workers)
        print("\nrevocation committed -> OCSP says revoked (runner thread, server process):")
        p50, p99 = latency(pki, args.latency_samples)
        print(f"  SQLite      p50 {p50:6.1f} ms   p99 {p99:6.1f} ms", flush=True)
        if not args.skip_postgres:
            schema, connection = _postgres_schema()
            try:
                url = f"{POSTGRES_URL}?schema={schema}"
                postgres = Pki(directory / "postgres", url, 5)
                p50, p99 = latency(postgres, args.latency_samples)
                print(f"  PostgreSQL  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms", flush=True)
            finally:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
                connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
