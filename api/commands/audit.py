"""``certledger audit ...``: what an auditor runs (docs/audit.md).

``export`` streams the log (and with ``--files`` the published CRLs, certificates and
tree heads); ``verify`` checks an export with nothing but it and the root certificate;
``check`` runs the start-up check now; ``replay`` rebuilds every read model and compares;
``prove``/``verify-proof``, ``state`` and ``crl`` are in api/commands/audit_history.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api.commands import audit_history
from api.commands.common import Subcommands, open_ledger, text_progress
from api.settings import Settings
from api.text import printable

__all__ = ["add_parsers", "COMMANDS"]


def add_parsers(commands: Subcommands, settings: Settings) -> None:
    audit = commands.add_parser("audit", help="export, verify and question the log")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    export = sub.add_parser("export", help="the whole log as JSON lines, on stdout")
    export.add_argument("--after", type=int, default=0, help="start after this position")
    export.add_argument("--files", type=Path, help="also write the published CRLs, the CA, "
                        "responder and audit signer certificates and the tree heads here")
    export.add_argument("--workers", type=int, help="processes that decode (default: CPUs)")
    verify = sub.add_parser("verify", help="check an export against its signed tree heads")
    verify.add_argument("export", type=Path)
    verify.add_argument("--trust", type=Path, required=True, help="the root CA certificate")
    verify.add_argument("--heads", type=Path, help="tree head files kept apart (write-once)")
    verify.add_argument("--workers", type=int, help="processes that hash (default: CPUs)")
    verify.add_argument("--skip-payloads", action="store_true",
                        help="do not compare each line's payload, time and actor with its "
                             "stored state (faster; leaves and heads are checked anyway)")
    sub.add_parser("check", help="check the stored log against its signed tree heads now")
    replay = sub.add_parser("replay", help="rebuild every read model and compare it with "
                                           "the stored one")
    replay.add_argument("--workers", type=int, help="1 or more: replay in two processes "
                        "(SQLite, long logs; default: when there are CPUs)")
    audit_history.add_parsers(sub)


def _workers(args: argparse.Namespace) -> int:
    from ca.audit.parallel import default_workers

    return default_workers() if args.workers is None else max(0, args.workers)


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from ca.applications.audit_export import export_lines

    ledger = open_ledger(settings)
    try:
        out = sys.stdout
        for text in export_lines(ledger.log, after=args.after, workers=_workers(args)):
            out.write(text)
        out.flush()
        if args.files:
            from api.commands.audit_files import write_files

            for line in write_files(ledger, args.files):
                print(printable(line), file=sys.stderr)
    finally:
        ledger.close()
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from ca.audit.head_files import read_heads
    from ca.audit.verify_export import verify_export

    trust = audit_history.load_trust(args.trust)
    witnesses = read_heads(args.heads) if args.heads else []
    decode = audit_history.record_decoder()
    try:
        with args.export.open("rb") as stream:
            report = verify_export(stream, decode=decode, trust=trust, witnesses=witnesses,
                                   workers=_workers(args), payloads=not args.skip_payloads)
    except OSError as exc:
        raise ValueError(f"cannot read {args.export}: {exc.strerror}") from None
    if report.heads:
        head = report.heads[-1]
        print(printable(f"{report.events} events, {len(report.heads)} signed tree heads; "
                        f"the latest, #{head.number}, covers {head.tree_size} events up to "
                        f"position {head.last_position}"))
    else:
        print(f"{report.events} events, no signed tree head")
    if report.unsigned:
        print(printable(f"{len(report.unsigned)} events from position {report.unsigned[0]} "
                        "are not covered by a signed tree head yet"))
    for finding in report.findings:
        print(printable(f"FAILED {finding}"))
    if report.ok:
        print("verified: every event covered by a signed tree head is the one signed")
    return 0 if report.ok else 1


def _check(args: argparse.Namespace, settings: Settings) -> int:
    ledger = open_ledger(settings)
    try:
        integrity = ledger.read.integrity
        findings = integrity.check()
        for finding in findings:
            print(printable(f"FAILED {finding}"))
        if not findings:
            print(f"{integrity.checked_events} events match their signed tree heads")
    finally:
        ledger.close()
    return 1 if findings else 0


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from projections.replay_check import replay_check

    ledger = open_ledger(settings)
    try:
        report = replay_check(ledger.log, ledger.read.database, progress=text_progress(),
                              workers=_workers(args))
    finally:
        ledger.close()
    for difference in report.differences:
        print(printable(f"DIFFERS {difference}"))
    if report.more:
        print(f"... and {report.more} more differences")
    print(f"replayed up to position {report.position}: {report.rows} rows compared, "
          f"{len(report.differences) + report.more} differences")
    return 0 if report.ok else 1


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    handlers = {"export": _export, "verify": _verify, "check": _check, "replay": _replay,
                **audit_history.HANDLERS}
    return handlers[args.audit_command](args, settings)


COMMANDS = {"audit": _audit}
