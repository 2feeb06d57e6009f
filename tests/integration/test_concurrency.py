"""Conflicting commands from two workers: one winner, one 409, no event lost or doubled.

Both workers load the certificate before either saves (a barrier holds them), so
the race is real on every run, not a matter of luck.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from api.bootstrap import CertLedger
from domain.certificate import Certificate
from domain.errors import IllegalTransition
from domain.reasons import RevocationReason
from tests.conftest import OFFICER, PORTAL, build_ledger
from tests.helpers import event_topics


def _race(workers: list[CertLedger], command: Callable[[CertLedger], Any]) -> list[Any]:
    """Run ``command`` on each worker at once; the first load of each waits for the other."""
    barrier = threading.Barrier(len(workers), timeout=10)
    for worker in workers:
        original = worker.certificates.get
        first = {"done": False}

        def held(certificate_id: UUID, _original: Any = original,
                 _first: dict[str, bool] = first) -> Certificate:
            certificate = _original(certificate_id)
            if not _first["done"]:
                _first["done"] = True
                barrier.wait()
            return certificate

        worker.certificates.get = held  # type: ignore[method-assign]
    outcomes: list[Any] = [None] * len(workers)

    def run(index: int) -> None:
        try:
            outcomes[index] = command(workers[index])
        except Exception as exc:  # collected and asserted on below
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def _two_workers(ledger: CertLedger) -> list[CertLedger]:
    return [build_ledger(ledger.settings) for _ in range(2)]


def test_two_concurrent_approvals_one_wins_one_conflicts(ledger: CertLedger,
                                                         csr_pem: str) -> None:
    cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr_pem,
                                    subject={"dns_names": ["race.example.cn"]})
    outcomes = _race(_two_workers(ledger), lambda w: w.certificates.approve(OFFICER, cid))

    winners = [o for o in outcomes if isinstance(o, Certificate)]
    losers = [o for o in outcomes if isinstance(o, IllegalTransition)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert event_topics(ledger).count("certledger:Certificate.Approved:v1") == 1


def test_two_concurrent_revocations_one_wins_one_conflicts(ledger: CertLedger,
                                                           csr_pem: str) -> None:
    cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr_pem,
                                    subject={"dns_names": ["race.example.cn"]})
    ledger.certificates.approve(OFFICER, cid)
    ledger.certificates.issue(OFFICER, cid)
    reasons = [RevocationReason.KEY_COMPROMISE, RevocationReason.SUPERSEDED]
    workers = _two_workers(ledger)
    outcomes = _race(workers, lambda w: w.certificates.revoke(OFFICER, cid,
                                                              reasons[workers.index(w)]))

    winners = [o for o in outcomes if isinstance(o, Certificate)]
    losers = [o for o in outcomes if isinstance(o, IllegalTransition)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert event_topics(ledger).count("certledger:Certificate.Revoked:v1") == 1
    assert ledger.certificates.get(cid).revocation_reason is winners[0].revocation_reason


def test_two_concurrent_issuances_sign_once(ledger: CertLedger, csr_pem: str) -> None:
    cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=csr_pem,
                                    subject={"dns_names": ["race.example.cn"]})
    ledger.certificates.approve(OFFICER, cid)
    outcomes = _race(_two_workers(ledger), lambda w: w.certificates.issue(OFFICER, cid))

    assert sum(isinstance(o, Certificate) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, IllegalTransition) for o in outcomes) == 1, outcomes
    topics = event_topics(ledger)
    assert topics.count("certledger:Certificate.Issued:v1") == 1
    assert topics.count("certledger:SerialClaim.Claimed:v1") == 1
