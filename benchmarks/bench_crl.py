"""CRL publishing: ours against ``openssl ca -gencrl`` over the same revocations.

    .venv/bin/python benchmarks/bench_crl.py [--entries 1000000] [--skip-openssl] [--postgres]

Both sides sign with an ECDSA P-256 CA key and write the same entries (serial,
revocation time, reason, invalidity date for keyCompromise). Each side runs in its
own process under ``/usr/bin/time -v`` for wall time and peak RSS. Ours is measured
twice:

- the encoder alone (ca.encoding.crl_encoding): pre-encoding the entries in memory, assembling and
  signing, and publishing again after one more revocation;
- the publish path as the system runs it (benchmarks/crl_publish_path.py): the entries
  pre-encoded in the CRL read model (SQLite; with ``--postgres`` PostgreSQL too),
  CrlPublisher.publish reading them from the database, assembling, signing, linting,
  recording the CrlIssued events and storing the signed CRLs; the re-publish after one
  more revocation made through the ledger and projected by the runner; and the
  latency from a revocation's commit to a stored CRL covering it (runner thread and
  schedule running, delay 0).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.reasons import RevocationReason  # noqa: E402

BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)
REASONS = [None, RevocationReason.KEY_COMPROMISE, RevocationReason.SUPERSEDED,
           RevocationReason.AFFILIATION_CHANGED, RevocationReason.CESSATION_OF_OPERATION]
Revocation = tuple[int, datetime, RevocationReason | None, datetime | None]


def revocations(count: int, seed: int) -> Iterator[Revocation]:
    """The same revocations for both sides: unique 127-bit serials, mixed reasons."""
    rng = random.Random(seed)
    for index in range(count):
        serial = (1 << 126) | (index << 64) | rng.getrandbits(64)
        revoked_at = BASE_TIME + timedelta(seconds=index * 7)
        reason = REASONS[index % len(REASONS)]
        invalid_since = (revoked_at - timedelta(days=1)
                         if reason is RevocationReason.KEY_COMPROMISE else None)
        yield serial, revoked_at, reason, invalid_since


# --- setup ------------------------------------------------------------------------------------


def make_ca(directory: Path) -> None:
    """A throwaway ECDSA P-256 CA: ca.key (for openssl and our child only) and ca.pem."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench CA")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256()))
    key_path = directory / "ca.key"
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    (directory / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def write_openssl_ca(directory: Path, count: int, seed: int) -> None:
    expiry = "351231235959Z"
    with open(directory / "index.txt", "w", encoding="ascii") as index:
        for serial, revoked_at, reason, invalid_since in revocations(count, seed):
            revocation = revoked_at.strftime("%y%m%d%H%M%SZ")
            if reason is not None:
                revocation += "," + reason.rfc_name
            if invalid_since is not None:
                revocation += "," + invalid_since.strftime("%Y%m%d%H%M%SZ")
            index.write(f"R\t{expiry}\t{revocation}\t{serial:X}\tunknown\t/CN=x\n")
    (directory / "index.txt.attr").write_text("unique_subject = no\n")
    (directory / "crlnumber").write_text("01\n")
    (directory / "ca.cnf").write_text(f"""\
[ ca ]
default_ca = bench
[ bench ]
dir = {directory}
database = $dir/index.txt
certificate = $dir/ca.pem
private_key = $dir/ca.key
crlnumber = $dir/crlnumber
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
default_crl_days = 7
unique_subject = no
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
""")


def timed(command: list[str], cwd: Path) -> tuple[float, int, str]:
    """Run under /usr/bin/time -v: (wall seconds, peak RSS in KiB, stdout)."""
    done = subprocess.run(["/usr/bin/time", "-v", *command], cwd=cwd, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    assert wall and rss, done.stderr
    hours, minutes, seconds = wall.groups()
    return (int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds), int(rss.group(1)),
            done.stdout)


# --- our side (child process) -----------------------------------------------------------------


def run_ours(directory: Path, count: int, seed: int) -> None:
    import resource

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from ca.encoding.crl_encoding import build_crl, encode_revoked_entry
    from ca.encoding.signers import CryptographySigner

    cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    signer = CryptographySigner(key)  # type: ignore[arg-type]
    aki = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    started = time.perf_counter()
    for _ in revocations(count, seed):
        pass
    generation = time.perf_counter() - started

    started = time.perf_counter()
    entries = [encode_revoked_entry(*revocation) for revocation in revocations(count, seed)]
    pre_encoding = time.perf_counter() - started

    now = datetime.now(UTC)
    arguments: dict[str, Any] = {
        "issuer_name_der": cert.subject.public_bytes(), "authority_key_identifier": aki,
        "this_update": now, "next_update": now + timedelta(days=7)}
    started = time.perf_counter()
    crl = build_crl(signer, crl_number=1, entries=entries, **arguments)
    assembly = time.perf_counter() - started
    (directory / "ours.crl.der").write_bytes(crl)
    del crl

    republish = []
    for extra in range(3):
        started = time.perf_counter()
        entries.append(encode_revoked_entry((1 << 127) + extra, now, RevocationReason.SUPERSEDED))
        again = build_crl(signer, crl_number=2 + extra, entries=entries, **arguments)
        republish.append(time.perf_counter() - started)
        del again
    print(json.dumps({
        "generation": generation, "pre_encoding": pre_encoding, "assembly": assembly,
        "republish": sorted(republish)[1], "baseline_kib": baseline_kib,
        "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "entry_bytes": sum(map(len, entries[:count])),
    }))


# --- the publish path (crl_publish_path.py, two more child processes) ---------------------------


def run_publish_path(directory: Path, count: int, seed: int, *,
                     postgres: bool = False) -> dict[str, Any]:
    script = str(Path(__file__).resolve())
    data = directory / ("certledger-pg" if postgres else "certledger")
    database: list[str] = []
    if postgres:
        import uuid

        import psycopg
        from crl_publish_path import POSTGRES_URL

        schema = f"bench_crl_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        database = ["--database-url", f"{POSTGRES_URL}?schema={schema}"]
    try:
        _, _, output = timed([sys.executable, script, "--child-load", str(data), "--entries",
                              str(count), "--seed", str(seed), *database], directory)
        loaded = json.loads(output)
        wall, rss, output = timed([sys.executable, script, "--child-publish", str(data),
                                   *database], directory)
        _, restart_rss, restarted = timed([sys.executable, script, "--child-restart",
                                           str(data), *database], directory)
    finally:
        if postgres:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    path = json.loads(output)
    path["rss_kib"] = rss
    path["restart"] = json.loads(restarted)["restart"]
    path["restart_rss_kib"] = restart_rss
    where = "PostgreSQL" if postgres else "SQLite"
    print(f"\nours, the publish path ({loaded['entries']:,} entries in the {where} read model, "
          f"bulk-loaded in {loaded['load']:.1f} s, not measured below)")
    print(f"  first publication     {path['cold']:8.3f} s  (read {path['entries']:,} entries, "
          f"assemble, sign, lint, record, store; CRL {path['crl_bytes'] / 1e6:.1f} MB)")
    print(f"    of which the read   {path['read_only']:8.3f} s  (a snapshot of the read model)")
    print(f"    and storing the CRL {path['store_only']:8.3f} s  (full and delta, in the database)")
    print(f"  publish, new process  {path['restart']:8.3f} s  (+1 entry; from the last CRL's "
          f"stored runs; peak RSS {path['restart_rss_kib'] / 1024:.1f} MB)")
    print(f"  re-publish (+1 entry) {path['republish']:8.3f} s  (median of 3; projecting the "
          f"revocation: {path['project_one'] * 1000:.1f} ms)")
    print(f"  revocation -> CRL     {path['latency']:8.3f} s  (median of 3, max "
          f"{path['latency_max']:.3f} s; commit to a stored CRL covering it, delay 0)")
    print(f"  process wall          {wall:8.3f} s  (imports, ledger start, all above)")
    print(f"  peak RSS              {rss / 1024:8.1f} MB  "
          f"(after imports {path['baseline_kib'] / 1024:.1f} MB)")
    return path  # type: ignore[no-any-return]


# --- driver -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5280)
    parser.add_argument("--skip-openssl", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-load", help=argparse.SUPPRESS)
    parser.add_argument("--child-publish", help=argparse.SUPPRESS)
    parser.add_argument("--child-restart", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--postgres", action="store_true",
                        help="the publish path on PostgreSQL (127.0.0.1:5432/test) too")
    args = parser.parse_args()
    if args.child:
        run_ours(Path(args.child), args.entries, args.seed)
        return
    if args.child_load or args.child_publish or args.child_restart:
        import crl_publish_path

        if args.child_load:
            crl_publish_path.load(Path(args.child_load), revocations(args.entries, args.seed),
                                  args.database_url)
        elif args.child_publish:
            crl_publish_path.publish(Path(args.child_publish), args.database_url)
        else:
            crl_publish_path.restart(Path(args.child_restart), args.database_url)
        return

    directory = Path(tempfile.mkdtemp(prefix="bench_crl_"))
    try:
        make_ca(directory)
        n = args.entries
        print(f"{n:,} revoked entries, ECDSA P-256, work directory {directory}")
        ours_wall, ours_rss, output = timed(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(directory),
             "--entries", str(n), "--seed", str(args.seed)], directory)
        ours = json.loads(output)
        crl_size = (directory / "ours.crl.der").stat().st_size
        verify = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", "ours.crl.der",
                                 "-CAfile", "ca.pem", "-verify", "-noout"], cwd=directory,
                                capture_output=True, text=True, check=False)
        print(f"\nours (crl_encoding)          CRL {crl_size / 1e6:.1f} MB, openssl crl -verify: "
              f"{(verify.stdout + verify.stderr).strip()}")
        print(f"  input generation      {ours['generation']:8.3f} s  (not in the figures below)")
        print(f"  pre-encoding entries  {ours['pre_encoding'] - ours['generation']:8.3f} s  "
              f"({(ours['pre_encoding'] - ours['generation']) / n * 1e6:.2f} µs/entry)")
        print(f"  assembly + signing    {ours['assembly']:8.3f} s")
        print(f"  re-publish (+1 entry) {ours['republish']:8.3f} s  (median of 3)")
        print(f"  process wall          {ours_wall:8.3f} s  (imports, a dry input pass, all above)")
        print(f"  peak RSS              {ours_rss / 1024:8.1f} MB  "
              f"(after imports {ours['baseline_kib'] / 1024:.1f} MB)")
        path = run_publish_path(directory, n, args.seed)
        paths = {"SQLite": path}
        if args.postgres:
            paths["PostgreSQL"] = run_publish_path(directory, n, args.seed, postgres=True)
        if args.skip_openssl:
            return
        write_openssl_ca(directory, n, args.seed)
        peer_wall, peer_rss, _ = timed(["openssl", "ca", "-config", "ca.cnf", "-gencrl",
                                        "-out", "openssl.crl.pem"], directory)
        print(f"\nopenssl ca -gencrl      {peer_wall:8.3f} s, peak RSS {peer_rss / 1024:.1f} MB")
        net_build = ours["pre_encoding"] - ours["generation"] + ours["assembly"]
        print("\nratios ours / openssl")
        print(f"  time, assembly + signing          {ours['assembly'] / peer_wall:6.3f}"
              "  (target <= 0.2)")
        print(f"  time, pre-encoding + assembly     {net_build / peer_wall:6.3f}"
              "  (entries encoded from scratch)")
        print(f"  time, re-publish                  {ours['republish']:6.3f} s (target <= 0.5 s)")
        print(f"  peak memory (RSS)                 {ours_rss / peer_rss:6.3f}  (target <= 0.5)")
        for where, path in paths.items():
            print(f"ratios, the publish path on {where} (read model -> signed, recorded, "
                  "stored CRL) / openssl")
            print(f"  time, first publication ever      {path['cold'] / peer_wall:6.3f}"
                  "  (target <= 0.2; every entry row read)")
            print(f"  time, publish in a new process    {path['restart'] / peer_wall:6.3f}"
                  "  (target <= 0.2; the last CRL's runs read)")
            print(f"  time, re-publish (+1 revocation)  {path['republish']:6.3f} s"
                  " (target <= 0.5 s)")
            print(f"  peak memory (RSS)                 {path['rss_kib'] / peer_rss:6.3f}"
                  "  (target <= 0.5)")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
