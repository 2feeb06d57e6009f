"""``certledger migrate``, ``certledger projections ...`` and ``certledger crl publish``.

``projections run`` is the dedicated process that follows the log and runs the processes
(CRL publishing, OCSP signing, responders); set ``CERTLEDGER_PROJECTIONS=off`` for the
API workers then. ``projections rebuild`` replays a read model from zero;
``projections status`` shows how far each one is.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from api.commands.common import Subcommands, open_ledger, text_progress
from api.settings import Settings
from api.text import printable

__all__ = ["add_parsers", "COMMANDS"]


def add_parsers(commands: Subcommands, settings: Settings) -> None:
    commands.add_parser("migrate", help="apply pending read-model migrations")
    projections = commands.add_parser("projections", help="read models (CRL, OCSP, ...)")
    sub = projections.add_subparsers(dest="projections_command", required=True)
    sub.add_parser("run", help="follow the log and run the processes (CRL publishing, OCSP "
                               "signing, responders) until stopped (SIGTERM)")
    rebuild = sub.add_parser("rebuild", help="replay read models from zero")
    rebuild.add_argument("name", nargs="?", help="one read model (default: all)")
    sub.add_parser("status", help="each read model's position and the log's head")
    crl = commands.add_parser("crl", help="CRLs")
    crl_sub = crl.add_subparsers(dest="crl_command", required=True)
    publish = crl_sub.add_parser("publish", help="sign and publish full and delta CRLs now")
    publish.add_argument("ca", nargs="*", help="CA names (default: every CA)")
    publish.add_argument("--rebase", action="store_true",
                         help="make the full CRL the new base of delta CRLs")


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from projections.db import open_read_model_database
    from projections.migrate import migrate

    database = open_read_model_database(settings.database_url, settings.data_dir)
    try:
        applied = migrate(database)
    finally:
        database.close()
    print(f"applied {', '.join(applied)}" if applied else "read models are up to date")
    return 0


def _projections(args: argparse.Namespace, settings: Settings) -> int:
    ledger = open_ledger(settings)
    try:
        read = ledger.read
        runner = read.runner
        if args.projections_command == "status":
            head = runner.head()
            for name, position in runner.positions().items():
                print(f"{name:<12} {position:>10} / {head}  ({head - position} behind)")
            return 0
        if args.projections_command == "rebuild":
            names = [args.name] if args.name else list(runner.models)
            unknown = [name for name in names if name not in runner.models]
            if unknown:
                raise ValueError(f"no read model {unknown[0]!r}; there are "
                                 f"{', '.join(runner.models)}")
            for name in names:
                print(printable(f"rebuilding {name}"), file=sys.stderr)
                position = runner.rebuild(name, text_progress())
                print(printable(f"{name}: rebuilt up to position {position}"))
            return 0
        from api.logs import configure_logging

        configure_logging(settings.log_format)
        stop = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
        if read.integrity.check():  # its processes then sign nothing (the gate is shut)
            print(printable(f"certledger: {read.integrity.reason}"), file=sys.stderr)
        read.start()
        print("following the event log and running the processes while this process leads "
              "(Ctrl-C to stop)", file=sys.stderr)
        while not stop.wait(1.0):
            pass
        return 0
    finally:
        ledger.close()


def _crl(args: argparse.Namespace, settings: Settings) -> int:
    ledger = open_ledger(settings)
    try:
        read = ledger.read
        read.runner.catch_up()  # the CA list is in the read model too
        names = args.ca or read.crls.authorities()
        for name in names:
            published = read.publisher.publish(name, rebase=True if args.rebase else None)
            assert published is not None  # not conditional: always publishes
            full, delta = published
            print(printable(f"{name}: CRL #{full.crl_number} ({full.entry_count} entries), "
                            f"delta #{delta.crl_number} on base #{delta.base_crl_number} "
                            f"({delta.entry_count} entries)"))
    finally:
        ledger.close()
    return 0


COMMANDS = {"migrate": _migrate, "projections": _projections, "crl": _crl}
