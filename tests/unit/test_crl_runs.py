"""The publisher's cache of a CA's entries (runs of pre-joined DER) stays sorted and exact
under any inserts, replacements and removals; the auditor's digest reads a CRL right."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import projections.crl_entry_runs
from ca.encoding.crl_encoding import crl_ends, encode_revoked_entry, entries_digest, split_entries
from domain.reasons import RevocationReason
from projections.crl_entry_runs import EntryRuns, entry_order

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SERIALS = st.integers(1, (1 << 159) - 1) | st.integers(1, 300)  # long and short DER serials


def _entry(serial: int, reason: RevocationReason = RevocationReason.SUPERSEDED) -> bytes:
    return encode_revoked_entry(serial, T0, reason)


@settings(max_examples=60, deadline=None)
@given(initial=st.lists(SERIALS, unique=True, max_size=40),
       changes=st.lists(st.tuples(st.booleans(), SERIALS), max_size=40))
def test_patched_runs_equal_the_sorted_entries(initial: list[int],
                                               changes: list[tuple[bool, int]]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projections.crl_entry_runs, "RUN", 3)  # small runs: splits happen
        runs = EntryRuns(0, 0)
        expected = {serial: _entry(serial) for serial in initial}
        ordered = sorted(initial)
        for start in range(0, len(ordered), 3):
            runs.append([expected[s] for s in ordered[start:start + 3]])
        for keep, serial in changes:
            if keep:
                expected[serial] = _entry(serial, RevocationReason.KEY_COMPROMISE)
            else:
                expected.pop(serial, None)
        # as the store hands them over: each touched serial's final state, once
        touched = {serial for _, serial in changes}
        runs.patch([expected[s] for s in touched if s in expected],
                   [_entry(s) for s in touched if s not in expected])
        joined = b"".join(runs.runs)
        assert joined == b"".join(expected[s] for s in sorted(expected))
        assert sum(runs.counts) == len(expected)
        assert all(len(split_entries(run)) == count for run, count in zip(runs.runs, runs.counts,
                                                                          strict=True))
        assert all(count <= 6 for count in runs.counts) and all(runs.counts)
        assert runs.firsts == [entry_order(run) for run in runs.runs]
        entries = [expected[s] for s in sorted(expected)]
        if len(entries) >= 4:
            assert crl_ends(runs.runs, 2) == entries[:2] + entries[-2:]


def test_entries_digest_is_sha256_of_the_entries_in_order() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509 import Name, NameAttribute
    from cryptography.x509.oid import NameOID

    from ca.encoding.crl_encoding import build_crl
    from ca.encoding.signers import CryptographySigner

    signer = CryptographySigner(ec.generate_private_key(ec.SECP256R1()))
    entries = [_entry(serial) for serial in (5, 70, 1 << 100)]
    issuer = Name([NameAttribute(NameOID.COMMON_NAME, "x")]).public_bytes()
    crl = build_crl(signer, issuer_name_der=issuer, authority_key_identifier=b"\x01" * 20,
                    crl_number=1, this_update=T0, next_update=datetime(2026, 1, 2, tzinfo=UTC),
                    entries=[entries[0] + entries[1], entries[2]])
    assert entries_digest(crl) == (3, hashlib.sha256(b"".join(entries)).hexdigest())
    empty = build_crl(signer, issuer_name_der=issuer, authority_key_identifier=b"\x01" * 20,
                      crl_number=2, this_update=T0,
                      next_update=datetime(2026, 1, 2, tzinfo=UTC), entries=[])
    assert entries_digest(empty) == (0, hashlib.sha256(b"").hexdigest())
