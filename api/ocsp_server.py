"""The standalone OCSP server (``certledger ocsp serve``) and the OCSP routes every front
end shares: HTTP/1.1 on asyncio (api/http_front.py), no framework.

Pre-signed responses are answered on the event loop from memory (:class:`OcspAnswers`),
which a thread refreshes from the read model every 100 ms (a committed revocation is
answered within a fraction of a second; while the database is away it keeps answering
what it holds). Everything that needs a signature goes to :class:`OnDemandSigning`,
off the loop and capped. The HTTP rules are api/ocsp_http.py's, shared with the Flask
blueprint. ``POST /ocsp`` (also ``/ocsp/`` and, on the standalone server, ``/``), ``GET
/ocsp/<base64>`` (and ``/<base64>``), ``HEAD`` like ``GET``; chunked bodies get 411 on
the standalone server. It runs on uvloop when installed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from api import ocsp_http
from api.http_front import HttpLimits, HttpServer, Request
from api.http_wire import refuse
from api.ocsp_answers import OcspAnswers
from api.ocsp_on_demand import OnDemandSigning

__all__ = ["OcspRoutes", "OcspHttpServer", "Refresher", "RunningServer", "start_in_thread",
           "listen", "new_event_loop"]

log = logging.getLogger("certledger.ocsp")

_POST_PATHS = (b"/ocsp", b"/ocsp/")
# id-pkix-ocsp-nonce (1.3.6.1.5.5.7.48.1.2) as DER: a request holding it is signed on demand
_NONCE_OID = bytes.fromhex("06092b0601050507300102")


class OcspRoutes:
    """``POST /ocsp`` and ``GET /ocsp/<base64>`` over ``answers``; ``root``: also ``/``."""

    def __init__(self, answers: OcspAnswers, signing: OnDemandSigning, *,
                 root: bool = False) -> None:
        self.answers = answers
        self.signing = signing
        self.root = root

    def matches(self, path: bytes) -> bool:
        return path.startswith(b"/ocsp") and (len(path) == 5 or path[5:6] == b"/")

    def handle(self, request: Request) -> ocsp_http.Reply | Awaitable[ocsp_http.Reply]:
        path, method = request.path, request.method
        if method == b"POST":
            if path not in _POST_PATHS and not (self.root and path == b"/"):
                return refuse(404, "POST OCSP requests to /ocsp", request.request_id)
            content_type = request.headers.get(b"content-type")
            der = ocsp_http.post_der(content_type.decode("latin-1") if content_type else None,
                                     request.body, request.request_id)
            return der if isinstance(der, ocsp_http.Reply) else self._answer(der, None)
        if method in (b"GET", b"HEAD"):
            encoded = path[6:] if path.startswith(b"/ocsp/") else path[1:]
            if not encoded or encoded == b"ocsp":
                return refuse(404, "GET /ocsp/<base64 of the DER request>", request.request_id)
            der = ocsp_http.get_der(encoded.decode("latin-1"))
            if isinstance(der, ocsp_http.Reply):
                return der
            if_none_match = request.headers.get(b"if-none-match")
            return self._answer(der, if_none_match.decode("latin-1") if if_none_match else None)
        return refuse(405, "use GET or POST", request.request_id, ("Allow", "GET, HEAD, POST"))

    def _answer(self, der: bytes, if_none_match: str | None
                ) -> ocsp_http.Reply | Awaitable[ocsp_http.Reply]:
        if self.signing.full and _NONCE_OID in der:  # signed on demand, and no room:
            return ocsp_http.reply(self.signing.try_later)  # refused before any parsing
        ready = self.answers.quick(der)
        if ready is None and self.signing.full:
            ready = self.signing.try_later  # at once: no task for what is refused anyway
        if ready is not None:
            return ocsp_http.reply(ready, if_none_match)
        return self._signed(der, if_none_match)

    async def _signed(self, der: bytes, if_none_match: str | None) -> ocsp_http.Reply:
        return ocsp_http.reply(await self.signing.answer(der), if_none_match)


class Refresher:
    """A thread that loads changed OCSP rows every ``seconds`` (never on the event loop:
    while the database is away, the answers in memory keep being served)."""

    def __init__(self, answers: OcspAnswers, seconds: float = 0.1) -> None:
        self.answers = answers
        self.seconds = seconds
        self.failing = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ocsp-refresh", daemon=True)

    def start(self) -> Refresher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.answers.refresh()
                if self.failing:
                    log.info("OCSP: loading changed statuses again")
                self.failing = False
            except Exception as exc:
                if not self.failing:
                    log.error("OCSP: cannot load changed statuses (%s); answering from "
                              "memory", exc)
                self.failing = True
                self._stop.wait(1.0)
            self._stop.wait(self.seconds)


class OcspHttpServer:
    """The standalone server: OCSP and ``/healthz`` on one event loop."""

    def __init__(self, answers: OcspAnswers, *, poll_seconds: float = 0.1,
                 signing: OnDemandSigning | None = None,
                 limits: HttpLimits | None = None) -> None:
        self.answers = answers
        self.signing = signing or OnDemandSigning(answers)
        self.routes = OcspRoutes(answers, self.signing, root=True)
        self.refresher = Refresher(answers, poll_seconds)
        limits = limits or HttpLimits()
        self.http = HttpServer(self.handle, HttpLimits(
            header_timeout=limits.header_timeout, body_timeout=limits.body_timeout,
            idle_timeout=limits.idle_timeout, per_client=limits.per_client,
            max_body=ocsp_http.MAX_REQUEST_BYTES, chunked=False))

    def handle(self, request: Request) -> ocsp_http.Reply | Awaitable[ocsp_http.Reply]:
        if request.path == b"/healthz" and request.method in (b"GET", b"HEAD"):
            status = {"status": "ok", "seq": self.answers.seq}
            return ocsp_http.Reply(200, json.dumps(status).encode(),
                                   [("Content-Type", "application/json")])
        return self.routes.handle(request)

    async def serve(self, sock: socket.socket, started: Callable[[], None] | None = None) -> None:
        self.refresher.start()
        try:
            await self.http.serve([sock], started)
        finally:
            self.refresher.stop()
            self.signing.close()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed (about 1.5x the requests per second)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


def listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


@dataclass
class RunningServer:
    port: int
    stop: Callable[[], None]


def run_in_thread(serve: Callable[[socket.socket, Callable[[], None]], Awaitable[None]],
                  host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Run ``serve(sock, started)`` on a loop in a background thread; ``stop()`` ends it."""
    sock = listen(host, port)
    loop = new_event_loop()
    started = threading.Event()
    task: list[asyncio.Task[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        task.append(loop.create_task(serve(sock, started.set)))  # type: ignore[arg-type]
        try:
            loop.run_until_complete(task[0])
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="http-server", daemon=True)
    thread.start()
    started.wait(10)

    def stop() -> None:
        loop.call_soon_threadsafe(task[0].cancel)
        thread.join(10)

    return RunningServer(sock.getsockname()[1], stop)


def start_in_thread(answers: OcspAnswers, host: str = "127.0.0.1", port: int = 0,
                    *, poll_seconds: float = 0.1,
                    signing: OnDemandSigning | None = None) -> RunningServer:
    """The standalone server in a background thread (tests, benchmarks)."""
    server = OcspHttpServer(answers, poll_seconds=poll_seconds, signing=signing)
    return run_in_thread(server.serve, host, port)
