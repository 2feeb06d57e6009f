"""``certledger portal create|list`` and tokens' scopes on the command line (SQLite and
PostgreSQL): a portal token belongs to one portal, an officer's sees the portals it names
or every one; the scope is said, never given by default."""

from __future__ import annotations

import pytest

from api.bootstrap import CertLedger
from api.cli import main
from tests.e2e.test_cli import _head, cli  # noqa: F401 - the fixture

__all__: list[str] = []


def test_portals_are_created_and_listed(cli: CertLedger,  # noqa: F811
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portal", "create", "qh-stats", "--name", "青海统计"]) == 0
    assert "qh-stats created" in capsys.readouterr().out
    head = _head(cli)
    assert main(["portal", "create", "qh-stats", "--name", "again"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["portal", "create", "Bad Code", "--name", "x"]) == 2
    assert "portal code" in capsys.readouterr().err
    assert _head(cli) == head
    assert main(["portal", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["default", "qh-stats"]
    assert rows[0].split()[1] == "(built" and rows[1].endswith("青海统计")


def test_token_scopes_are_said_when_a_token_is_made(cli: CertLedger,  # noqa: F811
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portal", "create", "a", "--name", "A"]) == 0
    assert main(["portal", "create", "b", "--name", "B"]) == 0
    capsys.readouterr()
    head = _head(cli)
    refusals = [
        (["--role", "applicant-portal", "--name", "web"], "--portal CODE"),
        (["--role", "applicant-portal", "--name", "web", "--portal", "nope"], "no portal"),
        (["--role", "applicant-portal", "--name", "web", "--portal", "a", "--portals", "b"],
         "--portal CODE"),
        (["--role", "officer", "--name", "li"], "--portals"),
        (["--role", "officer", "--name", "li", "--portal", "a"], "--portals"),
        (["--role", "officer", "--name", "li", "--portals", "a,nope"], "no portal"),
        (["--role", "auditor", "--name", "au", "--portals", "a"], "every portal"),
    ]
    for arguments, message in refusals:
        assert main(["token", "create", *arguments]) == 2, arguments
        assert message in capsys.readouterr().err, arguments
    assert _head(cli) == head
    assert main(["token", "create", "--role", "applicant-portal", "--name", "web",
                 "--portal", "a"]) == 0
    web = capsys.readouterr().out.strip()
    assert main(["token", "create", "--role", "officer", "--name", "li",
                 "--portals", "b, a"]) == 0
    officer = capsys.readouterr().out.strip()
    web_actor, officer_actor = cli.tokens.authenticate(web), cli.tokens.authenticate(officer)
    assert web_actor is not None and web_actor.portals == frozenset({"a"})
    assert officer_actor is not None and officer_actor.portals == frozenset({"a", "b"})
    assert main(["token", "list"]) == 0
    rows = {row.split()[-1]: row.split()[5] for row in capsys.readouterr().out.splitlines()[1:]}
    assert rows["web"] == "a" and rows["li"] == "a,b"
