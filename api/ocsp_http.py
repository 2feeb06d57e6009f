"""OCSP over HTTP (RFC 6960 Appendix A, RFC 5019 §5–6): the rules both front ends share.

- ``POST`` with the DER request as body. The Content-Type must be
  ``application/ocsp-request`` (RFC 6960 A.1); a request without one is
  accepted, any other type is refused with HTTP 415 (the body was not meant as
  an OCSP request). A body over :data:`MAX_REQUEST_BYTES` is HTTP 413.
- ``GET /ocsp/{base64 of the DER request}``: URL-encoded (``%2B``, ``%2F``,
  ``%3D``) or not; a ``+`` turned into a space, URL-safe ``-``/``_`` and missing
  padding are accepted too. Something that does not decode is malformedRequest.
- Every OCSP outcome, errors included (malformedRequest, unauthorized, ...), is
  HTTP 200 with an ``application/ocsp-response`` body: clients such as OpenSSL
  read the OCSP status only from a 200. What is refused at the HTTP level, before
  any OCSP request is read (another Content-Type, a body too large, a wrong method or
  path), is an HTTP 4xx with the API's JSON error body (:func:`http_error`), from
  both front ends.
- Pre-signed responses carry RFC 5019 §6 caching headers: ``Cache-Control:
  max-age=<seconds to nextUpdate>, public, no-transform, must-revalidate``,
  ``ETag``, ``Last-Modified`` (thisUpdate) and ``Expires`` (nextUpdate); a GET
  whose ``If-None-Match`` names the current ETag gets 304. Responses signed for
  one request (nonce, several CertIDs) and errors are ``no-store``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import unquote

from api.ocsp_answers import Answer, OcspAnswers
from ca.encoding.ocsp_responses import ResponseStatus, error_response

__all__ = ["Reply", "MAX_REQUEST_BYTES", "REQUEST_TYPE", "RESPONSE_TYPE", "post", "get",
           "post_der", "get_der", "reply", "decode_get_path", "http_date", "http_error",
           "too_large"]

MAX_REQUEST_BYTES = 16 * 1024  # 16 CertIDs with a nonce are < 2 KiB; a signed request more
REQUEST_TYPE = "application/ocsp-request"
RESPONSE_TYPE = "application/ocsp-response"
_NO_STORE = [("Content-Type", RESPONSE_TYPE), ("Cache-Control", "no-store")]
_MALFORMED = error_response(ResponseStatus.MALFORMED_REQUEST)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


@functools.lru_cache(maxsize=4096)
def http_date(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


def reply(answer: Answer, if_none_match: str | None = None) -> Reply:
    """The HTTP reply carrying ``answer``; 304 when ``if_none_match`` names its ETag."""
    cache = answer.cache
    if cache is None:
        return Reply(200, answer.body, _NO_STORE)
    not_modified = bool(if_none_match and cache.etag in
                        (tag.strip() for tag in if_none_match.split(",")))
    max_age = max(0, cache.next_update - int(time.time()))
    headers = [("Content-Type", RESPONSE_TYPE),
               ("Cache-Control", f"max-age={max_age}, public, no-transform, must-revalidate"),
               ("ETag", cache.etag), ("Last-Modified", http_date(cache.this_update)),
               ("Expires", http_date(cache.next_update))]
    if not_modified:
        return Reply(304, b"", headers)
    return Reply(200, answer.body, headers)


def post_der(content_type: str | None, body: bytes,
             request_id: str | None = None) -> bytes | Reply:
    """The DER request of a POST, or the reply that refuses it (HTTP 415, 413, or an OCSP
    malformedRequest for an empty body)."""
    if content_type and content_type.split(";", 1)[0].strip().lower() != REQUEST_TYPE:
        return http_error(415, "unsupported_media_type", f"send the request as {REQUEST_TYPE}",
                          request_id=request_id)
    if len(body) > MAX_REQUEST_BYTES:
        return too_large(request_id)
    if not body:
        return Reply(200, _MALFORMED, _NO_STORE)
    return body


def get_der(encoded: str) -> bytes | Reply:
    """The DER request of a GET path, or the malformedRequest reply."""
    request_der = decode_get_path(encoded)
    return Reply(200, _MALFORMED, _NO_STORE) if request_der is None else request_der


def post(answers: OcspAnswers, content_type: str | None, body: bytes) -> Reply:
    der = post_der(content_type, body)
    return der if isinstance(der, Reply) else reply(answers.answer(der))


def get(answers: OcspAnswers, encoded: str, if_none_match: str | None = None) -> Reply:
    der = get_der(encoded)
    return der if isinstance(der, Reply) else reply(answers.answer(der), if_none_match)


def http_error(status: int, code: str, message: str, *extra: tuple[str, str],
               request_id: str | None = None) -> Reply:
    """An HTTP-level refusal, as JSON ``{"error": {"code", "message"}}`` like the API's
    (with ``request_id`` when the front end gave the request one)."""
    error = {"code": code, "message": message}
    if request_id is not None:
        error["request_id"] = request_id
    body = json.dumps({"error": error}).encode() + b"\n"
    return Reply(status, body, [("Content-Type", "application/json"),
                                ("Cache-Control", "no-store"), *extra])


def too_large(request_id: str | None = None) -> Reply:
    return http_error(413, "request_entity_too_large",
                      f"an OCSP request is at most {MAX_REQUEST_BYTES} bytes",
                      request_id=request_id)


def decode_get_path(encoded: str) -> bytes | None:
    """The DER request in a GET path segment (RFC 5019 §5), or None if it does not decode."""
    text = unquote(encoded).replace(" ", "+").replace("-", "+").replace("_", "/")
    text = text.replace("\r", "").replace("\n", "").replace("\t", "")
    if not text or len(text) > MAX_REQUEST_BYTES * 4 // 3 + 4:
        return None
    text = text.rstrip("=")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True) or None
    except (binascii.Error, ValueError):
        return None
