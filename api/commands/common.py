"""What every command needs: the process's CertLedger, the operator as an actor, and a
progress bar for long replays."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TextIO, TypeAlias

from api.bootstrap import CertLedger, bootstrap
from api.settings import Settings
from domain.actors import Actor, Role

__all__ = ["Subcommands", "open_ledger", "operator", "text_progress"]

# what argparse hands each group to add its commands to
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def open_ledger(settings: Settings) -> CertLedger:
    return bootstrap(settings)


def operator(settings: Settings) -> Actor:
    """The person at the command line: the CA operator, by their user name."""
    return Actor(settings.operator, Role.ADMIN)


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
