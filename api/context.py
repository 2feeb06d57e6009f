"""What a request handler reaches for: the process's :class:`CertLedger`."""

from __future__ import annotations

from flask import current_app

from api.bootstrap import CertLedger

__all__ = ["ledger", "EXTENSION"]

EXTENSION = "certledger"


def ledger() -> CertLedger:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]
