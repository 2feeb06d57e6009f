"""``certledger ocsp serve | rotate | resign``: run the OCSP server, rotate the responder,
sign due responses.

``serve`` forks ``--workers`` server processes (each with its own SO_REUSEPORT
socket, so the kernel spreads connections) and keeps the parent as a candidate for the
lead (projections/leadership.py): when no other process of the store leads, it runs the
projection runner and the processes (responder rotation, OCSP signing and re-signing,
CRLs); ``--maintain-seconds 0`` keeps it out of the election.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
import time

from api.commands.common import Subcommands, open_ledger, operator
from api.settings import Settings
from api.text import printable

__all__ = ["add_parsers", "COMMANDS"]


def add_parsers(commands: Subcommands, settings: Settings) -> None:
    ocsp = commands.add_parser("ocsp", help="the OCSP responder")
    sub = ocsp.add_subparsers(dest="ocsp_command", required=True)
    serve = sub.add_parser("serve", help="the standalone OCSP server (pre-signed responses)")
    serve.add_argument("--bind", default=settings.ocsp_bind)
    serve.add_argument("--workers", type=int, default=settings.ocsp_workers,
                       help="server processes (SO_REUSEPORT)")
    serve.add_argument("--poll-seconds", type=float, default=0.1,
                       help="how often each server looks for changed rows")
    serve.add_argument("--maintain-seconds", type=float, default=60.0,
                       help="0: never run the projection runner and the processes here "
                            "(otherwise: when no other process leads)")
    rotate = sub.add_parser("rotate", help="certify or rotate the delegated responder")
    rotate.add_argument("--issuer", help="the CA (default: the default issuer)")
    rotate.add_argument("--force", action="store_true", help="rotate even if not due")
    sub.add_parser("resign", help="sign pending and re-sign due responses once")


def _ocsp(args: argparse.Namespace, settings: Settings) -> int:
    if args.ocsp_command == "serve":
        return _serve(args, settings)
    ledger = open_ledger(settings)
    try:
        if args.ocsp_command == "rotate":
            issuer = args.issuer or settings.default_issuer
            credentials = ledger.responders.certify_or_rotate(
                issuer, actor=operator(settings), force=args.force)
            print(printable(f"OCSP responder of {issuer}: serial "
                            f"{credentials.serial_number:x}, valid until "
                            f"{credentials.not_after:%Y-%m-%d %H:%M:%SZ}"))
            return 0
        read = ledger.read
        read.runner.catch_up()
        pending, due = read.ocsp_signing.run()
        print(f"signed {pending} pending and {due} due OCSP responses")
        return 0
    finally:
        ledger.close()


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from api.ocsp_server import listen

    host, _, port_text = args.bind.rpartition(":")
    host, port = host.strip("[]") or "127.0.0.1", int(port_text)
    if port == 0:  # the workers must agree on one port
        probe = listen(host, 0, reuse_port=True)
        port = probe.getsockname()[1]
        probe.close()
    from projections.db import open_read_model_database
    from projections.migrate import migrate

    database = open_read_model_database(settings.database_url, settings.data_dir)
    try:  # the tables first, before the workers race for them
        migrate(database)
    finally:
        database.close()
    children = []
    for _ in range(max(1, args.workers)):
        pid = os.fork()
        if pid == 0:  # nothing is connected yet: each worker opens its own
            code = 1
            try:
                code = _worker(settings, host, port, args.poll_seconds)
            finally:
                os._exit(code)
        children.append(pid)
    print(f"OCSP on http://{host}:{port}/ocsp ({len(children)} worker(s))", flush=True)
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    ledger = open_ledger(settings) if args.maintain_seconds > 0 else None
    if ledger is not None:
        ledger.read.integrity.check()  # nothing signs on a log changed behind our back
        ledger.read.start()  # a candidate for the lead
    try:
        while not stopping:
            if any(os.waitpid(pid, os.WNOHANG)[0] for pid in children):
                print("certledger: an OCSP worker ended; stopping", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        if ledger is not None:
            ledger.close()


def _worker(settings: Settings, host: str, port: int, poll_seconds: float) -> int:
    from api.logs import configure_logging
    from api.ocsp_answers import OcspAnswers
    from api.ocsp_on_demand import OnDemandSigning
    from api.ocsp_server import OcspHttpServer, listen, new_event_loop

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    configure_logging(settings.log_format)
    ledger = open_ledger(settings)
    answers = OcspAnswers(ledger.read.database, ledger.responders, settings=settings.ocsp,
                          clock=ledger.clock)
    answers.refresh()
    signing = OnDemandSigning(answers, limit=settings.ocsp_nonce_limit,
                              processes=settings.ocsp_signers, settings=settings)
    sock = listen(host, port, reuse_port=True)
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    server = OcspHttpServer(answers, poll_seconds=poll_seconds, signing=signing,
                            limits=settings.http)
    gc.collect()
    gc.freeze()  # start-up's objects out of the collector's way (see api/serve.py)
    serving = loop.create_task(server.serve(sock))
    loop.add_signal_handler(signal.SIGTERM, serving.cancel)  # then the signers stop too
    try:
        loop.run_until_complete(serving)
    except asyncio.CancelledError:
        pass
    finally:
        ledger.close()
    return 0


COMMANDS = {"ocsp": _ocsp}
