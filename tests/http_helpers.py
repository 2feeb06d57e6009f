"""Raw HTTP/1.1 over a socket, for tests that check framing (chunked bodies, HEAD,
keep-alive): what a client library would hide."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any, BinaryIO

__all__ = ["RawResponse", "read_response", "exchange", "chunked"]


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def read_response(reader: BinaryIO, *, head: bool = False) -> RawResponse:
    """One response from ``reader`` (a socket's buffered reader), framed by its
    Content-Length or chunked coding; a response to HEAD has no body whatever it says."""
    status_line = reader.readline()
    if not status_line.startswith(b"HTTP/1.1 "):
        raise AssertionError(f"not a status line: {status_line[:80]!r}")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if head or status in (204, 304) or 100 <= status < 200:
        return RawResponse(status, headers, b"")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while (size := int(reader.readline().split(b";")[0], 16)) > 0:
            body += reader.read(size)
            reader.readline()
        while reader.readline() not in (b"\r\n", b""):
            pass
        return RawResponse(status, headers, body)
    if "content-length" in headers:
        return RawResponse(status, headers, reader.read(int(headers["content-length"])))
    return RawResponse(status, headers, reader.read())


def chunked(body: bytes, size: int = 1000) -> bytes:
    """``body`` in the chunked transfer coding, ``size`` octets a chunk."""
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
             for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def exchange(port: int, request: bytes, *, host: str = "127.0.0.1",
             timeout: float = 20.0) -> RawResponse:
    """Send ``request`` as it is on a new connection and read one response."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        with sock.makefile("rb") as reader:
            return read_response(reader)
