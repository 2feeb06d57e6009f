"""``certledger serve``: gunicorn's arbiter, with workers that serve on an event loop.

gunicorn keeps the process model (an arbiter forking ``--workers`` processes, replacing
one that dies, graceful stops and reloads); each worker is a :class:`FrontEndWorker`:
the event-loop front end of api/front_end.py (OCSP and health on the loop, the Flask app
in a bounded thread pool once a request is complete), so slow or idle clients hold no
thread. Errors gunicorn itself would answer (414, 431, malformed requests) are answered
by the front end, as JSON. The workers' metrics are added up through files in a
directory this command makes (api/metrics.py); logs are JSON lines
(``CERTLEDGER_LOG_FORMAT``).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import shutil
import socket
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.base import Worker

from api.settings import Settings

__all__ = ["FrontEndWorker", "serve", "error_page"]


def error_page(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 response (connection closed) with a JSON error body."""
    code = re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_") or "error"
    body = json.dumps({"error": {"code": code, "message": message or reason}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1", "replace") + body


def _write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    gunicorn_util.write_nonblock(sock, error_page(status_int, reason, mesg))


class JsonLogger(Logger):  # type: ignore[misc]
    """gunicorn's own records (worker starts, exits) as JSON lines like ours."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from api.logs import JsonFormatter

        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())


class FrontEndWorker(Worker):  # type: ignore[misc]
    """A gunicorn worker running api/front_end.py on uvloop."""

    def init_process(self) -> None:
        gunicorn_util.write_error = _write_json_error
        super().init_process()

    def run(self) -> None:
        from api.front_end import FrontEnd
        from api.logs import configure_logging
        from api.ocsp_server import new_event_loop

        app = self.wsgi
        settings: Settings = app.config["SETTINGS"]
        configure_logging(settings.log_format)
        loop = new_event_loop()
        asyncio.set_event_loop(loop)
        address = self.sockets[0].cfg_addr
        bind = (address[0], int(address[1])) if isinstance(address, tuple) else ("unix", 0)
        front = FrontEnd(app, settings, bind=bind)
        # what start-up made (the app, the libraries, the CA's read state) lives as long as
        # the process: out of the cyclic collector's way, so that its full collections,
        # made more often by busy traffic, take microseconds rather than milliseconds
        gc.collect()
        gc.freeze()
        try:
            loop.run_until_complete(self._serve(front))
        finally:
            loop.close()

    async def _serve(self, front: Any) -> None:
        serving = asyncio.ensure_future(front.serve(self._listeners()))
        while self.alive and not serving.done():
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("the arbiter changed; this worker stops")
                break
            await asyncio.sleep(0.5)
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


    def _listeners(self) -> list[Any]:
        """The arbiter's sockets, and for each TCP one a socket of this worker's own on the
        same address (SO_REUSEPORT: the kernel spreads new connections evenly over the
        workers, where one shared socket lets whichever worker wakes first take most)."""
        sockets = [s.sock for s in self.sockets]
        for shared in list(sockets):
            if shared.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            own = socket.socket(shared.family, socket.SOCK_STREAM)
            own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                own.bind(shared.getsockname()[:2])
            except OSError:  # the arbiter's socket was made without SO_REUSEPORT
                own.close()
                continue
            own.listen(self.cfg.backlog)
            own.setblocking(False)
            sockets.append(own)
        return sockets


def serve(settings: Settings, *, bind: str, workers: int, threads: int) -> None:
    settings = replace(settings, threads=threads)
    metrics_dir = Path(tempfile.mkdtemp(prefix="certledger-metrics-"))

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", f"{__name__}.FrontEndWorker")
            self.cfg.set("reuse_port", True)  # each worker adds a socket of its own
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 20)
            if settings.log_format == "json":
                self.cfg.set("logger_class", f"{__name__}.JsonLogger")
            # gunicorn's runtime control socket (~/.gunicorn/gunicorn.ctl by default) is one
            # path per user: several servers on a host would fight over it; we do not use it
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from api.app import create_app
            from api.metrics import Metrics
            from api.observability import METRICS

            app = create_app({"SETTINGS": settings})
            app.extensions[METRICS] = Metrics(metrics_dir)
            return app

    arbiter = os.getpid()
    try:
        _Server().run()
    finally:
        if os.getpid() == arbiter:  # not in a worker leaving through here
            shutil.rmtree(metrics_dir, ignore_errors=True)
