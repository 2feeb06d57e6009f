"""One leader runs the projection runner and the processes: two ``certledger projections
run`` processes on one store, one leads and the other stands by; ``kill -9`` the leader
and the other takes over within seconds; nothing is projected or published twice.
SQLite (a file lock) and PostgreSQL (an advisory lock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from api.settings import Settings
from domain.reasons import RevocationReason
from tests.conftest import OFFICER, PASSPHRASE, build_ledger, with_hierarchy
from tests.crl_helpers import crl_entries, issue
from tests.servers import ROOT

LEADS = "certledger.leader: this process leads"
STANDS_BY = "certledger.leader: another process leads"


class Runner:
    def __init__(self, settings: Settings, name: str) -> None:
        self.log = settings.data_dir / f"runner-{name}.log"
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("CERTLEDGER_") or key.startswith("CERTLEDGER_DB_")
               or key == "CERTLEDGER_READ_POOL_SIZE"}
        env.update({"CERTLEDGER_DATA_DIR": str(settings.data_dir), "PYTHONPATH": str(ROOT),
                    "CERTLEDGER_KEY_PASSPHRASE": PASSPHRASE.decode(),
                    "CERTLEDGER_CRL_DELAY": "0.2s", "CERTLEDGER_LOG_FORMAT": "text",
                    # two runners and this test within the suite's connection budget
                    "CERTLEDGER_DB_MAX_OVERFLOW": "1", "CERTLEDGER_READ_POOL_SIZE": "1"})
        if settings.database_url:
            env["CERTLEDGER_DATABASE_URL"] = settings.database_url
        with open(self.log, "wb") as out:
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "projections", "run"], cwd=ROOT, env=env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def said(self, text: str) -> int:
        return self.log.read_text().count(text)

    def kill9(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
            self.process = None


def _until(check: Any, seconds: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"{what}: not in {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - started


def _crl_serials(ledger: Any) -> dict[int, int | None]:
    stored = ledger.read.crls.latest("issuing-ca", "full")
    return crl_entries(stored.der) if stored is not None else {}


def test_the_standby_takes_over_when_the_leader_is_killed(settings: Settings) -> None:
    ledger = with_hierarchy(build_ledger(settings))
    first, second = issue(ledger, "first"), issue(ledger, "second")
    a = Runner(settings, "a")
    b: Runner | None = None
    try:
        _until(lambda: a.said(LEADS) == 1, 30, "the first runner leads")
        b = Runner(settings, "b")
        _until(lambda: b.said(STANDS_BY) == 1, 30, "the second runner stands by")
        ledger.certificates.revoke(OFFICER, first.id, RevocationReason.KEY_COMPROMISE)
        _until(lambda: first.serial_number in _crl_serials(ledger), 20, "the leader's CRL")
        assert b.said(LEADS) == 0 and b.said("started in this process") == 0

        a.kill9()
        took = _until(lambda: b.said(LEADS) == 1, 10, "the standby takes over")
        assert took < 5.0, took
        ledger.certificates.revoke(OFFICER, second.id, RevocationReason.SUPERSEDED)
        _until(lambda: second.serial_number in _crl_serials(ledger), 20, "the new leader's CRL")
        _until(lambda: min(ledger.read.runner.positions().values()) >= ledger.log.head(), 10,
               "every read model at the head")
    finally:
        a.stop()
        if b is not None:
            b.stop()
    assert _crl_serials(ledger) == {first.serial_number: 1, second.serial_number: 4}
    published = [(event.originator_id, event.kind, event.log_position)
                 for _, event in ledger.log.read(topics=[
                     "certledger:CertificateAuthority.CrlIssued:v1"])]
    assert len(published) == len(set(published)), "a CRL was published twice"
    rows = ledger.read.database.query("SELECT count(*), count(DISTINCT serial) FROM "
                                      "rm_crl_entries WHERE issuer = 'issuing-ca'")
    assert tuple(rows[0]) == (2, 2)
