"""``certledger portal create|list``: RA portals (tenants).

A portal's tokens are made with ``certledger token create --role applicant-portal
--portal CODE`` (officers: ``--portals a,b`` or ``--portals '*'``).
"""

from __future__ import annotations

import argparse

from api.commands.common import Subcommands, open_ledger, operator
from api.settings import Settings
from api.text import printable

__all__ = ["add_parsers", "COMMANDS"]


def add_parsers(commands: Subcommands, settings: Settings) -> None:
    portal = commands.add_parser("portal", help="RA portals (tenants)")
    sub = portal.add_subparsers(dest="portal_command", required=True)
    create = sub.add_parser("create", help="create a portal")
    create.add_argument("code", help="1-63 characters a-z 0-9 '-': in tokens' scopes and URLs")
    create.add_argument("--name", required=True, help="the portal's name, as people read it")
    sub.add_parser("list", help="every portal: code, created, name")


def _portal(args: argparse.Namespace, settings: Settings) -> int:
    ledger = open_ledger(settings)
    try:
        if args.portal_command == "create":
            made = ledger.portals.create(operator(settings), code=args.code, name=args.name)
            print(printable(f"portal {made.code} created"))
            return 0
        print(f"{'code':<24}  {'created':<20}  name")
        for portal in ledger.portals.list():
            created = f"{portal.created:%Y-%m-%d %H:%M:%S}Z" if portal.created else "(built in)"
            print(printable(f"{portal.code:<24}  {created:<20}  {portal.name}"))
        return 0
    finally:
        ledger.close()


COMMANDS = {"portal": _portal}
