"""certledger: an event-sourced certificate authority.

Every command runs with umask 077 and first tightens the data directory (0700) and the
CA's files in it (0600); text it prints has control and bidi characters escaped
(api/text.py). ``certledger COMMAND --help`` tells more about each command.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from api.settings import Settings
from api.text import install_log_escaping, printable

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    previous = os.umask(0o077)  # stores, keys, the demo passphrase: the CA's user's only
    try:
        return _main(argv)
    finally:
        os.umask(previous)  # for callers in the same process (tests)


def _main(argv: Sequence[str] | None) -> int:
    install_log_escaping()
    parser = argparse.ArgumentParser(prog="certledger", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

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
    serve.add_argument("--bind", default=os.environ.get("CERTLEDGER_BIND", "127.0.0.1:8080"))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)))
    serve.add_argument("--threads", type=int, default=4)

    from api import cli_admin  # token create|list|revoke, keys check

    cli_admin.add_parsers(commands)
    events = commands.add_parser("events", help="print the event log in order")
    events.add_argument("--after", type=int, default=0, help="start after this position")
    events.add_argument("--limit", type=int, default=1000)
    events.add_argument("--json", action="store_true", help="one JSON object per line")

    from api import cli_readmodels  # migrate, projections run|rebuild|status, crl publish

    cli_readmodels.add_parsers(commands)
    from api import ocsp_commands  # ocsp serve | rotate | resign

    ocsp_commands.add_parser(commands)
    parser.description = f"{__doc__}\nCommands: {', '.join(commands.choices)}"
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    from api.data_dir import secure_data_dir

    secure_data_dir(settings.data_dir)
    handlers = {**_COMMANDS, **cli_admin.COMMANDS, **cli_readmodels.COMMANDS}
    try:
        return int(handlers[args.command](args, settings) or 0)
    except Exception as exc:  # a clear line for people, not a traceback
        from ca.keys.keystore import KeyStoreError
        from domain.errors import DomainError

        if isinstance(exc, (DomainError, KeyStoreError, ValueError)):
            print(printable(f"certledger: {exc}"), file=sys.stderr)
            return 2
        raise


def _service(settings: Settings) -> Any:
    from api.bootstrap import bootstrap

    _use_demo_passphrase_if_present(settings)
    return bootstrap(settings)


def _use_demo_passphrase_if_present(settings: Settings) -> None:
    demo = settings.data_dir / "key-passphrase"
    if not (os.environ.get("CERTLEDGER_KEY_PASSPHRASE")
            or os.environ.get("CERTLEDGER_KEY_PASSPHRASE_FILE")) and demo.exists():
        os.environ["CERTLEDGER_KEY_PASSPHRASE_FILE"] = str(demo)


def _init(args: argparse.Namespace, settings: Settings) -> int:
    from ca.encoding.algorithms import KeyAlgorithm
    from domain.actors import Actor, Role

    if args.demo_passphrase:
        demo = settings.data_dir / "key-passphrase"
        if not demo.exists() and not os.environ.get("CERTLEDGER_KEY_PASSPHRASE"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(demo, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
            print(printable(f"made a demo key passphrase in {demo} "
                            "(keep it: the CA keys need it)"))
    service = _service(settings)
    from domain.errors import NotFound

    try:
        service.get_authority(args.issuing_name)
        if args.if_missing:
            return 0
    except NotFound:
        pass
    algorithm = KeyAlgorithm.parse(args.algorithm)
    operator = Actor(os.environ.get("USER", "operator") or "operator", Role.ADMIN)
    service.establish_hierarchy(operator, algorithm=algorithm, root_name=args.root_name,
                                issuing_name=args.issuing_name,
                                organization=args.organization, country=args.country,
                                root_common_name=args.root_cn,
                                issuing_common_name=args.issuing_cn)
    print(printable(f"created {algorithm.value} CAs {args.root_name!r} and "
                    f"{args.issuing_name!r} in {settings.data_dir}"))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from api.serve import serve

    _use_demo_passphrase_if_present(settings)
    serve(settings, bind=args.bind, workers=args.workers, threads=args.threads)
    return 0


def _events(args: argparse.Namespace, settings: Settings) -> int:
    service = _service(settings)
    position = args.after
    remaining = args.limit
    while remaining > 0:
        batch = service.recorder.select_notifications(start=position + 1,
                                                      limit=min(remaining, 500))
        if not batch:
            break
        for notification in batch:
            event = service.mapper.to_domain_event(notification)
            print(_describe(notification.id, event, as_json=args.json))
            position = notification.id
            remaining -= 1
    return 0


def _describe(position: int, event: Any, *, as_json: bool) -> str:
    fields = {k: v for k, v in vars(event).items()
              if k not in ("originator_id", "originator_version", "timestamp",
                           "originator_topic")}
    shown = {k: (f"<{len(v)} bytes>" if isinstance(v, bytes) else v)
             for k, v in fields.items()}
    topic = getattr(type(event), "TOPIC", type(event).__qualname__)
    if as_json:
        return json.dumps({"position": position, "topic": topic,
                           "originator_id": str(event.originator_id),
                           "version": event.originator_version,
                           "timestamp": event.timestamp.isoformat(), **shown}, default=str)
    who = f"{shown.pop('actor_id', '?')} ({shown.pop('actor_role', '?')})"
    detail = ", ".join(f"{k}={v}" for k, v in shown.items())
    # recorded values (a comment, a name) may hold newlines or terminal controls: escaped,
    # so one event is one line and no value can pass for another event
    return printable(f"{position:>7}  {event.timestamp:%Y-%m-%d %H:%M:%S}Z  {topic:<42} "
                     f"{event.originator_id} v{event.originator_version}  by {who}  {detail}")


def _ocsp(args: argparse.Namespace, settings: Settings) -> int:
    from api import ocsp_commands

    _use_demo_passphrase_if_present(settings)
    return ocsp_commands.run(args, settings, lambda: _service(settings))


_COMMANDS = {"init": _init, "serve": _serve, "events": _events, "ocsp": _ocsp}

if __name__ == "__main__":
    sys.exit(main())
