"""``Idempotency-Key`` on POST: a retried request gets the first answer, nothing twice.

A POST view marked :func:`idempotent` (every RA and admin POST; tests check) looks the
key up per caller scope (role, actor and portals: two portals' keys never meet) in
``rm_idempotency_keys`` (projections/idempotency_keys.py) before it runs:

- new: the view runs and its answer is stored (4xx included; a 5xx or a 409 ``busy``
  frees the key, so a retry runs again);
- the same request again (method, path and body bytes): the stored answer, with
  ``Idempotent-Replayed: true``;
- another request with the key: 422 ``idempotency_key_reused``, nothing runs;
- still running elsewhere: wait up to :data:`WAIT_SECONDS` for its answer, else 409
  ``idempotency_in_progress`` with ``Retry-After``.

Across a crash between the command and the stored answer (the attempt stops answering
for the store's lease, 60 s), the next retry runs the view again. It records nothing
twice: creations take their id from the key (:func:`request_id`, uuid5 of scope and
key), so the retry finds what the first attempt made and answers with it; other commands
meet the state the first attempt left (e.g. 409 ``certificate_approved``), and setting
what is already set records nothing. A view whose answer holds a secret (a new token)
stores no body (``keep_body=False``): a replay runs it again, and it makes the same
answer from the key.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID, uuid5

from flask import Response, current_app, g, request

from api.auth import current_actor
from api.context import ledger
from api.errors import ApiError, error_response
from api.json_body import request_body
from domain.actors import Actor
from domain.ids import NAMESPACE
from projections.idempotency_keys import ClaimState, StoredAnswer

__all__ = ["idempotent", "request_id", "scope_of", "HEADER", "WAIT_SECONDS"]

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
WAIT_SECONDS = 2.0
_KEPT_HEADERS = ("Content-Type", "Location")


def scope_of(actor: Actor) -> str:
    portals = "*" if actor.portals is None else ",".join(sorted(actor.portals))
    return f"{actor.role.value}|{portals}|{actor.id}"


def request_id() -> UUID | None:
    """The id a creation takes in this request: derived from its Idempotency-Key (None:
    no key, a new random id)."""
    return g.get("certledger_request_id")


def idempotent(view: F | None = None, *, keep_body: bool = True) -> Any:
    """Mark a POST view (inside ``require``: the caller is known) as keyed by
    Idempotency-Key. ``keep_body=False``: its answer holds a secret; never stored."""

    def decorate(function: F) -> F:
        @wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(HEADER)
            if key is None:
                return function(*args, **kwargs)
            return _keyed(lambda: function(*args, **kwargs), key, keep_body)

        wrapper.idempotent = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


def _keyed(run: Callable[[], Any], key: str, keep_body: bool) -> Response:
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise ApiError(400, "bad_idempotency_key",
                       f"{HEADER} is 1 to 255 printable ASCII characters")
    scope = scope_of(current_actor())
    body = request_body()
    fingerprint = hashlib.sha256(b"\0".join(
        [request.method.encode(), request.path.encode(), body])).hexdigest()
    store = ledger().read.idempotency
    g.certledger_request_id = uuid5(NAMESPACE, f"request:{scope}\n{key}")
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        claim = store.begin(scope, key, fingerprint)
        if claim.state is ClaimState.MISMATCH:
            raise ApiError(422, "idempotency_key_reused",
                           f"this {HEADER} was used for another request; use a new key")
        if claim.state is ClaimState.REPLAY and claim.answer is not None:
            return _replayed(claim.answer)
        if claim.state is not ClaimState.IN_PROGRESS:
            break
        if time.monotonic() > deadline:
            response = error_response(409, "idempotency_in_progress",
                                      f"a request with this {HEADER} is still running; "
                                      "ask again")
            response.headers["Retry-After"] = "1"
            return response
        time.sleep(0.05)
    response = _run(run)
    if claim.state is ClaimState.RUN_AGAIN:
        response.headers["Idempotent-Replayed"] = "true"
    elif response.status_code >= 500 or _transient(response):
        store.release(scope, key, claim.owner)
    else:
        store.finish(scope, key, claim.owner, StoredAnswer(
            response.status_code, response.get_data(),
            {name: response.headers[name] for name in _KEPT_HEADERS
             if name in response.headers}), keep_body=keep_body)
    return response


def _run(run: Callable[[], Any]) -> Response:
    """The view's answer as a response, its errors mapped as the app maps them."""
    app = current_app
    try:
        return app.make_response(run())
    except Exception as exc:  # the app's error handlers make the answer
        return app.make_response(app.handle_user_exception(exc))


def _transient(response: Response) -> bool:
    if response.status_code != 409:
        return False
    try:
        return bool(json.loads(response.get_data())["error"]["code"] == "busy")
    except (ValueError, KeyError, TypeError):
        return False


def _replayed(answer: StoredAnswer) -> Response:
    response = Response(answer.body, status=answer.status, headers=answer.headers)
    response.headers["Idempotent-Replayed"] = "true"
    return response
