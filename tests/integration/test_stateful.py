"""Random command sequences against a CA, checked against a small model.

Checks: illegal transitions raise domain errors and record nothing; the log only
grows; serial numbers are unique; replaying the log from zero gives exactly the same
certificates. :class:`CertificateLifecycle` is the machine; tests/unit runs it on the
in-memory event store without lint (the aggregate rules, many examples, in seconds),
this module on SQLite files with everything (the storage path, fewer examples, a
fresh process replaying the log).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from api.bootstrap import CertLedger
from ca.applications.event_log import MEMORY
from ca.encoding.algorithms import KeyAlgorithm
from domain.certificate import Status
from domain.errors import IllegalTransition
from domain.reasons import RevocationReason
from tests.conftest import (
    OFFICER,
    PORTAL,
    build_ledger,
    close_ledgers,
    make_settings,
    with_hierarchy,
)
from tests.helpers import make_csr

_CSR = make_csr(KeyAlgorithm.ECDSA_P256)[1]
_REASONS = [r for r in RevocationReason if r.value not in (6, 8, 10)]

# expected next status for each command, from each status in which it is legal
_TRANSITIONS: dict[str, dict[Status, Status]] = {
    "approve": {Status.APPLIED: Status.APPROVED},
    "reject": {Status.APPLIED: Status.REJECTED},
    "issue": {Status.APPROVED: Status.ISSUED},
    "suspend": {Status.ISSUED: Status.SUSPENDED},
    "resume": {Status.SUSPENDED: Status.ISSUED},
    "revoke": {Status.ISSUED: Status.REVOKED, Status.SUSPENDED: Status.REVOKED},
}


class CertificateLifecycle(RuleBasedStateMachine):
    certificates = Bundle("certificates")

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="certledger-stateful-"))
        self.ledger = with_hierarchy(self.make_ledger())
        self.model: dict[UUID, Status] = {}
        self.log_length = self._log_length()

    def make_ledger(self) -> CertLedger:
        """A CA over SQLite files in this machine's directory (a second call: the same
        stores, as another process would open them)."""
        return build_ledger(make_settings(self.directory))

    def teardown(self) -> None:
        close_ledgers()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _log_length(self) -> int:
        return self.ledger.log.recorder.max_notification_id() or 0

    @rule(target=certificates, profile=st.sampled_from(["tls-server", "personal-signing"]))
    def apply(self, profile: str) -> UUID:
        subject = {"dns_names": ["a.example.cn"]} if profile == "tls-server" else {
            "common_name": "李四"}
        cid = self.ledger.certificates.apply(PORTAL, profile=profile, csr=_CSR, subject=subject)
        self.model[cid] = Status.APPLIED
        return cid

    @rule(cid=certificates,
          command=st.sampled_from(sorted(_TRANSITIONS)),
          reason=st.sampled_from(_REASONS))
    def command(self, cid: UUID, command: str, reason: RevocationReason) -> None:
        calls = {
            "approve": lambda: self.ledger.certificates.approve(OFFICER, cid),
            "reject": lambda: self.ledger.certificates.reject(OFFICER, cid,
                                                              "documents do not match"),
            "issue": lambda: self.ledger.certificates.issue(OFFICER, cid),
            "suspend": lambda: self.ledger.certificates.suspend(OFFICER, cid),
            "resume": lambda: self.ledger.certificates.resume(OFFICER, cid),
            "revoke": lambda: self.ledger.certificates.revoke(OFFICER, cid, reason),
        }
        before = self._log_length()
        expected = _TRANSITIONS[command].get(self.model[cid])
        if expected is None:
            try:
                calls[command]()
            except IllegalTransition:
                assert self._log_length() == before, "a refused command recorded something"
                return
            raise AssertionError(f"{command} from {self.model[cid]} should have been refused")
        calls[command]()
        self.model[cid] = expected
        assert self.ledger.certificates.get(cid).status is expected

    @rule()
    def replay_from_zero(self) -> None:
        replica = self.make_ledger() if self.ledger.settings.database_url != MEMORY \
            else self.ledger  # the in-memory store is this process's: its repository replays
        for cid in self.model:
            assert replica.certificates.get(cid) == self.ledger.certificates.get(cid)

    @invariant()
    def log_only_grows(self) -> None:
        length = self._log_length()
        assert length >= self.log_length
        self.log_length = length

    @invariant()
    def serial_numbers_are_unique(self) -> None:
        serials = [self.ledger.certificates.get(cid).serial_number for cid in self.model]
        issued = [s for s in serials if s is not None]
        assert len(issued) == len(set(issued))

    @invariant()
    def states_match_the_model(self) -> None:
        for cid, status in self.model.items():
            assert self.ledger.certificates.get(cid).status is status


TestCertificateLifecycle = CertificateLifecycle.TestCase
TestCertificateLifecycle.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
