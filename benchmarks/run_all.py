"""Run every benchmark in turn; print and keep the output in benchmarks/results/."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (script, arguments): every figure the issues ask for, SQLite and PostgreSQL
SCRIPTS = [("bench_lifecycle.py", []), ("bench_sm2.py", []), ("bench_crl.py", ["--postgres"]),
           ("bench_ocsp.py", []), ("bench_apply.py", []), ("bench_ops.py", []),
           ("bench_nonce_flood.py", []), ("bench_audit.py", []),
           ("bench_orders.py", []), ("bench_notices.py", [])]


def main() -> int:
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    failed = 0
    for script, arguments in SCRIPTS:
        if not (HERE / script).exists():
            continue
        print(f"== {script}", flush=True)
        run = subprocess.run([sys.executable, str(HERE / script), *arguments], capture_output=True,
                             text=True, cwd=HERE.parent)
        output = run.stdout + (run.stderr if run.returncode else "")
        print(output, flush=True)
        (results / f"{stamp}-{script.removesuffix('.py')}.txt").write_text(output)
        failed |= run.returncode != 0
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
