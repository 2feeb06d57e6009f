"""SM2 sign/s and verify/s for each ca.sm2 backend, next to ``openssl speed sm2``.

Run: .venv/bin/python benchmarks/bench_sm2.py [--seconds S] [--openssl-seconds S]
Signing and verifying cover the whole job (Z is cached per key, SM3(Z || M),
the engine, DER) over a 1 KiB message, one thread. Takes well under a minute.
"""

from __future__ import annotations

import argparse
import functools
import re
import shutil
import subprocess
import time
from collections.abc import Callable

from ca import sm2
from ca.signing import DEFAULT_SM2_ID

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--openssl-seconds", type=int, default=3)
    args = parser.parse_args(argv)

    print(f"ca.sm2 default backend: {sm2.backend_name()}; "
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
