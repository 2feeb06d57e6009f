"""CRL publishing: full and delta CRLs signed from the read model's pre-encoded entries.

One publication is a full CRL and a delta CRL of one CA, made from one snapshot of the
CRL read model and signed with consecutive CRL numbers. The numbers are allocated by
saving ``CertificateAuthority.CrlIssued`` events (both in one save): a publisher that
loses the race to another gets the library's IntegrityError, takes a fresh snapshot and
signs again with the next numbers, so no number is ever used twice and a higher number
never covers less of the log. Nothing is published that pkilint calls ERROR or FATAL.

Full CRLs carry freshestCRL (the delta URL). Deltas amend the *base*: the full CRL of
the last scheduled publication (one per ``interval``), not every full CRL, so a relying
party that caches the base until its nextUpdate can keep using fresh deltas with it.
A delta lists every entry that changed after the base (revoked, put on hold, revoked
after a hold) and a removeFromCRL entry for each certificate taken off hold since.

Digest (``entries_sha256`` in the events): SHA-256 of the CRL's revokedCertificates
contents, that is of the DER of every entry concatenated in ascending serial order
(the order they are listed in), SHA-256 of nothing when there are none.
:func:`entries_digest` recomputes it from a CRL, as an auditor would.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from ca.applications.conflicts import retry_on_conflict
from ca.applications.event_log import EventLog
from ca.applications.hierarchy import Hierarchy
from ca.applications.ports import Clock
from ca.encoding.crl_encoding import build_crl, crl_ends, revoked_certificates
from ca.encoding.lint import lint_crl
from ca.policy.issuance import Issuer, PublicUrls
from domain.actors import SYSTEM, Actor
from domain.authority import DELTA_CRL, FULL_CRL, CertificateAuthority, CrlKind, CrlRecord
from domain.errors import DomainError

__all__ = ["CrlPublisher", "CrlSettings", "CrlSource", "CrlUnavailable", "EntrySnapshot",
           "Publication"]

log = logging.getLogger("certledger.crl")


@dataclass(frozen=True)
class CrlSettings:
    """``interval``: a new base CRL this often; ``validity``: a full CRL's nextUpdate -
    thisUpdate; ``delta_validity``: a delta CRL's (longer than ``interval``, so the
    delta of one scheduled run is still valid when the next runs); ``delay``: seconds
    from a revocation to its CRL; ``lint_limit``: CRLs with more entries are linted as a
    probe (see CrlPublisher._lint); ``sync_timeout``: how long a publisher waits for the
    read model to reach the log's head; ``catch_up_every``: seconds between looks for
    changes a stored CRL misses; ``retry_after``: a CA whose publication failed is tried
    again after this many seconds."""

    interval: timedelta = timedelta(hours=6)
    validity: timedelta = timedelta(hours=24)
    delta_validity: timedelta = timedelta(hours=8)
    delay: float = 5.0
    lint_limit: int = 100
    sync_timeout: float = 10.0
    catch_up_every: float = 1.0
    retry_after: float = 30.0

    def __post_init__(self) -> None:
        if not timedelta(seconds=1) <= self.interval < self.validity:
            raise ValueError("the CRL interval must be at least 1 s and below the validity")
        if self.delta_validity <= timedelta(0) or self.delay < 0 or self.lint_limit < 2:
            raise ValueError("CRL delta validity must be positive, delay >= 0, lint limit >= 2")
        if self.catch_up_every <= 0 or self.retry_after < 0:
            raise ValueError("the CRL catch-up period must be positive")

    @property
    def check_every(self) -> float:
        """Seconds between looks for a due base: often enough to be on time."""
        return max(1.0, min(self.interval.total_seconds() / 4, 300.0))


class CrlUnavailable(DomainError):
    """No CRL can be served right now (read model behind, lint refused); HTTP 503."""

    code = "crl_unavailable"


@dataclass(frozen=True)
class EntrySnapshot:
    """The read model at one position: every entry, and what changed after a base.

    ``entries`` are runs of DER entries joined in ascending serial order (their
    concatenation is the full CRL's revokedCertificates contents), ``count`` entries in
    all; ``changes`` are single entries, removeFromCRL ones included, ascending.
    """

    position: int
    entries: Sequence[bytes]
    count: int
    changes: Sequence[bytes]
    counts: Sequence[int] = ()  # entries in each run
    epoch: int = 0  # the source's version: a rebuild of the read model changes it


@dataclass(frozen=True)
class Publication:
    issuer: str
    kind: CrlKind
    crl_number: int
    base_crl_number: int | None
    this_update: datetime
    next_update: datetime
    log_position: int
    entry_count: int
    entries_sha256: str
    der: bytes | None = None  # None when read without the bytes
    # how it was built, which is how it is stored: the revokedCertificates contents as
    # runs of entries, how many entries each run has, the source's epoch
    runs: Sequence[bytes] = field(default=(), repr=False, compare=False)
    run_counts: Sequence[int] = field(default=(), repr=False, compare=False)
    epoch: int = field(default=0, repr=False, compare=False)


class CrlSource(Protocol):
    """Where entries come from and signed CRLs go (projections.stored_crls.StoredCrls)."""

    def authorities(self) -> list[str]: ...

    def snapshot(self, issuer: str, changes_since: int | None) -> EntrySnapshot: ...

    def latest(self, issuer: str, kind: CrlKind, *, with_der: bool = True
               ) -> Publication | None: ...

    def unpublished_change(self, issuer: str) -> int | None: ...

    def store(self, publications: Sequence[Publication]) -> None: ...


class CrlPublisher:
    """Signs, records and stores CRLs; ``sync`` brings the read model up to the log first
    (and raises CrlUnavailable when it cannot), so no CRL misses a recorded revocation."""

    def __init__(self, log: EventLog, hierarchy: Hierarchy, source: CrlSource, urls: PublicUrls,
                 clock: Clock, settings: CrlSettings | None = None, *,
                 sync: Callable[[], None] | None = None, actor: Actor = SYSTEM) -> None:
        self._log = log
        self._hierarchy = hierarchy
        self.source = source
        self._urls = urls
        self._clock = clock
        self.settings = settings or CrlSettings()
        self._actor = actor
        self._sync = sync
        self._guard = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}

    def _lock(self, issuer: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(issuer, threading.RLock())

    def rebase_due(self, authority: CertificateAuthority, now: datetime) -> bool:
        base = authority.crl_base
        return base is None or base.this_update + self.settings.interval <= now

    # ---- when ------------------------------------------------------------------------------

    def pending_due(self, issuer: str) -> bool:
        """Whether a change that the CA's stored CRL does not list has waited ``delay``.

        Derived from stored state alone (the read model's change positions, the stored
        CRL's position, the change's event time), never from memory: after a crash, a
        publication that was due is found and made at once, and one that was coming is
        made when it would have been."""
        position = self.source.unpublished_change(issuer)
        if position is None:
            return False
        event = self._log.event_at(position)
        return event is None or (self._clock() - event.timestamp).total_seconds() \
            >= self.settings.delay

    def publish_pending(self, issuer: str) -> tuple[Publication, Publication] | None:
        """Publish ``issuer``'s CRLs if :meth:`pending_due`; None when nothing was due."""
        if not self.pending_due(issuer):
            return None
        return self.publish(issuer, only_if_pending=True)

    def publish_due(self) -> list[str]:
        """A new base (full and delta) for every CA whose base is due (or missing)."""
        if self._sync is not None:
            self._sync()  # the list of CAs is in the read model too
        published = []
        for issuer in self.source.authorities():
            try:
                if self.publish(issuer, only_if_due=True):
                    published.append(issuer)
            except Exception:
                log.exception("scheduled CRL of %s failed", issuer)
        return published

    # ---- publishing -----------------------------------------------------------------------

    def publish(self, issuer: str, *, rebase: bool | None = None, only_if_due: bool = False,
                only_if_pending: bool = False) -> tuple[Publication, Publication] | None:
        """Sign and store a full and a delta CRL of ``issuer``. ``rebase`` None: make the
        full CRL the new delta base when the interval has passed. ``only_if_due``: do
        nothing (None) unless a new base is due; ``only_if_pending``: unless a change is
        not in the stored CRL yet; both checked again after every lost race."""
        ca = self._hierarchy.issuer(issuer)  # NotFound for an unknown CA
        with self._lock(issuer):
            if self._sync is not None:
                self._sync()

            def attempt() -> tuple[Publication, Publication] | None:
                if only_if_pending and self.source.unpublished_change(issuer) is None:
                    return None  # another publisher (here or elsewhere) listed it already
                authority = self._hierarchy.get(issuer)
                at = self._clock()
                now = at.replace(microsecond=0)
                due = self.rebase_due(authority, now)
                if only_if_due and not due:
                    return None
                base = None if (due if rebase is None else rebase) else authority.crl_base
                snapshot = self.source.snapshot(
                    issuer, None if base is None else base.log_position)
                publications = self._sign(ca, authority, snapshot, base, now)
                for publication in publications:
                    authority.record_crl(
                        self._actor, at, crl_number=publication.crl_number,
                        kind=publication.kind, base_crl_number=publication.base_crl_number,
                        this_update=publication.this_update,
                        next_update=publication.next_update,
                        entry_count=publication.entry_count,
                        entries_sha256=publication.entries_sha256,
                        log_position=publication.log_position,
                        delta_base=publication.kind == FULL_CRL and base is None)
                self._log.save(authority)  # the numbers are taken: a race is lost here
                self.source.store(publications)
                full, delta = publications
                log.info("CRL %s #%d (%d entries) and delta #%d (base #%s, %d entries) "
                         "published", issuer, full.crl_number, full.entry_count,
                         delta.crl_number, delta.base_crl_number, delta.entry_count)
                return full, delta

            return retry_on_conflict(attempt, what=f"the CRL numbers of {issuer}")

    def _sign(self, ca: Issuer, authority: CertificateAuthority, snapshot: EntrySnapshot,
              base: CrlRecord | None, now: datetime) -> tuple[Publication, Publication]:
        full_number = authority.last_crl_number + 1
        if base is None:  # this full CRL is the new base: the delta lists nothing yet
            base_number, changes = full_number, []
        else:
            base_number, changes = base.crl_number, list(snapshot.changes)
        settings = self.settings
        common = {"issuer_name_der": ca.subject.dump(),
                  "authority_key_identifier": ca.key_identifier, "this_update": now}
        full = {"crl_number": full_number, "next_update": now + settings.validity,
                "freshest_crl_urls": [self._urls.delta_crl(ca.name)], **common}
        delta = {"crl_number": full_number + 1, "next_update": now + settings.delta_validity,
                 "delta_crl_indicator": base_number, **common}
        signed = []
        for kind, arguments, entries, count in (
                (FULL_CRL, full, snapshot.entries, snapshot.count),
                (DELTA_CRL, delta, changes, len(changes))):
            crl = build_crl(ca.signer, entries=entries, **arguments)
            self._lint(ca, crl, entries, count, arguments)
            signed.append(Publication(
                issuer=ca.name, kind=kind, crl_number=arguments["crl_number"],
                base_crl_number=base_number if kind == DELTA_CRL else None,
                this_update=now, next_update=arguments["next_update"],
                log_position=snapshot.position, entry_count=count,
                entries_sha256=hashlib.sha256(revoked_certificates(crl)).hexdigest(), der=crl,
                runs=list(entries) if kind == FULL_CRL else [b"".join(entries)],
                run_counts=list(snapshot.counts) if kind == FULL_CRL else [count],
                epoch=snapshot.epoch))
        return signed[0], signed[1]

    def _lint(self, ca: Issuer, crl: bytes, runs: Sequence[bytes], count: int,
              arguments: dict[str, Any]) -> None:
        """pkilint the CRL. One of more than ``lint_limit`` entries (pkilint takes 0.1 to
        0.4 ms an entry) is checked as a probe: the same signer, names, times, numbers and
        extensions, with its first and last entries. Every entry comes from one encoder,
        and each new one is in the next delta CRL, which is linted whole (up to the limit)."""
        limit = self.settings.lint_limit
        if count > limit:
            half = max(limit // 2, 1)
            crl = build_crl(ca.signer, entries=crl_ends(runs, half), **arguments)
        findings = lint_crl(crl)
        if findings:
            log.error("CRL of %s not published, lint findings: %s", ca.name, findings)
            raise CrlUnavailable(f"the CRL of {ca.name} failed lint: {'; '.join(findings)}",
                                 code="crl_lint_failed")
