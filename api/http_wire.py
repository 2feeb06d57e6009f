"""HTTP/1.1 on the wire, for api/http_front.py: the request head, chunked bodies, the
response bytes, and the JSON refusals every front end sends."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from http import HTTPStatus

from api.ocsp_http import Reply, http_date, http_error

__all__ = ["MAX_HEAD", "ChunkedBody", "HttpLimits", "Request", "RequestIds", "encode",
           "parse_head", "reason", "refuse"]

MAX_HEAD = 8192
_MAX_SIZE_LINE = 1024


@dataclass(frozen=True)
class HttpLimits:
    header_timeout: float = 10.0   # seconds from a head's first byte to its end
    body_timeout: float = 30.0     # seconds from the end of the head to the end of the body
    idle_timeout: float = 60.0     # a keep-alive connection with nothing to do
    per_client: int = 128          # connections at once from one client address
    max_body: int = 64 * 1024
    chunked: bool = True           # decode chunked bodies (False: 411)


@dataclass(slots=True)
class Request:
    method: bytes
    target: bytes
    headers: dict[bytes, bytes]
    body: bytes
    client: str
    request_id: str
    keep_alive: bool
    started: float  # monotonic, when the head was complete
    route: str = ""  # the route that answered (for metrics), set by the front end

    @property
    def path(self) -> bytes:
        return self.target.split(b"?", 1)[0]



_PHRASES = {413: b"Content Too Large", 414: b"URI Too Long"}  # RFC 9110's names


def reason(status: int) -> bytes:
    if status in _PHRASES:
        return _PHRASES[status]
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Error"


def encode(reply: Reply, keep_alive: bool, *, head: bool = False,
           request_id: str | None = None) -> bytes:
    """The response on the wire; to HEAD without its body (RFC 9110 §9.3.2)."""
    lines = [b"HTTP/1.1 %d %s" % (reply.status, reason(reply.status)),
             b"Date: " + http_date(int(time.time())).encode()]
    lines += [f"{name}: {value}".encode("latin-1", "replace") for name, value in reply.headers]
    if request_id is not None:
        lines.append(b"X-Request-Id: " + request_id.encode())
    if reply.status != 304:
        lines.append(b"Content-Length: %d" % len(reply.body))
    if not keep_alive:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if head else reply.body)


def refuse(status: int, message: str = "", request_id: str | None = None,
           *extra: tuple[str, str]) -> Reply:
    phrase = reason(status).decode()
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    return http_error(status, code, message or phrase, *extra, request_id=request_id)


def parse_head(head: bytes) -> tuple[bytes, bytes, bool, dict[bytes, bytes]] | int:
    """(method, target, keep-alive, lower-cased headers), or the HTTP status to fail with."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0") or not parts[1]:
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


class ChunkedBody:
    """A chunked body read as it arrives (RFC 9112 §7.1), without reading any byte twice.

    :meth:`feed` takes the connection's buffer each time more has arrived: the decoded
    body and where it ends once the last chunk and the trailer section are in, an HTTP
    status (400, 413) for a broken or oversized body, or None to wait for more."""

    def __init__(self, start: int, max_body: int) -> None:
        self.at = start          # where the next chunk-size line starts
        self.max_body = max_body
        self.chunks: list[bytes] = []
        self.total = 0
        self.end = 0

    def feed(self, buffer: bytes) -> bytes | int | None:
        at = self.at
        while True:
            line_end = buffer.find(b"\r\n", at, at + _MAX_SIZE_LINE)
            if line_end < 0:
                return 400 if len(buffer) - at > _MAX_SIZE_LINE else None
            size_text = buffer[at:line_end].split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16) if 0 < len(size_text) <= 8 else -1
            except ValueError:
                size = -1
            if size < 0:
                return 400
            if size == 0:  # the last chunk, then trailer fields up to an empty line
                if buffer[line_end:line_end + 4] == b"\r\n\r\n":
                    trailer_end = line_end
                else:
                    trailer_end = buffer.find(b"\r\n\r\n", line_end, line_end + MAX_HEAD)
                    if trailer_end < 0:
                        return 431 if len(buffer) - line_end > MAX_HEAD else None
                self.end = trailer_end + 4
                return b"".join(self.chunks)
            if self.total + size > self.max_body:
                return 413
            if len(buffer) < line_end + 2 + size + 2:
                self.at = at
                return None
            if buffer[line_end + 2 + size:line_end + 4 + size] != b"\r\n":
                return 400
            self.chunks.append(buffer[line_end + 2:line_end + 2 + size])
            self.total += size
            at = line_end + 4 + size
            self.at = at


class RequestIds:
    """Request ids: this process's random prefix and a counter (unique, cheap)."""

    def __init__(self) -> None:
        self.prefix = os.urandom(4).hex()
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"{self.prefix}-{self.count:x}"
