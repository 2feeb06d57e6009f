"""SM2 sign/s and verify/s for each ca.encoding.sm2 backend, next to ``openssl speed sm2``, and
full SM2 certificate lifecycles per second through the ledger.

Run: .venv/bin/python benchmarks/bench_sm2.py [--seconds S] [--openssl-seconds S]
         [--lifecycles N] [--database sqlite|postgres|both]
Signing and verifying cover the whole job (Z is cached per key, SM3(Z || M),
the engine, DER) over a 1 KiB message, one thread. A lifecycle is apply -> approve
-> issue of a personal-signing certificate under an SM2 CA (CSR checks, lint, SM2
signature, events saved), one thread; a pair lifecycle does the same for a dual
pair (two certificates). Each backend runs in its own process with
CERTLEDGER_SM2_BACKEND set, since the key store's signers use the default backend.
Takes about a minute.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asn1crypto import csr, pem  # noqa: E402

from ca.encoding import sm2  # noqa: E402
from ca.encoding.signers import DEFAULT_SM2_ID  # noqa: E402

__all__ = ["main"]

_MESSAGE = bytes(range(256)) * 4


def _rate(operation: Callable[[], object], seconds: float) -> float:
    """Operations per second of ``operation``, timed for about ``seconds``."""
    operation()  # warm up (fixed-base table, Z cache)
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(10):
            operation()
        count += 10
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _openssl_speed(seconds: int) -> tuple[float, float] | None:
    """(sign/s, verify/s) from ``openssl speed -seconds N sm2``, or None if unavailable."""
    binary = shutil.which("openssl") or "/usr/bin/openssl"
    try:
        result = subprocess.run([binary, "speed", "-seconds", str(seconds), "sm2"],
                                capture_output=True, text=True, timeout=20 * seconds + 30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"openssl speed failed: {exc}")
        return None
    # e.g. " 256 bits SM2 (CurveSM2)   0.0002s   0.0002s   4333.0   4480.0"
    match = re.search(r"SM2 \(\w+\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)", result.stdout)
    if match is None:
        print(f"could not parse openssl speed output:\n{result.stdout}{result.stderr}")
        return None
    return float(match.group(1)), float(match.group(2))


_PG = os.environ.get("CERTLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_SUBJECT = {"common_name": "张三", "emails": ["zhang@example.cn"]}


def _sm2_csr() -> str:
    """A PKCS#10 request for a new SM2 key, signed with the default signer ID."""
    signer = sm2.generate_signer()
    info = csr.CertificationRequestInfo({
        "version": "v1", "subject": csr.Name.build({"common_name": "bench"}),
        "subject_pk_info": signer.public_key_info(), "attributes": []})
    request = csr.CertificationRequest({"certification_request_info": info,
                                        "signature_algorithm": signer.signature_algorithm(),
                                        "signature": signer.sign(info.dump())})
    return pem.armor("CERTIFICATE REQUEST", request.dump()).decode()


def _lifecycle_worker(count: int, database: str) -> dict[str, Any]:
    """In this process (whose SM2 backend the environment chose): lifecycles/s."""
    from api.bootstrap import bootstrap
    from api.settings import Settings
    from ca.encoding.algorithms import KeyAlgorithm
    from ca.keys.keystore import KeyStore
    from domain.actors import Actor, Role

    officer = Actor("bench-officer", Role.OFFICER)
    portal = Actor("bench-portal", Role.APPLICANT_PORTAL)  # applies; the officer reviews
    data_dir = Path(tempfile.mkdtemp(prefix="certledger-bench-sm2-"))
    database_url, drop = _database(database)
    try:
        settings = Settings(data_dir=data_dir, database_url=database_url,
                            public_base_url="http://127.0.0.1:8080",
                            default_issuer="issuing-ca", accept_empty_sm2_id=False)
        ledger = bootstrap(settings, keys=KeyStore(data_dir / "keys",
                                                        b"benchmark passphrase only"))
        ledger.hierarchy.establish(officer, algorithm=KeyAlgorithm.SM2, root_name="root-ca",
                                    issuing_name="issuing-ca", organization="Bench")
        csrs = [_sm2_csr() for _ in range(2)]

        def single() -> None:
            cid = ledger.certificates.apply(portal, profile="personal-signing", csr=csrs[0],
                                            subject=_SUBJECT)
            ledger.certificates.approve(officer, cid)
            ledger.certificates.issue(officer, cid)

        def pair() -> None:
            pair_id = ledger.pairs.apply(portal, signing_csr=csrs[0], encryption_csr=csrs[1],
                                         subject=_SUBJECT)
            ledger.pairs.approve(officer, pair_id)
            ledger.pairs.issue(officer, pair_id)

        rates: dict[str, float] = {}
        for name, run in (("lifecycle", single), ("pair", pair)):
            for _ in range(3):
                run()  # warm up: validators, key unsealing, fixed-base table
            start = time.perf_counter()
            for _ in range(count):
                run()
            rates[name] = count / (time.perf_counter() - start)
        return {"backend": sm2.backend_name(), **rates}
    finally:
        drop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _database(database: str) -> tuple[str | None, Callable[[], None]]:
    if database == "sqlite":
        return None, lambda: None
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_PG, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(_PG, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return f"{_PG}?schema={schema}", drop


def _lifecycle_rates(backend: str, count: int, database: str) -> dict[str, Any] | None:
    """Run the lifecycle worker in a child process with the backend forced."""
    env = {**os.environ, "CERTLEDGER_SM2_BACKEND": backend}
    result = subprocess.run([sys.executable, __file__, "--lifecycle-worker", str(count),
                             "--database", database], env=env, capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        print(f"{backend} on {database}: lifecycle run failed:\n{result.stderr[-2000:]}")
        return None
    rates: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if rates["backend"] != backend:
        raise SystemExit(f"asked for backend {backend}, the worker used {rates['backend']}")
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--openssl-seconds", type=int, default=3)
    parser.add_argument("--lifecycles", type=int, default=100,
                        help="lifecycles (and pair lifecycles) per backend and database")
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--lifecycle-worker", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.lifecycle_worker:
        print(json.dumps(_lifecycle_worker(args.lifecycle_worker, args.database)))
        return 0

    print(f"ca.encoding.sm2 default backend: {sm2.backend_name()}; "
          f"available: {', '.join(sm2.available_backends())}")
    results: dict[str, tuple[float, float]] = {}
    for backend in sm2.available_backends():
        signer = sm2.generate_signer(backend=backend)
        spki = signer.public_key_info()
        signature = signer.sign(_MESSAGE)
        if not sm2.verify_spki(spki, _MESSAGE, signature, DEFAULT_SM2_ID):
            raise SystemExit(f"{backend}: signature does not verify")
        sign_rate = _rate(functools.partial(signer.sign, _MESSAGE), args.seconds)
        verify_rate = _rate(functools.partial(sm2.verify_spki, spki, _MESSAGE, signature,
                                              DEFAULT_SM2_ID), args.seconds)
        results[backend] = (sign_rate, verify_rate)

    openssl = _openssl_speed(args.openssl_seconds)
    print(f"{'':>12} {'sign/s':>10} {'verify/s':>10} {'sign/openssl':>13} {'verify/openssl':>15}")
    for backend, (sign_rate, verify_rate) in results.items():
        ratios = (f"{sign_rate / openssl[0]:>12.2f}x {verify_rate / openssl[1]:>14.2f}x"
                  if openssl else "")
        print(f"{backend:>12} {sign_rate:>10.0f} {verify_rate:>10.0f} {ratios}")
    if openssl:
        print(f"{'openssl':>12} {openssl[0]:>10.0f} {openssl[1]:>10.0f}   "
              f"(openssl speed -seconds {args.openssl_seconds} sm2)")

    databases = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    print(f"\nSM2 lifecycles through the ledger (apply -> approve -> issue), "
          f"{args.lifecycles} each, one thread:")
    print(f"{'':>12} {'database':>9} {'lifecycles/s':>13} {'pairs/s':>8} {'certs/s in pairs':>17}")
    for backend in sm2.available_backends():
        for database in databases:
            rates = _lifecycle_rates(backend, args.lifecycles, database)
            if rates:
                print(f"{backend:>12} {database:>9} {rates['lifecycle']:>13.1f} "
                      f"{rates['pair']:>8.1f} {2 * rates['pair']:>17.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
