"""One error mapping: every failure leaves as JSON ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
import sqlite3

import psycopg
from eventsourcing import persistence
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from api.logs import request_id
from ca.encoding.certificate_encoding import CertificateLintError
from ca.keys.keystore import KeyStoreError
from domain.errors import Conflict, DomainError, IllegalTransition, InvalidRequest, NotFound

__all__ = ["ApiError", "register_error_handlers", "error_response", "DATABASE_ERRORS",
           "database_message", "refuse_writes_on_a_broken_log"]

log = logging.getLogger("certledger.api")

# the database is unreachable, saturated (no pooled connection in time, "too many
# clients"), or a statement ran past its timeout: 503, try again (never a 500)
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    persistence.OperationalError, persistence.InterfaceError, psycopg.OperationalError,
    psycopg.InterfaceError, sqlite3.OperationalError)
RETRY_AFTER_SECONDS = 5

_STATUS: list[tuple[type[DomainError], int]] = [
    (NotFound, 404), (IllegalTransition, 409), (Conflict, 409), (InvalidRequest, 400),
]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str):  # type: ignore[no-untyped-def]
    error = {"code": code, "message": message}
    current = request_id.get()
    if current is not None:  # to quote when reporting it (in every log line too)
        error["request_id"] = current
    response = jsonify({"error": error})
    response.status_code = status
    return response


def refuse_writes_on_a_broken_log():  # type: ignore[no-untyped-def]
    """Before each request: while the event log does not match its signed tree heads
    (ca/applications/log_integrity.py), every write to the API is refused with 503 and
    the reason; reads, CA certificates, CRLs and OCSP are served as before."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.path.startswith("/api/"):
        return None
    from api.context import ledger

    integrity = ledger().read.integrity
    if integrity.allows_writes:
        return None
    return error_response(503, "log_integrity_failed", integrity.reason)


def refuse_nul_in_the_url():  # type: ignore[no-untyped-def]
    """Before each request: a NUL (``%00``) in the path or in a query value names nothing
    (404) and is no query (400). PostgreSQL refuses NUL in text, so it must not reach a
    lookup (it was a 500 there, and on SQLite quietly matched nothing)."""
    if "\x00" in request.path:
        return error_response(404, "not_found", "no such resource")
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            return error_response(400, "bad_query", "a query value may not hold NUL (%00)")
    return None


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):  # type: ignore[no-untyped-def]
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):  # type: ignore[no-untyped-def]
        status = next((s for kind, s in _STATUS if isinstance(exc, kind)), 400)
        return error_response(status, exc.code, exc.message)

    @app.errorhandler(CertificateLintError)
    def _lint_error(exc: CertificateLintError):  # type: ignore[no-untyped-def]
        log.warning("certificate not signed: lint findings %s", exc.findings)
        return error_response(422, "lint_failed", str(exc))

    @app.errorhandler(KeyStoreError)
    def _key_error(exc: KeyStoreError):  # type: ignore[no-untyped-def]
        log.error("key store: %s", exc)
        return error_response(503, "ca_key_unavailable", "the CA key is not available")

    def _database(exc: Exception):  # type: ignore[no-untyped-def]
        log.error("database unavailable: %s", database_message(exc))
        response = error_response(503, "database_unavailable",
                                  "the database is unavailable; try again shortly")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for kind in DATABASE_ERRORS:
        app.register_error_handler(kind, _database)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unexpected error")
        return error_response(500, "internal_error", "internal error; see the server log")


def database_message(exc: BaseException) -> str:
    """One line about a database failure (no connection string, no password)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else 'no detail'}"
