"""Who sees which portals (domain.actors.Actor) and which portal a new record belongs to
(Portals.resolve), on the in-memory log."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.bootstrap import CertLedger
from domain.actors import DEFAULT_PORTAL, Actor, Role
from domain.errors import DomainError
from domain.tokens import ApiToken
from tests.conftest import ADMIN, build_ledger, make_settings


@pytest.fixture
def memory_ledger(tmp_path: Path) -> CertLedger:
    ledger = build_ledger(make_settings(tmp_path, "memory:"))
    for code in ("a", "b"):
        ledger.portals.create(ADMIN, code=code, name=code)
    return ledger


def test_each_role_has_its_scope() -> None:
    assert Actor("p", Role.APPLICANT_PORTAL).portals == frozenset({DEFAULT_PORTAL})
    portal = Actor("p", Role.APPLICANT_PORTAL, frozenset({"a"}))
    assert portal.sees("a") and not portal.sees("b") and portal.home_portal == "a"
    officer = Actor("o", Role.OFFICER, frozenset({"a", "b"}))
    assert officer.sees("b") and officer.home_portal is None
    assert Actor("o", Role.OFFICER).sees("anything")
    for role, portals in ((Role.APPLICANT_PORTAL, {"a", "b"}), (Role.APPLICANT_PORTAL, set()),
                          (Role.OFFICER, set()), (Role.ADMIN, {"a"}), (Role.AUDITOR, {"a"})):
        with pytest.raises(ValueError):
            Actor("x", role, frozenset(portals))
    assert ApiToken.check_scope(Role.OFFICER, ["b", "a", "a"]) == ["a", "b"]
    with pytest.raises(DomainError) as refused:
        ApiToken.check_scope(Role.ADMIN, ["a"])
    assert refused.value.code == "bad_token_scope"


@pytest.mark.parametrize("actor,requested,portal", [
    (Actor("p", Role.APPLICANT_PORTAL, frozenset({"a"})), None, "a"),
    (Actor("p", Role.APPLICANT_PORTAL, frozenset({"a"})), "a", "a"),
    (Actor("p", Role.APPLICANT_PORTAL), None, DEFAULT_PORTAL),
    (Actor("o", Role.OFFICER, frozenset({"b"})), None, "b"),
    (Actor("o", Role.OFFICER, frozenset({"a", "b"})), "b", "b"),
    (Actor("o", Role.OFFICER), None, DEFAULT_PORTAL),
    (ADMIN, "a", "a"),
])
def test_a_new_record_belongs_to_the_actors_portal(memory_ledger: CertLedger, actor: Actor,
                                                   requested: str | None, portal: str) -> None:
    assert memory_ledger.portals.resolve(actor, requested) == portal


@pytest.mark.parametrize("actor,requested,code", [
    (Actor("p", Role.APPLICANT_PORTAL, frozenset({"a"})), "b", "portal_not_found"),
    (Actor("o", Role.OFFICER, frozenset({"a"})), "b", "portal_not_found"),
    (Actor("o", Role.OFFICER, frozenset({"a", "b"})), None, "portal_required"),
    (ADMIN, "nope", "portal_not_found"),
    (ADMIN, "NOT A CODE", "portal_not_found"),
    (ADMIN, 7, "bad_portal_code"),
])
def test_another_portal_is_not_found(memory_ledger: CertLedger, actor: Actor,
                                     requested: object, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        memory_ledger.portals.resolve(actor, requested)
    assert refused.value.code == code
