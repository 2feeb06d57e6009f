"""The API as `certledger serve` runs it (gunicorn, a real process, SQLite), over raw HTTP:
chunked request bodies, JSON error pages from gunicorn itself, file modes of the data
directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ca.encoding.algorithms import KeyAlgorithm
from tests.helpers import make_csr
from tests.http_helpers import RawResponse, chunked, exchange

ROOT = Path(__file__).resolve().parents[2]


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTLEDGER_")}
    return {**env, "CERTLEDGER_DATA_DIR": str(data_dir), **extra}


def certledger(data_dir: Path, *args: str, stdin: str | None = None,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT,
                            env=cli_env(data_dir), input=stdin, capture_output=True,
                            text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"certledger {' '.join(args)}: {result.returncode}\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    data_dir: Path
    port: int
    token: str
    process: subprocess.Popen[bytes]

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None, *, framing: str = "length") -> RawResponse:
        fields = {"Host": f"127.0.0.1:{self.port}", "Authorization": f"Bearer {self.token}",
                  "Connection": "close", **(headers or {})}
        if framing == "chunked":
            fields["Transfer-Encoding"] = "chunked"
            payload = chunked(body)
        else:
            fields["Content-Length"] = str(len(body))
            payload = body
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in fields.items()) + "\r\n"
        return exchange(self.port, head.encode() + payload)


def start_server(data_dir: Path, *extra_env: tuple[str, str]) -> Server:
    port = free_port()
    token = certledger(data_dir, "token", "create", "--role", "admin",
                       "--name", "server-test").stdout.strip()
    log = open(data_dir.parent / f"server-{port}.log", "wb")  # noqa: SIM115 - closed in stop
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "2"], cwd=ROOT, env=cli_env(data_dir, **dict(extra_env)),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_server(process)
                raise AssertionError((data_dir.parent / f"server-{port}.log").read_text()) \
                    from None
            time.sleep(0.2)
    return Server(data_dir, port, token, process)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("served") / "var"
    certledger(data_dir, "init", "--if-missing", "--demo-passphrase")
    running = start_server(data_dir)
    yield running
    stop_server(running.process)


def _application() -> bytes:
    return json.dumps({"profile": "tls-server", "csr": make_csr(KeyAlgorithm.ECDSA_P256)[1],
                       "subject": {"dns_names": ["chunked.example.cn"]}}).encode()


JSON = {"Content-Type": "application/json"}


def test_a_chunked_application_is_read(server: Server) -> None:
    created = server.request("POST", "/api/v1/certificates", _application(), JSON,
                             framing="chunked")
    assert created.status == 201, created.body
    assert created.json()["subject"]["dns_names"] == ["chunked.example.cn"]


def test_a_chunked_comment_is_recorded(server: Server) -> None:
    cid = server.request("POST", "/api/v1/certificates", _application(), JSON).json()["id"]
    reviewer = certledger(server.data_dir, "token", "create", "--role", "officer",
                          "--portals", "*", "--name", "reviewer").stdout.strip()
    as_reviewer = {"Authorization": f"Bearer {reviewer}"}  # never whoever applied
    for verb in ("approve", "issue"):
        assert server.request("POST", f"/api/v1/certificates/{cid}/{verb}", b"",
                              as_reviewer).status == 200
    comment = json.dumps({"comment": "Ukey lent to a colleague"}).encode()
    suspended = server.request("POST", f"/api/v1/certificates/{cid}/suspend", comment, JSON,
                               framing="chunked")
    assert suspended.status == 200, suspended.body
    events = certledger(server.data_dir, "events", "--json").stdout.splitlines()
    recorded = [json.loads(line) for line in events
                if json.loads(line)["topic"] == "certledger:Certificate.Suspended:v1"]
    assert recorded[-1]["comment"] == "Ukey lent to a colleague"


def _applications(server: Server) -> int:
    """Applied events in the log (the runner in the server adds CRL events of its own)."""
    lines = certledger(server.data_dir, "events", "--json").stdout.splitlines()
    return sum(json.loads(line)["topic"] == "certledger:Certificate.Applied:v1"
               for line in lines)


def test_a_chunked_body_over_64_kib_is_a_413(server: Server) -> None:
    applications = _applications(server)
    body = json.dumps({"profile": "tls-server", "csr": "x" * 70_000,
                       "subject": {"dns_names": ["big.example.cn"]}}).encode()
    try:
        response = server.request("POST", "/api/v1/certificates", body, JSON, framing="chunked")
    except ConnectionError as exc:  # the server may close before the rest is sent
        pytest.fail(f"no 413 answer: {exc}")
    assert response.status == 413 and response.json()["error"]["code"]
    assert _applications(server) == applications


@pytest.mark.parametrize("path", ["/api/v1/certificates/" + "a" * 9000,
                                  "/ocsp/" + "A" * 9000])
def test_a_request_line_too_long_is_a_json_414(server: Server, path: str) -> None:
    response = server.request("GET", path)
    assert response.status == 414
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "uri_too_long"


def test_other_errors_gunicorn_answers_itself_are_json(server: Server) -> None:
    huge_header = exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
                           + b"a" * 9000 + b"\r\n\r\n")
    bad_line = exchange(server.port, b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n")
    for response in (huge_header, bad_line):
        assert 400 <= response.status < 500
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["message"]


def _modes(data_dir: Path) -> dict[str, int]:
    paths = [data_dir, *data_dir.iterdir(), *(data_dir / "keys").iterdir()]
    return {str(path.relative_to(data_dir.parent)): stat.S_IMODE(path.stat().st_mode)
            for path in paths}


def _private(modes: dict[str, int]) -> bool:
    return all(mode == (0o700 if name.endswith(("var", "keys")) else 0o600)
               for name, mode in modes.items())


def test_init_makes_a_private_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    certledger(data_dir, "init", "--demo-passphrase")
    modes = _modes(data_dir)
    assert {"var/events.sqlite3", "var/key-passphrase", "var/keys"} <= set(modes)
    assert _private(modes), {name: oct(mode) for name, mode in modes.items()}


def test_serving_keeps_the_stores_private(server: Server) -> None:
    assert server.request("POST", "/api/v1/certificates", _application(), JSON).status == 201
    modes = _modes(server.data_dir)
    assert {"var/events.sqlite3", "var/readmodels.sqlite3"} <= set(modes)
    assert any(name.endswith(("-wal", "-shm")) for name in modes), modes
    assert _private(modes), {name: oct(mode) for name, mode in modes.items()}


def test_modes_left_open_are_tightened_at_start_up(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    certledger(data_dir, "init", "--demo-passphrase")
    for path in [data_dir, data_dir / "keys"]:
        path.chmod(0o755)
    for path in [*data_dir.glob("*.sqlite3"), data_dir / "key-passphrase",
                 *(data_dir / "keys").iterdir()]:
        path.chmod(0o644)
    (tmp_path / "var" / "notes.txt").write_text("not the CA's")
    (tmp_path / "var" / "notes.txt").chmod(0o644)
    result = certledger(data_dir, "migrate")
    assert "now 0600" in result.stderr and "now 0700" in result.stderr
    modes = _modes(data_dir)
    assert modes.pop("var/notes.txt") == 0o644  # not the CA's file: left as it was
    assert _private(modes), {name: oct(mode) for name, mode in modes.items()}
