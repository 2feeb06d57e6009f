"""``certledger token create|list|revoke`` and ``certledger keys check``.

A token is printed once, when it is made, and is never an argument afterwards: tokens
are listed and revoked by id (``token create`` prints the id on stderr), or a token is
read from stdin (``token revoke --stdin``), so no secret shows in ``ps`` or a shell's
history.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from uuid import UUID

from api.settings import Settings
from api.text import printable

__all__ = ["add_parsers", "COMMANDS"]


def add_parsers(commands: Any) -> None:
    token = commands.add_parser("token", help="API tokens")
    sub = token.add_subparsers(dest="token_command", required=True)
    create = sub.add_parser("create", help="create a token (printed once; its id on stderr)")
    create.add_argument("--role", required=True,
                        help="applicant-portal | officer | admin | auditor")
    create.add_argument("--name", required=True,
                        help="who holds it (1-200 characters, recorded in events)")
    create.add_argument("--if-none", action="store_true",
                        help="do nothing (and succeed) when an active token of the role exists")
    sub.add_parser("list", help="every token: id, name, role, active, created (no secret)")
    revoke = sub.add_parser("revoke", help="revoke a token by its id, or read it from stdin")
    revoke.add_argument("token_id", nargs="?", help="the id `certledger token list` shows")
    revoke.add_argument("--stdin", action="store_true",
                        help="read the token itself from stdin (never as an argument)")
    keys = commands.add_parser("keys", help="the key store")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("check", help="key files no event names, and named keys with no file "
                                      "(exit status 1 if any)")


def _operator() -> Any:
    from domain.actors import Actor, Role

    return Actor(os.environ.get("USER", "operator") or "operator", Role.ADMIN)


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from api.cli import _service
    from ca.applications import tokens as access
    from domain.actors import Role

    if args.token_command == "revoke":
        return _revoke(args, _service(settings))
    service = _service(settings)
    if args.token_command == "list":
        print(f"{'id':<36}  {'role':<16}  {'active':<6}  {'created':<20}  name")
        for info in access.list_tokens(service):
            print(printable(f"{info.id}  {info.role:<16}  {'yes' if info.active else 'no':<6}  "
                            f"{info.created:%Y-%m-%d %H:%M:%S}Z  {info.name}"))
        return 0
    role = Role.parse(args.role)
    if args.if_none:
        active = [t for t in access.list_tokens(service) if t.active and t.role == role.value]
        if active:
            print(printable(f"an active {role.value} token exists already "
                            f"({active[0].name}, id {active[0].id}, printed when it was made); "
                            f"nothing made. Another: certledger token create --role "
                            f"{role.value} --name NAME"), file=sys.stderr)
            return 0
    token = access.create_token(service, _operator(), name=args.name, role=role)
    print(token)
    print(f"token id: {access.token_id_of(token)} (certledger token list / revoke ID)",
          file=sys.stderr)
    return 0


def _revoke(args: argparse.Namespace, service: Any) -> int:
    from ca.applications import tokens as access

    if args.stdin == bool(args.token_id):
        raise ValueError("give the token's id (certledger token list) or --stdin")
    if args.stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise ValueError("no token on stdin")
        access.revoke_token(service, _operator(), token)
    else:
        if args.token_id.startswith(access.TOKEN_PREFIX):
            raise ValueError("that is a token, not its id: a token on the command line shows "
                             "in ps and shell history; revoke it with --stdin (and by its id "
                             "from now on: certledger token list)")
        try:
            ident = UUID(args.token_id)
        except ValueError:
            raise ValueError("a token id looks like 1b4e28ba-2fa1-11d2-883f-0016d3cca427 "
                             "(certledger token list)") from None
        access.revoke_token_id(service, _operator(), ident)
    print("revoked")
    return 0


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from api.cli import _service
    from ca.key_check import check_keys

    service = _service(settings)
    report = check_keys(service, service.keystore)
    for ref in report.unreferenced:
        print(printable(f"unreferenced key file: {service.keystore.path_of(ref)} "
                        "(no event names it)"))
    for ref in report.missing:
        print(printable(f"missing key file: {ref} ({report.referenced[ref]}) has no file "
                        f"in {service.keystore.path_of(ref).parent}"))
    print(printable(f"{len(report.referenced)} keys named by events, "
                    f"{len(report.unreferenced)} unreferenced, {len(report.missing)} missing"),
          file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


COMMANDS = {"token": _token, "keys": _keys}
