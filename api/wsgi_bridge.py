"""The Flask app behind the event-loop front end: complete requests, a bounded thread pool.

The front end (api/http_front.py) hands over a request only once it has all of it, so a
thread never waits on a client. ``threads`` threads run the app; up to ``queue_limit``
more requests wait for one; past that a request is answered 503 with Retry-After at once
(the load is more than this process can take). The WSGI environ follows PEP 3333; a
chunked body arrives decoded, with its Content-Length.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import Any
from urllib.parse import unquote_to_bytes

from api.http_wire import Request, refuse
from api.logs import request_id
from api.ocsp_http import Reply

__all__ = ["WsgiBridge", "ROUTE_KEY", "REQUEST_ID_KEY"]

log = logging.getLogger("certledger.http")

ROUTE_KEY = "certledger.route"            # the app puts the matched rule here
REQUEST_ID_KEY = "certledger.request_id"  # the front end's id of the request
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}


class WsgiBridge:
    def __init__(self, app: Callable[..., Any], *, threads: int = 4, queue_limit: int = 256,
                 server: tuple[str, int] = ("127.0.0.1", 8080)) -> None:
        self.app = app
        self.threads = threads
        self.limit = threads + queue_limit
        self.in_flight = 0
        self.server = server
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="certledger-request")

    @property
    def waiting(self) -> int:
        """Requests waiting for a thread."""
        return max(0, self.in_flight - self.threads)

    async def call(self, request: Request) -> Reply:
        if self.in_flight >= self.limit:
            return refuse(503, "the server is busy; try again", request.request_id,
                          ("Retry-After", "1"))
        self.in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self._run, request)
        finally:
            self.in_flight -= 1

    def _run(self, request: Request) -> Reply:
        token = request_id.set(request.request_id)
        try:
            environ = self._environ(request)
            started: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]],
                               exc_info: Any = None) -> Callable[[bytes], None]:
                started[:] = [status, headers]
                return lambda data: None  # write() is never used by Flask

            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            request.route = environ.get(ROUTE_KEY) or "(unmatched)"
            status, headers = started
            return Reply(int(status[:3]), body,
                         [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP])
        finally:
            request_id.reset(token)

    def _environ(self, request: Request) -> dict[str, Any]:
        path, _, query = request.target.partition(b"?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method.decode("latin-1"),
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query.decode("latin-1"),
            "SERVER_NAME": self.server[0], "SERVER_PORT": str(self.server[1]),
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": request.client,
            "CONTENT_LENGTH": str(len(request.body)),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
            "wsgi.input": BytesIO(request.body), "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
            REQUEST_ID_KEY: request.request_id,
        }
        for name, value in request.headers.items():
            if b"_" in name:  # X_Y would pass for X-Y in the environ: dropped, as gunicorn does
                continue
            key = name.decode("latin-1").upper().replace("-", "_")
            if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                continue
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value.decode("latin-1")
            else:
                environ["HTTP_" + key] = value.decode("latin-1")
        return environ

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
