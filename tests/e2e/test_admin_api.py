"""Admin API: portals and the tokens that act for them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Api


def _admin(api: Api, method: str, path: str, body: Any = None) -> Any:
    return api.call(method, f"/api/v1/admin/{path}", role="admin", json=body)


def test_portals_are_created_once_and_listed(api: Api) -> None:
    made = _admin(api, "POST", "portals", {"code": "qh-stats", "name": "青海统计"})
    assert made.status_code == 201
    assert made.json["code"] == "qh-stats" and made.json["created_by"] == "admin-1"
    head = api.ledger.log.head()
    for body, status, code in [({"code": "qh-stats", "name": "x"}, 409, "portal_exists"),
                               ({"code": "default", "name": "x"}, 409, "portal_exists"),
                               ({"code": "QH", "name": "x"}, 400, "bad_portal_code"),
                               ({"code": "-x", "name": "x"}, 400, "bad_portal_code"),
                               ({"code": "x", "name": "\n"}, 400, "bad_field"),
                               ({"code": 7, "name": "x"}, 400, "bad_portal_code")]:
        refused = _admin(api, "POST", "portals", body)
        assert (refused.status_code, refused.json["error"]["code"]) == (status, code), body
    assert api.ledger.log.head() == head
    listed = _admin(api, "GET", "portals").json["items"]
    assert [(p["code"], p["created_at"] is None) for p in listed] == [("default", True),
                                                                      ("qh-stats", False)]


def test_tokens_are_made_for_a_portal_or_for_officers_of_some(api: Api) -> None:
    for code in ("a", "b"):
        _admin(api, "POST", "portals", {"code": code, "name": code})
    portal = _admin(api, "POST", "tokens", {"name": "web-a", "role": "applicant-portal",
                                            "portal": "a"})
    assert portal.status_code == 201 and portal.json["portals"] == ["a"]
    officer = _admin(api, "POST", "tokens", {"name": "li", "role": "officer",
                                             "portals": ["b", "a", "b"]})
    assert officer.json["portals"] == ["a", "b"]
    everyone = _admin(api, "POST", "tokens", {"name": "wang", "role": "officer",
                                              "portals": "*"})
    assert everyone.json["portals"] is None
    for answer, portals in ((portal, {"a"}), (officer, {"a", "b"}), (everyone, None)):
        actor = api.ledger.tokens.authenticate(answer.json["token"])
        assert actor is not None and actor.portals == (None if portals is None
                                                       else frozenset(portals))
    stored = b"".join(bytes(n.state) for n in
                      api.ledger.log.recorder.select_notifications(start=1, limit=10_000))
    assert portal.json["token"].encode() not in stored


@pytest.mark.parametrize("body,status,code", [
    ({"name": "w", "role": "applicant-portal"}, 400, "bad_token_scope"),
    ({"name": "w", "role": "applicant-portal", "portal": "nope"}, 404, "portal_not_found"),
    ({"name": "w", "role": "applicant-portal", "portals": ["a"]}, 400, "bad_token_scope"),
    ({"name": "w", "role": "officer"}, 400, "bad_token_scope"),
    ({"name": "w", "role": "officer", "portals": []}, 400, "bad_token_scope"),
    ({"name": "w", "role": "officer", "portals": ["a", 1]}, 400, "bad_token_scope"),
    ({"name": "w", "role": "officer", "portals": ["a", "nope"]}, 404, "portal_not_found"),
    ({"name": "w", "role": "auditor", "portals": "*"}, 400, "bad_token_scope"),
    ({"name": "w", "role": "system"}, 400, "bad_role"),
    ({"name": "w", "role": "root"}, 400, "bad_role"),
    ({"name": "", "role": "admin"}, 400, "bad_token_name"),
    ({"name": ["w"], "role": "admin"}, 400, "bad_token_name"),
])
def test_bad_token_requests_are_refused_and_record_nothing(api: Api, body: dict[str, Any],
                                                           status: int, code: str) -> None:
    _admin(api, "POST", "portals", {"code": "a", "name": "A"})
    head = api.ledger.log.head()
    refused = _admin(api, "POST", "tokens", body)
    assert (refused.status_code, refused.json["error"]["code"]) == (status, code)
    assert api.ledger.log.head() == head
