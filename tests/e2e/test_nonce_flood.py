"""A flood of OCSP requests with a nonce, signed on demand with SM2 on the pure-Python
backend (gmssl: milliseconds of CPU and GIL a signature), leaves pre-signed answers fast:
the signing runs in a signing process, never on the event loop, and past the cap of
requests in progress the flood gets tryLater at once. Through the production front end
(``certledger serve``, one worker).

What the test asserts holds on any machine: under the flood the p99 of pre-signed answers
stays below the time of one gmssl signature timed here and now, which it could not if
pre-signed answers waited for signatures on the loop (with the loop signing all the time,
the p99 wait is most of a signature, and 8 may be in progress at once).
How far the flood moves that p99 (the issue's "at most 2x") is a performance figure, so it
is measured by ``benchmarks/bench_nonce_flood.py`` (``make bench``), not here: on a shared
CI machine sub-millisecond p99s drift by more than 2x with what else runs."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from api.bootstrap import CertLedger
from api.settings import Settings
from ca.encoding.algorithms import KeyAlgorithm
from tests.conftest import OFFICER, PASSPHRASE, PORTAL, build_ledger, with_hierarchy
from tests.front_helpers import Client, ocsp_request_for
from tests.interop.test_sm2_certificates import sm2_csr
from tests.servers import ROOT, ServerProcess

# The flood stands for clients on other machines: on this one it runs at a lower priority
# than the server and the measuring client, so that it is the server's work, not the
# flooding clients' own, that the measurement sees.
FLOOD = """
import http.client, os, sys, threading, time
os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
port, body, until = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), time.time() + float(sys.argv[3])
counts = {"signed": 0, "later": 0, "error": 0}
def flood():
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.time() < until:
        try:
            connection.request("POST", "/ocsp", body, {"Content-Type": "application/ocsp-request"})
            reply = connection.getresponse().read()
            counts["later" if reply == bytes.fromhex("30030a0103") else "signed"] += 1
        except Exception:
            counts["error"] += 1
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        time.sleep(0.02)  # 16 clients, twice the cap: more than gmssl can sign
threads = [threading.Thread(target=flood) for _ in range(16)]
[t.start() for t in threads]; [t.join() for t in threads]
print(counts["signed"], counts["later"], counts["error"])
"""


def p99(client: Client, request: bytes, count: int) -> float:
    timings = []
    for _ in range(count):
        seconds, status, _ = client.timed("POST", "/ocsp", request,
                                          {"Content-Type": "application/ocsp-request"})
        assert status == 200
        timings.append(seconds)
        time.sleep(0.002)
    timings.sort()
    return timings[int(len(timings) * 0.99) - 1]


@pytest.fixture
def sm2_server(sqlite_settings: Settings) -> Iterator[tuple[CertLedger, ServerProcess, int]]:
    ledger = with_hierarchy(build_ledger(sqlite_settings), KeyAlgorithm.SM2)
    cid = ledger.certificates.apply(PORTAL, profile="personal-signing", csr=sm2_csr(),
                                    subject={"common_name": "flood"})
    ledger.certificates.approve(OFFICER, cid)
    serial = ledger.certificates.issue(OFFICER, cid).serial_number
    server = ServerProcess(sqlite_settings, PASSPHRASE, env={
        "CERTLEDGER_SM2_BACKEND": "gmssl", "WEB_CONCURRENCY": "1",
        "CERTLEDGER_OCSP_SIGNERS": "1", "CERTLEDGER_OCSP_NONCE_LIMIT": "8"}).start()
    try:
        yield ledger, server, serial
    finally:
        server.stop()


def test_a_nonce_flood_on_pure_python_sm2_leaves_pre_signed_answers_fast(
        sm2_server: tuple[CertLedger, ServerProcess, int]) -> None:
    ledger, server, serial = sm2_server
    client = Client(server.port)
    plain = ocsp_request_for(ledger, serial)
    deadline = time.monotonic() + 60
    while client.ocsp(plain) != "good":  # pre-signed by the server's processes
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert client.ocsp(ocsp_request_for(ledger, serial, nonce=os.urandom(16))) == "good"
    p99(client, plain, 100)  # warm
    tries = []
    try:
        for _ in range(3):  # the machine is shared: a disturbed try is measured again
            signature = gmssl_signature_seconds()
            quiet, flooded = measure(client, plain, server.port,
                                      ocsp_request_for(ledger, serial, nonce=os.urandom(16)))
            tries.append((quiet, flooded, signature))
            if flooded < signature:
                break
    finally:
        client.close()
    quiet, flooded, signature = tries[-1]
    assert flooded < signature, "p99 quiet / under the flood / one gmssl signature: " + \
        ", ".join(f"{q * 1000:.2f} / {f * 1000:.2f} / {s * 1000:.2f} ms" for q, f, s in tries)


def gmssl_signature_seconds(count: int = 20) -> float:
    """The median time of one SM2 signature on the pure-Python backend, on this machine now."""
    from gmssl import func, sm2  # type: ignore[import-untyped]

    key = func.random_hex(64)
    signer = sm2.CryptSM2(private_key=key, public_key="")
    signer.public_key = signer._kg(int(key, 16), sm2.default_ecc_table["g"])
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        signer.sign(b"\x00" * 32, func.random_hex(64))
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def measure(client: Client, plain: bytes, port: int, nonce_request: bytes
             ) -> tuple[float, float]:
    """The median of three windows' p99 without and with the flood, the windows in turn
    (what others run on the machine drifts)."""
    flood = subprocess.Popen([sys.executable, "-c", FLOOD, str(port), nonce_request.hex(),
                              "12"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    quiet, flooded = [], []
    try:
        for _ in range(3):
            flood.send_signal(signal.SIGSTOP)
            time.sleep(0.5)  # what was sent is signed or refused
            quiet.append(p99(client, plain, 300))
            flood.send_signal(signal.SIGCONT)
            time.sleep(0.5)  # the signing process is saturated again
            flooded.append(p99(client, plain, 300))
        flood.send_signal(signal.SIGCONT)
        output = flood.communicate(timeout=60)[0]
    finally:
        flood.kill()
        flood.wait()
    signed, refused, failed = map(int, output.split())
    assert signed > 100 and failed == 0, output  # the signing process worked all along,
    assert refused > 0, output                   # and more was asked than it could sign
    return statistics.median(quiet), statistics.median(flooded)
