"""Talking to a served CertLedger as its clients do: OCSP over HTTP (with timings), the
CRL, the RA API; and clients that misbehave (slow, idle)."""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
from typing import Any

from api.bootstrap import CertLedger
from ca.encoding.ocsp_responses import encode_cert_id, issuer_hashes
from tests.ocsp_helpers import ocsp_request, single_statuses

__all__ = ["Client", "SlowClients", "ocsp_request_for"]


def ocsp_request_for(ledger: CertLedger, serial: int, nonce: bytes | None = None) -> bytes:
    hashes = issuer_hashes(ledger.hierarchy.get("issuing-ca").certificate_der)
    return ocsp_request(encode_cert_id("sha1", *hashes["sha1"], serial), nonce=nonce)


class Client:
    """One keep-alive connection to ``port`` (opened again when the server closed it)."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 10.0) -> None:
        self.port, self.token, self.timeout = port, token, timeout
        self._connection: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        fields = dict(headers or {})
        if self.token:
            fields.setdefault("Authorization", f"Bearer {self.token}")
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            fields.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                              timeout=self.timeout)
            try:
                self._connection.request(method, path, body, fields)
                reply = self._connection.getresponse()
                data = reply.read()
                if reply.getheader("Connection", "").lower() == "close":
                    self.close()
                return reply.status, {k.lower(): v for k, v in reply.getheaders()}, data
            except (ConnectionError, http.client.RemoteDisconnected,
                    http.client.CannotSendRequest):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def ocsp(self, request: bytes) -> str:
        """The status the server answers for a one-CertID request ("tryLater" and the like
        for an unsuccessful response)."""
        from asn1crypto import ocsp as asn1_ocsp

        status, _, body = self.call("POST", "/ocsp", request,
                                    {"Content-Type": "application/ocsp-request"})
        assert status == 200, (status, body[:200])
        response = asn1_ocsp.OCSPResponse.load(body)
        if response["response_status"].native != "successful":
            return str(response["response_status"].native)
        return single_statuses(body)[0][1]

    def timed(self, method: str, path: str, body: Any = None,
              headers: dict[str, str] | None = None) -> tuple[float, int, bytes]:
        started = time.monotonic()
        status, _, data = self.call(method, path, body, headers)
        return time.monotonic() - started, status, data

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class SlowClients:
    """``count`` connections that each send a request one byte every ``every`` seconds
    (a third stop after the head's first line, a third after the head, promising a
    1,000-byte body; the rest send nothing at all). Bounded: they stop after
    ``seconds``, or at :meth:`stop`."""

    def __init__(self, port: int, count: int, *, every: float = 0.5,
                 seconds: float = 30.0) -> None:
        self.sockets: list[socket.socket] = []
        self.pending: list[bytes] = []
        for index in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            self.sockets.append(sock)
            head = b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Type: " \
                   b"application/json\r\nContent-Length: 1000\r\n\r\n"
            self.pending.append([head[:20], head + b"{", b""][index % 3])
        self.closed_by_server = 0
        self.answers: list[bytes] = []
        self._every, self._until = every, time.monotonic() + seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._until:
            for index, sock in enumerate(self.sockets):
                data = self.pending[index]
                if sock.fileno() < 0:
                    continue
                try:
                    if data:
                        sock.sendall(data[:1])
                        self.pending[index] = data[1:] or b" "
                except OSError:
                    self._closed(index)
            self._stop.wait(self._every)

    def _closed(self, index: int) -> None:
        sock = self.sockets[index]
        try:
            sock.settimeout(0.5)
            self.answers.append(sock.recv(4096))
        except OSError:
            self.answers.append(b"")
        sock.close()
        self.closed_by_server += 1

    def still_open(self) -> int:
        """How many the server has neither answered nor closed."""
        alive = 0
        for sock in self.sockets:
            if sock.fileno() < 0:
                continue
            if not select.select([sock], [], [], 0)[0]:
                alive += 1
                continue
            try:
                self.answers.append(sock.recv(4096))
            except OSError:
                self.answers.append(b"")
            sock.close()
            self.closed_by_server += 1
        return alive

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()
