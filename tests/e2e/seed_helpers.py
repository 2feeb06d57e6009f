"""Helpers of the seed flow tests (tests/e2e/test_seed_flows.py): a portal's applicant and
two officers of its own, each step one HTTP call that must succeed."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from ca.encoding.algorithms import KeyAlgorithm
from domain.actors import Role
from tests.conftest import ADMIN
from tests.e2e.conftest import Tenants
from tests.helpers import make_csr

__all__ = ["Desk", "desk", "csr", "topics_since", "document"]


def csr() -> str:
    return make_csr(KeyAlgorithm.ECDSA_P256)[1]


def document(content: bytes, kind: str = "business-licence",
             name: str = "licence.png") -> dict[str, Any]:
    return {"kind": kind, "name": name, "media_type": "image/png",
            "sha256": hashlib.sha256(content).hexdigest(),
            "content_base64": base64.b64encode(content).decode()}


def topics_since(tenants: Tenants, head: int) -> list[str]:
    """The topics of the events recorded after log position ``head`` (short names)."""
    log = tenants.api.ledger.log
    notes = log.recorder.select_notifications(start=head + 1, limit=10_000)
    return [n.topic.removeprefix("certledger:").removesuffix(":v1") for n in notes]


@dataclass
class Desk:
    """Portal ``a``: its applicant portal token and officers ``officer-a``, ``officer-a2``."""

    tenants: Tenants

    def call(self, method: str, path: str, who: str = "portal-a", expect: int = 200,
             **kwargs: Any) -> Any:
        answer = self.tenants.call(method, path, who, **kwargs)
        assert answer.status_code == expect, (method, path, who, answer.json)
        return answer.json

    def refused(self, method: str, path: str, who: str, status: int, code: str,
                **kwargs: Any) -> None:
        """Refused with ``status`` and ``code``, and nothing recorded."""
        head = self.tenants.api.ledger.log.head()
        answer = self.tenants.call(method, path, who, **kwargs)
        assert answer.status_code == status, (path, answer.json)
        assert answer.json["error"]["code"] == code, answer.json
        assert self.tenants.api.ledger.log.head() == head, f"{path} recorded something"

    def register(self, kind: str = "personal", name: str = "李四", **extra: Any) -> str:
        body = {"kind": kind, "username": f"u{uuid.uuid4().hex[:10]}", "name": name,
                "contacts": {"phone": "13800138000"}, **extra}
        return str(self.call("POST", "/api/v1/accounts", json=body, expect=201)["id"])

    def apply(self, account_id: str | None, profile: str = "personal-signing",
              subject: dict[str, Any] | None = None, who: str = "portal-a",
              **extra: Any) -> dict[str, Any]:
        body = {"profile": profile, "csr": csr(), "account_id": account_id,
                "subject": subject or {"common_name": "李四"}, **extra}
        return dict(self.call("POST", "/api/v1/certificates", who, json=body, expect=201))

    def approve(self, cid: str, who: str = "officer-a", comment: str = "ok") -> Any:
        return self.call("POST", f"/api/v1/certificates/{cid}/approve", who,
                         json={"comment": comment})

    def pay(self, cid: str, amount: int) -> Any:
        return self.call("POST", f"/api/v1/orders/{cid}/payment",
                         json={"method": "wechat", "amount": amount,
                               "reference": f"wx-{cid[:8]}"})

    def issue(self, cid: str) -> Any:
        return self.call("POST", f"/api/v1/certificates/{cid}/issue", "officer-a")

    def order(self, cid: str) -> Any:
        self.tenants.api.ledger.read.runner.catch_up()
        return self.call("GET", f"/api/v1/orders/{cid}")

    def timeline(self, cid: str) -> list[str]:
        return [entry["event"] for entry in self.order(cid)["timeline"]]


def desk(tenants: Tenants) -> Desk:
    """The ``tenants`` fixture with a second officer of portal a (``officer-a2``)."""
    ledger = tenants.api.ledger
    tenants.api.tokens["officer-a2"] = ledger.tokens.create(
        ADMIN, name="officer-a2", role=Role.OFFICER, portals=["a"])
    from domain.actors import Actor
    tenants.actors["officer-a2"] = Actor("officer-a2", Role.OFFICER, frozenset({"a"}))
    return Desk(tenants)
