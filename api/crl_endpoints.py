"""``GET /crl/<ca>.crl`` and ``GET /crl/<ca>-delta.crl``: the CA's latest full and delta CRL.

DER, ``application/pkix-crl``, at the URLs issued certificates name (``PublicUrls``).
A GET reads the latest signed CRL from the read-model store (the bytes are cached per
CRL number) and never signs: before a CA's first CRL is published it answers 503 with
Retry-After. Caching: ETag (CA, kind and CRL number: a number is never reused),
Last-Modified = thisUpdate, Expires = nextUpdate and ``max-age`` until then, so
conditional requests get 304.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, request

from api.context import ledger
from api.errors import DATABASE_ERRORS, ApiError, error_response
from api.openapi import Binary, operation
from api.public import ca_chain_ders, last_copies
from ca.applications.crl_publisher import CrlUnavailable, Publication
from domain.authority import DELTA_CRL, FULL_CRL, CrlKind

__all__ = ["blueprint", "keep_copies"]

blueprint = Blueprint("crl", __name__)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_DELTA_SUFFIX = "-delta"


def _resolve(name: str) -> tuple[str, CrlKind]:
    """(CA, kind) for a file name. A CA named exactly so wins over a delta of another."""
    if ca_chain_ders(name) is not None:
        return name, FULL_CRL
    base = name.removesuffix(_DELTA_SUFFIX)
    if base != name and ca_chain_ders(base) is not None:
        return base, DELTA_CRL
    raise ApiError(404, "ca_not_found", f"no CA or CRL named {name[:80]!r}")


@blueprint.get("/crl/<name>.crl")
@operation("A CA's latest full CRL (<ca>.crl) or delta CRL (<ca>-delta.crl), DER", "public",
           {200: Binary("application/pkix-crl", "the CRL, DER"), 304: None}, errors=(404, 503),
           headers={503: {"Retry-After": {"type": "string"}}})
def crl(name: str) -> Any:
    """The latest stored CRL, as it was signed. A GET never signs or records anything:
    the CRL processes publish (a first base as soon as a CA exists)."""
    issuer, kind = _resolve(name)
    copies = last_copies()
    try:
        publication = ledger().read.crls.latest(issuer, kind)
    except DATABASE_ERRORS:  # the database is away: the copy served last, if any
        publication = copies.get(("crl", issuer, kind))
        if publication is None:
            raise
    if publication is not None:
        copies[("crl", issuer, kind)] = publication
    if publication is None:
        raise CrlUnavailable(f"no {kind} CRL of {issuer} has been published yet; try again "
                             "in a few seconds", code="crl_not_published")
    return _response(publication, ledger().clock())


def _response(publication: Publication, now: Any) -> Any:
    response = Response(publication.der, mimetype="application/pkix-crl")
    response.set_etag(f"{publication.issuer}-{publication.kind}-{publication.crl_number}")
    response.last_modified = publication.this_update
    response.expires = publication.next_update
    response.cache_control.public = True
    response.cache_control.no_transform = True
    response.cache_control.max_age = max(0, int((publication.next_update - now)
                                                .total_seconds()))
    return response.make_conditional(request)


@blueprint.errorhandler(CrlUnavailable)
def _unavailable(exc: CrlUnavailable) -> Any:
    response = error_response(503, exc.code, exc.message)
    response.headers["Retry-After"] = "5"
    return response


def keep_copies(app: Any) -> None:
    """Load every CA's chain and latest CRLs into this process's copies (the front end
    does it every few seconds), so that each worker can serve them through an outage."""
    with app.app_context():
        read = ledger().read
        for issuer in read.crls.authorities():
            ca_chain_ders(issuer)
            for kind in (FULL_CRL, DELTA_CRL):
                publication = read.crls.latest(issuer, kind)
                if publication is not None:
                    last_copies()[("crl", issuer, kind)] = publication
