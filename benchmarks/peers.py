"""Servers the benchmarks measure ours beside: nginx (the harness's own limit: a fixed
body from memory, nothing parsed or looked up) and ``certledger serve`` (the production
front end)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["nginx_fixed_body", "certledger_serve", "free_port", "wait_for_port"]

NGINX_CONF = """
daemon off;
master_process on;
worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            default_type application/ocsp-response;
            return 200 "{body}";
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def nginx_fixed_body(size: int, workers: int = 2) -> Iterator[int]:
    """Debian's nginx answering every request 200 with ``size`` bytes (``return 200``)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    root = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    port = free_port()
    (root / "nginx.conf").write_text(NGINX_CONF.format(workers=workers, root=root, port=port,
                                                       body="x" * size))
    process = subprocess.Popen([nginx, "-c", str(root / "nginx.conf"), "-p", str(root)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield port
    finally:
        _stop(process)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def certledger_serve(env: dict[str, str], workers: int = 2,
                     extra: dict[str, str] | None = None) -> Iterator[int]:
    """``certledger serve`` (gunicorn's arbiter, event-loop workers) on a free port."""
    port = free_port()
    # the production defaults: not the small pools and long waits the test suite sets
    # (tests/conftest.py, imported through the test helpers the benchmarks use)
    base = {key: value for key, value in os.environ.items()
            if not key.startswith("CERTLEDGER_") and key != "PGAPPNAME"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "certledger"), "serve", "--bind",
         f"127.0.0.1:{port}", "--workers", str(workers)],
        env={**base, **env, **(extra or {})}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(port, process)
        yield port
    finally:
        _stop(process)
