"""When CRLs are published: the two processes that drive ``CrlPublisher``.

:class:`CrlCatchUp` looks every ``catch_up_every`` seconds for changes (revocations,
holds, resumptions) that a CA's stored CRL does not list, and publishes each CA whose
oldest such change happened ``delay`` seconds ago (``CrlPublisher.pending_due``). What
is due is derived from the log and the stored CRLs, never from memory, so a publication
that a crash (kill -9) cut off is made after the next start. The projection runner wakes
it ``delay`` seconds after it commits a change, so a quiet CA does not wait for the next
round.

:class:`CrlBaseSchedule` makes a new base (full and delta CRL) for every CA once
``interval`` has passed since its last base, and a first one for a CA that has none.
"""

from __future__ import annotations

import logging
import threading
import time

from ca.applications.crl_publisher import CrlPublisher

__all__ = ["CrlCatchUp", "CrlBaseSchedule"]

log = logging.getLogger("certledger.crl")


class CrlCatchUp:
    name = "crl-catch-up"

    def __init__(self, publisher: CrlPublisher) -> None:
        self.publisher = publisher
        self.every = publisher.settings.catch_up_every
        self._failed: dict[str, float] = {}  # CA -> monotonic time of its last failure
        self._lock = threading.Lock()

    def run(self) -> list[str]:
        """Publish every CA with a change its stored CRL has missed for ``delay``."""
        published = []
        for issuer in self.publisher.source.authorities():
            if not self._failed_recently(issuer) and self._publish_pending(issuer):
                published.append(issuer)
        return published

    def _publish_pending(self, issuer: str) -> bool:
        try:
            published = self.publisher.publish_pending(issuer) is not None
        except Exception:
            log.exception("CRL of %s not published after a change; trying again in %.0f s",
                          issuer, self.publisher.settings.retry_after)
            with self._lock:
                self._failed[issuer] = time.monotonic()
            return False
        with self._lock:
            self._failed.pop(issuer, None)
        return published

    def _failed_recently(self, issuer: str) -> bool:
        with self._lock:
            failed = self._failed.get(issuer)
        return failed is not None and \
            time.monotonic() - failed < self.publisher.settings.retry_after


class CrlBaseSchedule:
    name = "crl-base"

    def __init__(self, publisher: CrlPublisher) -> None:
        self.publisher = publisher
        self.every = publisher.settings.check_every

    def run(self) -> list[str]:
        return self.publisher.publish_due()
