"""CRLs recorded on the CertificateAuthority aggregate: numbers only go up, coverage never
goes back, a delta amends the current base."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.actors import SYSTEM
from domain.authority import CertificateAuthority
from domain.errors import IllegalTransition

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DIGEST = "0" * 64


def _authority() -> CertificateAuthority:
    return CertificateAuthority.establish(actor=SYSTEM, name="issuing-ca",
                                          key_algorithm="ecdsa-p256", key_ref="k",
                                          certificate_der=b"\x30\x00", parent="root-ca")


def _record(authority: CertificateAuthority, number: int, kind: str = "full", *,
            position: int = 10, **extra: Any) -> None:
    authority.record_crl(SYSTEM, T0, crl_number=number, kind=kind, this_update=T0,
                         next_update=T0 + timedelta(days=1), entry_count=0,
                         entries_sha256=DIGEST, log_position=position, **extra)


def test_a_base_then_deltas_then_a_new_base() -> None:
    authority = _authority()
    _record(authority, 1, delta_base=True)
    _record(authority, 2, "delta", base_crl_number=1)
    _record(authority, 3)  # a full CRL that is not a base
    _record(authority, 4, "delta", base_crl_number=1)
    assert authority.crl_base is not None and authority.crl_base.crl_number == 1
    _record(authority, 5, delta_base=True, position=11)
    assert (authority.last_crl_number, authority.crl_base.crl_number) == (5, 5)
    events = authority.collect_events()
    assert [type(e).TOPIC for e in events[1:]] == \
        ["certledger:CertificateAuthority.CrlIssued:v1"] * 5  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", ["same number", "lower number", "position back",
                                  "delta without base", "delta of another base",
                                  "base on a delta", "times", "kind", "digest"])
def test_rules(case: str) -> None:
    authority = _authority()
    _record(authority, 3, delta_base=True)
    with pytest.raises(IllegalTransition):
        match case:
            case "same number":
                _record(authority, 3)
            case "lower number":
                _record(authority, 2)
            case "position back":
                _record(authority, 4, position=9)
            case "delta without base":
                _record(_authority(), 1, "delta", base_crl_number=None)
            case "delta of another base":
                _record(authority, 4, "delta", base_crl_number=2)
            case "base on a delta":
                _record(authority, 4, "delta", base_crl_number=3, delta_base=True)
            case "times":
                authority.record_crl(SYSTEM, T0, crl_number=4, kind="full", this_update=T0,
                                     next_update=T0, entry_count=0, entries_sha256=DIGEST,
                                     log_position=10)
            case "kind":
                _record(authority, 4, "partial")
            case "digest":
                authority.record_crl(SYSTEM, T0, crl_number=4, kind="full", this_update=T0,
                                     next_update=T0 + timedelta(days=1), entry_count=0,
                                     entries_sha256="abc", log_position=10)
    assert authority.last_crl_number == 3
