"""Portal isolation: every RA endpoint × (its portal's token, its portal's officer, another
portal's token, another portal's officer, no token) → allowed, 404, 403 or 401.

What belongs to portal ``a`` is "not found" for portal ``b`` (404, never 403: ids do not
leak) and a refused call records nothing. The probe that filed issue 9 (portal B revoking,
reason cACompromise, what portal A applied for) is refused.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from ca.encoding.algorithms import KeyAlgorithm
from domain.certificate import Status
from tests.e2e.conftest import Tenants
from tests.helpers import make_csr

CSR = make_csr(KeyAlgorithm.ECDSA_P256)[1]
PAIR_CSRS = (make_csr(KeyAlgorithm.ECDSA_P256)[1], make_csr(KeyAlgorithm.ECDSA_P256)[1])
TLS = {"profile": "tls-server", "subject": {"dns_names": ["a.example.cn"]}}
PAIR = {"subject": {"common_name": "李四"}, "signing_csr": PAIR_CSRS[0],
        "encryption_csr": PAIR_CSRS[1]}
REGISTRATION = {"kind": "personal", "username": "li.si", "name": "李四",
                "contacts": {"phone": "13800138000"}}
ID_NUMBER = "11010519491231002X"
CALLERS = ("portal-b", "officer-b", None, "portal-a", "officer-a")
PORTAL, OFFICER, AUDITOR = "applicant-portal", "officer", "auditor"


def _certificate(t: Tenants, state: Status) -> str:
    ledger, portal, officer = t.api.ledger, t.actors["portal-a"], t.actors["officer-a"]
    cid = ledger.certificates.apply(portal, csr=CSR, **TLS)
    steps = [Status.APPROVED, Status.ISSUED, Status.SUSPENDED]
    for step in steps[:steps.index(state) + 1] if state in steps else []:
        {Status.APPROVED: ledger.certificates.approve, Status.ISSUED: ledger.certificates.issue,
         Status.SUSPENDED: ledger.certificates.suspend}[step](officer, cid)
    return str(cid)


def _pair(t: Tenants, state: Status) -> str:
    ledger, portal, officer = t.api.ledger, t.actors["portal-a"], t.actors["officer-a"]
    pair_id = ledger.pairs.apply(portal, **PAIR)
    if state in (Status.APPROVED, Status.ISSUED):
        ledger.pairs.approve(officer, pair_id)
    if state is Status.ISSUED:
        ledger.pairs.issue(officer, pair_id)
    return str(pair_id)


def _account(t: Tenants, _: Status) -> str:
    return str(t.api.ledger.accounts.register(
        t.actors["portal-a"], **{**REGISTRATION, "username": f"user-{uuid.uuid4().hex[:8]}"}))


SHIP = {"recipient": "王五", "phone": "13700137000", "address": "北京市海淀区某路1号"}
LETTER = b"%PDF-1.4 authorisation letter"
LETTER_SHA = hashlib.sha256(LETTER).hexdigest()


def _order(media: bool = False, approve: bool = False, pay: bool = False,
           issue: bool = False, ship: bool = False, handler: bool = False,
           letter: bool = False) -> Callable[[Tenants, Status], str]:
    """A maker of an order of portal a, brought as far as asked."""

    def make(t: Tenants, _: Status) -> str:
        ledger, portal, officer = t.api.ledger, t.actors["portal-a"], t.actors["officer-a"]
        account = None
        if handler:
            account = str(ledger.accounts.register(portal, **{
                **REGISTRATION, "username": f"user-{uuid.uuid4().hex[:8]}"}))
            ledger.accounts.set_handler(portal, uuid.UUID(account), name="王五",
                                        phone="13700137000", id_number=ID_NUMBER)
        cid = ledger.certificates.apply(portal, csr=CSR, account_id=account,
                                        media="usb-key" if media else None,
                                        shipping=SHIP if media else None, **TLS)
        if approve or pay:
            ledger.certificates.approve(officer, cid)
        if pay:
            amount = ledger.orders.get_for(portal, cid).amount
            ledger.orders.pay(portal, cid, method="cash", amount=amount, reference="r-1")
        if issue:
            ledger.certificates.issue(officer, cid)
        if ship:
            ledger.orders.ship(officer, cid, carrier="SF", tracking_number="SF1")
        if letter:
            ledger.orders.attach(portal, cid, kind="authorisation-letter", name="l.pdf",
                                 media_type="application/pdf", sha256=LETTER_SHA,
                                 content=LETTER)
        return str(cid)

    return make


_UNLOCK_BODY: dict[str, Any] = {"code": ""}  # the code of the last _unlockable key


def _lock_step(t: Tenants, step: str) -> str:
    """An issued certificate of portal a whose key is at ``step`` of PIN unlock."""
    ledger, portal, officer = t.api.ledger, t.actors["portal-a"], t.actors["officer-a"]
    cid = uuid.UUID(_certificate(t, Status.ISSUED))
    if step in ("locked", "requested", "approved"):
        ledger.unlocks.report_lock(portal, cid, "UK-1")
    if step in ("requested", "approved"):
        ledger.unlocks.request(portal, cid, "UK-1")
    if step == "approved":
        _UNLOCK_BODY["code"] = ledger.unlocks.approve(officer, cid).code
    return str(cid)


def _locked(t: Tenants, _: Status) -> str:
    return _lock_step(t, "locked")


def _requested(t: Tenants, _: Status) -> str:
    return _lock_step(t, "requested")


def _unlockable(t: Tenants, _: Status) -> str:
    return _lock_step(t, "approved")


@dataclass(frozen=True)
class Row:
    method: str
    path: str                          # with {id}
    make: Callable[[Tenants, Status], str]
    state: Status
    roles: frozenset[str]              # roles that may call it (admin always)
    body: dict[str, Any] | None = None


def _row(method: str, path: str, make: Callable[[Tenants, Status], str], state: Status,
         *roles: str, body: dict[str, Any] | None = None) -> Row:
    return Row(method, path, make, state, frozenset(roles), body)


C, P, A = "/api/v1/certificates/{id}", "/api/v1/certificate-pairs/{id}", "/api/v1/accounts/{id}"
ORD = "/api/v1/orders/{id}"
APPLIED, APPROVED, ISSUED, SUSPENDED = (Status.APPLIED, Status.APPROVED, Status.ISSUED,
                                        Status.SUSPENDED)
MATRIX = [
    _row("GET", C, _certificate, APPLIED, PORTAL, OFFICER, AUDITOR),
    _row("POST", C + "/approve", _certificate, APPLIED, OFFICER),
    _row("POST", C + "/reject", _certificate, APPLIED, OFFICER, body={"reason": "no seal"}),
    _row("POST", C + "/issue", _certificate, APPROVED, PORTAL, OFFICER),
    _row("POST", C + "/revoke", _certificate, ISSUED, PORTAL, OFFICER,
         body={"reason": "cACompromise"}),
    _row("POST", C + "/suspend", _certificate, ISSUED, OFFICER),
    _row("POST", C + "/resume", _certificate, SUSPENDED, OFFICER),
    _row("POST", C + "/pin-lock", _certificate, ISSUED, PORTAL, OFFICER,
         body={"key_serial": "UK-1"}),
    _row("POST", C + "/unlock-request", _locked, ISSUED, PORTAL, OFFICER,
         body={"key_serial": "UK-1"}),
    _row("POST", C + "/unlock-request/approve", _requested, ISSUED, OFFICER),
    _row("POST", C + "/unlock-request/reject", _requested, ISSUED, OFFICER,
         body={"reason": "not the subscriber"}),
    _row("POST", C + "/unlock", _unlockable, ISSUED, PORTAL, OFFICER, body=_UNLOCK_BODY),
    _row("GET", P, _pair, APPLIED, PORTAL, OFFICER, AUDITOR),
    _row("POST", P + "/approve", _pair, APPLIED, OFFICER),
    _row("POST", P + "/reject", _pair, APPLIED, OFFICER, body={"reason": "no seal"}),
    _row("POST", P + "/issue", _pair, APPROVED, PORTAL, OFFICER),
    _row("POST", P + "/revoke", _pair, ISSUED, PORTAL, OFFICER,
         body={"reason": "keyCompromise"}),
    _row("GET", A, _account, APPLIED, PORTAL, OFFICER, AUDITOR),
    _row("GET", A + "/messages", _account, APPLIED, PORTAL, OFFICER, AUDITOR),
    _row("POST", A + "/contacts", _account, APPLIED, PORTAL, OFFICER,
         body={"phone": "13900139000", "email": "li@example.cn"}),
    _row("POST", A + "/handler", _account, APPLIED, PORTAL, OFFICER,
         body={"name": "王五", "phone": "13700137000", "id_number": ID_NUMBER}),
    _row("POST", A + "/verifications", _account, APPLIED, PORTAL, OFFICER,
         body={"target": "person", "name": "李四", "number": ID_NUMBER, "method": "counter",
               "evidence_sha256": "ab" * 32}),
    _row("GET", A + "/orders", _account, APPLIED, PORTAL, OFFICER, AUDITOR),
    _row("GET", A + "/certificates", _account, APPLIED, PORTAL, OFFICER, AUDITOR),
    _row("POST", C + "/cancel", _certificate, ISSUED, PORTAL, OFFICER,
         body={"comment": "closing"}),
    _row("GET", ORD, _order(), APPLIED, PORTAL, OFFICER, AUDITOR),
    _row("POST", ORD + "/payment", _order(approve=True), APPLIED, PORTAL, OFFICER,
         body={"method": "cash", "amount": 30000, "reference": "r-2"}),
    _row("POST", ORD + "/invoice", _order(), APPLIED, PORTAL, OFFICER, body={"title": "李四"}),
    _row("POST", ORD + "/shipping", _order(), APPLIED, PORTAL, OFFICER,
         body={"media": "usb-key", "shipping": SHIP}),
    _row("POST", ORD + "/shipment", _order(media=True, pay=True, issue=True), APPLIED, OFFICER,
         body={"carrier": "SF", "tracking_number": "SF2"}),
    _row("POST", ORD + "/delivery", _order(media=True, pay=True, issue=True, ship=True),
         APPLIED, PORTAL, OFFICER),
    _row("POST", ORD + "/activation", _order(pay=True, issue=True), APPLIED, PORTAL, OFFICER),
    _row("POST", ORD + "/documents", _order(), APPLIED, PORTAL, OFFICER, body={
        "kind": "seal", "name": "seal.png", "media_type": "image/png",
        "sha256": hashlib.sha256(b"seal").hexdigest(),
        "content_base64": base64.b64encode(b"seal").decode()}),
    _row("POST", ORD + "/authorisation/sms", _order(handler=True), APPLIED, PORTAL, OFFICER),
    _row("POST", ORD + "/authorisation", _order(letter=True), APPLIED, OFFICER,
         body={"method": "letter", "document_sha256": LETTER_SHA}),
]


def _role(t: Tenants, who: str) -> str:
    return t.actors[who].role.value


def _expected(t: Tenants, who: str | None, roles: frozenset[str]) -> int:
    if who is None:
        return 401
    if _role(t, who) not in roles:
        return 403
    return 404 if who.endswith("-b") else 200


@pytest.mark.parametrize("row", MATRIX, ids=[f"{r.method} {r.path}" for r in MATRIX])
def test_every_endpoint_answers_each_caller_by_portal_and_role(tenants: Tenants,
                                                               row: Row) -> None:
    """Each caller in turn on a fresh record of portal a: other portals get 404 (403 only
    where the role may never call it), no token 401, and a refusal records nothing."""
    for who in CALLERS:
        ident = row.make(tenants, row.state)
        head = tenants.api.ledger.log.head()
        answer = tenants.call(row.method, row.path.format(id=ident), who, json=row.body)
        expected = _expected(tenants, who, row.roles)
        assert answer.status_code == expected, (who, answer.json)
        if expected != 200:
            assert tenants.api.ledger.log.head() == head, who
        if expected == 404:
            assert answer.json["error"]["code"].endswith("_not_found")


def test_another_portal_cannot_revoke_with_ca_compromise(tenants: Tenants) -> None:
    """Issue 9's probe: portal B revoking portal A's certificate, reason cACompromise."""
    cid = _certificate(tenants, Status.ISSUED)
    head = tenants.api.ledger.log.head()
    for who in ("portal-b", "officer-b"):
        refused = tenants.call("POST", f"/api/v1/certificates/{cid}/revoke", who,
                               json={"reason": "cACompromise"})
        assert refused.status_code == 404
        error = refused.json["error"]
        assert error.pop("request_id")  # every error names its request (issue 12)
        assert error == {"code": "certificate_not_found",
                         "message": f"no certificate or application {cid}"}
    unknown = tenants.call("POST", "/api/v1/certificates/00000000-0000-4000-8000-000000000000"
                           "/revoke", "portal-b", json={"reason": "cACompromise"})
    assert unknown.json["error"]["code"] == "certificate_not_found"  # the same answer
    assert tenants.api.ledger.log.head() == head
    assert tenants.api.ledger.certificates.get(uuid.UUID(cid)).status is Status.ISSUED


@pytest.mark.parametrize("path,body", [("/api/v1/certificates", {**TLS, "csr": CSR}),
                                       ("/api/v1/certificate-pairs", PAIR),
                                       ("/api/v1/accounts", REGISTRATION)])
def test_creations_belong_to_the_callers_portal(tenants: Tenants, path: str,
                                                body: dict[str, Any]) -> None:
    """A portal token's records are its portal's, whatever the body says; an officer names
    one of its portals; another portal is "not found"."""
    head = tenants.api.ledger.log.head()
    for who in ("portal-b", "officer-b"):
        refused = tenants.call("POST", path, who, json={**body, "portal": "a"})
        assert refused.status_code == 404 and refused.json["error"]["code"] == \
            "portal_not_found"
    assert tenants.call("POST", path, None, json=body).status_code == 401
    assert tenants.api.ledger.log.head() == head
    made = tenants.call("POST", path, "portal-a", json=body)
    assert made.status_code == 201, made.json
    view = made.json.get("signing", made.json)
    assert view["portal"] == "a"
    by_officer = tenants.call("POST", path, "officer-b",
                              json={**body, "username": "wang.wu"})
    assert by_officer.status_code == 201
    assert by_officer.json.get("signing", by_officer.json)["portal"] == "b"
    location = made.headers.get("Location")
    if location:
        assert tenants.call("GET", location, "portal-b").status_code == 404
        assert tenants.call("GET", location, "officer-a").status_code == 200


def test_the_account_list_shows_the_callers_portals_only(tenants: Tenants) -> None:
    ledger = tenants.api.ledger
    ledger.accounts.register(tenants.actors["portal-a"], **REGISTRATION)
    ledger.accounts.register(tenants.actors["portal-b"], **REGISTRATION)  # same name, b
    ledger.read.runner.catch_up()

    def portals_seen(who: str, query: str = "") -> list[str]:
        answer = tenants.call("GET", f"/api/v1/accounts{query}", who)
        assert answer.status_code == 200, answer.json
        return [item["portal"] for item in answer.json["items"]]

    assert portals_seen("portal-a") == ["a"] and portals_seen("officer-b") == ["b"]
    assert portals_seen("portal-b", "?portal=a") == []
    assert portals_seen("officer-b", "?portal=a&username=LI") == []
    assert portals_seen("auditor") == ["a", "b"]
    assert tenants.call("GET", "/api/v1/accounts", None).status_code == 401


AUDIT_ROUTES = [("GET", "/api/v1/audit/events"), ("GET", "/api/v1/audit/tree-heads/latest"),
                ("GET", "/api/v1/audit/crls/issuing-ca"),
                ("GET", "/api/v1/audit/crls/issuing-ca/1")]


@pytest.mark.parametrize("method,path", [("POST", "/api/v1/admin/portals"),
                                         ("GET", "/api/v1/admin/portals"),
                                         ("POST", "/api/v1/admin/tokens"),
                                         ("POST", "/api/v1/admin/webhooks"),
                                         ("POST", "/api/v1/admin/notices"),
                                         ("GET", "/api/v1/admin/webhooks"),
                                         ("GET", "/api/v1/admin/webhooks/a/deliveries"),
                                         *AUDIT_ROUTES])
def test_admin_endpoints_are_the_admins(tenants: Tenants, method: str, path: str) -> None:
    body = {"code": "c", "name": "C"} if path.endswith("portals") else \
        {"name": "x", "role": "applicant-portal", "portal": "a"}
    if "/audit/crls/" in path:
        tenants.api.publish_crls()
    head = tenants.api.ledger.log.head()
    readers = {"auditor"} if method == "GET" else set()
    for who in ("portal-a", "officer-a", "officer", "auditor"):
        answer = tenants.call(method, path, who, json=body)
        if who in readers:  # allowed; no tree head is signed yet in this fixture
            assert answer.status_code == (404 if path.endswith("/latest") else 200), who
        else:
            assert answer.status_code == 403, who
    assert tenants.call(method, path, None, json=body).status_code == 401
    assert tenants.api.ledger.log.head() == head


def test_the_matrix_covers_every_route_of_the_ra_api(tenants: Tenants) -> None:
    """A new route under /api/v1 fails this until it has a row here (or a test above)."""
    covered = {(r.method, r.path.replace("{id}", "<id>")) for r in MATRIX} | {
        ("POST", "/api/v1/certificates"), ("POST", "/api/v1/certificate-pairs"),
        ("POST", "/api/v1/accounts"), ("GET", "/api/v1/accounts"),
        ("GET", "/api/v1/orders"), ("GET", "/api/v1/work-queue"),
        ("POST", "/api/v1/admin/portals"), ("GET", "/api/v1/admin/portals"),
        ("POST", "/api/v1/admin/tokens"), ("GET", "/api/v1/openapi.json"),
        ("POST", "/api/v1/accounts/<id>/messages/<message_id>/read"),  # below
        ("POST", "/api/v1/accounts/<id>/messages/<message_id>/unread"),
        ("POST", "/api/v1/bindings/verify"),  # tests/e2e/test_bindings_api.py
        ("POST", "/api/v1/unlock-requests"),  # tests/e2e/test_unlock_api.py
        # public, no token: tests/e2e/test_public_services.py
        ("GET", "/api/v1/public/revocations/<ca>"), ("GET", "/api/v1/public/revocations/<ca>.csv"),
        ("POST", "/api/v1/public/query"), ("POST", "/api/v1/admin/webhooks"),
        ("POST", "/api/v1/admin/notices"),
        ("GET", "/api/v1/admin/webhooks"), ("GET", "/api/v1/admin/webhooks/<portal>/deliveries"),
        *((method, path.replace("issuing-ca/1", "<ca>/<int:number>")
           .replace("issuing-ca", "<ca>")) for method, path in AUDIT_ROUTES)}
    app = tenants.api.client.application
    routes = {(method, rule.rule.replace("<certificate_id>", "<id>")
               .replace("<pair_id>", "<id>").replace("<account_id>", "<id>")
               .replace("<order_id>", "<id>"))
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - covered == set()


def test_the_order_lists_and_the_work_queue_show_the_callers_portals_only(
        tenants: Tenants) -> None:
    ledger = tenants.api.ledger
    mine = _order()(tenants, APPLIED)
    theirs = ledger.certificates.apply(tenants.actors["portal-b"], csr=CSR, **TLS)
    ledger.read.runner.catch_up()

    def seen(who: str, path: str) -> list[str]:
        answer = tenants.call("GET", path, who)
        assert answer.status_code == 200, answer.json
        return [item["id"] for item in answer.json["items"]]

    for path in ("/api/v1/orders", "/api/v1/work-queue"):
        assert mine in seen("portal-a", path) and str(theirs) not in seen("portal-a", path)
        assert str(theirs) in seen("officer-b", path) and mine not in seen("officer-b", path)
        assert {mine, str(theirs)} <= set(seen("auditor", path))
        assert tenants.call("GET", path, None).status_code == 401
    number = ledger.orders.get_for(tenants.actors["portal-a"], uuid.UUID(mine)).order_number
    assert seen("portal-b", f"/api/v1/orders?order_number={number}") == []
    assert seen("portal-a", f"/api/v1/orders?order_number={number}") == [mine]


def test_a_message_is_read_by_its_accounts_portal_only(tenants: Tenants) -> None:
    ledger = tenants.api.ledger
    account = ledger.accounts.register(tenants.actors["portal-a"], **REGISTRATION)
    cid = ledger.certificates.apply(tenants.actors["portal-a"], csr=CSR, account_id=str(account),
                                    **TLS)
    ledger.certificates.approve(tenants.actors["officer-a"], cid)  # a review notice
    ledger.read.runner.catch_up()
    listed = tenants.call("GET", f"/api/v1/accounts/{account}/messages", "portal-a").json
    message = listed["items"][0]["id"]
    path = f"/api/v1/accounts/{account}/messages/{message}/read"
    head = ledger.log.head()
    for who, status in (("portal-b", 404), ("officer-b", 404), (None, 401), ("auditor", 403)):
        for action in (path, path.replace("/read", "/unread")):
            assert tenants.call("POST", action, who).status_code == status, who
    assert tenants.call("GET", f"/api/v1/accounts/{account}/messages", "portal-b") \
        .status_code == 404
    assert ledger.log.head() == head
    assert tenants.call("POST", path, "officer-a").status_code == 200
