from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from ca.applications.certificates import CAService
from ca.applications.tokens import create_token
from domain.actors import Role
from tests.conftest import ADMIN


@dataclass
class Api:
    client: FlaskClient
    service: CAService
    tokens: dict[str, str]

    def call(self, method: str, path: str, role: str | None = "officer", **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return self.client.open(path, method=method, headers=headers, **kwargs)


@pytest.fixture
def api(service: CAService) -> Api:
    app = create_app({"SERVICE": service, "SETTINGS": service_settings_for(service),
                      "TESTING": True})
    tokens = {role.value: create_token(service, ADMIN, name=f"{role.value}-1", role=role)
              for role in (Role.APPLICANT_PORTAL, Role.OFFICER, Role.ADMIN, Role.AUDITOR)}
    return Api(app.test_client(), service, tokens)


def service_settings_for(service: CAService) -> Any:
    from tests.integration.test_lifecycle import service_settings

    return service_settings(service)
