"""A webhook receiver on loopback for tests: fails the first ``failures`` requests (HTTP
500), then checks each delivery's signature and keeps it, deduplicated by message id, as
a portal would."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Receiver"]


class Receiver:
    def __init__(self, failures: int = 3) -> None:
        self.failures = failures
        self.secret = ""
        self.attempts: list[str] = []          # message id of every request, in order
        self.delivered: dict[str, Any] = {}    # message id -> body (deduplicated)
        self.duplicates = 0
        self.bad_signatures = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.receive(self.headers, body)  # case-insensitive
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def receive(self, headers: Any, body: bytes) -> int:
        message_id = headers.get("X-CertLedger-Message-Id", "")
        with self._lock:
            self.attempts.append(message_id)
            if len(self.attempts) <= self.failures:
                return 500
            expected = "sha256=" + hmac.new(
                self.secret.encode(), headers.get("X-CertLedger-Timestamp", "").encode()
                + b"." + body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, headers.get("X-CertLedger-Signature", "")):
                self.bad_signatures += 1
                return 401
            if message_id in self.delivered:
                self.duplicates += 1
            else:
                self.delivered[message_id] = json.loads(body)
            return 204

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
