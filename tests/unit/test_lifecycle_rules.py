"""The certificate lifecycle rules under random command sequences, on the in-memory event
store and without lint: the aggregate rules and the applications' retries, many examples,
in seconds. The same machine runs on SQLite in tests/integration/test_stateful.py."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from api.bootstrap import CertLedger, bootstrap
from ca.applications.event_log import MEMORY
from ca.keys.keystore import KeyStore
from tests.conftest import PASSPHRASE, make_settings
from tests.helpers import MovableClock
from tests.integration.test_stateful import CertificateLifecycle


class InMemoryLifecycle(CertificateLifecycle):
    def make_ledger(self) -> CertLedger:
        ledger = bootstrap(make_settings(self.directory, MEMORY),
                           keys=KeyStore(self.directory / "keys", PASSPHRASE, work_factor=2**10),
                           clock=MovableClock(), lint=False)
        self.ledgers = [*getattr(self, "ledgers", []), ledger]
        return ledger

    def teardown(self) -> None:
        for ledger in getattr(self, "ledgers", []):
            ledger.close()
        super().teardown()


TestInMemoryLifecycle = InMemoryLifecycle.TestCase
TestInMemoryLifecycle.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
