"""The JSON body of an RA API request, read and checked before any view sees it.

- The body is read whatever its framing: ``Content-Length`` or ``Transfer-Encoding:
  chunked`` (gunicorn terminates the stream; the app's ``MAX_CONTENT_LENGTH``, 64 KiB,
  holds for both and is a 413 beyond it). An empty body is ``{}``.
- It must be UTF-8 JSON (RFC 8259) nested at most :data:`MAX_DEPTH` arrays/objects
  deep (checked on the text before parsing, so a body of 5,000 ``[`` is a 400 rather
  than a ``RecursionError``), without ``NaN``/``Infinity`` or numbers that overflow a
  float, and with at most :data:`MAX_INT_DIGITS` digits in an integer.
- No string anywhere in it (keys included) may hold a lone surrogate (``"\\ud800"``):
  that is not text and cannot be stored (400 ``bad_text``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import g, request
from werkzeug.exceptions import RequestEntityTooLarge

from api.errors import ApiError

__all__ = ["json_body", "request_body", "check_json_text", "MAX_DEPTH", "MAX_INT_DIGITS"]

MAX_DEPTH = 32
MAX_INT_DIGITS = 100
# strings (with their escapes) are skipped; only brackets outside them count
# (an unterminated string runs to the end: linear time whatever the quotes and backslashes)
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_body() -> Any:
    """The request's JSON value ({} when there is no body); ApiError when it is not one."""
    raw = request_body()
    if not raw:
        return {}
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    return parse_json(raw)


def request_body() -> bytes:
    """The body, at most ``MAX_CONTENT_LENGTH`` octets (413 beyond it), read once per
    request. With a Content-Length werkzeug frames and limits it; a chunked body (no
    Content-Length, the server terminating the stream) is read here, because werkzeug's
    limited stream stops quietly at the limit and would hand over a truncated body."""
    body: bytes | None = g.get("certledger_body")
    if body is None:
        body = g.certledger_body = _read_body()
    return body


def _read_body() -> bytes:
    if request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return request.get_data(cache=True)
    limit = request.max_content_length or 64 * 1024
    stream, chunks, size = request.environ["wsgi.input"], [], 0
    while size <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge(f"the body is over {limit} bytes")
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    _check_depth(raw)
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constant,
                           parse_float=_finite_float, parse_int=_bounded_int)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {_reason(exc)}") from None
    check_json_text(value)
    return value


def check_json_text(value: Any) -> None:
    """ApiError 400 ``bad_text`` if a string in ``value`` (or a key) is not Unicode text."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise ApiError(400, "bad_text", "a string in the body holds a lone surrogate "
                           "(U+D800..U+DFFF), which is not text")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json_text(key)
            check_json_text(item)
    elif isinstance(value, list):
        for item in value:
            check_json_text(item)


def _check_depth(raw: bytes) -> None:
    depth = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise ApiError(400, "bad_json",
                               f"the body nests arrays/objects more than {MAX_DEPTH} deep")
        elif token in (b"]", b"}"):
            depth -= 1


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)
