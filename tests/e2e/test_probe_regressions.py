"""Regressions of the adversarial probe of the RA, admin, audit and public endpoints
(fix/probe): each input here once answered 500 or was recorded as given. A refusal is a
4xx with the error body, and records nothing."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.e2e.conftest import Tenants
from tests.e2e.seed_helpers import desk


def _cursor(kind: str, position: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def _refused(tenants: Tenants, method: str, path: str, who: str | None, status: int,
             **kwargs: Any) -> dict[str, Any]:
    head = tenants.api.ledger.log.head()
    answer = tenants.call(method, path, who, **kwargs)
    assert answer.status_code == status, (path, kwargs, answer.status_code, answer.get_data())
    error = answer.json["error"]
    assert set(error) == {"code", "message", "request_id"}, error
    assert tenants.api.ledger.log.head() == head, f"{path} recorded something"
    return error  # type: ignore[no-any-return]


# "²" passes str.isdigit() but int() refuses it; 5,000 digits pass isdigit() and int()
# refuses them too (Python's 4,300-digit limit); 25 digits overflow a 64-bit column
BAD_NUMBERS = ["²", "9" * 5000, "9" * 25]


def test_limits_and_cursors_of_odd_digits_are_400(tenants: Tenants) -> None:
    d = desk(tenants)
    account = d.register()
    pages = {"/api/v1/orders": "o", f"/api/v1/accounts/{account}/orders": "o",
             f"/api/v1/accounts/{account}/certificates": "o", "/api/v1/work-queue": "o",
             f"/api/v1/accounts/{account}/messages": "m", "/api/v1/accounts": "a"}
    for path, kind in pages.items():
        for number in BAD_NUMBERS:
            _refused(tenants, "GET", path, "officer-a", 400, query_string={"limit": number})
            _refused(tenants, "GET", path, "officer-a", 400,
                     query_string={"cursor": _cursor(kind, number)})
    tenants.api.ledger.read.runner.catch_up()  # the CA's name in the read model
    for path in ("/api/v1/public/revocations/issuing-ca",
                 "/api/v1/public/revocations/issuing-ca.csv"):
        for number in BAD_NUMBERS:
            _refused(tenants, "GET", path, None, 400, query_string={"limit": number})
            _refused(tenants, "GET", path, None, 400,
                     query_string={"cursor": _cursor("r", number)})
    for number in BAD_NUMBERS:
        for name in ("limit", "after"):
            _refused(tenants, "GET", "/api/v1/audit/events", "auditor", 400,
                     query_string={name: number})


@pytest.mark.parametrize("limit", ["1", "200", "0001"])
def test_a_whole_limit_still_pages(tenants: Tenants, limit: str) -> None:
    answer = tenants.call("GET", "/api/v1/orders", "officer-a", query_string={"limit": limit})
    assert answer.status_code == 200, answer.json


# PostgreSQL refuses NUL in text: each of these reached a lookup and answered 500 there
NUL_QUERIES = [f"/api/v1/accounts?{name}=%00" for name in
               ("username", "kind", "licence_number", "organisation")] + \
    [f"/api/v1/orders?{name}=%00" for name in
     ("status", "certificate_status", "kind", "profile", "account_id", "order_number",
      "username", "organisation")] + ["/api/v1/work-queue?step=%00"]
NUL_PATHS = [("/api/v1/audit/crls/%00", "auditor"), ("/api/v1/audit/crls/%00/1", "auditor"),
             ("/api/v1/admin/webhooks/%00/deliveries", "auditor")]


def test_nul_in_a_query_or_a_path_is_a_4xx(tenants: Tenants) -> None:
    for path in NUL_QUERIES:
        assert _refused(tenants, "GET", path, "officer-a", 400)["code"] == "bad_query"
    for path, who in NUL_PATHS:
        _refused(tenants, "GET", path, who, 404)


@pytest.mark.parametrize("field", ["order_number", "certificate_id", "organisation",
                                   "handler_phone", "handler_id_number"])
def test_nul_in_a_public_query_field_is_a_400(tenants: Tenants, field: str) -> None:
    error = _refused(tenants, "POST", "/api/v1/public/query", None, 400,
                     json={field: "a\x00", "username": "someone"})
    assert error["code"] == "bad_field"


def _order(tenants: Tenants) -> tuple[str, str]:
    d = desk(tenants)
    account = d.register()
    cid = str(d.apply(account)["id"])
    d.approve(cid)
    return account, cid


def test_a_trailing_line_break_or_non_ascii_digits_are_refused(tenants: Tenants) -> None:
    """``$`` matches before a final line break, and ``\\d`` matches every script's digits:
    "ABC\\n" was a username, "13８００１３８０００" a mobile, and an ID number in
    full-width digits was taken (and its HMAC matched no one)."""
    account, cid = _order(tenants)
    registration = {"kind": "personal", "name": "李四", "contacts": {"phone": "13800138000"}}
    for username in ("probe.user\n", "PROBE\n"):
        _refused(tenants, "POST", "/api/v1/accounts", "portal-a", 400,
                 json={**registration, "username": username})
    for phone in ("13８００１３８０００", "138٠٠١٣٨٠٠٠"):
        _refused(tenants, "POST", "/api/v1/accounts", "portal-a", 400,
                 json={**registration, "username": "probe.phone",
                       "contacts": {"phone": phone}})
    for id_number in ("11010519491231002X".replace("0", "０"),):
        _refused(tenants, "POST", f"/api/v1/accounts/{account}/handler", "portal-a", 400,
                 json={"name": "王五", "phone": "13700137000", "id_number": id_number})
    _refused(tenants, "POST", f"/api/v1/orders/{cid}/payment", "portal-a", 400,
             json={"method": "wechat", "amount": 10000, "reference": "wx-1\n"})
    _refused(tenants, "POST", "/api/v1/admin/webhooks", "admin", 400,
             json={"portal": "a", "url": "https://hooks.example.cn/in\n"})
    _refused(tenants, "POST", "/api/v1/admin/portals", "admin", 400,
             json={"code": "c\n", "name": "Portal C"})


def test_control_characters_in_order_text_are_refused(tenants: Tenants) -> None:
    _, cid = _order(tenants)
    for method in ("we\x00chat", "wechat\r\nX-Injected: 1", "\x1b[31mwechat"):
        _refused(tenants, "POST", f"/api/v1/orders/{cid}/payment", "portal-a", 400,
                 json={"method": method, "amount": 10000, "reference": "wx-1"})
    answer = tenants.call("POST", f"/api/v1/orders/{cid}/payment", "portal-a",
                          json={"method": "wechat", "amount": 10000, "reference": "wx-1"})
    assert answer.status_code == 200, answer.json


def test_the_login_check_names_no_other_portals_certificate(tenants: Tenants) -> None:
    """Portal b checking portal a's certificate against b's own account learnt the id of
    a's certificate (``certificate_id``); it learns only that it is another account's."""
    from tests.e2e.test_bindings_api import account, certificate, check
    cid, der = certificate(tenants, account(tenants, "li.si"))
    account(tenants, "wang.wu", who="portal-b")
    head = tenants.api.ledger.log.head()
    for who in ("portal-b", "officer-b"):
        answer = check(tenants, "wang.wu", der, who=who)
        assert answer.status_code == 200, answer.json
        assert answer.json == {"allowed": False, "reason": "another_account",
                               "certificate_id": None}
        assert str(cid) not in answer.get_data(as_text=True)
    assert tenants.api.ledger.log.head() == head


def test_two_webhook_registrations_at_once_one_wins(tenants: Tenants,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Both registrations load the portal's webhook before either saves. The loser's save
    was retried and replaced the winner's: both callers got 201 and a secret, and the
    winner's was void at once. Now the loser is a 409 and one registration is recorded."""
    import threading

    from domain.notices import Webhook
    from tests.e2e.seed_helpers import topics_since

    log = tenants.api.ledger.webhooks._log
    load, barrier = log.load, threading.Barrier(2, timeout=10)
    waited: set[str] = set()

    def both_load_first(ident: Any, cls: Any = None, *args: Any, **kwargs: Any) -> Any:
        found = load(ident, cls, *args, **kwargs)
        name = threading.current_thread().name
        if cls is Webhook and name.startswith("register-") and name not in waited:
            waited.add(name)  # each registration's first load only
            barrier.wait()
        return found

    monkeypatch.setattr(log, "load", both_load_first)
    for round_ in range(2):  # the first registration, then two replacing it
        head = tenants.api.ledger.log.head()
        answers: dict[str, Any] = {}

        def register(url: str, answers: dict[str, Any] = answers) -> None:
            answers[url] = tenants.call("POST", "/api/v1/admin/webhooks", "admin",
                                        json={"portal": "a", "url": url})

        threads = [threading.Thread(target=register, name=f"register-{round_}-{n}",
                                    args=(f"https://hooks.example.cn/{round_}/{n}",))
                   for n in range(2)]
        barrier.reset()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(answer.status_code for answer in answers.values())
        assert statuses == [201, 409], {u: a.json for u, a in answers.items()}
        loser = next(a for a in answers.values() if a.status_code == 409)
        assert loser.json["error"]["code"] == "webhook_registration_raced"
        assert "whsec_" not in loser.get_data(as_text=True)
        assert topics_since(tenants, head) == \
            ["Webhook.Registered" if round_ == 0 else "Webhook.Replaced"]
        winner = next(url for url, a in answers.items() if a.status_code == 201)
        tenants.api.ledger.read.runner.catch_up()
        listed = tenants.call("GET", "/api/v1/admin/webhooks", "auditor").json["items"]
        assert [w["url"] for w in listed if w["portal"] == "a"] == [winner]


def test_control_characters_in_comments_are_refused(tenants: Tenants) -> None:
    """A comment or reason was recorded as sent: NUL, a terminal escape, a DEL, shown in
    every order timeline afterwards. Tabs and line breaks are still text."""
    d = desk(tenants)
    cid = str(d.apply(d.register())["id"])
    for comment in ("ok\x00", "\x1b[2J cleared", "a\x7fb", "\x85next"):
        _refused(tenants, "POST", f"/api/v1/certificates/{cid}/approve", "officer-a", 400,
                 json={"comment": comment})
        _refused(tenants, "POST", f"/api/v1/certificates/{cid}/reject", "officer-a", 400,
                 json={"reason": comment})
    d.approve(cid, comment="checked:\n\tlicence and seal")
    d.pay(cid, 10000)
    d.issue(cid)
    for path in ("/pin-lock", "/unlock-request"):
        _refused(tenants, "POST", f"/api/v1/certificates/{cid}{path}", "portal-a", 400,
                 json={"key_serial": "UK-1", "comment": "lost\x00"})
    d.call("POST", f"/api/v1/certificates/{cid}/pin-lock",
           json={"key_serial": "UK-1", "comment": "locked\r\nafter 6 tries"})


@pytest.mark.parametrize("spoof", ["发票\u202egpj.exe", "Li\u2066 Si", "a\u2028b"])
def test_bidi_controls_in_names_people_read_are_refused(tenants: Tenants, spoof: str) -> None:
    """An invoice title, a recipient, a notice or an account name with a bidi override
    reads otherwise than it is (the certificate subject refused them already)."""
    account, cid = _order(tenants)
    _refused(tenants, "POST", f"/api/v1/orders/{cid}/invoice", "portal-a", 400,
             json={"title": spoof})
    _refused(tenants, "POST", f"/api/v1/orders/{cid}/shipping", "portal-a", 400,
             json={"media": "usb-key", "shipping": {"recipient": spoof, "phone": "13700137000",
                                                   "address": "北京市海淀区某路1号"}})
    _refused(tenants, "POST", "/api/v1/admin/notices", "admin", 400,
             json={"portal": "a", "title": spoof, "body": "维护通知"})
    _refused(tenants, "POST", "/api/v1/accounts", "portal-a", 400,
             json={"kind": "personal", "username": "spoof.user", "name": spoof,
                   "contacts": {"phone": "13800138000"}})
    answer = tenants.call("POST", f"/api/v1/orders/{cid}/invoice", "portal-a",
                          json={"title": "北京某某科技有限公司"})
    assert answer.status_code == 200, answer.json


def test_a_new_sms_code_at_most_once_a_minute(tenants: Tenants) -> None:
    """Each call sent an SMS to the mobile given (any number) and brought five fresh tries
    at the code: a portal could send without end. Now once a minute per order."""
    from datetime import timedelta

    from tests.e2e.seed_helpers import topics_since
    _, cid = _order(tenants)
    legal_person = {"name": "张三", "id_number": "11010519491231002X", "phone": "13900139000"}
    path = f"/api/v1/orders/{cid}/authorisation/sms"
    ledger = tenants.api.ledger
    head = ledger.log.head()
    first = tenants.call("POST", path, "portal-a", json={"legal_person": legal_person})
    assert first.status_code == 200, first.json
    sent = ledger.sms.last("13900139000")
    error = _refused(tenants, "POST", path, "portal-a", 409,
                     json={"legal_person": {**legal_person, "phone": "13900139001"}})
    assert error["code"] == "code_sent_recently"
    assert ledger.sms.last("13900139001") is None and ledger.sms.last("13900139000") == sent
    assert topics_since(tenants, head) == ["Order.SmsCodeSent"]
    ledger.clock.offset += timedelta(seconds=61)  # type: ignore[attr-defined]
    again = tenants.call("POST", path, "officer-a", json={"legal_person": legal_person})
    assert again.status_code == 200, again.json
