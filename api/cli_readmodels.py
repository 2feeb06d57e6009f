"""``certledger migrate``, ``certledger projections ...`` and ``certledger crl publish``.

``projections run`` is the dedicated process that follows the log and publishes CRLs
(set ``CERTLEDGER_PROJECTIONS=off`` for the API workers then); ``projections rebuild``
replays a read model from zero; ``projections status`` shows how far each one is.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from api.settings import Settings
from api.text import printable

__all__ = ["add_parsers", "COMMANDS"]


def add_parsers(commands: Any) -> None:
    commands.add_parser("migrate", help="apply pending read-model migrations")
    projections = commands.add_parser("projections", help="read models (CRL, OCSP, ...)")
    sub = projections.add_subparsers(dest="projections_command", required=True)
    sub.add_parser("run", help="follow the log and publish CRLs until stopped (SIGTERM)")
    rebuild = sub.add_parser("rebuild", help="replay read models from zero")
    rebuild.add_argument("name", nargs="?", help="one read model (default: all)")
    sub.add_parser("status", help="each read model's position and the log's head")
    crl = commands.add_parser("crl", help="CRLs")
    crl_sub = crl.add_subparsers(dest="crl_command", required=True)
    publish = crl_sub.add_parser("publish", help="sign and publish full and delta CRLs now")
    publish.add_argument("ca", nargs="*", help="CA names (default: every CA)")
    publish.add_argument("--rebase", action="store_true",
                         help="make the full CRL the new base of delta CRLs")


def _read_models(settings: Settings) -> Any:
    from api.cli import _service
    from api.readmodels import build_read_models

    return build_read_models(_service(settings))


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from projections.db import open_read_model_database
    from projections.migrate import migrate

    database = open_read_model_database(settings.database_url, settings.data_dir)
    applied = migrate(database)
    print(f"applied {', '.join(applied)}" if applied else "read models are up to date")
    return 0


def _projections(args: argparse.Namespace, settings: Settings) -> int:
    read_models = _read_models(settings)
    runner = read_models.runner
    if args.projections_command == "status":
        head = runner.head()
        for name, position in runner.positions().items():
            print(printable(f"{name:<12} {position:>10} / {head}  ({head - position} behind)"))
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
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    read_models.start()
    print("following the event log and publishing CRLs (Ctrl-C to stop)", file=sys.stderr)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        read_models.stop()
    return 0


def _crl(args: argparse.Namespace, settings: Settings) -> int:
    read_models = _read_models(settings)
    read_models.runner.catch_up()  # the CA list is in the read model too
    names = args.ca or read_models.crl_store.authorities()
    for name in names:
        full, delta = read_models.publisher.publish(name, rebase=True if args.rebase else None)
        print(printable(f"{name}: CRL #{full.crl_number} ({full.entry_count} entries), delta "
                        f"#{delta.crl_number} on base #{delta.base_crl_number} "
                        f"({delta.entry_count} entries)"))
    return 0


def text_progress(stream: TextIO | None = None, width: int = 40) -> Callable[[int, int], None]:
    """A progress bar for a terminal (stderr by default):
    ``[#####-----]  52%  5200/10000 events``."""
    last = [0.0]
    out = stream or sys.stderr

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 0.1:
            return
        last[0] = now
        share = done / total if total else 1.0
        filled = int(share * width)
        out.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {share:4.0%}  "
                  f"{done}/{total} events")
        if done >= total:
            out.write("\n")
        out.flush()

    return show


COMMANDS = {"migrate": _migrate, "projections": _projections, "crl": _crl}
