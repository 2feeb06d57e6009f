"""The production front end of ``certledger serve``: one event loop per worker process.

What it serves where (README, "Production topology"):

- ``POST /ocsp``, ``GET /ocsp/<base64>``: on the event loop from memory (pre-signed
  responses, refreshed by a thread every 100 ms); anything to sign goes off the loop to
  the on-demand signing processes (api/ocsp_on_demand.py), capped;
- ``GET /healthz``: on the event loop (the process is alive and its loop turns);
- everything else (the RA API, ``/crl``, ``/ca``, ``/readyz``, ``/metrics``): the Flask
  app, in a bounded thread pool (api/wsgi_bridge.py), once the whole request is in.

Slow and idle clients are held by the loop (api/http_front.py), never by a thread. Every
answer is counted in the metrics (route, status, latency); API requests and every
error get a JSON access-log line with the request id.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from flask import Flask

from api.context import EXTENSION
from api.crl_endpoints import keep_copies
from api.http_front import HttpServer
from api.http_wire import Request
from api.metrics import Metrics, Sample
from api.observability import METRICS
from api.ocsp_endpoints import answers_for
from api.ocsp_http import Reply
from api.ocsp_on_demand import OnDemandSigning
from api.ocsp_server import OcspRoutes, Refresher
from api.settings import Settings
from api.wsgi_bridge import WsgiBridge

__all__ = ["FrontEnd"]

access = logging.getLogger("certledger.access")
log = logging.getLogger("certledger.http")
_COPIES_SECONDS = 10.0
_HEALTH = Reply(200, b'{"status": "ok"}\n', [("Content-Type", "application/json"),
                                              ("Cache-Control", "no-store")])


class FrontEnd:
    def __init__(self, app: Flask, settings: Settings, *, bind: tuple[str, int],
                 signing_processes: int | None = None) -> None:
        self.app = app
        self.metrics: Metrics = app.extensions.setdefault(METRICS, Metrics())
        ledger = app.extensions[EXTENSION]
        self.answers = answers_for(app)
        processes = settings.ocsp_signers if signing_processes is None else signing_processes
        self.signing = OnDemandSigning(self.answers, limit=settings.ocsp_nonce_limit,
                                       processes=processes, settings=ledger.settings)
        self.ocsp = OcspRoutes(self.answers, self.signing)
        self.refresher = Refresher(self.answers)
        self.wsgi = WsgiBridge(app, threads=settings.threads, queue_limit=settings.queue_limit,
                               server=bind)
        self.http = HttpServer(self.handle, settings.http, observe=self.observe)
        self._stopping = threading.Event()
        self.metrics.gauge("certledger_http_requests_waiting", "gauge",
                           "requests waiting for a thread of the app",
                           lambda: [("certledger_http_requests_waiting", {},
                                     float(self.wsgi.waiting))])
        self.metrics.gauge("certledger_ocsp_on_demand_in_progress", "gauge",
                           "on-demand OCSP requests being planned or signed",
                           lambda: [("certledger_ocsp_on_demand_in_progress", {},
                                     float(self.signing.pending))])
        self.metrics.gauge("certledger_http_connections", "gauge", "open connections",
                           self._connections)
        self.metrics.gauge("certledger_leader", "gauge", "processes running the projection "
                           "runner and the processes (1 in a healthy deployment)",
                           lambda: [("certledger_leader", {}, float(ledger.read.leading))])
        self.metrics.gauge("certledger_db_pool", "gauge", "database pool figures by pool "
                           "(psycopg_pool's names: pool_size, pool_available, ...)",
                           lambda: _pool_samples(ledger))

    def _connections(self) -> list[Sample]:
        return [("certledger_http_connections", {}, float(len(self.http.connections)))]

    def handle(self, request: Request) -> Reply | Awaitable[Reply]:
        path = request.path
        if self.ocsp.matches(path):
            request.route = "/ocsp" if request.method == b"POST" else "/ocsp/<request>"
            return self.ocsp.handle(request)
        if path == b"/healthz" and request.method in (b"GET", b"HEAD"):
            request.route = "/healthz"
            return _HEALTH
        return self.wsgi.call(request)

    def observe(self, request: Request, reply: Reply) -> None:
        seconds = time.monotonic() - request.started
        route = request.route or "(refused)"
        self.metrics.observe(request.method.decode("latin-1"), route, reply.status, seconds)
        if reply.status >= 400 or not route.startswith(("/ocsp", "/healthz")):
            access.info("%s %s %d", request.method.decode("latin-1"), route, reply.status,
                        extra={"request_id": request.request_id, "fields": {
                            "method": request.method.decode("latin-1"), "route": route,
                            "status": reply.status, "ms": round(seconds * 1000, 2),
                            "client": request.client, "bytes": len(reply.body)}})

    def _keep_copies(self) -> None:
        while not self._stopping.wait(_COPIES_SECONDS):
            try:
                keep_copies(self.app)
            except Exception as exc:  # the database is away: keep the copies we have
                log.debug("copies not refreshed: %s", exc)

    async def serve(self, sockets: list[socket.socket],
                    started: Callable[[], None] | None = None) -> None:
        try:
            keep_copies(self.app)
        except Exception as exc:
            log.warning("CA certificates and CRLs not loaded at start: %s", exc)
        threading.Thread(target=self._keep_copies, name="keep-copies", daemon=True).start()
        self.refresher.start()
        self.metrics.start_publishing()
        try:
            await self.http.serve(sockets, started)
        finally:
            self._stopping.set()
            self.refresher.stop()
            self.signing.close()
            self.wsgi.close()


def _pool_samples(ledger: Any) -> list[Sample]:
    pools = {"read_models": ledger.read.database.pool_stats()}
    datastore = getattr(ledger.log.recorder, "datastore", None)
    if datastore is not None:
        pools["event_store"] = dict(datastore.pool.get_stats())
    return [("certledger_db_pool", {"pool": pool, "figure": name}, float(value))
            for pool, stats in pools.items() for name, value in stats.items()
            if name in ("pool_size", "pool_available", "requests_waiting", "pool_max",
                        "requests_errors", "connections_errors")]
