"""What relying parties fetch without a token: CA certificates and chains, health."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app

from api.errors import ApiError
from api.views import pem
from ca.applications.certificates import CAService

__all__ = ["blueprint"]

blueprint = Blueprint("public", __name__)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _service() -> CAService:
    return current_app.extensions["certledger"]  # type: ignore[no-any-return]


def _ca_name(name: str) -> str:
    if not _NAME.match(name):
        raise ApiError(404, "ca_not_found", f"no CA named {name!r}")
    return name


@blueprint.get("/ca/<name>.crt")
def ca_certificate(name: str) -> Any:
    der = _service().get_authority(_ca_name(name)).certificate_der
    return Response(der, mimetype="application/pkix-cert",
                    headers={"Cache-Control": "public, max-age=3600"})


@blueprint.get("/ca/<name>-chain.pem")
def ca_chain(name: str) -> Any:
    chain = "".join(pem(der) for der in _service().chain(_ca_name(name)))
    return Response(chain, mimetype="application/pem-certificate-chain")


@blueprint.get("/healthz")
def health() -> Any:
    return {"status": "ok"}
