"""Public services without a token (seed 003): revocation announcements (注销公告) per CA,
newest first, as JSON and CSV; the query service (查询服务): any two of order number,
certificate or application id, username, organisation name, handler phone, handler ID
number → status and dates only. One field is refused (400); a pair that matches nothing
gets one 404 answer whatever was wrong; each client address may ask ``query_rate``
times a minute (429 and Retry-After beyond). The ID number is matched by its HMAC.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, request

from api.context import ledger
from api.errors import ApiError, error_response
from api.openapi import Binary, Query, operation
from api.rate_limit import RateLimiter
from api.requests import MAX_POSITION, body, whole_number
from domain.errors import InvalidRequest
from domain.expiry import status_text
from projections.public_lookups import QUERY_FIELDS, Announcement

__all__ = ["blueprint"]

blueprint = Blueprint("public_services", __name__, url_prefix="/api/v1/public")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_PAGE = [Query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
         Query("cursor", {"type": "string", "maxLength": 100}, "next_cursor of the page before")]
_NOT_FOUND = "no application matches those fields"


def _time(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _page(ca: str) -> tuple[list[Announcement], str | None]:
    if not _NAME.match(ca) or ca not in ledger().read.authorities.names():
        raise ApiError(404, "ca_not_found", f"no CA named {ca[:80]!r}")
    limit = whole_number(request.args.get("limit", "100"), 1, 1000)
    if limit is None:
        raise ApiError(400, "bad_query", "limit is a whole number from 1 to 1000")
    before = None
    cursor = request.args.get("cursor")
    if cursor:
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            before = whole_number(text[2:], 0, MAX_POSITION)
            if not text.startswith("r:") or before is None:
                raise ValueError(text)
        except ValueError:
            raise ApiError(400, "bad_cursor", "cursor is a next_cursor this list gave") \
                from None
    rows = ledger().read.lookups.announcements(ca, before=before, limit=limit)
    next_cursor = None
    if len(rows) == limit:
        next_cursor = base64.urlsafe_b64encode(f"r:{rows[-1].position}".encode()) \
            .decode().rstrip("=")
    return rows, next_cursor


@blueprint.get("/revocations/<ca>")
@operation("Revocation announcements (注销公告) of a CA, newest first", "public",
           {200: "AnnouncementList"}, query=_PAGE)
def announcements(ca: str) -> Any:
    rows, next_cursor = _page(ca)
    return {"ca": ca, "items": [{"serial_number": r.serial_hex, "organisation": r.organisation,
                                 "common_name": r.common_name, "revocation_date": r.revoked_at,
                                 "reason": r.reason} for r in rows],
            "next_cursor": next_cursor}


def _cell(value: str | None) -> str:
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@blueprint.get("/revocations/<ca>.csv")
@operation("Revocation announcements of a CA as CSV (a page; next cursor in Link)", "public",
           {200: Binary("text/csv", "serial_number,organisation,common_name,"
                                    "revocation_date,reason")}, query=_PAGE)
def announcements_csv(ca: str) -> Any:
    rows, next_cursor = _page(ca)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["serial_number", "organisation", "common_name", "revocation_date",
                     "reason"])
    for r in rows:
        writer.writerow([r.serial_hex, _cell(r.organisation), _cell(r.common_name),
                         r.revoked_at, r.reason])
    headers = {"Content-Disposition": f'attachment; filename="{ca}-revocations.csv"'}
    if next_cursor:
        headers["Link"] = f'<?cursor={next_cursor}>; rel="next"'
    return Response(out.getvalue(), mimetype="text/csv", headers=headers)


def _limiter() -> RateLimiter:
    limiter = current_app.extensions.get("certledger.query_limiter")
    if limiter is None:
        limiter = RateLimiter(ledger().settings.query_rate)
        current_app.extensions["certledger.query_limiter"] = limiter
    return limiter  # type: ignore[no-any-return]


@blueprint.post("/query")
@operation("Look up an application's status with any two identifying fields", "public",
           {200: "PublicQueryAnswer"}, request="PublicQuery", errors=(404, 429),
           headers={429: {"Retry-After": {"type": "integer"}}})
def query() -> Any:
    wait = _limiter().check(request.remote_addr or "unknown")
    if wait is not None:
        response = error_response(429, "rate_limited", "too many queries; try again later")
        response.headers["Retry-After"] = str(wait)
        return response
    data = body()
    unknown = sorted(set(data) - set(QUERY_FIELDS))
    if unknown:
        raise ApiError(400, "bad_field", f"unknown fields: {', '.join(map(str, unknown))[:200]}")
    given = {k: v for k, v in data.items() if v not in (None, "")}
    if len(given) < 2:
        raise ApiError(400, "two_fields_needed", "give at least two of: "
                       + ", ".join(QUERY_FIELDS))
    if not all(isinstance(v, str) and len(v) <= 200 and "\x00" not in v
               for v in given.values()):
        raise ApiError(400, "bad_field", "every field is text of at most 200 characters "
                                         "(no NUL)")
    fields = dict(given)
    if "username" in fields:
        fields["username"] = fields["username"].upper()
    if "organisation" in fields:
        fields["organisation"] = fields["organisation"].strip().lower()
    if "handler_id_number" in fields:
        try:
            fields["handler_id_number"] = ledger().accounts.id_number_digest(
                fields["handler_id_number"])
        except InvalidRequest:  # no such number can match: the same answer
            raise ApiError(404, "not_found", _NOT_FOUND) from None
    hits = ledger().read.lookups.query(fields)
    if not hits:
        raise ApiError(404, "not_found", _NOT_FOUND)
    now = ledger().clock()
    return {"items": [{"status": status_text(h.status, _moment(h.not_after), now),
                       "applied_at": h.applied_at, "updated_at": h.updated_at,
                       "not_before": _time(h.not_before), "not_after": _time(h.not_after)}
                      for h in hits]}


def _moment(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None
