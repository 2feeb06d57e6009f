"""``certledger serve``: the Flask app under gunicorn, with JSON error pages.

gunicorn answers some requests itself, before the app sees them: a request line over
4094 bytes (414), header fields too large (431), a malformed request line, header or
chunk (400), an unsupported transfer coding (501). Its stock pages are HTML; the
workers here are gunicorn's threaded workers whose error pages are the API's JSON
``{"error": {"code", "message"}}``, so every error of the API is JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from api.settings import Settings

__all__ = ["JsonErrorWorker", "serve", "error_page"]


def error_page(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 response (connection closed) with a JSON error body."""
    code = re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_") or "error"
    body = json.dumps({"error": {"code": code, "message": message or reason}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1", "replace") + body


def _write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    gunicorn_util.write_nonblock(sock, error_page(status_int, reason, mesg))


class JsonErrorWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, with JSON instead of HTML error pages."""

    def init_process(self) -> None:
        # gunicorn's Worker.handle_error writes its page with gunicorn.util.write_error;
        # this process is a worker of ours and nothing else, so its pages are replaced here
        gunicorn_util.write_error = _write_json_error
        super().init_process()


def serve(settings: Settings, *, bind: str, workers: int, threads: int) -> None:
    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", f"{__name__}.JsonErrorWorker")
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 60)
            # gunicorn's runtime control socket (~/.gunicorn/gunicorn.ctl by default) is one
            # path per user: several servers on a host would fight over it; we do not use it
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from api.app import create_app

            return create_app({"SETTINGS": settings})

    _Server().run()
