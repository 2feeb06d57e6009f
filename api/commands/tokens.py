"""``certledger token create|list|revoke``.

A token's scope is said when it is made: ``--portal CODE`` for an applicant portal (its
one portal), ``--portals a,b`` or ``--portals '*'`` (every portal) for an officer; admin
and auditor tokens see every portal.

A token is printed once, when it is made, and is never an argument afterwards: tokens
are listed and revoked by id (``token create`` prints the id on stderr), or a token is
read from stdin (``token revoke --stdin``), so no secret shows in ``ps`` or a shell's
history.
"""

from __future__ import annotations

import argparse
import sys
from uuid import UUID

from api.commands.common import Subcommands, open_ledger, operator
from api.settings import Settings
from api.text import printable
from ca.applications.tokens import TOKEN_PREFIX, token_id_of
from domain.actors import Role

__all__ = ["add_parsers", "COMMANDS"]


def add_parsers(commands: Subcommands, settings: Settings) -> None:
    token = commands.add_parser("token", help="API tokens")
    sub = token.add_subparsers(dest="token_command", required=True)
    create = sub.add_parser("create", help="create a token (printed once; its id on stderr)")
    create.add_argument("--role", required=True,
                        help="applicant-portal | officer | admin | auditor")
    create.add_argument("--name", required=True,
                        help="who holds it (1-200 characters, recorded in events)")
    create.add_argument("--portal", help="applicant-portal: the portal it belongs to")
    create.add_argument("--portals", help="officer: the portals it sees, a,b or '*' (every)")
    create.add_argument("--if-none", action="store_true",
                        help="do nothing (and succeed) when an active token of the role exists")
    sub.add_parser("list", help="every token: id, role, active, created, portals, name "
                                "(no secret)")
    revoke = sub.add_parser("revoke", help="revoke a token by its id, or read it from stdin")
    revoke.add_argument("token_id", nargs="?", help="the id `certledger token list` shows")
    revoke.add_argument("--stdin", action="store_true",
                        help="read the token itself from stdin (never as an argument)")


def _token(args: argparse.Namespace, settings: Settings) -> int:
    ledger = open_ledger(settings)
    try:
        if args.token_command == "revoke":
            ledger.tokens.revoke(operator(settings), _token_to_revoke(args))
            print("revoked")
            return 0
        if args.token_command == "list":
            print(f"{'id':<36}  {'role':<16}  {'active':<6}  {'created':<20}  "
                  f"{'portals':<16}  name")
            for info in ledger.tokens.list():
                print(printable(f"{info.id}  {info.role:<16}  "
                                f"{'yes' if info.active else 'no':<6}  "
                                f"{info.created:%Y-%m-%d %H:%M:%S}Z  {info.scope:<16}  "
                                f"{info.name}"))
            return 0
        role = Role.parse(args.role)
        portals = _scope(role, args)
        if args.if_none:
            active = [t for t in ledger.tokens.list() if t.active and t.role == role.value]
            if active:
                print(printable(f"an active {role.value} token exists already "
                                f"({active[0].name}, id {active[0].id}, printed when it was "
                                f"made); nothing made. Another: certledger token create "
                                f"--role {role.value} --name NAME"), file=sys.stderr)
                return 0
        token = ledger.tokens.create(operator(settings), name=args.name, role=role,
                                     portals=portals)
    finally:
        ledger.close()
    print(token)
    print(f"token id: {token_id_of(token)} (certledger token list / revoke ID)",
          file=sys.stderr)
    return 0


def _scope(role: Role, args: argparse.Namespace) -> list[str] | None:
    """The portals the new token sees (None: every portal), said explicitly."""
    if role is Role.APPLICANT_PORTAL:
        if not args.portal or args.portals:
            raise ValueError("an applicant-portal token belongs to one portal: give "
                             "--portal CODE (certledger portal list)")
        return [args.portal]
    if args.portal:
        raise ValueError("--portal is for applicant-portal tokens; an officer's: --portals")
    if role is Role.OFFICER:
        if not args.portals:
            raise ValueError("an officer token sees some portals: give --portals a,b or "
                             "--portals '*' (every portal)")
        if args.portals.strip() == "*":
            return None
        return sorted({code.strip() for code in args.portals.split(",") if code.strip()})
    if args.portals:
        raise ValueError(f"a {role.value} token sees every portal: no --portals")
    return None


def _token_to_revoke(args: argparse.Namespace) -> UUID:
    if args.stdin == bool(args.token_id):
        raise ValueError("give the token's id (certledger token list) or --stdin")
    if args.stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise ValueError("no token on stdin")
        return token_id_of(token)
    if args.token_id.startswith(TOKEN_PREFIX):
        raise ValueError("that is a token, not its id: a token on the command line shows "
                         "in ps and shell history; revoke it with --stdin (and by its id "
                         "from now on: certledger token list)")
    try:
        return UUID(args.token_id)
    except ValueError:
        raise ValueError("a token id looks like 1b4e28ba-2fa1-11d2-883f-0016d3cca427 "
                         "(certledger token list)") from None


COMMANDS = {"token": _token}
