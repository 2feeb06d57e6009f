"""``GET /readyz`` and ``GET /metrics``, and the request id of every Flask request.

``/healthz`` (the front end answers it on its event loop) says the process is alive.
``/readyz`` says whether it should get traffic: the database answers, the read models
are at most ``CERTLEDGER_READY_MAX_LAG`` seconds behind the log, and every CA's latest
full CRL is published and not past its nextUpdate; 200 or 503 with what failed.
``/metrics`` is the Prometheus text of api/metrics.py, with what is read from stored
state at scrape time: projection lag (events, seconds), each CA's CRL age, the age of
each CA's oldest pre-signed OCSP response, certificates by CA and status (issuance and
revocation counts), database pool use, and whether the database answered.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from api.bootstrap import CertLedger
from api.context import ledger
from api.logs import request_id
from api.metrics import Metrics, Sample, render
from api.openapi import Binary, operation
from api.wsgi_bridge import REQUEST_ID_KEY, ROUTE_KEY
from domain.authority import FULL_CRL

__all__ = ["blueprint", "install", "readiness", "stored_state_samples"]

blueprint = Blueprint("observability", __name__)
METRICS = "certledger.metrics"
_HELP = {
    "certledger_database_up": ("gauge", "1 if the database answered this scrape"),
    "certledger_projection_lag_events": ("gauge", "events in the log a read model has not "
                                                  "applied yet"),
    "certledger_projection_lag_seconds": ("gauge", "age of the oldest event a read model has "
                                                   "not applied yet"),
    "certledger_crl_age_seconds": ("gauge", "seconds since thisUpdate of the CA's latest CRL"),
    "certledger_crl_next_update_seconds": ("gauge", "seconds until nextUpdate of the CA's "
                                                    "latest CRL"),
    "certledger_ocsp_oldest_response_age_seconds": ("gauge", "seconds since thisUpdate of "
                                                             "the CA's oldest pre-signed OCSP "
                                                             "response"),
    "certledger_ocsp_unsigned_statuses": ("gauge", "OCSP statuses waiting for a signature"),
    "certledger_certificates": ("gauge", "issued certificates by CA and OCSP status"),
}


def install(app: Flask) -> None:
    """Every request has an id (the front end's, or one made here) in its log records,
    its error body and ``X-Request-Id``; the matched route goes back to the front end."""

    @app.before_request
    def _request_id() -> None:
        if request_id.get() is None:
            request.environ["certledger.token"] = request_id.set(uuid.uuid4().hex[:16])

    @app.after_request
    def _route(response: Response) -> Response:
        if request.url_rule is not None:
            request.environ[ROUTE_KEY] = request.url_rule.rule
        if REQUEST_ID_KEY not in request.environ:
            response.headers["X-Request-Id"] = request_id.get() or ""
        return response

    @app.teardown_request
    def _reset(_: BaseException | None) -> None:
        token = request.environ.pop("certledger.token", None)
        if token is not None:
            request_id.reset(token)


@blueprint.get("/readyz")
@operation("Readiness: database, projection lag, CRL freshness", "public",
           {200: "Readiness", 503: "Readiness"})
def ready() -> Any:
    checks = readiness(ledger())
    ok = all(check["ok"] for check in checks.values())
    return {"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503


@blueprint.get("/metrics")
@operation("Metrics (Prometheus text format 0.0.4)", "public",
           {200: Binary("text/plain", "counters, gauges and histograms")})
def metrics() -> Any:
    own: Metrics = current_app.extensions.setdefault(METRICS, Metrics())
    samples = own.server_samples() + stored_state_samples(ledger())
    return Response(render(samples, _HELP), mimetype="text/plain; version=0.0.4")


def _failure(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def _lag(certledger: CertLedger) -> tuple[dict[str, int], dict[str, float]]:
    runner = certledger.read.runner
    head = runner.head()
    positions = runner.positions()
    events = {name: max(0, head - position) for name, position in positions.items()}
    seconds: dict[str, float] = {}
    now = time.time()
    for name, position in positions.items():
        event = certledger.log.event_at(position + 1) if position < head else None
        seconds[name] = max(0.0, now - event.timestamp.timestamp()) if event else 0.0
    return events, seconds


def readiness(certledger: CertLedger) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    try:
        _, lag = _lag(certledger)
    except Exception as exc:
        return {"database": {"ok": False, "error": _failure(exc)}}
    checks["database"] = {"ok": True}
    limit = certledger.settings.ready_max_lag
    worst = max(lag.values(), default=0.0)
    checks["projections"] = {"ok": worst <= limit, "lag_seconds": round(worst, 3),
                             "limit_seconds": limit}
    now = datetime.now(UTC)
    stale = []
    try:
        for issuer in certledger.read.crls.authorities():
            latest = certledger.read.crls.latest(issuer, FULL_CRL, with_der=False)
            if latest is None or latest.next_update <= now:
                stale.append(issuer)
    except Exception as exc:
        checks["crl"] = {"ok": False, "error": _failure(exc)}
        return checks
    checks["crl"] = {"ok": not stale, "stale_or_missing": stale}
    return checks


def stored_state_samples(certledger: CertLedger) -> list[Sample]:
    """What the metrics read from stored state; ``certledger_database_up`` 0 if it fails."""
    samples: list[Sample] = []
    try:
        events, seconds = _lag(certledger)
        read = certledger.read
        now = time.time()
        for name in events:
            samples.append(("certledger_projection_lag_events", {"model": name},
                            float(events[name])))
            samples.append(("certledger_projection_lag_seconds", {"model": name},
                            seconds[name]))
        for issuer in read.crls.authorities():
            for kind in ("full", "delta"):
                latest = read.crls.latest(issuer, kind, with_der=False)
                if latest is not None:
                    labels = {"ca": issuer, "kind": kind}
                    samples.append(("certledger_crl_age_seconds", labels,
                                    now - latest.this_update.timestamp()))
                    samples.append(("certledger_crl_next_update_seconds", labels,
                                    latest.next_update.timestamp() - now))
        for issuer, oldest, unsigned in read.database.query(
                "SELECT issuer, min(CASE WHEN response_sha1 IS NOT NULL THEN this_update END),"
                " sum(CASE WHEN response_sha1 IS NULL THEN 1 ELSE 0 END)"
                " FROM rm_ocsp_status GROUP BY issuer"):
            if oldest is not None:
                samples.append(("certledger_ocsp_oldest_response_age_seconds", {"ca": issuer},
                                now - float(oldest)))
            samples.append(("certledger_ocsp_unsigned_statuses", {"ca": issuer},
                            float(unsigned or 0)))
        for issuer, status, count in read.database.query(
                "SELECT issuer, status, count(*) FROM rm_ocsp_status GROUP BY issuer, status"):
            samples.append(("certledger_certificates", {"ca": issuer, "status": str(status)},
                            float(count)))
    except Exception:
        return [("certledger_database_up", {}, 0.0)]
    return [("certledger_database_up", {}, 1.0), *samples]
