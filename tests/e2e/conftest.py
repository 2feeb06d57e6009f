from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from api.bootstrap import CertLedger
from domain.actors import Actor, Role
from tests.conftest import ADMIN
from tests.crl_helpers import publish_crls

DEFAULT_ROLE = "default"
APPLICATION_ROUTES = ("/api/v1/certificates", "/api/v1/certificate-pairs")


@dataclass
class Api:
    client: FlaskClient
    ledger: CertLedger
    tokens: dict[str, str]

    def call(self, method: str, path: str, role: str | None = DEFAULT_ROLE,
             **kwargs: Any) -> Any:
        """As ``role``; by default an application is the applicant portal's and everything
        else the officer's (whoever submits an application never reviews it)."""
        if role == DEFAULT_ROLE:
            role = "applicant-portal" if method == "POST" and path.rstrip("/") in \
                APPLICATION_ROUTES else "officer"
        headers = kwargs.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def publish_crls(self) -> None:
        """What the CRL processes do in a server: project the log, publish what is due."""
        publish_crls(self.ledger)


@pytest.fixture
def api(ledger: CertLedger) -> Api:
    app = create_app({"CERTLEDGER": ledger, "TESTING": True})
    tokens = {role.value: ledger.tokens.create(ADMIN, name=f"{role.value}-1", role=role)
              for role in (Role.APPLICANT_PORTAL, Role.OFFICER, Role.ADMIN, Role.AUDITOR)}
    return Api(app.test_client(), ledger, tokens)


@dataclass
class Tenants:
    """Two portals, ``a`` and ``b``, each with a portal token and an officer token of its
    own (``portal-a``, ``officer-a``, ...), beside the ``api`` fixture's tokens."""

    api: Api
    actors: dict[str, Actor]

    def call(self, method: str, path: str, who: str | None, **kwargs: Any) -> Any:
        return self.api.call(method, path, role=who, **kwargs)


@pytest.fixture
def tenants(api: Api) -> Tenants:
    ledger = api.ledger
    actors: dict[str, Actor] = {}
    for code in ("a", "b"):
        ledger.portals.create(ADMIN, code=code, name=f"Portal {code.upper()}")
        for role in (Role.APPLICANT_PORTAL, Role.OFFICER):
            who = f"{'portal' if role is Role.APPLICANT_PORTAL else 'officer'}-{code}"
            api.tokens[who] = ledger.tokens.create(ADMIN, name=who, role=role, portals=[code])
            actors[who] = Actor(who, role, frozenset({code}))
    return Tenants(api, actors)
