"""The OCSP endpoints over HTTP, both front ends, on SQLite and PostgreSQL: bad input gets
the right OCSP error or HTTP 4xx (never a 500), and a revocation made through the RA API
is answered by the OCSP server within a second."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from asn1crypto import ocsp as asn1_ocsp

from api.ocsp_endpoints import answers_for
from api.ocsp_server import start_in_thread
from ca.encoding import der
from ca.encoding.ocsp_responses import encode_cert_id
from tests.conftest import PASSPHRASE
from tests.e2e.conftest import Api
from tests.http_helpers import read_response
from tests.ocsp_helpers import OcspStack, ocsp_request, ocsp_stack, single_statuses

_MD5_CERT_ID = der.sequence(der.sequence(der.object_identifier("1.2.840.113549.2.5"), der.null()),
                            der.octet_string(bytes(16)), der.octet_string(bytes(16)),
                            der.integer(5))


@dataclass
class Front:
    """One OCSP front end reached over real HTTP."""

    host: str
    port: int

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            reply = connection.getresponse()
            return reply.status, dict(reply.getheaders()), reply.read()
        finally:
            connection.close()

    def post(self, body: bytes, content_type: str | None = "application/ocsp-request"
             ) -> tuple[int, dict[str, str], bytes]:
        return self.call("POST", "/ocsp", body,
                         {"Content-Type": content_type} if content_type else {})


@pytest.fixture
def stack(api: Api, tmp_path: Path) -> OcspStack:
    stack = ocsp_stack(api.ledger, tmp_path / "pki")
    stack.issue("leaf")
    stack.sync()
    return stack


@pytest.fixture(params=["fast", "flask"])
def front(request: pytest.FixtureRequest, api: Api, stack: OcspStack) -> Iterator[Front]:
    if request.param == "fast":
        running = start_in_thread(stack.answers)
        yield Front("127.0.0.1", running.port)
        running.stop()
        return
    import threading

    from werkzeug.serving import make_server

    app = api.client.application
    answers_for(app).refresh()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Front("127.0.0.1", server.server_port)
    server.shutdown()
    thread.join(5)


def _ocsp_status(body: bytes) -> str:
    return asn1_ocsp.OCSPResponse.load(body)["response_status"].native


def test_bad_requests_get_ocsp_errors_or_4xx_and_never_500(front: Front,
                                                           stack: OcspStack) -> None:
    leaf = stack.cert_id(stack.certificates["leaf"].serial_number)
    foreign = encode_cert_id("sha256", b"\x01" * 32, b"\x02" * 32, 7)
    ocsp_errors = {
        b"": "malformed_request",
        b"garbage, not DER": "malformed_request",
        b"\x30\x03\x02\x01": "malformed_request",  # truncated
        ocsp_request(leaf, nonce=b""): "malformed_request",
        ocsp_request(leaf, nonce=b"\x00" * 33): "malformed_request",
        ocsp_request(leaf, raw_nonce_value=b"\x05\x00"): "malformed_request",
        ocsp_request(*[leaf] * 17): "malformed_request",
        ocsp_request(_MD5_CERT_ID): "malformed_request",
        ocsp_request(foreign): "unauthorized",
        ocsp_request(leaf, foreign): "unauthorized",
        ocsp_request(leaf, nonce=b"\x00" * 32): "successful",
        ocsp_request(leaf, nonce=b"\x00"): "successful",
    }
    for body, expected in ocsp_errors.items():
        status, headers, reply = front.post(body)
        assert status == 200 and headers["Content-Type"] == "application/ocsp-response"
        assert _ocsp_status(reply) == expected, body
    assert front.post(ocsp_request(leaf), content_type=None)[0] == 200
    assert front.post(ocsp_request(leaf), "application/json")[0] == 415
    assert front.post(ocsp_request(leaf), "Application/OCSP-request; q=1")[0] == 200
    assert front.post(b"\x30" * (17 * 1024))[0] == 413
    for path in ("/ocsp/!!!!", "/ocsp/" + base64.b64encode(b"not der").decode(), "/ocsp/a"):
        status, _, reply = front.call("GET", path)
        assert status == 200 and _ocsp_status(reply) == "malformed_request", path
    assert front.call("PUT", "/ocsp", b"")[0] == 405


def test_get_decodes_every_usual_encoding_and_supports_if_none_match(
        front: Front, stack: OcspStack) -> None:
    serial = stack.certificates["leaf"].serial_number
    for hash_name in ("sha1", "sha256"):
        request = ocsp_request(stack.cert_id(serial, hash_name))
        encoded = base64.b64encode(request).decode()
        for path in (quote(encoded, safe=""), encoded, encoded.rstrip("="),
                     quote(encoded.replace("+", " "), safe="/"),
                     base64.urlsafe_b64encode(request).decode()):
            status, headers, body = front.call("GET", f"/ocsp/{path}")
            assert status == 200, path
            assert single_statuses(body)[0][:2] == (serial, "good")
            cache_control = headers["Cache-Control"]
            max_age = int(cache_control.split("max-age=")[1].split(",")[0])
            assert 0 < max_age <= 3600
            assert {"public", "no-transform", "must-revalidate"} <= {
                part.strip() for part in cache_control.split(",")}
        status, headers, body = front.call("GET", f"/ocsp/{quote(encoded, safe='')}",
                                           headers={"If-None-Match": headers["ETag"]})
        assert status == 304 and body == b""


def test_nonce_answers_are_signed_for_the_request_and_not_cached(front: Front,
                                                                 stack: OcspStack) -> None:
    leaf = stack.cert_id(stack.certificates["leaf"].serial_number)
    replies = [front.post(ocsp_request(leaf, nonce=bytes([n]) * 16)) for n in (1, 2)]
    for (status, headers, body), n in zip(replies, (1, 2), strict=True):
        assert status == 200 and headers["Cache-Control"] == "no-store"
        extension = asn1_ocsp.OCSPResponse.load(body).basic_ocsp_response[
            "tbs_response_data"]["response_extensions"][0]
        assert extension["extn_value"].parsed.native == bytes([n]) * 16


def test_http_level_refusals_are_json(front: Front, stack: OcspStack) -> None:
    """OCSP outcomes are OCSP responses; what HTTP refuses is the API's JSON error."""
    request = ocsp_request(stack.cert_id(stack.certificates["leaf"].serial_number))
    refusals = {415: front.post(request, "application/json"),
                413: front.post(b"\x30" * (17 * 1024)),
                405: front.call("PUT", "/ocsp", b"")}
    for expected, (status, headers, body) in refusals.items():
        assert status == expected
        assert headers["Content-Type"] == "application/json", (status, body)
        assert set(json.loads(body)["error"]) == {"code", "message", "request_id"}


def test_head_then_get_on_one_connection_are_both_framed(stack: OcspStack) -> None:
    """The fast server on a keep-alive connection: a HEAD reply carries no body (a stray
    body would be read as the start of the next response)."""
    serial = stack.certificates["leaf"].serial_number
    encoded = quote(base64.b64encode(ocsp_request(stack.cert_id(serial))).decode(), safe="")
    running = start_in_thread(stack.answers)
    try:
        for head_path, head_status in ((f"/ocsp/{encoded}", 200), ("/ocsp", 404),
                                       ("/healthz", 200)):
            with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock, \
                    sock.makefile("rb") as reader:
                sock.sendall(f"HEAD {head_path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                head = read_response(reader, head=True)
                assert "close" not in head.headers.get("connection", "")
                sock.sendall(f"GET /ocsp/{encoded} HTTP/1.1\r\nHost: x\r\n"
                             "Connection: close\r\n\r\n".encode())
                got = read_response(reader)
                assert got.status == 200, got
                assert single_statuses(got.body)[0][:2] == (serial, "good")
                assert reader.read() == b""
                assert head.status == head_status and int(head.headers["content-length"]) > 0
    finally:
        running.stop()


def _raw(port: int, data: bytes, *, read_until_close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(data)
        chunks = []
        while read_until_close:
            chunk = connection.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_the_fast_server_speaks_careful_http(stack: OcspStack) -> None:
    running = start_in_thread(stack.answers)
    try:
        request = ocsp_request(stack.cert_id(stack.certificates["leaf"].serial_number))
        post = (b"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n"
                b"Content-Length: %d\r\n\r\n" % len(request)) + request
        close = post.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")
        pipelined = _raw(running.port, post + post + close)
        assert pipelined.count(b"HTTP/1.1 200 OK") == 3 and pipelined.endswith(
            stack.answers.answer(request).body)
        assert _raw(running.port, b"GET / HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n") \
            .startswith(b"HTTP/1.1 431")
        assert _raw(running.port, b"POST /ocsp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"0\r\n\r\n").startswith(b"HTTP/1.1 411")
        assert _raw(running.port, b"POST /ocsp HTTP/1.1\r\nContent-Length: -1\r\n\r\n") \
            .startswith(b"HTTP/1.1 400")
        assert _raw(running.port, b"POST /ocsp HTTP/1.1\r\nContent-Length: 99999\r\n\r\n") \
            .startswith(b"HTTP/1.1 413")
        assert _raw(running.port, b"BREW /pot HTTP/1.1\r\nConnection: close\r\n\r\n") \
            .startswith(b"HTTP/1.1 405")
        assert _raw(running.port, b"nonsense\r\n\r\n").startswith(b"HTTP/1.1 400")
        assert b'"status": "ok"' in _raw(running.port,
                                         b"GET /healthz HTTP/1.0\r\n\r\n")
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as connection:
            head = post.split(b"\r\n\r\n")[0].replace(b"Host: x", b"Expect: 100-continue")
            connection.sendall(head + b"\r\n\r\n")
            assert connection.recv(100).startswith(b"HTTP/1.1 100 Continue")
            connection.sendall(request)
            assert connection.recv(100).startswith(b"HTTP/1.1 200 OK")
    finally:
        running.stop()


def _start_following(stack: OcspStack) -> None:
    """Start the runner thread and wait until it follows the log. (eventsourcing 9.5.6's
    PostgreSQL subscription runs its first SELECT before its LISTEN, so an event committed
    in between waits for the next notification: not what this test measures.)"""
    stack.read.start()
    for attempt in range(5):
        stack.issue(f"warm-up-{attempt}")
        if stack.runner.wait_for(stack.runner.head(), timeout=1.0):
            return
    raise AssertionError("the projection runner does not follow the log")


def test_a_revocation_through_the_api_is_in_ocsp_within_a_second(api: Api,
                                                                 stack: OcspStack) -> None:
    certificate = stack.certificates["leaf"]
    running = start_in_thread(stack.answers)
    _start_following(stack)
    front = Front("127.0.0.1", running.port)
    request = ocsp_request(stack.cert_id(certificate.serial_number))
    try:
        assert single_statuses(front.post(request)[2])[0][1] == "good"
        started = time.monotonic()
        revoked = api.call("POST", f"/api/v1/certificates/{certificate.id}/revoke",
                           json={"reason": "keyCompromise"})
        assert revoked.status_code == 200, revoked.json
        while single_statuses(front.post(request)[2])[0][1] != "revoked":
            assert time.monotonic() - started < 1.0, "not revoked in OCSP after a second"
            time.sleep(0.01)
    finally:
        stack.read.stop()
        running.stop()


def _cli_environment(ledger: Any) -> dict[str, str]:
    env = {**os.environ, "CERTLEDGER_DATA_DIR": str(ledger.settings.data_dir),
           "CERTLEDGER_KEY_PASSPHRASE": PASSPHRASE.decode()}
    if ledger.settings.database_url:
        env["CERTLEDGER_DATABASE_URL"] = ledger.settings.database_url
    return env


def test_certledger_ocsp_commands(api: Api, stack: OcspStack,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``ocsp rotate`` and ``ocsp resign`` in this process, ``ocsp serve`` (two workers and
    upkeep) as the real command."""
    from api.cli import main

    for name, value in _cli_environment(stack.ledger).items():
        monkeypatch.setenv(name, value)
    old = stack.ledger.responders.get("issuing-ca")
    assert main(["ocsp", "rotate", "--force"]) == 0
    stack.ledger.responders.forget()  # the command ran as another CertLedger
    new = stack.ledger.responders.get("issuing-ca")
    assert old is not None and new is not None and new.serial_number != old.serial_number
    assert main(["ocsp", "resign"]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).parent / "certledger"), "ocsp", "serve", "--bind",
               f"127.0.0.1:{port}", "--workers", "2", "--maintain-seconds", "1"]
    process = subprocess.Popen(command, env=_cli_environment(stack.ledger),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)  # its workers go with it, whatever happens
    front = Front("127.0.0.1", port)
    request = ocsp_request(stack.cert_id(stack.certificates["leaf"].serial_number))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, body = front.post(request)
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert status == 200 and single_statuses(body)[0][1] == "good"
        assert all(front.post(request)[0] == 200 for _ in range(20))  # either worker
    finally:
        process.terminate()
        try:
            output = process.communicate(timeout=20)[0].decode()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output
    assert f"OCSP on http://127.0.0.1:{port}/ocsp (2 worker(s))" in output
