"""Webhook delivery: sends what the outbox holds (projections/webhook_outbox.py), each
message with a stable id (``X-CertLedger-Message-Id``, the receiver deduplicates), a
timestamp and an HMAC-SHA256 signature over both and the body
(``X-CertLedger-Signature: sha256=...``, ca/applications/webhooks.py ``sign``).

Until a 2xx answer, an item is tried again with exponential backoff (``base`` seconds,
doubled per failure, at most ``ceiling``). What is due is read from the outbox each
round, so a sender killed at any point (kill -9) resends on its next start whatever was
not marked delivered: at least once, never lost.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from ca.applications.ports import Clock
from ca.applications.webhooks import SIGNATURE_HEADER, Outbox, OutboxItem, Webhooks, sign

__all__ = ["WebhookDelivery", "DeliverySettings", "http_post"]

log = logging.getLogger("certledger.webhooks")

Post = Callable[[str, bytes, dict[str, str], float], int]


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body``; the answer's status (an HTTP error's too)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@dataclass(frozen=True)
class DeliverySettings:
    base: float = 5.0          # seconds before the first retry
    ceiling: float = 3600.0    # the longest wait between tries
    timeout: float = 5.0       # seconds a receiver has to answer
    batch: int = 100


class WebhookDelivery:
    name = "webhook-delivery"

    def __init__(self, outbox: Outbox, webhooks: Webhooks, clock: Clock,
                 settings: DeliverySettings = DeliverySettings(), every: float = 5.0,
                 post: Post = http_post) -> None:
        self.outbox = outbox
        self.webhooks = webhooks
        self.clock = clock
        self.settings = settings
        self.every = every
        self.post = post

    def backoff(self, attempts: int) -> float:
        return float(min(self.settings.base * 2 ** max(attempts - 1, 0), self.settings.ceiling))

    def run(self) -> int:
        """Try every due item once; returns how many were delivered. After a failure, the
        rest of that portal's items wait for the next round (a receiver that is down costs
        one timeout a round, not one per message)."""
        now = self.clock()
        delivered, failing = 0, set()
        for item in self.outbox.due(int(now.timestamp()), self.settings.batch):
            if item.portal in failing:
                continue
            if self._send(item, int(now.timestamp())):
                delivered += 1
            else:
                failing.add(item.portal)
        return delivered

    def _send(self, item: OutboxItem, now: int) -> bool:
        body = item.payload.encode()
        timestamp = str(now)
        headers = {"Content-Type": "application/json",
                   "X-CertLedger-Message-Id": item.message_id,
                   "X-CertLedger-Timestamp": timestamp,
                   SIGNATURE_HEADER: sign(self.webhooks.secret(item.registration_id),
                                          timestamp, body)}
        try:
            status = self.post(item.url, body, headers, self.settings.timeout)
            error = f"HTTP {status}"
        except (OSError, ValueError) as exc:
            status, error = 0, f"{type(exc).__name__}: {str(exc)[:200]}"
        if 200 <= status < 300:
            self.outbox.delivered(item, self.clock().isoformat().replace("+00:00", "Z"))
            return True
        wait = self.backoff(item.attempts + 1)
        self.outbox.failed(item, now + max(1, int(wait)), error)
        log.warning("webhook of portal %s: message %s not delivered (%s); again in %.0f s",
                    item.portal, item.message_id, error, wait)
        return False
