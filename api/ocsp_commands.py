"""``certledger ocsp serve | rotate | resign``: run the OCSP server, rotate the responder,
re-sign due responses.

``serve`` forks ``--workers`` server processes (each with its own SO_REUSEPORT
socket, so the kernel spreads connections) and keeps the parent for upkeep: every
``--maintain-seconds`` it signs rows the runner left unsigned, re-signs responses
whose nextUpdate is less than half the validity away, and rotates responder
certificates that are due. Several servers may run upkeep at once: every write
is conditional on the row's status, so the worst case is a signature made twice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from api.settings import Settings
from api.text import printable

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    ocsp = commands.add_parser("ocsp", help="the OCSP responder")
    sub = ocsp.add_subparsers(dest="ocsp_command", required=True)
    serve = sub.add_parser("serve", help="the standalone OCSP server (pre-signed responses)")
    serve.add_argument("--bind", default=os.environ.get("CERTLEDGER_OCSP_BIND",
                                                        "127.0.0.1:8081"))
    serve.add_argument("--workers", type=int, default=int(os.environ.get(
        "CERTLEDGER_OCSP_WORKERS", "1")), help="server processes (SO_REUSEPORT)")
    serve.add_argument("--poll-seconds", type=float, default=0.1,
                       help="how often each server looks for changed rows")
    serve.add_argument("--maintain-seconds", type=float, default=60.0,
                       help="upkeep period (re-signing, rotation); 0: no upkeep here")
    rotate = sub.add_parser("rotate", help="certify or rotate the delegated responder")
    rotate.add_argument("--issuer", help="the CA (default: the default issuer)")
    rotate.add_argument("--force", action="store_true", help="rotate even if not due")
    sub.add_parser("resign", help="sign pending and re-sign due responses once")


def run(args: argparse.Namespace, settings: Settings, service_factory: Callable[[], Any]) -> int:
    if args.ocsp_command == "serve":
        return _serve(args, settings, service_factory)
    service = service_factory()
    if args.ocsp_command == "rotate":
        from ca.applications.responders import ensure_responder

        issuer = args.issuer or settings.default_issuer
        credentials = ensure_responder(service, issuer, force=args.force)
        print(printable(f"OCSP responder of {issuer}: serial {credentials.serial_number:x}, "
                        f"valid until {credentials.not_after:%Y-%m-%d %H:%M:%SZ}"))
        return 0
    pending, due = _read_model(settings, service).maintain()
    print(f"signed {pending} pending and {due} due OCSP responses")
    return 0


def _database(settings: Settings) -> Any:
    from projections.db import open_read_model_database
    from projections.migrate import migrate

    db = open_read_model_database(settings.database_url, settings.data_dir)
    migrate(db)
    return db


def _read_model(settings: Settings, service: Any) -> Any:
    from ca.applications.responders import Responders
    from projections.ocsp import OcspReadModel, OcspSettings

    return OcspReadModel(_database(settings), Responders(service, rotate=True),
                         settings=OcspSettings.from_env(), clock=service.clock)


def _serve(args: argparse.Namespace, settings: Settings,
           service_factory: Callable[[], Any]) -> int:
    from api.ocsp_server import listen

    host, _, port_text = args.bind.rpartition(":")
    host, port = host.strip("[]") or "127.0.0.1", int(port_text)
    if port == 0:  # the workers must agree on one port
        probe = listen(host, 0, reuse_port=True)
        port = probe.getsockname()[1]
        probe.close()
    _database(settings).close()  # the tables first, before the workers race for them
    children = []
    for _ in range(max(1, args.workers)):
        pid = os.fork()
        if pid == 0:  # nothing is connected yet: each worker opens its own
            code = 1
            try:
                code = _worker(settings, service_factory, host, port, args.poll_seconds)
            finally:
                os._exit(code)
        children.append(pid)
    print(f"OCSP on http://{host}:{port}/ocsp ({len(children)} worker(s))", flush=True)
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    model = _read_model(settings, service_factory()) if args.maintain_seconds > 0 else None
    next_upkeep = time.monotonic()
    try:
        while not stopping:
            if any(os.waitpid(pid, os.WNOHANG)[0] for pid in children):
                print("certledger: an OCSP worker ended; stopping", file=sys.stderr)
                return 1
            if model is not None and time.monotonic() >= next_upkeep:
                _upkeep(model)
                next_upkeep = time.monotonic() + args.maintain_seconds
            time.sleep(0.2)
        return 0
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _upkeep(model: Any) -> None:
    try:
        model.maintain()
    except Exception as exc:  # the database or a key is away: try again next period
        print(printable(f"certledger: OCSP upkeep failed: {exc}"), file=sys.stderr)


def _worker(settings: Settings, service_factory: Callable[[], Any], host: str, port: int,
            poll_seconds: float) -> int:
    from api.ocsp_server import OcspHttpServer, listen, new_event_loop
    from ca.applications.responders import Responders
    from projections.db import open_read_model_database
    from projections.ocsp import OcspSettings
    from projections.ocsp_query import OcspAnswers

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    service = service_factory()
    db = open_read_model_database(settings.database_url, settings.data_dir)
    answers = OcspAnswers(db, Responders(service, rotate=False),
                          settings=OcspSettings.from_env(), clock=service.clock)
    answers.refresh()
    sock = listen(host, port, reuse_port=True)
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(OcspHttpServer(answers, poll_seconds=poll_seconds).serve(sock))
    return 0
