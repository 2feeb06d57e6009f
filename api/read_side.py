"""The read side of one process: the read-model store, the runner that fills it, and the
processes that react to what it holds (CRL publishing, OCSP signing, responders).

Built by the composition root (api/bootstrap.py). :meth:`ReadSide.start` makes this
process a candidate for the lead (projections/leadership.py): of all the processes and
hosts that share the store and have started their read side, one leads and runs the
follower thread and the processes; another takes over within seconds when it dies.
Whether a process is a candidate is the operator's choice (``CERTLEDGER_PROJECTIONS``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ca.applications.crl_publisher import CrlPublisher, CrlUnavailable
from ca.applications.log_integrity import LogIntegrity
from ca.applications.notices import ExpiryNotices
from ca.applications.tree_heads import TreeHeads
from ca.processes.host import ProcessHost
from ca.processes.ocsp_signing import OcspSigning
from ca.processes.tree_heads import TreeHeadSigning
from ca.processes.webhook_delivery import WebhookDelivery
from projections.accounts import AccountDirectory
from projections.audit_tree import AUDIT_MODEL, AuditTree
from projections.authorities import AUTHORITIES_MODEL, Authorities
from projections.certificate_index import INDEX_MODEL
from projections.crl_entries import CRL_MODEL
from projections.db import ReadModelDatabase
from projections.following import Follower
from projections.idempotency_keys import IdempotencyKeys
from projections.leadership import Leader, LeaderLock
from projections.mailbox import Mailbox
from projections.messages import MESSAGES_MODEL
from projections.ocsp_status import OCSP_MODEL
from projections.order_queries import OrderDirectory
from projections.public_lookups import PublicLookups
from projections.runner import ProjectionRunner
from projections.stored_crls import StoredCrls
from projections.stored_ocsp_responses import OcspResponseStore
from projections.webhook_outbox import WebhookOutbox

__all__ = ["ReadSide", "crl_sync"]

log = logging.getLogger("certledger.projections")


@dataclass
class ReadSide:
    database: ReadModelDatabase
    runner: ProjectionRunner
    follower: Follower
    authorities: Authorities
    crls: StoredCrls
    publisher: CrlPublisher
    ocsp_rows: OcspResponseStore
    ocsp_signing: OcspSigning
    processes: ProcessHost
    accounts: AccountDirectory
    idempotency: IdempotencyKeys
    audit_tree: AuditTree
    tree_heads: TreeHeads
    head_signing: TreeHeadSigning
    integrity: LogIntegrity
    orders: OrderDirectory
    notices: ExpiryNotices
    mailbox: Mailbox
    lookups: PublicLookups
    outbox: WebhookOutbox
    delivery: WebhookDelivery
    lock: LeaderLock | None = None  # None: no election, start() runs the work here
    leader: Leader | None = field(default=None, init=False)

    @property
    def leading(self) -> bool:
        """Whether this process runs the projection runner and the processes now."""
        return self.leader.leading if self.leader is not None else self.processes.running

    def wake_processes(self, model: str) -> None:
        """After the runner committed events of ``model``: the processes that follow it
        look sooner than their next round (their work is read from stored state)."""
        if model == CRL_MODEL:
            self.processes.wake("crl-catch-up", after=self.publisher.settings.delay)
        elif model == OCSP_MODEL:
            self.processes.wake("ocsp-signing")
        elif model == AUTHORITIES_MODEL:
            self.processes.wake("ocsp-responders")
            self.processes.wake("crl-base")
        elif model == MESSAGES_MODEL:  # a message may be queued for a webhook
            self.processes.wake("webhook-delivery")
        elif model == INDEX_MODEL:  # a new issuance may be due already (short validity)
            self.processes.wake("expiry-notices", after=5.0)
        elif model == AUDIT_MODEL:  # at most once a second: a head is due every N events
            self.processes.wake("audit-tree-heads", after=1.0)

    def start(self) -> None:
        """Stand for the lead; the follower thread and the processes run here while this
        process leads (at once when there is no election)."""
        if self.lock is None:
            self._lead()
            return
        if self.leader is None:
            self.leader = Leader(self.lock, self._lead, self._follow)
        self.leader.start()

    def _lead(self) -> None:
        self.follower.start()
        self.processes.start()
        log.info("projection runner and processes started in this process")

    def _follow(self) -> None:
        self.processes.stop()
        self.follower.stop()

    def stop(self) -> None:
        if self.leader is not None:
            self.leader.stop()
        self._follow()

    def close(self) -> None:
        self.stop()
        self.database.close()


def crl_sync(runner: ProjectionRunner, follower: Follower,
             timeout: float) -> Callable[[], None]:
    """Bring the CRL read model up to the log's current head before a publication:
    wait for the follower if it runs here, else catch up here (safe whoever else runs
    one). CrlUnavailable if it cannot, rather than sign an outdated state."""

    def sync() -> None:
        head = runner.head()
        if follower.running:
            reached = runner.wait_for(head, timeout, names=[CRL_MODEL])
        else:  # only the CRL model: another model's trouble must not hold CRLs back
            runner.catch_up(names=[CRL_MODEL])
            reached = runner.positions([CRL_MODEL])[CRL_MODEL] >= head
        if not reached:
            raise CrlUnavailable("the CRL read model is behind the event log; try again",
                                 code="read_model_behind")

    return sync
