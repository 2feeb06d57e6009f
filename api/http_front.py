"""HTTP/1.1 on an event loop for every front end: slow or idle clients cost no thread.

Both servers (``certledger serve``: api/front_end.py; ``certledger ocsp serve``:
api/ocsp_server.py) read requests here. A request reaches the handler only once its head
and whole body are in, so a client sending a byte every two seconds holds a few hundred
bytes and no worker. The handler answers at once (pre-signed OCSP, health) or returns an
awaitable (the Flask app in a bounded thread pool, on-demand OCSP signing off the loop);
meanwhile the connection reads no further request, so pipelined answers keep their order.

Limits (:class:`HttpLimits`, from the settings): a head within ``header_timeout`` of its
first byte (of the connection's opening for the first), the body within ``body_timeout``
of the head (else 408, closed); a keep-alive connection idle for ``idle_timeout`` is
closed; at most ``per_client`` connections per client address (429, closed). Heads up to
8 KiB (431), request lines up to 4094 bytes (414), bodies by ``Content-Length`` or
chunked (where the server takes them, else 411) up to ``max_body`` (413). Refusals are
the API's JSON errors with the request id. HTTP/1.0: one request per connection.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from api.http_wire import (
    MAX_HEAD,
    ChunkedBody,
    HttpLimits,
    Request,
    RequestIds,
    encode,
    parse_head,
    reason,
    refuse,
)
from api.ocsp_http import Reply

__all__ = ["HttpLimits", "HttpServer", "Request", "Handler"]

log = logging.getLogger("certledger.http")

MAX_REQUEST_LINE = 4094
_SWEEP_SECONDS = 0.25
_BUSY = float("inf")


Handler = Callable[[Request], "Reply | Awaitable[Reply]"]
Observer = Callable[[Request, Reply], None]


class HttpServer:
    """One event loop's connections, handing complete requests to ``handler``."""

    def __init__(self, handler: Handler, limits: HttpLimits | None = None, *,
                 observe: Observer | None = None) -> None:
        self.handler = handler
        self.limits = limits or HttpLimits()
        self.observe = observe
        self.connections: set[_Connection] = set()
        self.clients: Counter[str] = Counter()
        self.ids = RequestIds()

    def protocol(self) -> asyncio.Protocol:
        return _Connection(self)

    async def serve(self, sockets: list[socket.socket],
                    started: Callable[[], None] | None = None) -> None:
        """Serve on ``sockets`` until cancelled."""
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(self.protocol, sock=sock, backlog=1024)
                   for sock in sockets]
        sweeper = asyncio.create_task(self._sweep())
        if started is not None:
            started()
        try:
            await asyncio.gather(*(server.serve_forever() for server in servers))
        finally:
            sweeper.cancel()
            for server in servers:
                server.close()
            for connection in list(self.connections):
                connection.close()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(_SWEEP_SECONDS)
            now = time.monotonic()
            for connection in [c for c in self.connections if c.deadline < now]:
                connection.timed_out()


class _Connection(asyncio.Protocol):
    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._limits = server.limits
        self._transport: Any = None
        self._client = ""
        self._buffer = b""
        self._head: tuple[bytes, bytes, bool, dict[bytes, bytes]] | None = None
        self._body_start = 0
        self._length: int | None = None      # Content-Length; None: chunked
        self._chunked: ChunkedBody | None = None
        self._continued = False
        self._busy = False
        self._paused_writing = False
        self._closed = False
        self.deadline = time.monotonic() + self._limits.header_timeout


    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay
        peer = transport.get_extra_info("peername")
        self._client = str(peer[0]) if peer else "unix"
        server = self._server
        server.connections.add(self)
        server.clients[self._client] += 1
        if server.clients[self._client] > self._limits.per_client:
            self._fail(429, f"more than {self._limits.per_client} connections from one "
                            "address", log_it=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        server = self._server
        server.connections.discard(self)
        server.clients[self._client] -= 1
        if server.clients[self._client] <= 0:
            del server.clients[self._client]

    def pause_writing(self) -> None:  # the client does not read: stop reading from it
        self._paused_writing = True
        self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused_writing = False
        if not self._busy:
            self._transport.resume_reading()

    def close(self) -> None:
        self._buffer = b""
        self._closed = True
        self._transport.close()

    def timed_out(self) -> None:
        if self._buffer or self._head is not None:
            what = "body" if self._head is not None else "request head"
            self._fail(408, f"the {what} did not arrive in time")
        else:
            self.close()

    def _fail(self, status: int, text: str = "", *, log_it: bool = True) -> None:
        request_id = self._server.ids.next()
        if log_it:
            log.info("refused %d from %s: %s", status, self._client, text or reason(status))
        self._transport.write(encode(refuse(status, text, request_id), keep_alive=False,
                                     request_id=request_id))
        self.close()


    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        if not self._buffer and self._head is None and not self._busy:
            self.deadline = time.monotonic() + self._limits.header_timeout
        self._buffer = self._buffer + data if self._buffer else data
        if not self._busy:
            self._process()

    def _process(self) -> None:
        while self._buffer and not self._busy and not self._closed:
            if self._head is None and not self._read_head():
                return
            body = self._read_body()
            if body is None:
                return
            self._dispatch(body)

    def _read_head(self) -> bool:
        buffer = self._buffer
        head_end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
        line_end = buffer.find(b"\r\n", 0, MAX_REQUEST_LINE + 2)
        if line_end < 0 and len(buffer) > MAX_REQUEST_LINE:
            self._fail(414, f"the request line is over {MAX_REQUEST_LINE} bytes")
            return False
        if head_end < 0:
            if len(buffer) > MAX_HEAD:
                self._fail(431, f"the request head is over {MAX_HEAD} bytes")
            return False
        parsed = parse_head(buffer[:head_end])
        if isinstance(parsed, int):
            self._fail(parsed, "malformed request")
            return False
        headers = parsed[3]
        self._body_start = head_end + 4
        if b"transfer-encoding" in headers:
            if not self._limits.chunked:
                self._fail(411, "send a Content-Length")
                return False
            if headers[b"transfer-encoding"].lower() != b"chunked":
                self._fail(501, "only the chunked transfer coding is understood")
                return False
            self._length = None
            self._chunked = ChunkedBody(self._body_start, self._limits.max_body)
        else:
            field = headers.get(b"content-length", b"0")
            if not field.isdigit() or len(field) > 9:
                self._fail(400, "bad Content-Length")
                return False
            self._length, self._chunked = int(field), None
            if self._length > self._limits.max_body:
                self._fail(413, f"the body is over {self._limits.max_body} bytes")
                return False
        self._head = parsed
        self.deadline = time.monotonic() + self._limits.body_timeout
        return True

    def _read_body(self) -> bytes | None:
        assert self._head is not None
        buffer = self._buffer
        if self._length is not None:
            end = self._body_start + self._length
            if len(buffer) < end:
                self._maybe_continue()
                return None
            body, self._buffer = buffer[self._body_start:end], buffer[end:]
            return body
        assert self._chunked is not None
        result = self._chunked.feed(buffer)
        if isinstance(result, int):
            self._fail(result, "bad chunked body" if result == 400
                       else f"the body is over {self._limits.max_body} bytes")
            return None
        if result is None:
            self._maybe_continue()
            return None
        self._buffer, self._chunked = buffer[self._chunked.end:], None
        return result

    def _maybe_continue(self) -> None:
        assert self._head is not None
        if not self._continued and self._head[3].get(b"expect", b"").lower() == b"100-continue":
            self._continued = True
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")


    def _dispatch(self, body: bytes) -> None:
        assert self._head is not None
        method, target, keep_alive, headers = self._head
        self._head, self._continued = None, False
        request = Request(method, target, headers, body, self._client, self._server.ids.next(),
                          keep_alive, time.monotonic())
        try:
            reply = self._server.handler(request)
        except Exception:
            log.exception("unexpected error answering %s", request.request_id)
            reply = refuse(500, "internal error; see the server log", request.request_id)
        if inspect.isawaitable(reply):
            self._busy = True
            self.deadline = _BUSY
            self._transport.pause_reading()
            task = asyncio.ensure_future(reply)
            task.add_done_callback(lambda done: self._finished(request, done))
            return
        self._respond(request, reply)

    def _finished(self, request: Request, task: asyncio.Future[Reply]) -> None:
        self._busy = False
        try:
            reply = task.result()
        except Exception:
            log.exception("unexpected error answering %s", request.request_id)
            reply = refuse(500, "internal error; see the server log", request.request_id)
        if self._closed:
            return
        self._respond(request, reply)
        if not self._closed:
            if not self._paused_writing:
                self._transport.resume_reading()
            self._process()

    def _respond(self, request: Request, reply: Reply) -> None:
        if self._server.observe is not None:
            self._server.observe(request, reply)
        if self._closed:
            return
        self._transport.write(encode(reply, request.keep_alive, head=request.method == b"HEAD",
                                     request_id=request.request_id))
        if not request.keep_alive:
            self.close()
            return
        self.deadline = time.monotonic() + (self._limits.header_timeout if self._buffer
                                            else self._limits.idle_timeout)
