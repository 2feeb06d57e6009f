"""Expiry notices with a controlled clock: each threshold makes exactly one notice (an
event) and one message per certificate, also when the job runs twice, after a restart,
with two schedulers at once and with its progress lost; a superseded certificate gets
none; past notAfter the status is "expired" without an event. Messages: paged, read."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

from api.bootstrap import CertLedger
from ca.applications.notices import ExpiryNotices, Progress
from ca.encoding.algorithms import KeyAlgorithm
from domain.expiry import ExpiryNotice
from domain.reasons import RevocationReason
from projections.expiry_index import ExpiryIndexStore
from tests.conftest import OFFICER, PORTAL, build_ledger
from tests.e2e.conftest import Api
from tests.helpers import make_csr

TLS = {"profile": "tls-server", "subject": {"dns_names": ["expiry.example.cn"]}}
SENT = ExpiryNotice.Sent.TOPIC


def issue(ledger: CertLedger, account_id: UUID, renewing: UUID | None = None) -> UUID:
    """A certificate of the account, new or (``renewing``) its successor: issuing it
    supersedes the one renewed."""
    cid = ledger.certificates.apply(PORTAL, csr=make_csr(KeyAlgorithm.ECDSA_P256)[1],
                                    validity_days=90, account_id=str(account_id),
                                    kind="renew" if renewing else "new",
                                    predecessor_id=renewing, **TLS)
    ledger.certificates.approve(OFFICER, cid)
    ledger.certificates.issue(OFFICER, cid)
    return cid


def notices(ledger: CertLedger) -> Counter[tuple[UUID, int]]:
    found: Counter[tuple[UUID, int]] = Counter()
    for _, event in ledger.log.read(topics=[SENT]):
        found[(event.certificate_id, event.threshold_days)] += 1
    return found


class Forgetful(ExpiryIndexStore):
    """A scheduler that lost its progress: it looks at everything due, every time."""

    def progress(self, name: str) -> Progress | None:
        return None


def move_to(ledger: CertLedger, days_before: float, not_after: Any) -> None:
    ledger.clock.offset = (not_after - timedelta(days=days_before)) - \
        (ledger.clock() - ledger.clock.offset)  # type: ignore[attr-defined]
    ledger.read.runner.catch_up()


def run_at(ledger: CertLedger, days_before: float, not_after: Any) -> int:
    move_to(ledger, days_before, not_after)
    return ledger.read.notices.run().sent


def test_each_threshold_once_per_certificate(api: Api) -> None:
    ledger = api.ledger
    account = ledger.accounts.register(PORTAL, kind="personal", username="wang.wu",
                                       name="王五", contacts={"phone": "13800138000"})
    renewed = issue(ledger, account)
    kept = issue(ledger, account, renewing=renewed)  # renewed before any threshold
    not_after = ledger.certificates.get(kept).not_after
    assert not_after is not None
    ledger.read.runner.catch_up()
    assert ledger.read.notices.run().sent == 0  # first run: nothing due yet
    assert ledger.certificates.get(renewed).revocation_reason is RevocationReason.SUPERSEDED
    assert run_at(ledger, 29.9, not_after) == 1
    assert ledger.read.notices.run().sent == 0  # the job again: nothing new
    forgetful = ExpiryNotices(ledger.log, Forgetful(ledger.read.database), ledger.clock)
    assert forgetful.run().sent == 0 and forgetful.run().due == 1  # found, not recorded
    # two schedulers at once (another read side over the same stores)
    other = ledger.new_read_side()
    move_to(ledger, 6.9, not_after)
    results: list[int] = []
    start = threading.Barrier(2)

    def run(side: Any) -> None:
        start.wait()
        results.append(side.notices.run().sent)

    threads = [threading.Thread(target=run, args=(side,)) for side in (ledger.read, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert run_at(ledger, 0.9, not_after) == 1
    assert notices(ledger) == {(kept, 30): 1, (kept, 7): 1, (kept, 1): 1}
    # messages: the review notices and the three reminders, newest first, paged
    ledger.read.runner.catch_up()
    path = f"/api/v1/accounts/{account}/messages"
    page = api.call("GET", path + "?kind=expiry&limit=2", role="applicant-portal").json
    assert [m["kind"] for m in page["items"]] == ["expiry", "expiry"]
    assert "1 days" in page["items"][0]["body"] and page["next_cursor"]
    rest = api.call("GET", f"{path}?kind=expiry&cursor={page['next_cursor']}",
                    role="applicant-portal").json
    assert len(rest["items"]) == 1 and "30 days" in rest["items"][0]["body"]
    everything = api.call("GET", path, role="applicant-portal").json
    assert Counter(m["kind"] for m in everything["items"]) == {"expiry": 3, "review": 2}
    assert everything["unread"] == 5
    first = everything["items"][0]["id"]
    for _ in range(2):
        read = api.call("POST", f"{path}/{first}/read", role="applicant-portal")
        assert read.status_code == 200 and read.json["read"] is True
    ledger.read.runner.catch_up()
    assert api.call("GET", path + "?unread=true", role="officer").json["unread"] == 4
    unread = api.call("POST", f"{path}/{first}/unread", role="applicant-portal")
    assert unread.status_code == 200 and unread.json["read"] is False
    ledger.read.runner.catch_up()
    assert api.call("GET", path, role="officer").json["unread"] == 5
    assert api.call("POST", f"{path}/{first}/read", role="officer").status_code == 200
    ledger.read.runner.catch_up()
    assert api.call("GET", path, role="officer").json["unread"] == 4
    topics = [n.topic for n in ledger.log.recorder.select_notifications(start=1, limit=10_000)]
    assert [t for t in topics if t.startswith("certledger:MessageRead")] == [
        "certledger:MessageRead.Marked:v1", "certledger:MessageRead.Unmarked:v1",
        "certledger:MessageRead.Remarked:v1"]
    assert api.call("POST", f"{path}/{UUID(int=1)}/read", role="applicant-portal") \
        .status_code == 404


def test_after_a_restart_nothing_is_sent_again(api: Api) -> None:
    ledger = api.ledger
    account = ledger.accounts.register(PORTAL, kind="personal", username="zhao.liu",
                                       name="赵六", contacts={"phone": "13800138000"})
    cid = issue(ledger, account)
    not_after = ledger.certificates.get(cid).not_after
    assert run_at(ledger, 6.5, not_after) == 1  # late first run: the nearest threshold only
    offset = ledger.clock.offset  # type: ignore[attr-defined]
    again = build_ledger(replace(ledger.settings))
    again.clock.offset = offset  # type: ignore[attr-defined]
    again.read.runner.catch_up()
    assert again.read.notices.run().sent == 0
    assert notices(again) == {(cid, 7): 1}


def test_past_not_after_the_status_is_expired_without_an_event(api: Api) -> None:
    ledger = api.ledger
    account = ledger.accounts.register(PORTAL, kind="personal", username="qian.qi",
                                       name="钱七", contacts={"phone": "13800138000"})
    cid = issue(ledger, account)
    not_after = ledger.certificates.get(cid).not_after
    assert not_after is not None
    head = ledger.log.head()
    ledger.clock.offset = timedelta(days=91)  # type: ignore[attr-defined]
    view = api.call("GET", f"/api/v1/certificates/{cid}", role="officer").json
    assert view["status"] == "expired"
    assert ledger.log.head() == head


def test_a_system_notice_to_a_portal_reaches_each_of_its_accounts(api: Api) -> None:
    ledger = api.ledger
    first, second = (ledger.accounts.register(PORTAL, kind="personal", username=name,
                                              name="周九", contacts={"phone": "13800138000"})
                     for name in ("zhou.jiu", "wu.shi"))
    posted = api.call("POST", "/api/v1/admin/notices", role="admin", json={
        "portal": "default", "title": "系统维护 Maintenance", "body": "Sunday 02:00-04:00."})
    assert posted.status_code == 201, posted.json
    single = api.call("POST", "/api/v1/admin/notices", role="admin", json={
        "portal": "default", "account_id": str(first), "title": "Hello", "body": "Only you."})
    assert single.status_code == 201 and single.json["account_id"] == str(first)
    head = ledger.log.head()
    for body, status in (({"portal": "default", "title": "", "body": "x"}, 400),
                         ({"portal": "nope", "title": "t", "body": "x"}, 404),
                         ({"portal": "default", "account_id": "x", "title": "t", "body": "b"},
                          404)):
        assert api.call("POST", "/api/v1/admin/notices", role="admin",
                        json=body).status_code == status
    for who in ("officer", "applicant-portal", "auditor"):
        assert api.call("POST", "/api/v1/admin/notices", role=who, json={
            "portal": "default", "title": "t", "body": "b"}).status_code == 403
    assert ledger.log.head() == head
    ledger.read.runner.catch_up()
    titles = {account: [m["title"] for m in api.call(
        "GET", f"/api/v1/accounts/{account}/messages", role="officer").json["items"]]
        for account in (first, second)}
    assert titles == {first: ["Hello", "系统维护 Maintenance"],
                      second: ["系统维护 Maintenance"]}
    ids = {api.call("GET", f"/api/v1/accounts/{a}/messages?limit=1&kind=system",
                    role="officer").json["items"][0]["id"] for a in (first, second)}
    assert len(ids) == 2  # each account's copy is its own message (read apart)
