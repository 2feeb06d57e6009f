"""``openssl ocsp`` against both OCSP front ends over real HTTP, on SQLite and PostgreSQL:
the standalone server (api/ocsp_server.py) and the Flask app under werkzeug's WSGI server.
"""

from __future__ import annotations

import base64
import subprocess
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from werkzeug.serving import make_server

from api.app import create_app
from api.bootstrap import CertLedger
from api.ocsp_endpoints import answers_for
from api.ocsp_server import start_in_thread
from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.lint import lint_certificate, lint_ocsp_response
from ca.encoding.signers import verify_signature
from domain.reasons import RevocationReason
from tests.conftest import OFFICER, build_ledger, with_hierarchy
from tests.interop.test_sm2_certificates import sm2_csr
from tests.ocsp_helpers import OcspStack, ocsp_request, ocsp_stack

pytestmark = pytest.mark.interop


@dataclass
class Endpoint:
    stack: OcspStack
    url: str
    refresh: Callable[[], None]

    def sync(self) -> None:
        self.stack.sync()
        self.refresh()

    def openssl(self, *args: str) -> str:
        directory = self.stack.directory
        done = subprocess.run(
            ["openssl", "ocsp", "-url", self.url, "-issuer", str(directory / "issuing.pem"),
             "-CAfile", str(directory / "root.pem"), *args],
            capture_output=True, text=True, timeout=30, check=False, cwd=directory)
        output = done.stdout + done.stderr
        assert done.returncode == 0 and "Response verify OK" in output, output
        return output


def _flask(stack: OcspStack) -> tuple[str, Callable[[], None], Callable[[], None]]:
    app = create_app({"CERTLEDGER": stack.ledger, "SETTINGS": stack.ledger.settings,
                      "PROJECTIONS_RUNNER": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(5)

    return (f"http://127.0.0.1:{server.server_port}/ocsp",
            lambda: answers_for(app).refresh(), stop)


def _endpoint(stack: OcspStack, front_end: str) -> tuple[Endpoint, Callable[[], None]]:
    if front_end == "flask":
        url, refresh, stop = _flask(stack)
        return Endpoint(stack, url, refresh), stop
    running = start_in_thread(stack.answers)
    return Endpoint(stack, f"http://127.0.0.1:{running.port}/ocsp", lambda: None), running.stop


@pytest.fixture(params=["fast", "flask"])
def endpoint(request: pytest.FixtureRequest, ledger: CertLedger,
             tmp_path: Path) -> Iterator[Endpoint]:
    stack = ocsp_stack(ledger, tmp_path / "pki")
    for label in ("good", "revoked", "held"):
        stack.issue(label)
    ledger.certificates.revoke(OFFICER, stack.certificates["revoked"].id,
                               RevocationReason.KEY_COMPROMISE)
    ledger.certificates.suspend(OFFICER, stack.certificates["held"].id)
    stack.sync()
    running, stop = _endpoint(stack, request.param)
    try:
        yield running
    finally:
        stop()


_EXPECTED = {"good": ("good", None), "revoked": ("revoked", "keyCompromise"),
             "held": ("revoked", "certificateHold")}


def test_openssl_gets_good_revoked_and_unknown(endpoint: Endpoint) -> None:
    for label, (status, reason) in _EXPECTED.items():
        for options in ([], ["-no_nonce"], ["-sha256"], ["-sha256", "-no_nonce"]):
            output = endpoint.openssl(*options, "-cert", f"{label}.pem")
            assert f"{label}.pem: {status}" in output, output
            if reason:
                assert f"Reason: {reason}" in output and "Revocation Time:" in output
            if "-no_nonce" not in options:
                assert "WARNING: no nonce" not in output
    for options in ([], ["-no_nonce"]):
        assert "0x1234: unknown" in endpoint.openssl(*options, "-serial", "0x1234")


def test_several_certificates_in_one_request(endpoint: Endpoint) -> None:
    output = endpoint.openssl(*[arg for label in ("good", "revoked", "held")
                                for arg in ("-cert", f"{label}.pem")])
    assert "good.pem: good" in output and "revoked.pem: revoked" in output
    assert "held.pem: revoked" in output and "Reason: certificateHold" in output


def test_a_revocation_reaches_the_endpoint(endpoint: Endpoint) -> None:
    endpoint.openssl("-no_nonce", "-cert", "good.pem")
    ledger = endpoint.stack.ledger
    ledger.certificates.revoke(OFFICER, endpoint.stack.certificates["good"].id,
                               RevocationReason.AFFILIATION_CHANGED)
    endpoint.sync()
    output = endpoint.openssl("-no_nonce", "-cert", "good.pem")
    assert "good.pem: revoked" in output and "Reason: affiliationChanged" in output


def _get(endpoint: Endpoint, label: str, *, encode: bool) -> tuple[bytes, dict[str, str]]:
    directory = endpoint.stack.directory
    request_path = directory / f"{label}-req.der"
    subprocess.run(["openssl", "ocsp", "-issuer", "issuing.pem", "-cert", f"{label}.pem",
                    "-no_nonce", "-reqout", str(request_path)], cwd=directory, check=True,
                   capture_output=True)
    encoded = base64.b64encode(request_path.read_bytes()).decode()
    with urllib.request.urlopen(f"{endpoint.url}/{quote(encoded, safe='') if encode else encoded}",
                                timeout=10) as reply:
        assert reply.status == 200
        return reply.read(), dict(reply.headers)


def test_get_requests_answer_as_openssl_expects(endpoint: Endpoint) -> None:
    directory = endpoint.stack.directory
    for label, (status, reason) in _EXPECTED.items():
        for encode in (True, False):
            body, headers = _get(endpoint, label, encode=encode)
            assert headers["Content-Type"] == "application/ocsp-response"
            assert "max-age=" in headers["Cache-Control"] and "public" in headers["Cache-Control"]
            for name in ("ETag", "Last-Modified", "Expires"):
                assert headers[name]
            (directory / f"{label}-resp.der").write_bytes(body)
            done = subprocess.run(
                ["openssl", "ocsp", "-respin", f"{label}-resp.der", "-issuer", "issuing.pem",
                 "-cert", f"{label}.pem", "-CAfile", "root.pem"],
                cwd=directory, capture_output=True, text=True, check=False)
            output = done.stdout + done.stderr
            assert "Response verify OK" in output and f"{label}.pem: {status}" in output, output
            assert reason is None or f"Reason: {reason}" in output


def test_responses_and_responder_certificate_pass_pkilint_and_openssl(
        endpoint: Endpoint) -> None:
    stack = endpoint.stack
    answers = stack.answers
    for label in ("good", "revoked", "held"):
        serial = stack.certificates[label].serial_number
        for nonce in (None, b"\x11" * 32):
            assert lint_ocsp_response(answers.answer(ocsp_request(
                stack.cert_id(serial), nonce=nonce)).body) == []
    assert lint_ocsp_response(answers.answer(ocsp_request(stack.cert_id(99))).body) == []
    responder = stack.ledger.responders.get("issuing-ca")
    assert responder is not None and lint_certificate(responder.certificate_der) == []
    (stack.directory / "responder.pem").write_text(
        "-----BEGIN CERTIFICATE-----\n"
        + base64.encodebytes(responder.certificate_der).decode()
        + "-----END CERTIFICATE-----\n")
    done = subprocess.run(["openssl", "verify", "-purpose", "ocsphelper", "-CAfile", "root.pem",
                           "-untrusted", "issuing.pem", "responder.pem"],
                          cwd=stack.directory, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "responder.pem: OK" in done.stdout, done.stderr


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.RSA_2048, KeyAlgorithm.ED25519,
                                       KeyAlgorithm.SM2], ids=lambda a: a.value)
def test_the_responder_signs_with_the_ca_algorithm(algorithm: KeyAlgorithm,
                                                   sqlite_settings, tmp_path: Path) -> None:
    ledger = with_hierarchy(build_ledger(sqlite_settings), algorithm)
    stack = ocsp_stack(ledger, tmp_path / "pki")
    # a leaf of the CA's own hierarchy: an SM2 CA certifies SM2 keys only
    stack.issue("leaf", csr=sm2_csr() if algorithm is KeyAlgorithm.SM2 else None)
    stack.sync()
    response = stack.answers.answer(ocsp_request(
        stack.cert_id(stack.certificates["leaf"].serial_number), nonce=b"\x01" * 8)).body
    assert lint_ocsp_response(response) == []
    basic = asn1_ocsp.OCSPResponse.load(response).basic_ocsp_response
    responder = asn1_x509.Certificate.load(basic["certs"][0].dump())
    assert responder.public_key.algorithm == ledger.hierarchy.issuer("issuing-ca").signer \
        .public_key_info().algorithm
    verify_signature(responder.public_key, basic["signature_algorithm"],
                     basic["signature"].native, basic["tbs_response_data"].dump())
    if algorithm is KeyAlgorithm.SM2:
        return  # OpenSSL 3.0 cannot check SM2 OCSP responses (DESIGN.md §5)
    running = start_in_thread(stack.answers)
    try:
        endpoint = Endpoint(stack, f"http://127.0.0.1:{running.port}/ocsp", lambda: None)
        assert "leaf.pem: good" in endpoint.openssl("-cert", "leaf.pem")
    finally:
        running.stop()
