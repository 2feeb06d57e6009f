"""Re-deriving a published CRL from the events, and comparing it with the CRL itself.

Every CRL is recorded by a ``CertificateAuthority.CrlIssued`` event: its number, kind,
base, thisUpdate and nextUpdate, the log position its entries reflect, their count and
the SHA-256 of its revokedCertificates contents. Here the events are replayed up to that
position, independently of the read models: revocations, holds and their lifting give
each certificate's entry (encoded as RFC 5280 §5.3 says, in ascending serial order); a
full CRL lists every entry standing at its position, a delta CRL every entry and every
removeFromCRL that changed after its base CRL's position. The derived entries must give
the event's count and digest, and the published CRL (its bytes) must carry exactly them,
its number, base, times, and a signature by the CA's key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from asn1crypto import crl as asn1_crl
from asn1crypto import x509

from ca.encoding.crl_encoding import encode_revoked_entry, revoked_certificates, split_entries
from ca.encoding.signers import SignatureError, verify_signature
from domain.authority import CertificateAuthority
from domain.certificate import Certificate
from domain.reasons import RevocationReason

__all__ = ["CrlTarget", "collect_targets", "derive", "compare_published", "Events"]

Events = Callable[[], Iterable[tuple[int, Any]]]


@dataclass(frozen=True)
class CrlTarget:
    issuer: str
    number: int
    kind: str
    base: int | None
    this_update: datetime
    next_update: datetime
    log_position: int
    entry_count: int
    entries_sha256: str
    position: int  # of the CrlIssued event


@dataclass
class _Entries:
    """One CA's CRL state while replaying: serial -> (entry, position, revoked at)."""

    entries: dict[int, tuple[bytes, int, datetime]] = field(default_factory=dict)
    removals: dict[int, tuple[bytes, int]] = field(default_factory=dict)


def collect_targets(events: Events) -> tuple[list[CrlTarget], dict[str, bytes]]:
    """Every CrlIssued event, and every CA's certificate, by name."""
    targets, certificates, names = [], {}, {}
    for position, event in events():
        if isinstance(event, CertificateAuthority.Established):
            certificates[event.name] = event.certificate_der
            names[event.originator_id] = event.name
        elif isinstance(event, CertificateAuthority.CrlIssued):
            targets.append(CrlTarget(
                names.get(event.originator_id, str(event.originator_id)), event.crl_number,
                str(event.kind), event.base_crl_number, event.this_update, event.next_update,
                event.log_position, event.entry_count, event.entries_sha256, position))
    return targets, certificates


def derive(events: Events, targets: Sequence[CrlTarget],
           every: Sequence[CrlTarget] = ()) -> dict[tuple[str, int], bytes]:
    """The revokedCertificates contents each target should have, from one replay.
    ``every``: all targets of the CAs concerned (a delta's base is found among them)."""
    positions = {(t.issuer, t.number): t.log_position for t in [*every, *targets]}
    pending = sorted(targets, key=lambda t: t.log_position)
    results: dict[tuple[str, int], bytes] = {}
    owners: dict[UUID, tuple[str, int | None]] = {}  # certificate -> (issuer, serial)
    states: dict[str, _Entries] = {}

    def settle(before: int) -> None:
        while pending and pending[0].log_position < before:
            target = pending.pop(0)
            base = None if target.base is None else positions.get((target.issuer,
                                                                    target.base), 0)
            results[(target.issuer, target.number)] = _contents(
                states.get(target.issuer, _Entries()), base)

    for position, event in events():
        settle(position)
        if not pending:
            break
        _apply(event, position, owners, states)
    settle(1 << 63)
    return results


def _apply(event: Any, position: int, owners: dict[UUID, tuple[str, int | None]],
           states: dict[str, _Entries]) -> None:
    if isinstance(event, Certificate.Applied):
        owners[event.originator_id] = (event.issuer, None)
    elif isinstance(event, Certificate.Issued) and event.originator_id in owners:
        owners[event.originator_id] = (owners[event.originator_id][0], event.serial_number)
    elif isinstance(event, Certificate.Suspended | Certificate.Resumed | Certificate.Revoked):
        issuer, serial = owners.get(event.originator_id, ("", None))
        if serial is None:
            return
        state = states.setdefault(issuer, _Entries())
        if isinstance(event, Certificate.Resumed):
            held = state.entries.pop(serial, None)
            since = held[2] if held else event.timestamp
            state.removals[serial] = (encode_revoked_entry(
                serial, since, RevocationReason.REMOVE_FROM_CRL), position)
            return
        if isinstance(event, Certificate.Suspended):
            when = event.timestamp
            entry = encode_revoked_entry(serial, when, RevocationReason.CERTIFICATE_HOLD)
        else:
            when = event.revocation_time
            entry = encode_revoked_entry(serial, when, RevocationReason(event.reason),
                                         event.invalidity_date)
        state.entries[serial] = (entry, position, when)
        state.removals.pop(serial, None)


def _contents(state: _Entries, base_position: int | None) -> bytes:
    if base_position is None:  # a full CRL: every standing entry
        chosen = [(serial, entry) for serial, (entry, _, _) in state.entries.items()]
    else:  # a delta CRL: what changed after its base
        chosen = [(serial, entry) for serial, (entry, at, _) in state.entries.items()
                  if at > base_position]
        chosen += [(serial, entry) for serial, (entry, at) in state.removals.items()
                   if at > base_position]
    return b"".join(entry for _, entry in sorted(chosen))


def compare_published(target: CrlTarget, expected: bytes, published: bytes | None,
                      ca_certificate: bytes | None) -> list[str]:
    """Every way the event or the published CRL differs from the re-derived CRL."""
    problems = []
    count = len(split_entries(expected))
    digest = hashlib.sha256(expected).hexdigest()
    if (count, digest) != (target.entry_count, target.entries_sha256):
        problems.append(f"the CrlIssued event (position {target.position}) says "
                        f"{target.entry_count} entries with SHA-256 "
                        f"{target.entries_sha256[:16]}…; the events up to position "
                        f"{target.log_position} give {count} with {digest[:16]}…")
    if published is None:
        return problems + ["the published CRL is not available to compare"]
    try:
        crl = asn1_crl.CertificateList.load(published)
        tbs = crl["tbs_cert_list"]
        number, base = crl.crl_number_value, crl.delta_crl_indicator_value
        fields = [("CRL number", number.native if number else None, target.number),
                  ("base CRL number", base.native if base else None, target.base),
                  ("thisUpdate", tbs["this_update"].native, target.this_update),
                  ("nextUpdate", tbs["next_update"].native, target.next_update)]
        actual = bytes(revoked_certificates(published))
    except (ValueError, TypeError, KeyError) as exc:
        return problems + [f"the published CRL cannot be read: {exc}"]
    problems += [f"its {name} is {mine}, the event says {theirs}"
                 for name, mine, theirs in fields if mine != theirs]
    if actual != expected:
        problems += _entry_differences(expected, actual)
    if ca_certificate is None:
        problems.append(f"no certificate of CA {target.issuer} in the log")
    else:
        try:
            verify_signature(x509.Certificate.load(ca_certificate).public_key,
                             crl["signature_algorithm"], crl["signature"].native, tbs.dump())
        except SignatureError as exc:
            problems.append(f"its signature does not verify with {target.issuer}'s key: {exc}")
    return problems


def _entry_differences(expected: bytes, actual: bytes) -> list[str]:
    mine, theirs = _by_serial(expected), _by_serial(actual)
    problems = [f"serial {serial:x} is missing from the published CRL"
                for serial in sorted(mine.keys() - theirs.keys())]
    problems += [f"serial {serial:x} is listed but the events never revoked or held it there"
                 for serial in sorted(theirs.keys() - mine.keys())]
    problems += [f"serial {serial:x} is listed as {theirs[serial][1]}; the events say "
                 f"{mine[serial][1]}" for serial in sorted(mine.keys() & theirs.keys())
                 if mine[serial][0] != theirs[serial][0]]
    return problems or ["the entries are the same but not in the same order or encoding"]


def _by_serial(contents: bytes) -> dict[int, tuple[bytes, str]]:
    found = {}
    for der in split_entries(contents):
        entry = asn1_crl.RevokedCertificate.load(der)
        reason = entry.crl_reason_value
        name = RevocationReason(int.from_bytes(reason.contents, "big")).rfc_name \
            if reason is not None else "unspecified"
        date = entry["revocation_date"].native
        found[entry["user_certificate"].native] = (der, f"{name} at {date.isoformat()}")
    return found
