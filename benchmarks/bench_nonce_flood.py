"""How far a flood of nonce OCSP requests (SM2 on the pure-Python gmssl backend, signed on
demand) moves the p99 latency of pre-signed answers through the production front end
(``certledger serve``, one worker, one signing process, 8 nonce requests at once at most).

The issue's target is "at most 2x". Windows with and without the flood alternate (the
flood is stopped and continued with SIGSTOP/SIGCONT) and the medians of the windows' p99
are compared, over ``--rounds`` rounds; one gmssl signature's time is printed beside them
(the bound the test ``tests/e2e/test_nonce_flood.py`` holds on any machine).

    .venv/bin/python benchmarks/bench_nonce_flood.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ca.encoding.algorithms import KeyAlgorithm  # noqa: E402
from tests.conftest import (  # noqa: E402
    OFFICER,
    PASSPHRASE,
    PORTAL,
    build_ledger,
    close_ledgers,
    make_settings,
    with_hierarchy,
)
from tests.e2e.test_nonce_flood import gmssl_signature_seconds, measure, p99  # noqa: E402
from tests.front_helpers import Client, ocsp_request_for  # noqa: E402
from tests.interop.test_sm2_certificates import sm2_csr  # noqa: E402
from tests.servers import ServerProcess  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as directory:
        settings = make_settings(Path(directory))
        ledger = with_hierarchy(build_ledger(settings), KeyAlgorithm.SM2)
        cid = ledger.certificates.apply(PORTAL, profile="personal-signing", csr=sm2_csr(),
                                        subject={"common_name": "flood"})
        ledger.certificates.approve(OFFICER, cid)
        serial = ledger.certificates.issue(OFFICER, cid).serial_number
        server = ServerProcess(settings, PASSPHRASE, env={
            "CERTLEDGER_SM2_BACKEND": "gmssl", "WEB_CONCURRENCY": "1",
            "CERTLEDGER_OCSP_SIGNERS": "1", "CERTLEDGER_OCSP_NONCE_LIMIT": "8"}).start()
        client = Client(server.port)
        try:
            plain = ocsp_request_for(ledger, serial)
            while client.ocsp(plain) != "good":
                pass
            p99(client, plain, 200)  # warm
            print("round  p99 quiet ms  p99 flooded ms  ratio  one gmssl signature ms")
            for number in range(1, rounds + 1):
                quiet, flooded = measure(client, plain, server.port, ocsp_request_for(
                    ledger, serial, nonce=os.urandom(16)))
                signature = gmssl_signature_seconds()
                print(f"{number:5}  {quiet * 1000:11.2f}  {flooded * 1000:14.2f}  "
                      f"{flooded / quiet:5.2f}  {signature * 1000:22.2f}", flush=True)
        finally:
            client.close()
            server.stop()
            close_ledgers()
    print("target: ratio <= 2.00")
    return 0


if __name__ == "__main__":
    sys.exit(main())
