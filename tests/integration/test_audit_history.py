"""Point in time, CRL re-derivation and the replay check, on SQLite and PostgreSQL.

Certificate A is issued at t1 and revoked at t2; certificate B is revoked between them
and a CRL published then. ``audit state --at`` says A is valid between t1 and t2 and
revoked after, from the log and from an export alike; ``audit crl`` re-derives the CRL
published between them (and every CRL) from the events and finds the published bytes
exact, and reports the CRL once its stored bytes are altered. ``audit replay`` finds
nothing on an untouched store and names the row altered by hand.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from api.settings import Settings
from domain.reasons import RevocationReason
from tests.audit_helpers import audited_ledger, audited_settings, cli, sign_heads
from tests.conftest import OFFICER
from tests.crl_helpers import issue, publish_crls

DAY = timedelta(days=1)


@pytest.fixture
def history(settings: Settings) -> dict[str, Any]:
    ledger = audited_ledger(settings)
    clock = ledger.clock
    a = issue(ledger, "alpha")
    t1 = a.modified_on
    clock.offset += DAY  # type: ignore[attr-defined]
    b = issue(ledger, "beta")
    ledger.certificates.revoke(OFFICER, b.id, RevocationReason.AFFILIATION_CHANGED)
    publish_crls(ledger)
    between = ledger.read.crls.latest("issuing-ca", "full", with_der=False)
    clock.offset += DAY  # type: ignore[attr-defined]
    revoked = ledger.certificates.revoke(OFFICER, a.id, RevocationReason.KEY_COMPROMISE)
    publish_crls(ledger)
    sign_heads(ledger)
    return {"ledger": ledger, "a": a, "t1": t1, "t2": revoked.modified_on,
            "between": between, "settings": audited_settings(settings)}


def test_state_at_an_instant_from_the_log_and_from_an_export(history: dict[str, Any]) -> None:
    a, t1, t2 = history["a"], history["t1"], history["t2"]
    serial = format(a.serial_number, "x")
    with cli(history["settings"]) as run:
        status, export = run("audit", "export")
        path = history["settings"].data_dir / "log.jsonl"
        path.write_text(export)
        for source in ([], ["--log", str(path)]):
            status, out = run("audit", "state", "--at", (t1 + DAY).isoformat(), "--serial",
                              serial, *source)
            assert status == 0
            assert f"serial {serial} (issuing-ca, tls-server): valid" in out
            assert "revoked" not in out
            assert "officer-li (officer)  issued serial" in out  # who did what
            status, out = run("audit", "state", "--at", (t2 + timedelta(seconds=1)).isoformat(),
                              "--serial", serial, *source)
            assert f"serial {serial} (issuing-ca, tls-server): revoked keyCompromise" in out
            assert "officer-li (officer)  revoked (keyCompromise)" in out
            status, out = run("audit", "state", "--at", (t1 - DAY).isoformat(), "--serial",
                              serial, *source)
            assert status == 1 and "no such certificate" in out
        status, out = run("audit", "state", "--at", (t1 + DAY + timedelta(hours=1)).isoformat(),
                          "--ca", "issuing-ca")
        assert out.count("): valid") == 1 and out.count("): revoked affiliationChanged") == 1


def test_a_crl_published_between_is_rederived_exactly_and_an_altered_one_reported(
        history: dict[str, Any]) -> None:
    ledger, between = history["ledger"], history["between"]
    number = str(between.crl_number)
    with cli(history["settings"]) as run:
        status, out = run("audit", "crl", "--ca", "issuing-ca", "--number", number)
        assert status == 0, out
        assert f"CRL #{number} (full, 1 entries" in out and "entry for entry" in out
        status, out = run("audit", "crl", "--ca", "issuing-ca", "--all")
        assert status == 0 and "4 CRLs checked, 0 differ" in out, out

        der = ledger.read.crls.archived("issuing-ca", between.crl_number)
        database = ledger.read.database
        [(digest,)] = database.query(
            "SELECT p.digest FROM rm_crl_archive_pieces p JOIN rm_crl_blobs b ON"
            " b.digest = p.digest WHERE p.issuer = ? AND p.crl_number = ? AND p.seq = 1",
            ("issuing-ca", between.crl_number))
        [(entries,)] = database.query("SELECT data FROM rm_crl_blobs WHERE digest = ?",
                                      (digest,))
        entries = bytes(entries)
        assert entries in der
        reason = bytes.fromhex("0a0103")  # ENUMERATED affiliationChanged
        assert entries.count(reason) == 1
        with database.transaction() as tx:
            tx.execute("UPDATE rm_crl_blobs SET data = ? WHERE digest = ?",
                       (entries.replace(reason, bytes.fromhex("0a0104")), digest))
        status, out = run("audit", "crl", "--ca", "issuing-ca", "--number", number)
        assert status == 1, out
        assert f"CRL #{number} (full, 1 entries" in out and "DIFFERS" in out
        assert "is listed as superseded" in out and "the events say affiliationChanged" in out
        assert "signature does not verify" in out
        status, out = run("audit", "crl", "--ca", "issuing-ca", "--all")
        assert status == 1 and "4 CRLs checked, 1 differ" in out


def test_replay_finds_nothing_on_an_untouched_store_and_names_an_altered_row(
        history: dict[str, Any]) -> None:
    ledger, a = history["ledger"], history["a"]
    serial = format(a.serial_number, "x")
    with cli(history["settings"]) as run:
        status, out = run("audit", "replay")
        assert status == 0, out
        assert "0 differences" in out
        with ledger.read.database.transaction() as tx:
            tx.execute("UPDATE rm_ocsp_status SET status = 'good', revocation_time = NULL,"
                       " reason = NULL WHERE serial_hex = ?", (serial,))
        status, out = run("audit", "replay")
        assert status == 1, out
        assert f"DIFFERS rm_ocsp_status (issuing-ca, {serial}) status: stored 'good', " \
               "replayed 'revoked'" in out
        assert f"rm_ocsp_status (issuing-ca, {serial}) reason: stored None, replayed 1" in out
        assert "3 differences" in out


def test_events_json_is_lossless(history: dict[str, Any]) -> None:
    """Issue 11: `certledger events --json` replaced every byte field by "<683 bytes>"."""
    import base64
    import json

    from cryptography import x509

    a = history["a"]
    with cli(history["settings"]) as run:
        status, out = run("events", "--json", "--limit", "100000")
    assert status == 0
    issued = [json.loads(line) for line in out.splitlines()
              if '"certledger:Certificate.Issued:v1"' in line
              and json.loads(line)["originator_id"] == str(a.id)]
    der = base64.b64decode(issued[0]["certificate_der"])
    assert x509.load_der_x509_certificate(der).serial_number == a.serial_number
