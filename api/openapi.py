"""The OpenAPI 3.1 document, built from the code: ``GET /api/v1/openapi.json``.

Each view declares what it takes and answers with :func:`operation` (a decorator that
only records it on the function); :func:`document` walks Flask's url_map, so every route
of the app is in the document with its path parameters, and a route without a
declaration is listed by :func:`undocumented` (a test keeps that list empty). A POST
view marked :func:`api.idempotency.idempotent` gets the ``Idempotency-Key`` header and
the answers that come with it. The schemas are in api/schemas.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app

from api import schemas

__all__ = ["operation", "Operation", "Binary", "Query", "document", "undocumented",
           "blueprint"]

F = TypeVar("F", bound=Callable[..., Any])
_CONVERTER = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>[a-z_]+)>")
_DOCUMENT = "certledger.openapi"


@dataclass(frozen=True)
class Binary:
    """A response body that is not JSON."""

    media_type: str
    description: str = ""


@dataclass(frozen=True)
class Query:
    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    responses: dict[int, str | Binary | None]  # status -> schema name, other media, no body
    request: str | Binary | None = None         # the JSON body's schema name, or another
    request_required: bool = True
    query: Sequence[Query] = ()
    errors: Sequence[int] = ()                  # more error statuses than the usual ones
    description: str = ""
    headers: dict[int, dict[str, Any]] = field(default_factory=dict)


def operation(summary: str, tag: str, responses: Mapping[int, str | Binary | None], *,
              request: str | Binary | None = None, request_required: bool = True,
              query: Sequence[Query] = (), errors: Sequence[int] = (),
              description: str = "",
              headers: dict[int, dict[str, Any]] | None = None) -> Callable[[F], F]:
    """Declare a view's operation for the OpenAPI document. Who may call it comes from
    ``api.auth.require`` (the roles it names; a view without it needs no token)."""
    declared = Operation(summary, tag, dict(responses), request, request_required, tuple(query),
                         tuple(errors), description, headers or {})

    def decorate(view: F) -> F:
        view.openapi = declared  # type: ignore[attr-defined]
        return view

    return decorate


def undocumented(app: Flask) -> list[str]:
    """Routes whose view declares no operation (``static`` aside)."""
    return sorted(f"{sorted(_methods(rule.methods))} {rule.rule}"
                  for rule in app.url_map.iter_rules()
                  if rule.endpoint != "static"
                  and getattr(app.view_functions[rule.endpoint], "openapi", None) is None)


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every documented route of ``app`` (built once)."""
    built = app.extensions.get(_DOCUMENT)
    if built is None:
        built = _build(app)
        app.extensions[_DOCUMENT] = built
    return built  # type: ignore[no-any-return]


def _build(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        declared: Operation | None = getattr(view, "openapi", None)
        if declared is None:
            continue
        path = _CONVERTER.sub(lambda m: "{" + m.group("name") + "}", rule.rule)
        for method in _methods(rule.methods):
            paths.setdefault(path, {})[method.lower()] = _operation(
                declared, rule.endpoint, list(rule.arguments),
                getattr(view, "required_roles", None), getattr(view, "idempotent", False))
    return {
        "openapi": "3.1.0",
        "info": {"title": "CertLedger", "version": _version(),
                 "description": "An event-sourced certificate authority: RA API (portals, "
                                "accounts, applications), CA certificates, CRLs, OCSP."},
        "paths": paths,
        "components": {
            "schemas": schemas.COMPONENTS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "an API token (clt_...)"}}},
    }


def _version() -> str:
    try:
        return metadata.version("certledger")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "0"


def _methods(methods: set[str] | None) -> list[str]:
    return sorted((methods or set()) - {"HEAD", "OPTIONS"})


def _operation(declared: Operation, endpoint: str, arguments: list[str],
               roles: list[str] | None, idempotent: bool) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in sorted(arguments)]
    parameters += [{"name": q.name, "in": "query", "required": False, "schema": q.schema,
                    **({"description": q.description} if q.description else {})}
                   for q in declared.query]
    errors = set(declared.errors)
    if roles is not None:
        errors |= {401, 403}
    if arguments:
        errors.add(404)
    if declared.request is not None:
        errors |= {400, 413, 415}
    if declared.query:
        errors.add(400)
    if idempotent:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                           "description": "the same key again (same caller, same request) "
                                          "gets the first answer and records nothing"})
        errors |= {400, 409, 422}
    responses: dict[str, Any] = {}
    for status, body in declared.responses.items():
        responses[str(status)] = _response(status, body, declared.headers.get(status))
    for status in sorted(errors - set(declared.responses)):
        responses[str(status)] = _response(status, "Error", None)
    result: dict[str, Any] = {"operationId": endpoint, "summary": declared.summary,
                              "tags": [declared.tag], "parameters": parameters,
                              "responses": responses}
    if declared.description:
        result["description"] = declared.description
    if roles is not None:
        result["security"] = [{"bearer": []}]
        result["x-roles"] = roles
    else:
        result["security"] = []
    if isinstance(declared.request, Binary):
        binary = {"type": "string", "contentMediaType": "application/octet-stream"}
        result["requestBody"] = {"required": declared.request_required, "content": {
            declared.request.media_type: {"schema": binary}}}
    elif declared.request is not None:
        result["requestBody"] = {"required": declared.request_required, "content": {
            "application/json": {"schema": schemas.ref(declared.request)}}}
    return result


def _response(status: int, body: str | Binary | None,
              headers: dict[str, Any] | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": _DESCRIPTIONS.get(status, "answer")}
    if isinstance(body, Binary):
        answer["content"] = {body.media_type: {"schema": {"type": "string"}}}
        if body.description:
            answer["description"] = body.description
    elif body is not None:
        answer["content"] = {"application/json": {"schema": schemas.ref(body)}}
    if headers:
        answer["headers"] = {name: {"schema": schema} for name, schema in headers.items()}
    return answer


_DESCRIPTIONS = {200: "done", 201: "created", 304: "not modified",
                 400: "bad request: nothing was recorded", 401: "no valid token",
                 403: "the token's role may not do this",
                 404: "no such thing (or not in the caller's portals)",
                 405: "method not allowed",
                 409: "the state does not allow it, a unique value is taken, or a request "
                      "with the same Idempotency-Key is still running",
                 413: "the body is too large", 415: "the body is not application/json",
                 422: "the Idempotency-Key was used for another request, or lint refused",
                 503: "not available yet; try again"}

blueprint = Blueprint("openapi", __name__, url_prefix="/api/v1")


@blueprint.get("/openapi.json")
@operation("This document: OpenAPI 3.1, built from the code", "meta",
           {200: "OpenApiDocument"})
def openapi_document() -> Any:
    return document(current_app)
