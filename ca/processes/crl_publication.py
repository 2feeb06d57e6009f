"""When CRLs are published: on a schedule, and soon after every revocation.

The periodic job makes a new base (full and delta CRL) for every CA once ``interval``
has passed since its last base. A revocation, suspension or resumption is published
``delay`` seconds after it happened: the catch-up job looks every ``catch_up_every``
seconds for changes the CA's stored CRL does not list (CrlPublisher.pending_due), which
is derived from the log and the stored CRLs, never from memory, so a publication that a
crash (kill -9) cut off is made after the next start. After the CRL read model commits a
change, :meth:`CrlScheduler.changed` also arranges a look exactly ``delay`` seconds
later, so a quiet CA does not wait for the next round; further changes before it runs
ride along with it (it reads the read model when it runs).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ca.applications.crl_publisher import CrlPublisher

__all__ = ["CrlSettings", "CrlScheduler", "parse_duration"]

log = logging.getLogger("certledger.crl")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``6h``, ``7d``."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (e.g. 30s, 15m, 6h, 1d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class CrlSettings:
    """``interval``: a new base CRL this often; ``validity``: a full CRL's nextUpdate -
    thisUpdate; ``delta_validity``: a delta CRL's (longer than ``interval``, so the
    delta of one scheduled run is still valid when the next runs); ``delay``: seconds
    from a projected revocation to its CRL; ``lint_limit``: CRLs with more entries are
    linted as a probe (see CrlPublisher._lint); ``sync_timeout``: how long a publisher
    waits for the read model to reach the log's head."""

    interval: timedelta = timedelta(hours=6)
    validity: timedelta = timedelta(hours=24)
    delta_validity: timedelta = timedelta(hours=8)
    delay: float = 5.0
    lint_limit: int = 100
    sync_timeout: float = 10.0
    catch_up_every: float = 1.0
    retry_after: float = 30.0  # a CA whose publication failed is tried again after this

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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CrlSettings:
        env = os.environ if environ is None else environ
        interval = parse_duration(env.get("CERTLEDGER_CRL_INTERVAL", "6h"))
        return cls(
            interval=interval,
            validity=parse_duration(env.get("CERTLEDGER_CRL_VALIDITY", "24h")),
            delta_validity=parse_duration(env.get("CERTLEDGER_CRL_DELTA_VALIDITY", "")
                                          or f"{interval.total_seconds() + 7200}s"),
            delay=parse_duration(env.get("CERTLEDGER_CRL_DELAY", "5s")).total_seconds(),
            lint_limit=int(env.get("CERTLEDGER_CRL_LINT_LIMIT", "100")))


class CrlScheduler:
    """APScheduler's BackgroundScheduler running the publisher's jobs in this process."""

    def __init__(self, publisher: CrlPublisher, settings: CrlSettings,
                 periodic: Sequence[tuple[str, Callable[[], Any], float]] = ()) -> None:
        """``periodic``: other upkeep run on the same schedule thread, as
        (id, function, every seconds), e.g. re-signing OCSP responses."""
        self.publisher = publisher
        self.settings = settings
        self.periodic = tuple(periodic)
        self._scheduler: Any = None
        self._failed: dict[str, float] = {}  # CA -> monotonic time of its last failure
        self._failed_lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def start(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        if self.running:
            return
        scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
        soon = datetime.now(UTC) + timedelta(seconds=1)
        scheduler.add_job(self.publisher.publish_due, "interval", id="crl-due",
                          seconds=self.settings.check_every, next_run_time=soon)
        scheduler.add_job(self.catch_up, "interval", id="crl-catch-up",
                          seconds=self.settings.catch_up_every, next_run_time=soon)
        for job_id, function, seconds in self.periodic:
            scheduler.add_job(_logged(job_id, function), "interval", id=job_id, seconds=seconds,
                              next_run_time=soon)
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None

    def catch_up(self) -> list[str]:
        """Publish every CA with a change its stored CRL has missed for ``delay``."""
        published = []
        for issuer in self.publisher.source.authorities():
            if not self._failed_recently(issuer) and self._publish_pending(issuer):
                published.append(issuer)
        return published

    def changed(self, issuers: Iterable[str]) -> None:
        """Look at each CA ``delay`` seconds from now, unless a look is arranged already.
        Only saves waiting for the next catch-up round: nothing depends on it."""
        from apscheduler.jobstores.base import ConflictingIdError

        scheduler = self._scheduler
        if scheduler is None:
            return
        when = datetime.now(UTC) + timedelta(seconds=self.settings.delay)
        for issuer in issuers:
            try:
                scheduler.add_job(self._publish_pending, "date", run_date=when, args=[issuer],
                                  id=f"crl-changed:{issuer}")
            except ConflictingIdError:
                pass  # one is pending: it will read this change too

    def _publish_pending(self, issuer: str) -> bool:
        try:
            published = self.publisher.publish_pending(issuer) is not None
        except Exception:
            log.exception("CRL of %s not published after a change; trying again in %.0f s",
                          issuer, self.settings.retry_after)
            with self._failed_lock:
                self._failed[issuer] = time.monotonic()
            return False
        with self._failed_lock:
            self._failed.pop(issuer, None)
        return published

    def _failed_recently(self, issuer: str) -> bool:
        with self._failed_lock:
            failed = self._failed.get(issuer)
        return failed is not None and time.monotonic() - failed < self.settings.retry_after


def _logged(job_id: str, function: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        try:
            function()
        except Exception:
            log.exception("scheduled job %s failed; it runs again at its next time", job_id)

    return run
