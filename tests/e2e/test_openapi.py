"""The OpenAPI 3.1 document (``GET /api/v1/openapi.json``): built from the code, covering
every route, every RA and admin POST taking an Idempotency-Key; and schemathesis, run
against it for a bounded number of examples, finds no 5xx and no answer the document
does not describe."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.openapi import document, operation, undocumented
from api.settings import Settings
from ca.encoding.algorithms import KeyAlgorithm
from domain.actors import Actor, Role
from tests.conftest import ADMIN, OFFICER, build_ledger, with_hierarchy
from tests.crl_helpers import publish_crls
from tests.e2e.conftest import Api
from tests.helpers import make_csr

EXAMPLES = 12  # per operation and generation mode: the whole run stays well under 60 s
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
NOT_IDEMPOTENT = {"/ocsp", "/ocsp/",  # OCSP queries record nothing and carry no token
                  "/api/v1/public/query"}  # the public query: no token, records nothing
# OCSP requests are DER: sent as the bytes schemathesis makes for a binary body
schemathesis.serializer.alias("application/ocsp-request", "application/octet-stream")


def test_every_route_is_in_the_document(api: Api) -> None:
    app = api.client.application
    assert undocumented(app) == []
    served = api.client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.json["openapi"] == "3.1.0"
    paths = served.json["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)  # <int:n> -> {n}
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], (method, rule.rule)


def test_a_route_without_a_declaration_is_found() -> None:
    """The check above can fail: a route added without ``operation`` is listed."""
    app = Flask("planted")

    @app.get("/declared")
    @operation("declared", "meta", {200: None})
    def declared() -> Any:
        return ""

    @app.post("/forgotten")
    def forgotten() -> Any:
        return ""

    assert undocumented(app) == ["['POST'] /forgotten"]
    assert list(document(app)["paths"]) == ["/declared"]


def test_every_post_takes_an_idempotency_key(api: Api) -> None:
    app = api.client.application
    posts = [rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())]
    assert len(posts) > 15
    for rule in posts:
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "idempotent", False) != (rule.rule in NOT_IDEMPOTENT), rule.rule
    paths = api.client.get("/api/v1/openapi.json").json["paths"]
    for path, operations in paths.items():
        if "post" in operations and path not in NOT_IDEMPOTENT:
            names = [p["name"] for p in operations["post"]["parameters"]]
            assert "Idempotency-Key" in names, path


@pytest.fixture
def fuzzed(sqlite_settings: Settings) -> Iterator[tuple[Flask, dict[str, str], dict[str, str]]]:
    """An app on SQLite with a token per role and one record of each kind (so generated
    requests also reach real applications, pairs and accounts). No runner projects what
    the fuzzing records, so /readyz would be a 503 once the run passes 30 s (it did on
    this machine, main included): the lag allowed is an hour here."""
    ledger = with_hierarchy(build_ledger(sqlite_settings, ready_max_lag=3600.0))
    ledger.portals.create(ADMIN, code="a", name="A")
    tokens = {role.value: ledger.tokens.create(ADMIN, name=role.value, role=role,
                                               portals=["a"] if role in (
                                                   Role.APPLICANT_PORTAL,) else None)
              for role in Role if role is not Role.SYSTEM}
    portal = Actor("applicant-portal", Role.APPLICANT_PORTAL, frozenset({"a"}))
    certificate = ledger.certificates.apply(
        portal, profile="tls-server", csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
        subject={"dns_names": ["a.example.cn"]})
    ledger.certificates.approve(OFFICER, certificate)
    pair = ledger.pairs.apply(portal, subject={"common_name": "李四"},
                              signing_csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                              encryption_csr=make_csr(KeyAlgorithm.ECDSA_P256)[1])
    account = ledger.accounts.register(portal, kind="personal", username="li.si",
                                       name="李四", contacts={"phone": "13800138000"})
    publish_crls(ledger)  # as a server does within seconds (before, GET /crl is a 503)
    ids = {"certificate_id": str(certificate), "pair_id": str(pair),
           "account_id": str(account), "name": "issuing-ca"}
    yield create_app({"CERTLEDGER": ledger, "TESTING": True}), tokens, ids


def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_document(
        fuzzed: tuple[Flask, dict[str, str], dict[str, str]]) -> None:
    app, tokens, ids = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    started, operations, unsatisfiable = time.monotonic(), 0, []
    for result in schema.get_all_operations():
        api_operation = result.ok()
        known = {name: ids[name] for name in ids
                 if f"{{{name}}}" in api_operation.path}
        for mode, path_parameters in ((GenerationMode.POSITIVE, None),
                                      (GenerationMode.NEGATIVE, None),
                                      (GenerationMode.POSITIVE, known or None)):
            strategy = api_operation.as_strategy(mode, path_parameters=path_parameters)

            @given(case=strategy, role=st.sampled_from(sorted(tokens)))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case: Any, role: str) -> None:
                response = case.call(headers={"Authorization": f"Bearer {tokens[role]}"})
                case.validate_response(response, checks=CHECKS)

            try:
                call()
            except Unsatisfiable:  # nothing to make invalid (a string in a path, no body)
                assert mode is GenerationMode.NEGATIVE, api_operation.label
                unsatisfiable.append(api_operation.label)
        operations += 1
    assert operations >= 30
    assert len(unsatisfiable) < operations / 2, unsatisfiable  # most had invalid requests
    assert time.monotonic() - started < 60
