"""Tampering with a real data directory (SQLite files, a PostgreSQL schema) behind the
CA's back: change one byte of an event, delete an event, swap two, insert a forged one,
make an officer's token an admin's, drop the latest tree head. Each time ``certledger
audit verify`` on an export fails and names the position and what happened, and a
server started on the data directory refuses every write (503, saying why) while it
still serves reads, CRLs and health."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from api.app import create_app
from api.bootstrap import CertLedger
from api.settings import Settings
from ca.applications.tree_heads import AuditSettings
from domain.actors import Role
from domain.audit import TreeHead
from domain.certificate import Certificate
from domain.reasons import RevocationReason
from domain.tokens import ApiToken
from tests.audit_helpers import RawLog, audited_ledger, audited_settings, cli, sign_heads
from tests.conftest import ADMIN, OFFICER, build_ledger
from tests.crl_helpers import issue, publish_crls


@dataclass
class Scene:
    ledger: CertLedger
    settings: Settings
    admin: str      # token
    officer: str    # token
    certificates: list[Certificate]


def _scene(settings: Settings) -> Scene:
    ledger = audited_ledger(settings)
    admin = ledger.tokens.create(ADMIN, name="admin-zhao", role=Role.ADMIN)
    officer = ledger.tokens.create(ADMIN, name="officer-wang", role=Role.OFFICER)
    certificates = [issue(ledger, f"t{index}") for index in range(3)]
    ledger.certificates.revoke(OFFICER, certificates[0].id, RevocationReason.KEY_COMPROMISE)
    publish_crls(ledger)
    assert [head.number for head in sign_heads(ledger)] == [1]
    issue(ledger, "t3")
    ledger.certificates.revoke(OFFICER, certificates[1].id, RevocationReason.SUPERSEDED)
    assert [head.number for head in sign_heads(ledger)] == [2]
    root = ledger.hierarchy.authority("root-ca").certificate_der
    (settings.data_dir / "root.der").write_bytes(root)
    return Scene(ledger, audited_settings(settings), admin, officer, certificates)


def _modify(raw: RawLog, scene: Scene) -> tuple[str, int]:
    position = raw.position_of(Certificate.Revoked.TOPIC)
    state = raw.state(position)
    assert state.count(b'"reason":1') == 1
    raw.set_state(position, state.replace(b'"reason":1', b'"reason":4'))  # one byte
    return "modified", position


def _delete(raw: RawLog, scene: Scene) -> tuple[str, int]:
    position = raw.position_of(Certificate.Approved.TOPIC)
    raw.delete(position)
    return "deleted", position


def _swap(raw: RawLog, scene: Scene) -> tuple[str, int]:
    first = raw.position_of(Certificate.Issued.TOPIC)
    second = raw.position_of(Certificate.Revoked.TOPIC)
    raw.swap(first, second)
    return "swapped", first


def _insert(raw: RawLog, scene: Scene) -> tuple[str, int]:
    """A revocation nobody made, of the certificate still valid, in the middle of the log."""
    revoked = raw.state(raw.position_of(Certificate.Revoked.TOPIC))
    victim = scene.certificates[2]
    position = raw.position_of(Certificate.Issued.TOPIC, 1) + 1
    raw.insert(position, victim.id, victim.version + 1, Certificate.Revoked.TOPIC, revoked)
    return "inserted", position


def _promote_token(raw: RawLog, scene: Scene) -> tuple[str, int]:
    position = raw.position_of(ApiToken.Created.TOPIC, 1)
    state = raw.state(position)
    assert b'"role":"officer"' in state
    raw.set_state(position, state.replace(b'"role":"officer"', b'"role":"admin"'))
    return "modified", position


def _drop_last_head(raw: RawLog, scene: Scene) -> tuple[str, int]:
    position = raw.position_of(TreeHead.Signed.TOPIC, 1)
    raw.delete(position)
    return "deleted", position


TAMPERING: dict[str, Callable[[RawLog, Scene], tuple[str, int]]] = {
    "one byte of a payload": _modify, "a deleted event": _delete, "two swapped events": _swap,
    "a forged event": _insert, "an officer made admin": _promote_token,
    "the last tree head dropped": _drop_last_head}


@pytest.mark.parametrize("tamper", list(TAMPERING))
def test_verify_names_the_position_and_the_server_refuses_writes(
        settings: Settings, tamper: str) -> None:
    scene = _scene(settings)
    data = settings.data_dir
    with cli(scene.settings) as run:
        status, export = run("audit", "export")
        assert status == 0
        (data / "before.jsonl").write_text(export)
        status, out = run("audit", "verify", str(data / "before.jsonl"), "--trust",
                          str(data / "root.der"), "--heads", str(data / "tree-heads"))
        assert status == 0, out
        assert "verified" in out

        raw = RawLog(settings)
        try:
            kind, position = TAMPERING[tamper](raw, scene)
        finally:
            raw.close()

        status, export = run("audit", "export")
        (data / "after.jsonl").write_text(export)
        status, out = run("audit", "verify", str(data / "after.jsonl"), "--trust",
                          str(data / "root.der"), "--heads", str(data / "tree-heads"))
        assert status == 1, out
        first = [line for line in out.splitlines() if line.startswith("FAILED")][0]
        assert first.startswith(f"FAILED {kind}: position {position}:"), out
        status, out = run("audit", "check")
        assert status == 1 and f"position {position}" in out, out

    _refuses_writes(build_ledger(scene.settings), scene, position)


def _refuses_writes(ledger: CertLedger, scene: Scene, position: int) -> None:
    """A server started on the tampered data directory."""
    client = create_app({"CERTLEDGER": ledger, "TESTING": True}).test_client()
    integrity = ledger.read.integrity
    assert not integrity.allows_writes and f"position {position}" in integrity.reason
    head = ledger.log.head()
    certificate = scene.certificates[2]
    for token, path, body in [
            (scene.admin, "/api/v1/certificates", {"profile": "tls-server", "csr": "x",
                                                   "subject": {}}),
            (scene.officer, f"/api/v1/certificates/{certificate.id}/revoke",
             {"reason": "keyCompromise"}),
            (scene.admin, f"/api/v1/certificates/{certificate.id}/suspend", {})]:
        answer = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 503, answer.get_json()
        error = answer.get_json()["error"]
        assert error["code"] == "log_integrity_failed" and f"position {position}" in \
            error["message"]
    assert ledger.log.head() == head  # nothing recorded
    read = client.get(f"/api/v1/certificates/{scene.certificates[1].id}",
                      headers={"Authorization": f"Bearer {scene.admin}"})
    assert read.status_code == 200 and read.get_json()["status"] == "revoked"
    assert client.get("/crl/issuing-ca.crl").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert ledger.read.head_signing.run() == 0  # signs nothing either
    assert ledger.log.head() == head


def test_an_untouched_log_passes_the_start_up_check_and_takes_writes(
        settings: Settings) -> None:
    scene = _scene(settings)
    ledger = build_ledger(scene.settings)
    client = create_app({"CERTLEDGER": ledger, "TESTING": True}).test_client()
    assert ledger.read.integrity.allows_writes and ledger.read.integrity.findings == []
    answer = client.post(f"/api/v1/certificates/{scene.certificates[2].id}/suspend", json={},
                         headers={"Authorization": f"Bearer {scene.officer}"})
    assert answer.status_code == 200, answer.get_json()


def test_a_change_while_running_stops_the_tree_head_signer(settings: Settings) -> None:
    """Signing checks the events it adds against the tree built when they were projected:
    an event changed in between is refused, and the process stops writes."""
    scene = _scene(settings)
    ledger = scene.ledger
    issue(ledger, "late")
    ledger.read.runner.catch_up()
    raw = RawLog(settings)
    try:
        position = raw.position_of(Certificate.Applied.TOPIC, 4)
        state = raw.state(position)
        assert b"late.example.cn" in state
        raw.set_state(position, state.replace(b"late.example.cn", b"lame.example.cn"))
    finally:
        raw.close()
    signing = ledger.read.head_signing
    signing.heads.settings = AuditSettings(head_every=1)  # a head is due at once
    head = ledger.log.head()
    assert signing.run() == 0
    assert ledger.log.head() == head  # nothing signed
    integrity = ledger.read.integrity
    assert not integrity.allows_writes
    assert "no tree head is signed" in integrity.reason
