"""The command line, in process, on SQLite and PostgreSQL: what it prints cannot be forged by
recorded values, tokens are handled by id (never as an argument), keys are checked
against the log."""

from __future__ import annotations

import io
import json
import re
import shutil
from typing import Any

import pytest

from api.bootstrap import CertLedger
from api.cli import main
from domain.actors import Role
from domain.errors import InvalidRequest
from domain.reasons import RevocationReason
from domain.tokens import ApiToken
from tests.conftest import ADMIN, OFFICER, PASSPHRASE
from tests.crl_helpers import issue

FORGED = ("lost Ukey\n     99  2026-01-01 00:00:00Z  certledger:Certificate.Revoked:v1"
          "           00000000-0000-0000-0000-000000000000 v3  by root (admin)  "
          "\x1b[2K\u202eevil")
EVENT_LINE = re.compile(r"^ *\d+  \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  certledger:")


@pytest.fixture
def cli(ledger: CertLedger, monkeypatch: pytest.MonkeyPatch) -> CertLedger:
    monkeypatch.setenv("CERTLEDGER_DATA_DIR", str(ledger.settings.data_dir))
    monkeypatch.setenv("CERTLEDGER_KEY_PASSPHRASE", PASSPHRASE.decode())
    if ledger.settings.database_url:
        monkeypatch.setenv("CERTLEDGER_DATABASE_URL", ledger.settings.database_url)
    else:
        monkeypatch.delenv("CERTLEDGER_DATABASE_URL", raising=False)
    return ledger


def _head(ledger: CertLedger) -> int:
    return ledger.log.recorder.max_notification_id() or 0


def test_a_comment_cannot_forge_a_line_of_certledger_events(
        cli: CertLedger, capsys: pytest.CaptureFixture[str]) -> None:
    cid = issue(cli, "forged").id
    cli.certificates.revoke(OFFICER, cid, RevocationReason.KEY_COMPROMISE, comment=FORGED)
    capsys.readouterr()
    assert main(["events"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == _head(cli)
    assert all(EVENT_LINE.match(line) for line in lines), lines
    assert all(line.isprintable() for line in lines)
    [revoked] = [line for line in lines if "Certificate.Revoked" in line.split()[3]]
    assert "lost Ukey\\n     99  2026-01-01" in revoked and "\\x1b[2K\\u202eevil" in revoked
    assert main(["events", "--json"]) == 0
    recorded = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert recorded[-1]["comment"] == FORGED  # the exact value, for machines


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "li\nsi", "bad\ud800"])
def test_a_token_name_no_actor_may_have_is_refused_and_nothing_recorded(
        cli: CertLedger, capsys: pytest.CaptureFixture[str], name: str) -> None:
    before = _head(cli)
    with pytest.raises(InvalidRequest) as refused:
        cli.tokens.create(ADMIN, name=name, role=Role.OFFICER)
    assert refused.value.code == "bad_token_name"
    assert main(["token", "create", "--role", "officer", "--portals", "*", "--name", name]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "token name" in err
    assert _head(cli) == before


def test_a_token_recorded_with_a_bad_name_is_refused_not_a_500(cli: CertLedger) -> None:
    """A token from before names were checked: it cannot act (401), nothing breaks."""
    import hashlib

    token = "clt_recorded-before-the-check"
    record = ApiToken._create(ApiToken.Created, actor_id="t", actor_role="admin", name="",
                              role="officer",
                              token_hash=hashlib.sha256(token.encode()).hexdigest())
    cli.log.save(record)
    assert cli.tokens.authenticate(token) is None


def test_tokens_are_listed_and_revoked_by_id_or_from_stdin(
        cli: CertLedger, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["token", "create", "--role", "officer", "--portals", "*", "--name", "li.si"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    [info] = [t for t in cli.tokens.list() if t.name == "li.si"]
    assert str(info.id) in err and token not in err
    assert main(["token", "list"]) == 0
    listing = capsys.readouterr().out
    assert token not in listing
    [row] = [line for line in listing.splitlines() if line.startswith(str(info.id))]
    assert row.split()[1:3] == ["officer", "yes"] and row.endswith("li.si")

    before = _head(cli)
    assert main(["token", "revoke", token]) == 2  # the secret as an argument: refused
    out, err = capsys.readouterr()
    assert "--stdin" in err and token not in out + err
    assert _head(cli) == before and cli.tokens.authenticate(token) is not None

    assert main(["token", "revoke", str(info.id)]) == 0
    assert cli.tokens.authenticate(token) is None
    assert main(["token", "revoke", str(info.id)]) == 2  # already revoked
    assert "already revoked" in capsys.readouterr().err

    second = cli.tokens.create(ADMIN, name="portal-a", role=Role.APPLICANT_PORTAL)
    monkeypatch.setattr("sys.stdin", io.StringIO(second + "\n"))
    assert main(["token", "revoke", "--stdin"]) == 0
    assert cli.tokens.authenticate(second) is None
    assert main(["token", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[2] for row in rows if row.endswith(("li.si", "portal-a"))] == \
        ["no", "no"]


def test_token_create_if_none_makes_one_admin_token_only(
        cli: CertLedger, capsys: pytest.CaptureFixture[str]) -> None:
    command = ["token", "create", "--role", "admin", "--name", "make-serve-admin", "--if-none"]
    assert main(command) == 0
    first = capsys.readouterr().out.strip()
    assert cli.tokens.authenticate(first) is not None
    before = _head(cli)
    for _ in range(2):
        assert main(command) == 0
        out, err = capsys.readouterr()
        assert out == "" and "exists already" in err and "certledger token create" in err
    assert _head(cli) == before
    cli.tokens.create(ADMIN, name="an officer", role=Role.OFFICER)  # another role: not it
    info = next(t for t in cli.tokens.list() if t.name == "make-serve-admin")
    assert main(["token", "revoke", str(info.id)]) == 0
    capsys.readouterr()
    assert main(command) == 0  # no active admin token any more: a new one
    assert cli.tokens.authenticate(capsys.readouterr().out.strip()) is not None


def _key_files(ledger: CertLedger) -> set[str]:
    return set(ledger.keys.key_refs())


def test_keys_check_reports_unreferenced_and_missing_keys(
        cli: CertLedger, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "check"]) == 0
    assert "0 unreferenced, 0 missing" in capsys.readouterr().out
    directory = cli.keys.path_of("x").parent
    issuing = cli.hierarchy.get("issuing-ca").key_ref
    shutil.copy(directory / f"{issuing}.key.json", directory / "stray-0123abcd.key.json")
    assert main(["keys", "check"]) == 1
    out, err = capsys.readouterr()
    assert "unreferenced key file:" in out and "stray-0123abcd.key.json" in out
    (directory / "stray-0123abcd.key.json").unlink()
    (directory / f"{issuing}.key.json").rename(directory / "elsewhere.json")
    assert main(["keys", "check"]) == 1
    out, _ = capsys.readouterr()
    assert f"missing key file: {issuing} (CA issuing-ca)" in out


@pytest.mark.parametrize("failure", ["conflict", "error"])
def test_a_responder_key_whose_save_fails_is_removed(cli: CertLedger, failure: str,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    from eventsourcing.persistence import IntegrityError

    from domain.responder import OcspResponder

    before = _key_files(cli)
    real_save = cli.log.save
    calls: list[Any] = []

    def failing_save(*items: Any) -> Any:
        calls.append(items)
        if len(calls) == 1:
            raise IntegrityError("lost a race") if failure == "conflict" else OSError("disk")
        return real_save(*items)

    monkeypatch.setattr(cli.log, "save", failing_save)
    if failure == "conflict":  # the retry certifies with a second key, which is recorded
        cli.responders.certify_or_rotate("issuing-ca")
        recorded = cli.log.repository.get(OcspResponder.create_id("issuing-ca")).key_ref
        assert _key_files(cli) - before == {recorded}
    else:
        with pytest.raises(OSError):
            cli.responders.certify_or_rotate("issuing-ca")
        assert _key_files(cli) == before
    assert any("removed" in record.getMessage() for record in caplog.records)
    assert main(["keys", "check"]) == 0


def test_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    usage, rest = capsys.readouterr().out.split("\n\n", 1)
    description = rest.split("positional arguments")[0]
    commands = re.search(r"\{([a-z,]+)\}", usage)
    assert commands is not None and "ocsp" in commands.group(1).split(",")
    for name in commands.group(1).split(","):
        assert re.search(rf"\b{name}\b", description), name
