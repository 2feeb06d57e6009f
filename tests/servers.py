"""Real server processes for tests: ``certledger serve`` started in its own process group,
so a test can ``kill -9`` all of it (gunicorn's arbiter and workers) as a crash would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from api.settings import Settings

__all__ = ["ServerProcess", "free_port"]

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``certledger serve`` on a free loopback port over ``settings``' stores."""

    def __init__(self, settings: Settings, passphrase: bytes, *, workers: int = 1,
                 env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.environment = {
            **os.environ, "PYTHONPATH": str(ROOT), "CERTLEDGER_DATA_DIR": str(settings.data_dir),
            "CERTLEDGER_KEY_PASSPHRASE": passphrase.decode(),
            "CERTLEDGER_PUBLIC_URL": settings.public_base_url, **(env or {})}
        self.environment.pop("CERTLEDGER_DATABASE_URL", None)
        if settings.database_url:
            self.environment["CERTLEDGER_DATABASE_URL"] = settings.database_url
        self.workers = workers
        self.log = settings.data_dir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--bind",
                 f"127.0.0.1:{self.port}", "--workers", str(self.workers)],
                cwd=ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server ended at start:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer in {timeout} s")

    def kill9(self) -> None:
        """SIGKILL the whole process group: no handler, no atexit, nothing flushed."""
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
