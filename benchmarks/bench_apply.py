"""What the pkilint preview at apply costs: milliseconds per application, with and without it.

Every application is built into the certificate it would become (the issuance encoder,
a placeholder serial, never signed) and linted before anything is recorded. This runs
the same applications through the ledger on SQLite twice, preview off and on, and
prints the time per apply and the difference, per key algorithm and profile.

    .venv/bin/python benchmarks/bench_apply.py [--count 200]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.bootstrap import bootstrap  # noqa: E402
from api.settings import Settings  # noqa: E402
from ca.encoding.algorithms import KeyAlgorithm  # noqa: E402
from ca.keys.keystore import KeyStore  # noqa: E402
from domain.actors import Actor, Role  # noqa: E402
from tests.helpers import make_csr  # noqa: E402
from tests.interop.test_sm2_certificates import sm2_csr  # noqa: E402

PORTAL = Actor("bench-portal", Role.APPLICANT_PORTAL)
CASES = [  # (CA algorithm, issuer, profile, subject)
         (KeyAlgorithm.ECDSA_P256, "issuing-ca", "tls-server",
          {"dns_names": ["bench.example.cn", "*.bench.example.cn"]}),
         (KeyAlgorithm.ECDSA_P256, "issuing-ca", "personal-signing",
          {"common_name": "张三", "emails": ["zhang@example.cn"]}),
         (KeyAlgorithm.SM2, "sm2-issuing-ca", "personal-signing",
          {"common_name": "张三", "emails": ["zhang@example.cn"]}),
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-apply-"))
    try:
        settings = Settings(data_dir=data_dir, database_url=None,
                            public_base_url="http://127.0.0.1:8080", default_issuer="issuing-ca",
                            accept_empty_sm2_id=False)
        keystore = KeyStore(data_dir / "keys", b"benchmark passphrase only", work_factor=2**10)
        ledger = bootstrap(settings, keys=keystore)
        admin = Actor("bench-admin", Role.ADMIN)
        ledger.hierarchy.establish(admin, algorithm=KeyAlgorithm.ECDSA_P256,
                                    root_name="root-ca", issuing_name="issuing-ca",
                                    organization="Bench")
        ledger.hierarchy.establish(admin, algorithm=KeyAlgorithm.SM2, root_name="sm2-root-ca",
                                    issuing_name="sm2-issuing-ca", organization="Bench")
        lint_on = ledger.settings
        for algorithm, issuer, profile, subject in CASES:
            csrs = [sm2_csr() if algorithm is KeyAlgorithm.SM2
                    else make_csr(KeyAlgorithm.ECDSA_P256)[1] for _ in range(args.count)]
            ledger.certificates.apply(PORTAL, profile=profile, csr=csrs[0], subject=subject,
                                      issuer=issuer)
            per_apply = {}
            for lint in (False, True):
                ledger.settings = replace(lint_on, lint=lint)
                start = time.perf_counter()
                for csr in csrs:
                    ledger.certificates.apply(PORTAL, profile=profile, csr=csr, subject=subject,
                                              issuer=issuer)
                per_apply[lint] = (time.perf_counter() - start) / len(csrs) * 1000
            ledger.settings = lint_on
            print(f"{algorithm.value:<11} {profile:<17} apply without preview "
                  f"{per_apply[False]:6.2f} ms, with {per_apply[True]:6.2f} ms: the preview "
                  f"costs {per_apply[True] - per_apply[False]:5.2f} ms per apply")
        return 0
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
