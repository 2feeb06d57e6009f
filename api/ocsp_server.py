"""The standalone OCSP server (``certledger ocsp serve``): HTTP/1.1 on asyncio, no framework.

Pre-signed responses are served from memory (:class:`OcspAnswers`), refreshed
from the read-model table every 100 ms, so a committed revocation is answered
within a fraction of a second; requests with a nonce are signed on the spot.
The HTTP rules are api/ocsp_http.py's, shared with the Flask blueprint.

The HTTP/1.1 reader is deliberately small: request line, header fields (no
obs-fold), ``Content-Length`` bodies up to 16 KiB (chunked bodies get 411), HTTP/1.1
keep-alive and pipelining (HTTP/1.0: one request per connection), ``Expect:
100-continue``; a head over 8 KiB is 431. ``HEAD`` is answered like ``GET``, without the
body. What it refuses at the HTTP level (400, 404, 405, 411, 413, 415, 431) has a JSON
body ``{"error": {"code", "message"}}``, like the API's errors; OCSP outcomes are OCSP
responses (api/ocsp_http.py). A connection idle for a minute is closed.
It runs on uvloop when installed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api import ocsp_http
from api.ocsp_answers import OcspAnswers
from ca.encoding.ocsp_responses import ResponseStatus, error_response

__all__ = ["OcspHttpServer", "RunningServer", "start_in_thread", "listen", "new_event_loop"]

log = logging.getLogger("certledger.ocsp")

MAX_HEAD = 8192
IDLE_SECONDS = 60.0
_REASONS = {200: b"OK", 100: b"Continue", 304: b"Not Modified", 400: b"Bad Request",
            404: b"Not Found", 405: b"Method Not Allowed", 411: b"Length Required",
            413: b"Content Too Large", 415: b"Unsupported Media Type",
            431: b"Request Header Fields Too Large", 501: b"Not Implemented"}
_INTERNAL = ocsp_http.Reply(200, error_response(ResponseStatus.INTERNAL_ERROR),
                            [("Content-Type", ocsp_http.RESPONSE_TYPE),
                             ("Cache-Control", "no-store")])
_POST_PATHS = (b"/ocsp", b"/ocsp/", b"/")


def _refuse(status: int, text: str = "", *extra: tuple[str, str]) -> ocsp_http.Reply:
    reason = _REASONS.get(status, b"Error").decode()
    code = reason.lower().replace(" ", "_")
    return ocsp_http.http_error(status, code, text or reason, *extra)


def _encode(reply: ocsp_http.Reply, keep_alive: bool, *, head: bool = False) -> bytes:
    """The response on the wire; to a HEAD request without its body (RFC 9110 §9.3.2:
    the headers, Content-Length included, are those a GET would get)."""
    lines = [b"HTTP/1.1 %d %s" % (reply.status, _REASONS.get(reply.status, b"Error")),
             b"Date: " + ocsp_http.http_date(int(time.time())).encode()]
    lines += [f"{name}: {value}".encode("latin-1") for name, value in reply.headers]
    if reply.status != 304:
        lines.append(b"Content-Length: %d" % len(reply.body))
    if not keep_alive:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if head else reply.body)


def _parse_head(head: bytes) -> tuple[bytes, bytes, bool, dict[bytes, bytes]] | int:
    """(method, target, keep-alive, lower-cased headers), or the HTTP status to fail with."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
        return 400
    method, target, version = parts
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or line[:1] in (b" ", b"\t"):
            return 400
        name, value = name.lower(), value.strip()
        if name in headers:
            if name == b"content-length" and headers[name] != value:
                return 400
            value = headers[name] + b", " + value
        headers[name] = value
    # HTTP/1.0 clients (OpenSSL's among them) get one response per connection
    keep_alive = version == b"HTTP/1.1" and b"close" not in headers.get(b"connection", b"").lower()
    if target.startswith((b"http://", b"https://")):  # absolute-form
        target = b"/" + target.split(b"/", 3)[3] if target.count(b"/") >= 3 else b"/"
    return method, target, keep_alive, headers


class OcspHttpServer:
    """One event loop's worth of OCSP serving over ``answers``."""

    def __init__(self, answers: OcspAnswers, *, poll_seconds: float = 0.1) -> None:
        self.answers = answers
        self.poll_seconds = poll_seconds
        self.connections: set[_Connection] = set()

    def handle(self, method: bytes, target: bytes, headers: dict[bytes, bytes],
               body: bytes) -> ocsp_http.Reply:
        path = target.split(b"?", 1)[0]
        if method == b"POST":
            if path not in _POST_PATHS:
                return _refuse(404, "POST OCSP requests to /ocsp")
            content_type = headers.get(b"content-type")
            return ocsp_http.post(self.answers,
                                  content_type.decode("latin-1") if content_type else None, body)
        if method in (b"GET", b"HEAD"):
            if path == b"/healthz":
                status = {"status": "ok", "seq": self.answers.seq}
                return ocsp_http.Reply(200, json.dumps(status).encode(),
                                       [("Content-Type", "application/json")])
            encoded = path[6:] if path.startswith(b"/ocsp/") else path[1:]
            if not encoded or encoded == b"ocsp":
                return _refuse(404, "GET /ocsp/<base64 of the DER request>")
            if_none_match = headers.get(b"if-none-match")
            return ocsp_http.get(self.answers, encoded.decode("latin-1"),
                                 if_none_match.decode("latin-1") if if_none_match else None)
        return _refuse(405, "use GET or POST", ("Allow", "GET, HEAD, POST"))

    async def serve(self, sock: socket.socket, started: Callable[[], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Connection(self), sock=sock, backlog=1024)
        tasks = [asyncio.create_task(self._poll()), asyncio.create_task(self._sweep())]
        if started is not None:
            started()
        try:
            await server.serve_forever()
        finally:
            for task in tasks:
                task.cancel()
            server.close()
            for connection in list(self.connections):
                connection.close()

    async def _poll(self) -> None:
        while True:
            try:
                self.answers.refresh()
            except Exception:  # the database is away: keep serving what is loaded
                log.exception("OCSP: refresh failed")
                await asyncio.sleep(1)
            await asyncio.sleep(self.poll_seconds)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(IDLE_SECONDS / 4)
            cutoff = time.monotonic() - IDLE_SECONDS
            for connection in [c for c in self.connections if c.last_active < cutoff]:
                connection.close()


class _Connection(asyncio.Protocol):
    def __init__(self, server: OcspHttpServer) -> None:
        self._server = server
        self._transport: Any = None
        self._buffer = b""
        self._continued = False
        self.last_active = time.monotonic()

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)

    def pause_writing(self) -> None:  # the client does not read: stop reading from it
        self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._transport.resume_reading()

    def close(self) -> None:
        self._buffer = b""
        self._transport.close()

    def _fail(self, status: int, text: str = "") -> None:
        self._transport.write(_encode(_refuse(status, text), keep_alive=False))
        self.close()

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        buffer = self._buffer + data if self._buffer else data
        while buffer:
            head_end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
            if head_end < 0:
                if len(buffer) > MAX_HEAD:
                    return self._fail(431)
                break
            parsed = _parse_head(buffer[:head_end])
            if isinstance(parsed, int):
                return self._fail(parsed)
            method, target, keep_alive, headers = parsed
            if b"transfer-encoding" in headers:
                return self._fail(411, "send a Content-Length")
            length_field = headers.get(b"content-length", b"0")
            if not length_field.isdigit() or len(length_field) > 9:
                return self._fail(400, "bad Content-Length")
            length = int(length_field)
            if length > ocsp_http.MAX_REQUEST_BYTES:
                reply = ocsp_http.too_large()
                self._transport.write(_encode(reply, keep_alive=False))
                return self.close()
            end = head_end + 4 + length
            if len(buffer) < end:
                if headers.get(b"expect", b"").lower() == b"100-continue" and not self._continued:
                    self._continued = True
                    self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                break
            body, buffer = buffer[head_end + 4:end], buffer[end:]
            self._continued = False
            try:
                reply = self._server.handle(method, target, headers, body)
            except Exception:
                log.exception("OCSP: unexpected error")
                reply = _INTERNAL
            self._transport.write(_encode(reply, keep_alive, head=method == b"HEAD"))
            if not keep_alive:
                return self.close()
        self._buffer = buffer


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


def start_in_thread(answers: OcspAnswers, host: str = "127.0.0.1", port: int = 0,
                    *, poll_seconds: float = 0.1) -> RunningServer:
    """Serve in a background thread (tests, benchmarks); ``stop()`` ends it."""
    sock = listen(host, port)
    loop = new_event_loop()
    started = threading.Event()
    server = OcspHttpServer(answers, poll_seconds=poll_seconds)
    task: list[asyncio.Task[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        task.append(loop.create_task(server.serve(sock, started.set)))
        try:
            loop.run_until_complete(task[0])
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="ocsp-server", daemon=True)
    thread.start()
    started.wait(10)

    def stop() -> None:
        loop.call_soon_threadsafe(task[0].cancel)
        thread.join(10)

    return RunningServer(sock.getsockname()[1], stop)
