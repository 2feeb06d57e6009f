"""Structured logs: one JSON object a line, with the request id of the request it is about.

The front ends give every request an id (``X-Request-Id`` on the response, in JSON error
bodies); :data:`request_id` carries it into the thread that answers, and every record
made there has it (outside a request: null). Messages and tracebacks are escaped first
(api/text.py: control and bidi characters become ``\\n``, ``\\x1b``, ``\\u202e``), then
JSON-encoded, so a record is exactly one line whatever a request put in it.
``CERTLEDGER_LOG_FORMAT=text`` keeps plain lines.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from api.text import install_log_escaping

__all__ = ["JsonFormatter", "configure_logging", "request_id"]

request_id: ContextVar[str | None] = ContextVar("certledger_request_id", default=None)
_configured: list[logging.Handler] = []


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "json", level: int = logging.INFO) -> None:
    """This process's log records to stderr, as JSON lines (or text). Idempotent."""
    install_log_escaping()
    root = logging.getLogger()
    for handler in _configured:
        root.removeHandler(handler)
    _configured.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run: noise
    _configured.append(handler)
