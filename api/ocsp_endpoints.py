"""The OCSP endpoints in the Flask app: ``POST /ocsp`` and ``GET /ocsp/<base64>``.

The same answers as the standalone server (``certledger ocsp serve``, api/ocsp_server.py):
both use :class:`api.ocsp_answers.OcspAnswers` and the HTTP rules in api/ocsp_http.py.
The app's copy of the read model is refreshed when a request finds it older than 100 ms.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from api import ocsp_http
from api.context import EXTENSION
from api.logs import request_id
from api.ocsp_answers import OcspAnswers
from api.openapi import Binary, operation

__all__ = ["blueprint", "answers_for"]

blueprint = Blueprint("ocsp", __name__)
_REFRESH_SECONDS = 0.1
_lock = threading.Lock()


def answers_for(app: Flask) -> OcspAnswers:
    """The app's OCSP answers (made on first use: nothing connects at import or app build)."""
    answers = app.extensions.get("certledger.ocsp")
    if answers is None:
        with _lock:
            answers = app.extensions.get("certledger.ocsp")
            if answers is None:
                ledger = app.extensions[EXTENSION]
                answers = OcspAnswers(ledger.read.database, ledger.responders,
                                      settings=ledger.settings.ocsp, clock=ledger.clock)
                app.extensions["certledger.ocsp"] = answers
    answers.refresh_if_older(_REFRESH_SECONDS)
    return answers  # type: ignore[no-any-return]


def _response(reply: ocsp_http.Reply) -> Any:
    return Response(reply.body, status=reply.status, headers=reply.headers)


_ANSWER = Binary("application/ocsp-response",
                 "an OCSP response (OCSP errors too are HTTP 200, RFC 6960)")


@operation("OCSP request (RFC 6960), DER", "public", {200: _ANSWER},
           request=Binary("application/ocsp-request"), errors=(413, 415))
def ocsp_post() -> Any:
    if (request.content_length or 0) > ocsp_http.MAX_REQUEST_BYTES:
        return _response(ocsp_http.too_large(request_id.get()))
    der = ocsp_http.post_der(request.content_type, request.get_data(cache=False),
                             request_id.get())
    if isinstance(der, ocsp_http.Reply):
        return _response(der)
    return _response(ocsp_http.reply(answers_for(current_app).answer(der)))


@operation("OCSP request (RFC 5019), base64 in the path", "public", {200: _ANSWER, 304: None})
def ocsp_get(encoded: str) -> Any:
    return _response(ocsp_http.get(answers_for(current_app), encoded,
                                   request.headers.get("If-None-Match")))


blueprint.add_url_rule("/ocsp", view_func=ocsp_post, methods=["POST"])
blueprint.add_url_rule("/ocsp/", endpoint="ocsp_post_slash", view_func=ocsp_post,
                       methods=["POST"])
# base64 holds '/' (and '//'): take the rest of the path as it is
blueprint.add_url_rule("/ocsp/<path:encoded>", view_func=ocsp_get, methods=["GET"],
                       merge_slashes=False)
