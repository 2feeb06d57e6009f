"""The webhook outbox (``webhook_outbox``, filled by the messages read model in the same
transaction as the message): what the delivery process sends, and its state for the
admin. Writes here are the sender's: conditional on the item being undelivered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ca.applications.webhooks import OutboxItem
from projections.db import ReadModelDatabase

__all__ = ["WebhookOutbox", "DeliveryRow"]


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    message_id: str
    attempts: int
    delivered_at: str | None
    next_attempt_at: int
    last_error: str | None


class WebhookOutbox:
    def __init__(self, database: ReadModelDatabase) -> None:
        self.database = database

    def due(self, now: int, limit: int) -> list[OutboxItem]:
        rows = self.database.query(
            "SELECT message_id, portal, url, registration_id, payload, attempts"
            " FROM webhook_outbox WHERE delivered_at IS NULL AND next_attempt_at <= ?"
            " ORDER BY position LIMIT ?", (now, limit))
        return [OutboxItem(str(r[0]), r[1], r[2], r[3], r[4], int(r[5])) for r in rows]

    def delivered(self, item: OutboxItem, at: str) -> None:
        with self.database.transaction() as tx:
            tx.execute("UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1,"
                       " last_error = NULL WHERE message_id = ? AND portal = ?"
                       " AND delivered_at IS NULL", (at, item.message_id, item.portal))

    def failed(self, item: OutboxItem, next_attempt_at: int, error: str) -> None:
        with self.database.transaction() as tx:
            tx.execute("UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ?,"
                       " last_error = ? WHERE message_id = ? AND portal = ?"
                       " AND delivered_at IS NULL",
                       (next_attempt_at, error[:300], item.message_id, item.portal))

    def deliveries(self, portal: str, *, pending_only: bool = False,
                   limit: int = 100) -> list[DeliveryRow]:
        where = " AND delivered_at IS NULL" if pending_only else ""
        rows = self.database.query(
            "SELECT message_id, attempts, delivered_at, next_attempt_at, last_error"
            f" FROM webhook_outbox WHERE portal = ?{where} ORDER BY position DESC LIMIT ?",
            (portal, limit))
        return [DeliveryRow(str(r[0]), int(r[1]), r[2], int(r[3]), r[4]) for r in rows]

    def webhooks(self) -> list[dict[str, Any]]:
        """Each registered webhook with its counts of delivered and pending messages."""
        rows = self.database.query(
            "SELECT w.portal, w.url, w.registered_at,"
            " (SELECT COUNT(*) FROM webhook_outbox o WHERE o.portal = w.portal"
            "  AND o.delivered_at IS NOT NULL),"
            " (SELECT COUNT(*) FROM webhook_outbox o WHERE o.portal = w.portal"
            "  AND o.delivered_at IS NULL) FROM rm_webhooks w ORDER BY w.portal")
        return [{"portal": r[0], "url": r[1], "registered_at": r[2], "delivered": int(r[3]),
                 "pending": int(r[4])} for r in rows]
