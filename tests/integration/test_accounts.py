"""Accounts on SQLite and PostgreSQL: registration with a username claimed per portal,
contacts, the handler's identity card number kept only as an HMAC, real-name verification,
and the accounts read model (search, pages, rebuild)."""

from __future__ import annotations

import base64
import threading
from uuid import UUID

import pytest

from api.bootstrap import CertLedger
from api.settings import Settings
from domain.accounts import Account, VerificationTarget
from domain.actors import Actor, Role
from domain.errors import Conflict, DomainError, IllegalTransition
from tests.conftest import ADMIN, build_ledger

PORTAL_A = Actor("portal-a", Role.APPLICANT_PORTAL, frozenset({"a"}))
PORTAL_B = Actor("portal-b", Role.APPLICANT_PORTAL, frozenset({"b"}))
OFFICER_A = Actor("officer-a", Role.OFFICER, frozenset({"a"}))
ID_NUMBER = "11010519491231002X"
LICENCE = "91330100799655058B"
EVIDENCE = "9f" * 32


@pytest.fixture
def accounts_ledger(settings: Settings) -> CertLedger:
    ledger = build_ledger(settings)
    for code in ("a", "b"):
        ledger.portals.create(ADMIN, code=code, name=f"Portal {code}")
    return ledger


def _enterprise(ledger: CertLedger, username: str = "qh-stats", actor: Actor = PORTAL_A,
                name: str = "青海统计有限公司") -> UUID:
    return ledger.accounts.register(actor, kind="enterprise", username=username, name=name,
                                    licence_number=LICENCE,
                                    contacts={"phone": "13800138000", "contact_name": "张三"})


def _stored_event_bytes(ledger: CertLedger) -> bytes:
    return b"\n".join(bytes(n.state) for n in
                      ledger.log.recorder.select_notifications(start=1, limit=100_000))


def test_usernames_are_unique_per_portal_whatever_their_case(
        accounts_ledger: CertLedger) -> None:
    ledger = accounts_ledger
    first = _enterprise(ledger, "qh-stats")
    assert ledger.accounts.get(first).username == "QH-STATS"
    head = ledger.log.head()
    with pytest.raises(Conflict) as taken:
        _enterprise(ledger, "QH-Stats")
    assert taken.value.code == "username_taken"
    assert ledger.log.head() == head
    other = _enterprise(ledger, "qh-stats", actor=PORTAL_B)  # another portal: its own names
    assert ledger.accounts.get(other).portal == "b"


def test_the_handlers_id_number_is_never_stored_only_its_hmac(
        accounts_ledger: CertLedger) -> None:
    ledger = accounts_ledger
    account_id = _enterprise(ledger)
    account = ledger.accounts.set_handler(PORTAL_A, account_id, name="王五",
                                          phone="13700137000", id_number=ID_NUMBER.lower())
    digest = ledger.accounts.id_number_digest(ID_NUMBER)
    assert account.handler is not None and account.handler["id_number_hmac"] == digest
    assert len(digest) == 64 and digest != ledger.accounts.id_number_digest(
        "440524188001010014")
    stored = _stored_event_bytes(ledger)
    assert ID_NUMBER.encode() not in stored and ID_NUMBER.lower().encode() not in stored
    secret = ledger.keys.secret(account.handler["hmac_key"])
    for form in (secret, secret.hex().encode(), base64.b64encode(secret)):
        assert form not in stored
    key_file = ledger.settings.data_dir / "keys" / "id-number-hmac-1.secret.json"
    assert key_file.stat().st_mode & 0o077 == 0
    assert secret not in key_file.read_bytes() and base64.b64encode(secret) not in \
        key_file.read_bytes()
    # another process over the same data directory matches the same number
    again = build_ledger(ledger.settings)
    assert again.accounts.id_number_digest(ID_NUMBER) == digest
    head = ledger.log.head()  # the same handler again records nothing
    ledger.accounts.set_handler(OFFICER_A, account_id, name="王五", phone="+8613700137000",
                                id_number=ID_NUMBER)
    assert ledger.log.head() == head


def test_real_name_verifications_say_who_when_and_the_evidence_digest(
        accounts_ledger: CertLedger) -> None:
    ledger = accounts_ledger
    account_id = _enterprise(ledger)
    ledger.accounts.verify(OFFICER_A, account_id, target="enterprise", name="青海统计有限公司",
                           number=LICENCE.lower(), method="licence", evidence_sha256=EVIDENCE)
    account = ledger.accounts.verify(PORTAL_A, account_id, target="person", name="王五",
                                     number=ID_NUMBER, method="face",
                                     evidence_sha256=EVIDENCE.upper())
    enterprise = account.verifications[VerificationTarget.ENTERPRISE]
    assert (enterprise.number, enterprise.verified_by) == (LICENCE, "officer-a")
    person = account.verifications[VerificationTarget.PERSON]
    assert person.number == ledger.accounts.id_number_digest(ID_NUMBER)
    assert person.evidence_sha256 == EVIDENCE and person.verified_by == "portal-a"
    events = [e for _, e in ledger.log.read(topics=[Account.Verified.TOPIC])]
    assert [(e.target, e.actor_id, e.actor_role) for e in events] == [
        ("enterprise", "officer-a", "officer"), ("person", "portal-a", "applicant-portal")]
    assert all(e.timestamp is not None for e in events)
    head = ledger.log.head()
    ledger.accounts.verify(PORTAL_A, account_id, target="person", name="王五",
                           number=ID_NUMBER, method="face", evidence_sha256=EVIDENCE)
    assert ledger.log.head() == head  # the same verification again: nothing new
    with pytest.raises(IllegalTransition) as mismatch:
        ledger.accounts.verify(OFFICER_A, account_id, target="enterprise", name="x",
                               number="914403001922038216", method="licence",
                               evidence_sha256=EVIDENCE)
    assert mismatch.value.code == "licence_mismatch"
    personal = ledger.accounts.register(PORTAL_A, kind="personal", username="li.si",
                                        name="李四", contacts={"phone": "13800138000"})
    with pytest.raises(IllegalTransition):
        ledger.accounts.verify(OFFICER_A, personal, target="enterprise", name="x",
                               number=LICENCE, method="licence", evidence_sha256=EVIDENCE)
    assert ledger.log.head() == head + 2  # the personal account and its username claim


@pytest.mark.parametrize("change,code", [
    ({"kind": "company"}, "bad_account_kind"), ({"username": "x"}, "bad_username"),
    ({"licence_number": None}, "bad_licence_number"),
    ({"licence_number": "91330100799655058C"}, "bad_licence_number"),
    ({"contacts": {"phone": "12345"}}, "bad_phone"),
    ({"contacts": {"phone": "13800138000", "fax": "1"}}, "bad_contacts"),
    ({"contacts": {"phone": "13800138000", "email": "not mail"}}, "bad_email"),
    ({"name": " "}, "bad_field"), ({"portal": "b"}, "portal_not_found")])
def test_bad_registrations_are_refused_and_record_nothing(accounts_ledger: CertLedger,
                                                         change: dict[str, object],
                                                         code: str) -> None:
    ledger = accounts_ledger
    head = ledger.log.head()
    request: dict[str, object] = {"kind": "enterprise", "username": "qh-stats",
                                  "name": "青海统计", "licence_number": LICENCE,
                                  "contacts": {"phone": "13800138000"}, **change}
    with pytest.raises(DomainError) as refused:
        ledger.accounts.register(PORTAL_A, **request)  # type: ignore[arg-type]
    assert refused.value.code == code
    assert ledger.log.head() == head


def test_the_accounts_read_model_searches_pages_and_rebuilds(
        accounts_ledger: CertLedger) -> None:
    ledger = accounts_ledger
    made = [_enterprise(ledger, f"org-{i:02d}", name=f"Qinghai Org {i:02d} 有限公司")
            for i in range(7)]
    _enterprise(ledger, "org-99", actor=PORTAL_B)
    ledger.accounts.set_handler(PORTAL_A, made[3], name="王五", phone="13700137000",
                                id_number=ID_NUMBER)
    read = ledger.read
    read.runner.catch_up()
    directory = read.accounts
    pages, after = [], 0
    while rows := directory.search(portals={"a"}, after=after, limit=3):
        pages.append([row.username for row in rows])
        after = rows[-1].position
    assert pages == [["ORG-00", "ORG-01", "ORG-02"], ["ORG-03", "ORG-04", "ORG-05"],
                     ["ORG-06"]]
    assert [r.username for r in directory.search(portals={"a"}, username="org-0")][:2] == \
        ["ORG-00", "ORG-01"]
    assert [r.name for r in directory.search(portals=None, organisation="ORG 05")] == \
        ["Qinghai Org 05 有限公司"]
    assert len(directory.search(portals={"a", "b"}, organisation="有限公司")) == 8
    assert directory.search(portals={"a"}, username="100%") == []  # wildcards are text
    assert directory.search(portals={"a"}, organisation="_") == []
    [match] = directory.search(portals=None,
                               handler_id_hmac=ledger.accounts.id_number_digest(ID_NUMBER))
    assert (match.account_id, match.handler_name) == (str(made[3]), "王五")
    before = directory.search(portals=None, limit=100)
    read.runner.rebuild("accounts")
    assert directory.search(portals=None, limit=100) == before


def test_two_registrations_racing_for_one_username_one_wins(
        accounts_ledger: CertLedger) -> None:
    ledger, barrier, outcomes = accounts_ledger, threading.Barrier(4), []

    def register(case: str) -> None:
        barrier.wait()
        try:
            outcomes.append(_enterprise(ledger, case))
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=register, args=(case,))
               for case in ("race", "RACE", "Race", "rAcE")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)).count("username_taken") == 3
    assert sum(isinstance(o, UUID) for o in outcomes) == 1
