"""The tree-head process: when a head is due (N events, or T since the oldest event no
head covers; never for heads alone), long stretches split into several heads, the head
files, the audit signer (an issuing CA's, never the root's; rotated with a new key, the
old heads still verifying), and two processes signing at once."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from api.bootstrap import CertLedger
from api.settings import Settings
from ca.applications.audit_signer import AuditSigners
from ca.applications.tree_heads import AuditSettings
from ca.audit.head_checks import check_head_signature
from ca.audit.head_files import read_heads
from domain.audit import AuditSigner, TreeHead
from domain.errors import IllegalTransition
from tests.audit_helpers import cli
from tests.conftest import ADMIN, build_ledger, with_hierarchy
from tests.crl_helpers import issue
from tests.helpers import event_topics


def _ledger(settings: Settings, **audit: object) -> CertLedger:
    audit.setdefault("heads_dir", settings.data_dir / "tree-heads")
    return with_hierarchy(build_ledger(replace(settings, audit=AuditSettings(**audit))))


def _run(ledger: CertLedger) -> int:
    """One round of the process, after the runner projected what is there."""
    ledger.read.runner.catch_up()
    signed = ledger.read.head_signing.run()
    ledger.read.runner.catch_up()
    ledger.read.head_signing.write_files()
    return signed


def _heads(ledger: CertLedger) -> list[TreeHead]:
    heads, number = [], 1
    while (head := ledger.read.tree_heads.get(number)) is not None:
        heads.append(head)
        number += 1
    return heads


def test_a_head_is_due_every_n_events_and_never_for_heads_alone(settings: Settings) -> None:
    ledger = _ledger(settings, head_every=10)
    assert _run(ledger) == 0  # the hierarchy: 2 events, the interval has not passed
    issue(ledger, "one")  # 6 more (the application's order and its number too): 8
    assert _run(ledger) == 0
    issue(ledger, "two")  # 14
    assert _run(ledger) == 1
    [head] = _heads(ledger)
    assert head.tree_size == 14 and head.last_position == 14
    ledger.clock.offset += timedelta(hours=1)  # type: ignore[attr-defined]
    assert _run(ledger) == 1  # the audit signer's certification, made for the first head
    ledger.clock.offset += timedelta(hours=1)  # type: ignore[attr-defined]
    assert _run(ledger) == 0  # only the head itself is new: no head after head
    second = _heads(ledger)[-1]
    assert ledger.log.head() == second.tree_size + 1


def test_a_head_is_due_once_the_oldest_uncovered_event_is_interval_old(
        settings: Settings) -> None:
    ledger = _ledger(settings, head_interval=timedelta(seconds=30))
    ledger.audit_signers.credentials()  # certified beforehand: its events are old too
    assert _run(ledger) == 0
    ledger.clock.offset += timedelta(seconds=31)  # type: ignore[attr-defined]
    assert _run(ledger) == 1
    issue(ledger, "later")
    ledger.clock.offset += timedelta(seconds=10)  # type: ignore[attr-defined]
    assert _run(ledger) == 0
    ledger.clock.offset += timedelta(seconds=21)  # type: ignore[attr-defined]
    assert _run(ledger) == 1
    ledger.clock.offset += timedelta(seconds=31)  # type: ignore[attr-defined]
    assert _run(ledger) == 0  # nothing but the head since
    assert [head.number for head in _heads(ledger)] == [1, 2]


def test_a_long_stretch_gets_several_heads_and_every_head_gets_a_file(
        settings: Settings) -> None:
    ledger = _ledger(settings, head_every=8, max_leaves=8)
    for label in ("a", "b", "c", "d", "e"):
        issue(ledger, label)  # 2 + 30 events
    assert _run(ledger) == 4  # 32 events: 8 + 8 + 8 + 8
    heads = _heads(ledger)
    assert [head.tree_size for head in heads] == [8, 16, 24, 32]
    files = read_heads(settings.data_dir / "tree-heads")
    assert [f.number for f in files] == [1, 2, 3, 4]
    for file, head in zip(files, heads, strict=True):
        assert (file.tree_size, file.root_hash, file.signature) == \
            (head.tree_size, head.root_hash, head.signature)
        assert file.position == ledger.log.positions_of(head.id)[0]
        check_head_signature(file)  # a file alone is enough to check the signature
    path = settings.data_dir / "tree-heads" / "0000000001.json"
    assert json.loads(path.read_text())["number"] == 1
    path.write_text("{}")  # written once: never rewritten
    assert ledger.read.head_signing.write_files() == 0
    assert path.read_text() == "{}"


def test_the_audit_signer_is_an_issuing_cas_and_rotates_with_a_new_key(
        settings: Settings) -> None:
    ledger = _ledger(settings, head_every=4)
    issue(ledger, "a")
    assert _run(ledger) == 1
    first = ledger.audit_signers.current()
    assert first is not None and first.issuer == "issuing-ca"
    ledger.clock.offset += timedelta(days=250)  # type: ignore[attr-defined]
    issue(ledger, "b")
    assert _run(ledger) == 1
    second = ledger.audit_signers.current()
    assert second is not None and second.key_ref != first.key_ref
    assert second.serial_number != first.serial_number
    assert AuditSigner.Rotated.TOPIC in event_topics(ledger)
    heads = _heads(ledger)
    assert heads[0].signer_certificate == first.certificate_der
    assert heads[1].signer_certificate == second.certificate_der
    root = settings.data_dir / "root.der"
    root.write_bytes(ledger.hierarchy.authority("root-ca").certificate_der)
    with cli(ledger.settings) as run:
        status, export = run("audit", "export")
        (settings.data_dir / "log.jsonl").write_text(export)
        status, out = run("audit", "verify", str(settings.data_dir / "log.jsonl"),
                          "--trust", str(root))
        assert status == 0, out
        status, out = run("keys", "check")
        assert status == 0 and "audit" not in out.replace("audit signer", ""), out


def test_a_root_ca_never_certifies_the_audit_signer(settings: Settings) -> None:
    ledger = _ledger(settings)
    signers = AuditSigners(ledger.log, ledger.hierarchy, ledger.keys, ledger.clock,
                           issuer="root-ca")
    with pytest.raises(IllegalTransition) as refused:
        signers.credentials(actor=ADMIN)
    assert refused.value.code == "root_ca_no_audit_signer"
    assert signers.current() is None
    assert not any("audit-signer" in ref for ref in ledger.keys.key_refs())  # no key made


def test_two_processes_signing_at_once_record_each_head_once(settings: Settings) -> None:
    ledger = _ledger(settings, head_every=4)
    other = build_ledger(ledger.settings)
    issue(ledger, "raced")
    for each in (ledger, other):
        each.read.runner.catch_up()
    barrier = threading.Barrier(2)
    signed: list[int] = []

    def sign(each: CertLedger) -> None:
        barrier.wait()
        signed.extend(head.number for head in each.read.tree_heads.sign())

    threads = [threading.Thread(target=sign, args=(each,)) for each in (ledger, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    heads = _heads(ledger)
    assert sorted(signed) == [head.number for head in heads]
    assert len({head.tree_size for head in heads}) == len(heads)
    ledger.read.runner.catch_up()
    assert ledger.read.integrity.check() == []


@pytest.mark.parametrize("issuer", ["root-ca", "no-such-ca"])
def test_the_process_says_once_why_it_cannot_sign_and_goes_on(
        settings: Settings, issuer: str, caplog: pytest.LogCaptureFixture) -> None:
    ledger = with_hierarchy(build_ledger(replace(settings, audit=AuditSettings(
        head_every=1, issuer=issuer))))
    ledger.read.runner.catch_up()
    head = ledger.log.head()
    for _ in range(3):
        assert ledger.read.head_signing.run() == 0
    assert ledger.log.head() == head
    warnings = [r for r in caplog.records if "no tree head signed" in r.getMessage()]
    assert len(warnings) == 1 and issuer in warnings[0].getMessage()
