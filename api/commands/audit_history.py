"""``certledger audit prove | verify-proof | state | crl``: questions about the past.

``state`` and ``crl`` read the data directory's log, or an export (``--log FILE``, the
events decoded from their stored state by the application's own mapper: verify the
export first). ``crl`` compares with the CRLs the CA archived, or with ``--crls DIR``
(as ``audit export --files`` writes them: ``DIR/crls/<ca>/<number>.crl``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from api.commands.common import open_ledger
from api.settings import Settings
from api.text import printable

__all__ = ["add_parsers", "HANDLERS", "record_decoder", "parse_serial", "load_trust"]


def add_parsers(sub: Any) -> None:
    prove = sub.add_parser("prove", help="an inclusion proof of a certificate's events, or "
                                         "a consistency proof between two tree heads")
    which = prove.add_mutually_exclusive_group(required=True)
    which.add_argument("--serial", type=parse_serial, help="the certificate's serial (hex)")
    which.add_argument("--from-head", type=int, help="prove the latest head extends this one")
    prove.add_argument("--ca", help="the issuing CA (default: any)")
    check = sub.add_parser("verify-proof", help="check a proof with the root certificate")
    check.add_argument("proof", type=Path)
    check.add_argument("--trust", type=Path, required=True, help="the root CA certificate")
    state = sub.add_parser("state", help="what the CA knew at an instant")
    state.add_argument("--at", type=_instant, required=True, help="e.g. 2026-05-01T00:00:00Z")
    state.add_argument("--serial", type=parse_serial)
    state.add_argument("--ca", help="every certificate of this CA")
    state.add_argument("--log", type=Path, help="an export to read instead of the log")
    crl = sub.add_parser("crl", help="re-derive published CRLs from the events and compare")
    crl.add_argument("--ca", required=True)
    number = crl.add_mutually_exclusive_group(required=True)
    number.add_argument("--number", type=int)
    number.add_argument("--all", action="store_true", help="every CRL the CA published")
    crl.add_argument("--log", type=Path, help="an export to read instead of the log")
    crl.add_argument("--crls", type=Path, help="the published CRLs (audit export --files)")


def parse_serial(text: str) -> int:
    try:
        serial = int(text.lower().removeprefix("0x").replace(":", ""), 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a serial number in hex") from None
    if serial <= 0:
        raise argparse.ArgumentTypeError("a serial number is positive")
    return serial


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time zone too (e.g. Z)")
    return moment.astimezone(timezone.utc)


def load_trust(path: Path) -> Any:
    """A certificate from a PEM or DER file (ValueError if it is none)."""
    from asn1crypto import pem, x509

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    try:
        certificate = x509.Certificate.load(data)
        certificate.native  # noqa: B018 - parses it all now
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path} is not a certificate: {exc}") from None
    return certificate


def record_decoder() -> Callable[[Any], Any]:
    """Export records to events, by the application's own mapper (no store needed)."""
    from eventsourcing.persistence import StoredEvent

    import domain  # noqa: F401 - registers every event topic
    from ca.applications.event_log import offline_log

    log = offline_log()
    return lambda record: log.decode(StoredEvent(
        originator_id=record.aggregate_id, originator_version=record.version,
        topic=record.topic, state=record.state))


def _export_events(path: Path) -> Callable[[], Iterator[tuple[int, Any]]]:
    from ca.audit.records import parse_line

    decode = record_decoder()

    def events() -> Iterator[tuple[int, Any]]:
        with path.open("rb") as lines:
            for line in lines:
                if line.strip():
                    record = parse_line(line)
                    yield record.position, decode(record)

    return events


def _prove(args: argparse.Namespace, settings: Settings) -> int:
    from ca.applications.audit_proofs import AuditProofs

    ledger = open_ledger(settings)
    try:
        read = ledger.read
        read.runner.catch_up()
        proofs = AuditProofs(ledger.log, read.audit_tree, read.tree_heads)
        document = proofs.consistency(args.from_head) if args.from_head is not None \
            else proofs.inclusion(args.serial, args.ca)
    finally:
        ledger.close()
    json.dump(document, sys.stdout, indent=1)
    print()
    return 0


def _verify_proof(args: argparse.Namespace, settings: Settings) -> int:
    from ca.audit.proofs import verify_proof

    try:
        document = json.loads(args.proof.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the proof {args.proof}: {exc}") from None
    report = verify_proof(document, load_trust(args.trust))
    for head in report.heads:
        print(printable(f"{head.summary()}, signed {head.timestamp.isoformat()}"))
    for position in report.proven:
        print(f"the event at position {position} is in the log under this head")
    if report.not_covered:
        print(f"not covered by this head yet: positions {report.not_covered}")
    for problem in report.problems:
        print(printable(f"FAILED {problem}"))
    if report.ok and report.kind.endswith("consistency-proof-v1"):
        print("the later tree head extends the earlier one")
    return 0 if report.ok else 1


def _state(args: argparse.Namespace, settings: Settings) -> int:
    from ca.audit.history import state_at

    if args.serial is None and args.ca is None:
        raise ValueError("name a certificate (--serial) or a CA (--ca)")
    if args.log:
        found, last = state_at(_export_events(args.log), args.at, serial=args.serial,
                               issuer=args.ca)
    else:
        ledger = open_ledger(settings)
        try:
            found, last = state_at(lambda: ledger.log.read(), args.at, serial=args.serial,
                                   issuer=args.ca)
        finally:
            ledger.close()
    print(f"as of {args.at.isoformat()}: the log up to position {last}")
    for entry in found:
        certificate = entry.certificate
        serial = f"serial {certificate.serial_number:x}" if certificate.serial_number \
            else "no serial yet"
        print(printable(f"certificate {certificate.id} {serial} ({certificate.issuer}, "
                        f"{certificate.profile}): {entry.status(args.at)} {entry.detail()}"))
        for step in entry.steps:
            print(printable(f"  {step.time.isoformat()}  position {step.position}  "
                            f"{step.actor} ({step.role})  {step.what}"))
    if not found:
        print("no such certificate at that time")
    return 0 if found else 1


def _crl(args: argparse.Namespace, settings: Settings) -> int:
    from ca.audit.crl_check import collect_targets, compare_published, derive

    ledger = None if args.log else open_ledger(settings)
    try:
        events = _export_events(args.log) if ledger is None else ledger.log.read
        targets, certificates = collect_targets(events)
        every = [t for t in targets if t.issuer == args.ca]
        chosen = every if args.all else [t for t in every if t.number == args.number]
        if not chosen:
            raise ValueError(f"the log records no such CRL of {args.ca}")
        expected = derive(events, chosen, every)
        failures = 0
        for target in chosen:
            published = _published(ledger, args.crls, target.issuer, target.number)
            problems = compare_published(target, expected[(target.issuer, target.number)],
                                         published, certificates.get(target.issuer))
            base = f" on base #{target.base}" if target.kind == "delta" else ""
            print(printable(f"{target.issuer} CRL #{target.number} ({target.kind}{base}, "
                            f"{target.entry_count} entries, thisUpdate "
                            f"{target.this_update.isoformat()}): "
                            + ("DIFFERS" if problems else "matches the events up to position "
                               f"{target.log_position}, entry for entry")))
            for problem in problems:
                print(printable(f"  - {problem}"))
            failures += bool(problems)
    finally:
        if ledger is not None:
            ledger.close()
    print(f"{len(chosen)} CRLs checked, {failures} differ")
    return 1 if failures else 0


def _published(ledger: Any, directory: Path | None, issuer: str, number: int) -> bytes | None:
    if directory is not None:
        path = directory / "crls" / issuer / f"{number}.crl"
        return path.read_bytes() if path.exists() else None
    if ledger is None:
        return None
    return ledger.read.crls.archived(issuer, number)  # type: ignore[no-any-return]


HANDLERS = {"prove": _prove, "verify-proof": _verify_proof, "state": _state, "crl": _crl}
