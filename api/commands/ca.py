"""``certledger init``, ``serve``, ``events`` and ``keys check``."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from typing import Any

from api.commands.common import Subcommands, open_ledger, operator
from api.settings import Settings
from api.text import printable

__all__ = ["add_parsers", "COMMANDS"]


def add_parsers(commands: Subcommands, settings: Settings) -> None:
    init = commands.add_parser("init", help="create a root CA and an issuing CA")
    init.add_argument("--algorithm", default="ecdsa-p256",
                      help="rsa-2048|rsa-3072|rsa-4096|ecdsa-p256|ecdsa-p384|ed25519|sm2")
    init.add_argument("--root-name", default="root-ca")
    init.add_argument("--issuing-name", default="issuing-ca")
    init.add_argument("--organization", default="CertLedger Demo")
    init.add_argument("--root-cn", help="the root CA's subject common name "
                      "(default: '<organization> <algorithm> Root CA')")
    init.add_argument("--issuing-cn", help="the issuing CA's subject common name "
                      "(default: '<organization> <algorithm> Issuing CA')")
    init.add_argument("--country", default="CN")
    init.add_argument("--if-missing", action="store_true",
                      help="do nothing (and succeed) when the issuing CA exists already")
    init.add_argument("--demo-passphrase", action="store_true",
                      help="for a demo: make DATA_DIR/key-passphrase if no passphrase is set")

    serve = commands.add_parser("serve", help="serve the API with gunicorn")
    serve.add_argument("--bind", default=settings.bind)
    serve.add_argument("--workers", type=int, default=settings.workers)
    serve.add_argument("--threads", type=int, default=4)

    events = commands.add_parser("events", help="print the event log in order")
    events.add_argument("--after", type=int, default=0, help="start after this position")
    events.add_argument("--limit", type=int, default=1000)
    events.add_argument("--json", action="store_true",
                        help="one JSON object per line, every value (bytes as base64)")

    keys = commands.add_parser("keys", help="the key store")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("check", help="key files no event names, and named keys with no file "
                                      "(exit status 1 if any)")


def _init(args: argparse.Namespace, settings: Settings) -> int:
    from api.bootstrap import DEMO_PASSPHRASE_FILE
    from ca.encoding.algorithms import KeyAlgorithm

    if args.demo_passphrase:
        demo = settings.data_dir / DEMO_PASSPHRASE_FILE
        if not demo.exists() and not settings.key_passphrase \
                and not settings.key_passphrase_file:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(demo, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
            print(printable(f"made a demo key passphrase in {demo} "
                            "(keep it: the CA keys need it)"))
    ledger = open_ledger(settings)
    try:
        if ledger.hierarchy.exists(args.issuing_name) and args.if_missing:
            return 0
        algorithm = KeyAlgorithm.parse(args.algorithm)
        ledger.hierarchy.establish(
            operator(settings), algorithm=algorithm, root_name=args.root_name,
            issuing_name=args.issuing_name, organization=args.organization,
            country=args.country, root_common_name=args.root_cn,
            issuing_common_name=args.issuing_cn)
    finally:
        ledger.close()
    print(printable(f"created {algorithm.value} CAs {args.root_name!r} and "
                    f"{args.issuing_name!r} in {settings.data_dir}"))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from api.serve import serve

    serve(settings, bind=args.bind, workers=args.workers, threads=args.threads)
    return 0


def _events(args: argparse.Namespace, settings: Settings) -> int:
    ledger = open_ledger(settings)
    try:
        for count, (position, event) in enumerate(ledger.log.read(after=args.after), 1):
            print(describe(position, event, as_json=args.json))
            if count >= args.limit:
                break
    finally:
        ledger.close()
    return 0


def describe(position: int, event: Any, *, as_json: bool) -> str:
    fields = {k: v for k, v in vars(event).items()
              if k not in ("originator_id", "originator_version", "timestamp",
                           "originator_topic")}
    topic = getattr(type(event), "TOPIC", type(event).__qualname__)
    if as_json:  # every value, bytes as base64 (`certledger audit export` adds the state)
        from ca.audit.records import plain

        return json.dumps({"position": position, "topic": topic,
                           "originator_id": str(event.originator_id),
                           "version": event.originator_version,
                           "timestamp": event.timestamp.isoformat(), **plain(fields)})
    shown = {k: (f"<{len(v)} bytes>" if isinstance(v, bytes) else v)
             for k, v in fields.items()}
    who = f"{shown.pop('actor_id', '?')} ({shown.pop('actor_role', '?')})"
    detail = ", ".join(f"{k}={v}" for k, v in shown.items())
    # recorded values (a comment, a name) may hold newlines or terminal controls: escaped,
    # so one event is one line and no value can pass for another event
    return printable(f"{position:>7}  {event.timestamp:%Y-%m-%d %H:%M:%S}Z  {topic:<42} "
                     f"{event.originator_id} v{event.originator_version}  by {who}  {detail}")


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from ca.applications.key_check import check_keys

    ledger = open_ledger(settings)
    try:
        report = check_keys(ledger.log, ledger.keys)
    finally:
        ledger.close()
    for ref in report.unreferenced:
        print(printable(f"unreferenced key file: {ledger.keys.path_of(ref)} "
                        "(no event names it)"))
    for ref in report.missing:
        print(printable(f"missing key file: {ref} ({report.referenced[ref]}) has no file "
                        f"in {ledger.keys.path_of(ref).parent}"))
    print(printable(f"{len(report.referenced)} keys named by events, "
                    f"{len(report.unreferenced)} unreferenced, {len(report.missing)} missing"),
          file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


COMMANDS = {"init": _init, "serve": _serve, "events": _events, "keys": _keys}
