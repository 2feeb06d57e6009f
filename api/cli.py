"""certledger: an event-sourced certificate authority.

Every command runs with umask 077 and first tightens the data directory (0700) and the
CA's files in it (0600); text it prints has control and bidi characters escaped
(api/text.py). ``certledger COMMAND --help`` tells more about each command.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from api.commands import audit, ca, ocsp, portals, read_models, tokens
from api.settings import Settings
from api.text import install_log_escaping, printable

__all__ = ["main"]

_GROUPS = (ca, portals, tokens, read_models, ocsp, audit)


def main(argv: Sequence[str] | None = None) -> int:
    previous = os.umask(0o077)  # stores, keys, the demo passphrase: the CA's user's only
    try:
        return _main(argv)
    finally:
        os.umask(previous)  # for callers in the same process (tests)


def _main(argv: Sequence[str] | None) -> int:
    install_log_escaping()
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(printable(f"certledger: {exc}"), file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="certledger", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    handlers = {}
    for group in _GROUPS:
        group.add_parsers(commands, settings)
        handlers.update(group.COMMANDS)
    parser.description = f"{__doc__}\nCommands: {', '.join(commands.choices)}"
    args = parser.parse_args(argv)
    from api.data_dir import secure_data_dir

    secure_data_dir(settings.data_dir)
    try:
        return int(handlers[args.command](args, settings) or 0)
    except Exception as exc:  # a clear line for people, not a traceback
        from api.errors import DATABASE_ERRORS, database_message
        from ca.keys.keystore import KeyStoreError
        from domain.errors import DomainError

        if isinstance(exc, (DomainError, KeyStoreError, ValueError)):
            print(printable(f"certledger: {exc}"), file=sys.stderr)
            return 2
        if isinstance(exc, DATABASE_ERRORS) or isinstance(exc.__cause__, DATABASE_ERRORS):
            print(printable(f"certledger: the database is unavailable "
                            f"({database_message(exc)}); try again"), file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())
