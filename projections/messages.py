"""The messages read model: what each account is told, and the webhook outbox.

Messages: review notices (an application approved or rejected), system notices (the PIN
unlock approved, rejected, done: never the code), expiry reminders (``ExpiryNotice.Sent``).
Each has a stable id derived from its event (``domain.notices.message_id``); a
``MessageRead`` event marks it read. When the message's portal has a webhook, the same
transaction puts it in ``webhook_outbox`` (a kept table: delivery state is the sender's,
ca/processes/webhook_delivery.py), so a message is queued exactly once.
"""

from __future__ import annotations

import json
from typing import Any

from domain.accounts import Account
from domain.certificate import Certificate
from domain.expiry import ExpiryNotice
from domain.notices import MessageRead, SystemNotice, Webhook, message_id
from projections.base import ReadModel
from projections.certificate_index import iso
from projections.db import Transaction

__all__ = ["MessagesModel", "MESSAGES_MODEL"]

MESSAGES_MODEL = "messages"
_NOTICES = {
    Certificate.Approved.TOPIC: ("review", "申请已通过 Application approved",
                                 "Your application {label} was approved."),
    Certificate.Rejected.TOPIC: ("review", "申请未通过 Application rejected",
                                 "Your application {label} was rejected: {reason}"),
    Certificate.UnlockApproved.TOPIC: ("system", "解锁已批准 Unlock approved",
                                       "The unlock of the key of {label} was approved; the "
                                       "officer gives you the code."),
    Certificate.UnlockRejected.TOPIC: ("system", "解锁未通过 Unlock rejected",
                                       "The unlock of the key of {label} was rejected: "
                                       "{reason}"),
    Certificate.Unlocked.TOPIC: ("system", "已解锁 Key unlocked",
                                 "The key of {label} is unlocked."),
}


def _label(subject: dict[str, Any]) -> str:
    for key in ("common_name", "organization", "organisation"):
        if isinstance(subject.get(key), str):
            return str(subject[key])[:100]
    names = subject.get("dns_names")
    return str(names[0])[:100] if isinstance(names, list) and names else "(no name)"


class MessagesModel(ReadModel):
    name = MESSAGES_MODEL
    tables = ("rm_messages", "rm_message_certs", "rm_webhooks", "rm_message_accounts")
    kept_tables = ("webhook_outbox",)
    topics = frozenset({Certificate.Applied.TOPIC, ExpiryNotice.Sent.TOPIC,
                        MessageRead.Marked.TOPIC, MessageRead.Unmarked.TOPIC,
                        MessageRead.Remarked.TOPIC, Webhook.Registered.TOPIC,
                        Webhook.Replaced.TOPIC, Account.Registered.TOPIC,
                        SystemNotice.Posted.TOPIC, *_NOTICES})

    def process(self, tx: Transaction, event: Any, position: int) -> None:
        ident = str(event.originator_id)
        if isinstance(event, Certificate.Applied):
            if event.pair_role == "encryption":
                return  # a pair is reviewed and unlocked as one: its signing half speaks
            tx.execute("INSERT INTO rm_message_certs (certificate_id, account_id, portal, label)"
                       " VALUES (?, ?, ?, ?) ON CONFLICT (certificate_id) DO NOTHING",
                       (ident, event.account_id, event.portal, _label(event.subject)))
        elif isinstance(event, Account.Registered):
            tx.execute("INSERT INTO rm_message_accounts (account_id, portal) VALUES (?, ?)"
                       " ON CONFLICT (account_id) DO NOTHING", (ident, event.portal))
        elif isinstance(event, SystemNotice.Posted):
            accounts = [event.account_id] if event.account_id else [str(r[0]) for r in tx.query(
                "SELECT account_id FROM rm_message_accounts WHERE portal = ?"
                " ORDER BY account_id", (event.portal,))]
            for account in accounts:
                self._message(tx, event, position, account, event.portal, "system",
                              event.title, event.body, None,
                              suffix="" if event.account_id else f":{account}")
        elif isinstance(event, MessageRead.Marked | MessageRead.Remarked | MessageRead.Unmarked):
            tx.execute("UPDATE rm_messages SET is_read = ? WHERE message_id = ?",
                       (0 if isinstance(event, MessageRead.Unmarked) else 1,
                        str(event.message_id)))
        elif isinstance(event, Webhook.Registered | Webhook.Replaced):
            portal = event.portal
            tx.execute("DELETE FROM rm_webhooks WHERE portal = ?", (portal,))
            tx.execute("INSERT INTO rm_webhooks (portal, url, registration_id, registered_at)"
                       " VALUES (?, ?, ?, ?)", (portal, event.url, event.registration_id,
                                                iso(event.timestamp)))
        elif isinstance(event, ExpiryNotice.Sent):
            when = event.not_after.strftime("%Y-%m-%d")
            self._message(tx, event, position, event.account_id, event.portal, "expiry",
                          "证书即将到期 Certificate expiring",
                          f"Your certificate expires in {event.threshold_days} days, on "
                          f"{when} (UTC); renew it in time.", str(event.certificate_id))
        else:
            self._notice(tx, event, position, ident)

    def _notice(self, tx: Transaction, event: Any, position: int, ident: str) -> None:
        rows = tx.query("SELECT account_id, portal, label FROM rm_message_certs"
                        " WHERE certificate_id = ?", (ident,))
        if not rows:
            return
        account_id, portal, label = rows[0]
        kind, title, text = _NOTICES[type(event).TOPIC]
        body = text.format(label=label, reason=getattr(event, "reason", ""))
        self._message(tx, event, position, account_id, portal, kind, title, body, ident)

    @staticmethod
    def _message(tx: Transaction, event: Any, position: int, account_id: str | None,
                 portal: str, kind: str, title: str, body: str,
                 certificate_id: str | None, suffix: str = "") -> None:
        ident = str(message_id(event.originator_id, event.originator_version, suffix))
        created = iso(event.timestamp)
        tx.execute("INSERT INTO rm_messages (message_id, account_id, portal, kind, title, body,"
                   " certificate_id, created_at, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                   " ON CONFLICT (message_id) DO NOTHING",
                   (ident, account_id, portal, kind, title, body, certificate_id, created,
                    position))
        hooks = tx.query("SELECT url, registration_id FROM rm_webhooks WHERE portal = ?",
                         (portal,))
        if not hooks:
            return
        payload = json.dumps({"id": ident, "account_id": account_id, "portal": portal,
                              "kind": kind, "title": title, "body": body,
                              "certificate_id": certificate_id, "created_at": created},
                             ensure_ascii=False, sort_keys=True)
        tx.execute("INSERT INTO webhook_outbox (message_id, portal, url, registration_id,"
                   " payload, next_attempt_at, position) VALUES (?, ?, ?, ?, ?, 0, ?)"
                   " ON CONFLICT (message_id, portal) DO NOTHING",
                   (ident, portal, hooks[0][0], hooks[0][1], payload, position))
