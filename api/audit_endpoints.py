"""The auditor's API: the log as the export has it, the signed tree heads, the CRLs.

Every view needs a token of the auditor (or admin) role and changes nothing.

- ``GET /api/v1/audit/events?after=N&limit=L``: NDJSON (``application/x-ndjson``), one
  export line per event (docs/audit.md) after position N, at most L (1 to 10000, default
  1000); ``X-Next-After`` and a ``Link: <…>; rel="next"`` name the next page while the
  page is full. An empty body: nothing after N.
- ``GET /api/v1/audit/tree-heads/latest``: the latest signed tree head (a head file's
  JSON), 404 before the first.
- ``GET /api/v1/audit/crls/<ca>``: the numbers of every CRL the CA published;
  ``GET /api/v1/audit/crls/<ca>/<number>``: that CRL, DER, as it was published.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, url_for

from api.auth import require
from api.context import ledger
from api.errors import ApiError
from api.openapi import Binary, Query, operation
from api.requests import whole_number
from ca.applications.audit_export import export_page
from ca.audit.head_files import head_to_json
from domain.actors import Role

__all__ = ["blueprint"]

blueprint = Blueprint("audit", __name__, url_prefix="/api/v1/audit")
MAX_PAGE = 10_000
_TAG = "audit"
_WHOLE = {"type": "integer", "minimum": 0}


def _number(name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    number = whole_number(text, low, high)
    if number is None:
        raise ApiError(400, "bad_parameter", f"{name} must be a whole number from {low} to "
                                             f"{high}")
    return number


@blueprint.get("/events")
@operation("The log as export lines (NDJSON), a page after a position", _TAG,
           {200: Binary("application/x-ndjson", "one export line per event (docs/audit.md)")},
           query=(Query("after", _WHOLE, "the position the page starts after (0: the start)"),
                  Query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                        "at most this many events (default 1000)")),
           headers={200: {"X-Next-After": {"type": "string"}, "Link": {"type": "string"}}})
@require(Role.AUDITOR)
def events() -> Any:
    """A page of the export, NDJSON."""
    after = _number("after", 0, 0, 2 ** 63 - 1)
    limit = _number("limit", 1000, 1, MAX_PAGE)
    text, last, count = export_page(ledger().log, after, limit)
    headers = {"X-Next-After": str(last)} if count == limit else {}
    if count == limit:
        url = url_for("audit.events", after=last, limit=limit)
        headers["Link"] = f'<{url}>; rel="next"'
    return Response(text, mimetype="application/x-ndjson", headers=headers)


@blueprint.get("/tree-heads/latest")
@operation("The latest signed tree head", _TAG, {200: "SignedTreeHead"}, errors=(404,))
@require(Role.AUDITOR)
def latest_tree_head() -> Any:
    """The latest signed tree head."""
    read = ledger().read
    head = read.tree_heads.latest()
    if head is None:
        raise ApiError(404, "tree_head_not_found", "no tree head has been signed yet")
    return head_to_json(read.tree_heads.as_signed(
        head, read.audit_tree.head_position(head.number) or 0))


@blueprint.get("/crls/<ca>")
@operation("The numbers of every CRL the CA published", _TAG, {200: "CrlNumbers"})
@require(Role.AUDITOR)
def crl_numbers(ca: str) -> Any:
    """The numbers of every CRL the CA published."""
    numbers = ledger().read.crls.archived_numbers(ca)
    if not numbers and ca not in ledger().read.crls.authorities():
        raise ApiError(404, "ca_not_found", f"no CA named {ca[:80]!r}")
    return {"ca": ca, "crl_numbers": numbers}


@blueprint.get("/crls/<ca>/<int:number>")
@operation("One CRL the CA published, DER, as it was published", _TAG,
           {200: Binary("application/pkix-crl")})
@require(Role.AUDITOR)
def archived_crl(ca: str, number: int) -> Any:
    """One published CRL, DER."""
    # a CRL number is at most 20 octets (RFC 5280 §5.2.3); the archive's column is 64-bit
    der = ledger().read.crls.archived(ca, number) if number < 2**63 else None
    if der is None:
        raise ApiError(404, "crl_not_found", f"no CRL #{number} of {ca[:80]!r}")
    return Response(der, mimetype="application/pkix-crl")
