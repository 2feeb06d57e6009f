"""The composition root: everything a process needs, built from one :class:`Settings`.

Production, the command line and the tests build through :func:`bootstrap`; tests hand
it their own key store (a fast work factor), clock or read-model store. Nothing else
chooses an adapter, and nothing else reads the environment (api/settings.py does).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from api.read_side import ReadSide, crl_sync
from api.settings import Settings
from ca.applications.accounts import Accounts
from ca.applications.audit_signer import AuditSigners
from ca.applications.blobs import BlobStore
from ca.applications.certificates import Certificates
from ca.applications.crl_publisher import CrlPublisher, CrlSettings
from ca.applications.event_log import EventLog, StoreSettings
from ca.applications.hierarchy import Hierarchy
from ca.applications.issuing import Issuing, IssuingPolicy
from ca.applications.log_integrity import LogIntegrity
from ca.applications.messages import Messages
from ca.applications.notices import ExpiryNotices
from ca.applications.orders import Orders
from ca.applications.pairs import Pairs
from ca.applications.portals import Portals
from ca.applications.ports import Clock, utc_now
from ca.applications.responders import Responders
from ca.applications.sms import SmsOutbox
from ca.applications.tokens import Tokens
from ca.applications.tree_heads import TreeHeads
from ca.applications.unlock import Unlocks
from ca.applications.webhooks import Webhooks
from ca.encoding import sm2
from ca.keys.hmac_keys import (
    CODE_KEY,
    ID_NUMBER_KEY,
    TOKEN_KEY,
    UNLOCK_CODE_KEY,
    WEBHOOK_KEY,
    HmacKey,
)
from ca.keys.keystore import KeyStore, KeyStoreError
from ca.policy.issuance import PublicUrls
from ca.processes.crl_publication import CrlBaseSchedule, CrlCatchUp
from ca.processes.expiry_notices import ExpiryNoticeJob
from ca.processes.host import ProcessHost
from ca.processes.ocsp_signing import OcspSigning
from ca.processes.responder_rotation import ResponderRotation
from ca.processes.tree_heads import TreeHeadSigning
from ca.processes.webhook_delivery import DeliverySettings, WebhookDelivery
from projections.accounts import AccountDirectory
from projections.audit_tree import AuditTree
from projections.authorities import Authorities
from projections.db import ReadModelDatabase, open_read_model_database
from projections.expiry_index import ExpiryIndexStore
from projections.following import Follower
from projections.idempotency_keys import IdempotencyKeys
from projections.leadership import leader_lock
from projections.mailbox import Mailbox
from projections.migrate import migrate
from projections.order_queries import OrderDirectory
from projections.public_lookups import PublicLookups
from projections.registry import read_models
from projections.runner import ProjectionRunner
from projections.stored_crls import StoredCrls
from projections.stored_ocsp_responses import OcspResponseStore
from projections.webhook_outbox import WebhookOutbox

__all__ = ["CertLedger", "bootstrap", "key_passphrase", "key_store"]

DEMO_PASSPHRASE_FILE = "key-passphrase"


@dataclass
class CertLedger:
    """The applications of one process (commands), and its read side (built on first use)."""

    settings: Settings
    clock: Clock
    log: EventLog
    keys: KeyStore
    urls: PublicUrls
    hierarchy: Hierarchy
    issuing: Issuing
    certificates: Certificates
    pairs: Pairs
    responders: Responders
    tokens: Tokens
    portals: Portals
    accounts: Accounts
    audit_signers: AuditSigners
    orders: Orders
    sms: SmsOutbox
    unlocks: Unlocks
    messages: Messages
    webhooks: Webhooks
    _read_database: ReadModelDatabase | None = None
    _read: ReadSide | None = field(default=None, repr=False)
    _others: list[ReadSide] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def read(self) -> ReadSide:
        """The read-model store (migrated), runner, CRL publisher and processes; nothing
        runs until ``read.start()``."""
        with self._lock:
            if self._read is None:
                self._read = _read_side(self, self._read_database, self.settings.crl)
            return self._read

    def new_read_side(self, *, database: ReadModelDatabase | None = None,
                      crl: CrlSettings | None = None) -> ReadSide:
        """Another read side over this log (a second runner or publisher, another store,
        other CRL settings); closed with this CertLedger."""
        read = _read_side(self, database, crl or self.settings.crl)
        with self._lock:
            self._others.append(read)
        return read

    def close(self) -> None:
        """Stop what runs and close every connection this process holds."""
        with self._lock:
            reads, self._read, self._others = [self._read, *self._others], None, []
        for read in reads:
            if read is not None:
                read.close()
        self.log.close()


def bootstrap(settings: Settings, *, keys: KeyStore | None = None, clock: Clock = utc_now,
              read_database: ReadModelDatabase | None = None, lint: bool = True) -> CertLedger:
    sm2.use_backend(settings.sm2_backend)
    keys = keys or key_store(settings)
    log = EventLog(StoreSettings(
        data_dir=settings.data_dir, database_url=settings.database_url,
        pool_size=settings.pool_size, max_overflow=settings.max_overflow,
        connect_timeout=settings.connect_timeout, pool_timeout=settings.pool_timeout,
        statement_timeout=settings.statement_timeout))
    urls = PublicUrls(settings.public_base_url)
    hierarchy = Hierarchy(log, keys, urls, clock)
    issuing = Issuing(hierarchy, urls, clock, IssuingPolicy(
        default_issuer=settings.default_issuer,
        accept_empty_sm2_id=settings.accept_empty_sm2_id, lint=lint))
    portals = Portals(log, clock)
    sms = SmsOutbox()
    certificates = Certificates(log, issuing, portals)
    accounts = Accounts(log, portals, HmacKey(keys, ID_NUMBER_KEY), clock)
    return CertLedger(
        settings=settings, clock=clock, log=log, keys=keys, urls=urls, hierarchy=hierarchy,
        issuing=issuing, certificates=certificates,
        pairs=Pairs(log, issuing, portals),
        responders=Responders(log, hierarchy, keys, clock, lint=lint),
        tokens=Tokens(log, portals, HmacKey(keys, TOKEN_KEY)), portals=portals,
        accounts=accounts,
        audit_signers=AuditSigners(log, hierarchy, keys, clock, lint=lint,
                                   issuer=settings.audit.issuer or settings.default_issuer),
        orders=Orders(log, clock, BlobStore(settings.data_dir / "blobs"),
                      HmacKey(keys, CODE_KEY), sms, HmacKey(keys, ID_NUMBER_KEY),
                      max_document_size=settings.document_max_bytes),
        sms=sms,
        unlocks=Unlocks(log, certificates, HmacKey(keys, UNLOCK_CODE_KEY), clock),
        messages=Messages(log, accounts, portals, clock),
        webhooks=Webhooks(log, portals, HmacKey(keys, WEBHOOK_KEY), clock),
        _read_database=read_database)


def key_passphrase(settings: Settings) -> bytes:
    """The passphrase that seals CA keys: the setting, else the file the setting names,
    else the demo passphrase `make serve` keeps in the data directory."""
    if settings.key_passphrase:
        return settings.key_passphrase
    path = settings.key_passphrase_file
    if path is None and (settings.data_dir / DEMO_PASSPHRASE_FILE).exists():
        path = settings.data_dir / DEMO_PASSPHRASE_FILE
    if path is not None:
        try:
            value = Path(path).read_bytes().strip()
        except OSError as exc:
            raise KeyStoreError(f"cannot read the key passphrase file {path}: "
                                f"{exc.strerror}") from None
        if value:
            return value
    raise KeyStoreError("no key passphrase: set CERTLEDGER_KEY_PASSPHRASE or "
                        "CERTLEDGER_KEY_PASSPHRASE_FILE")


def key_store(settings: Settings) -> KeyStore:
    return KeyStore(Path(settings.data_dir) / "keys", key_passphrase(settings))


def _read_side(ledger: CertLedger, database: ReadModelDatabase | None,
               crl: CrlSettings) -> ReadSide:
    settings = ledger.settings
    database = database or open_read_model_database(
        settings.database_url, settings.data_dir, pool_size=settings.read_pool_size,
        acquire_timeout=settings.pool_timeout, connect_timeout=settings.connect_timeout,
        statement_timeout=settings.statement_timeout)
    migrate(database)
    runner = ProjectionRunner(ledger.log, database, read_models())
    follower = Follower(runner)
    authorities = Authorities(database)
    crls = StoredCrls(database)
    publisher = CrlPublisher(ledger.log, ledger.hierarchy, crls, ledger.urls, ledger.clock,
                             crl, sync=crl_sync(runner, follower, crl.sync_timeout))
    ocsp_rows = OcspResponseStore(database)
    ocsp_signing = OcspSigning(ocsp_rows, ledger.responders, ledger.clock, settings.ocsp)
    audit_tree = AuditTree(database)
    integrity = LogIntegrity(ledger.log, audit_tree.witnesses,
                             heads_dir=settings.audit.heads_dir)
    tree_heads = TreeHeads(ledger.log, ledger.audit_signers, audit_tree, ledger.clock,
                           settings.audit)
    head_signing = TreeHeadSigning(tree_heads, audit_tree, integrity)
    notices = ExpiryNotices(ledger.log, ExpiryIndexStore(database), ledger.clock,
                            settings.expiry_thresholds)
    outbox = WebhookOutbox(database)
    delivery = WebhookDelivery(outbox, ledger.webhooks, ledger.clock,
                               DeliverySettings(base=settings.webhook_backoff),
                               every=settings.webhook_every)
    processes = ProcessHost([
        CrlCatchUp(publisher), CrlBaseSchedule(publisher), ocsp_signing,
        ResponderRotation(ledger.responders, ledger.hierarchy, authorities), head_signing,
        ExpiryNoticeJob(notices, settings.expiry_check_every), delivery],
        gate=lambda: integrity.allows_writes)
    read = ReadSide(database=database, runner=runner, follower=follower,
                    authorities=authorities, crls=crls, publisher=publisher,
                    ocsp_rows=ocsp_rows, ocsp_signing=ocsp_signing, processes=processes,
                    accounts=AccountDirectory(database), idempotency=IdempotencyKeys(database),
                    lock=leader_lock(database, connect_timeout=settings.connect_timeout),
                    audit_tree=audit_tree, tree_heads=tree_heads, head_signing=head_signing,
                    integrity=integrity, orders=OrderDirectory(database), notices=notices,
                    mailbox=Mailbox(database), lookups=PublicLookups(database),
                    outbox=outbox, delivery=delivery)
    runner.on_commit(read.wake_processes)
    return read
