"""What relying parties fetch without a token: CA certificates and chains, health."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app

from api.context import ledger
from api.errors import DATABASE_ERRORS, ApiError
from api.openapi import Binary, operation
from api.views import pem
from domain.errors import NotFound

__all__ = ["blueprint", "ca_chain_ders", "last_copies"]

blueprint = Blueprint("public", __name__)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def last_copies() -> dict[Any, Any]:
    """What this process last served, to serve again while the database is away."""
    return current_app.extensions.setdefault("certledger.last_copies", {})  # type: ignore[no-any-return]


def ca_chain_ders(name: str) -> list[bytes] | None:
    """The CA's certificate and its parents' (None: no CA of that name): from the CAs
    read model, or from the log while the read model has not caught up; while the
    database is away, the copy this process served last. No key is opened, nothing is
    written."""
    if not _NAME.match(name):
        return None
    copies = last_copies()
    try:
        chain = ledger().read.authorities.chain(name)
        if chain is None:
            chain = ledger().hierarchy.chain(name)
    except NotFound:
        return None
    except DATABASE_ERRORS:
        if ("chain", name) in copies:
            return copies[("chain", name)]  # type: ignore[no-any-return]
        raise
    copies[("chain", name)] = chain
    return chain


def _chain(name: str) -> list[bytes]:
    chain = ca_chain_ders(name)
    if chain is None:
        raise ApiError(404, "ca_not_found", f"no CA named {name[:80]!r}")
    return chain


@blueprint.get("/ca/<name>.crt")
@operation("A CA's certificate (DER)", "public",
           {200: Binary("application/pkix-cert", "the CA certificate, DER")})
def ca_certificate(name: str) -> Any:
    return Response(_chain(name)[0], mimetype="application/pkix-cert",
                    headers={"Cache-Control": "public, max-age=3600"})


@blueprint.get("/ca/<name>-chain.pem")
@operation("A CA's certificate and its parents' (PEM)", "public",
           {200: Binary("application/pem-certificate-chain", "the chain, PEM")})
def ca_chain(name: str) -> Any:
    chain = "".join(pem(der) for der in _chain(name))
    return Response(chain, mimetype="application/pem-certificate-chain")


@blueprint.get("/healthz")
@operation("Liveness", "public", {200: "Health"})
def health() -> Any:
    return {"status": "ok"}
