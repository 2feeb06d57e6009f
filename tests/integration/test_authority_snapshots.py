"""A CA aggregate with hundreds of CRL events loads from a snapshot, identical to a replay."""

from __future__ import annotations

from datetime import timedelta

from api.bootstrap import CertLedger
from domain.authority import FULL_CRL, CertificateAuthority
from tests.conftest import ADMIN, build_ledger


def test_authority_with_many_crls_snapshots_and_loads_the_same(ledger: CertLedger) -> None:
    name = "issuing-ca"
    for number in range(1, 231):
        authority = ledger.hierarchy.get(name)
        now = ledger.clock()
        authority.record_crl(ADMIN, now, crl_number=number, kind=FULL_CRL, this_update=now,
                             next_update=now + timedelta(hours=24), entry_count=0,
                             entries_sha256="0" * 64, log_position=number, delta_base=True)
        ledger.log.save(authority)

    snapshots = list(ledger.log.snapshots.get(CertificateAuthority.create_id(name)))  # type: ignore[union-attr]
    assert snapshots, "no snapshot was taken"
    loaded = build_ledger(ledger.settings).hierarchy.get(name)
    replayed = None
    for event in ledger.log.events.get(CertificateAuthority.create_id(name)):
        replayed = event.mutate(replayed)
    assert loaded == replayed
    assert loaded.last_crl_number == 230 and loaded.crl_base is not None
    assert loaded.crl_base.crl_number == 230
