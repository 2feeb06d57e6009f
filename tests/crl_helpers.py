"""Helpers for the CRL and projection tests: issuing, read models, CRL contents."""

from __future__ import annotations

from typing import Any

from asn1crypto import crl as asn1_crl
from cryptography import x509

from api.bootstrap import CertLedger
from api.read_side import ReadSide
from ca.applications.crl_publisher import CrlSettings
from ca.encoding.algorithms import KeyAlgorithm
from domain.certificate import Certificate
from projections.db import ReadModelDatabase, open_read_model_database
from tests.conftest import OFFICER, PORTAL
from tests.helpers import make_csr

__all__ = ["issue", "publish_crls", "read_models", "crl_entries", "crl_field", "table_dump",
           "CRL_TABLES",
           "REASON_CODES", "fresh_database", "drop_fresh_database"]

CRL_TABLES = ("rm_crl_authorities", "rm_crl_certificates", "rm_crl_entries", "rm_crl_removals")
_CSR = make_csr(KeyAlgorithm.ECDSA_P256)[1]  # one key for every test leaf: keys are not tested


def issue(ledger: CertLedger, label: str = "leaf") -> Certificate:
    cid = ledger.certificates.apply(PORTAL, profile="tls-server", csr=_CSR,
                                    subject={"dns_names": [f"{label}.example.cn"]})
    ledger.certificates.approve(OFFICER, cid)
    return ledger.certificates.issue(OFFICER, cid)


def publish_crls(ledger: CertLedger) -> None:
    """What the processes of a server do, once: project the log, keep a responder for
    every CA that answers OCSP, publish a first base CRL for every CA and whatever changes
    a stored CRL misses, sign pending OCSP responses."""
    read = ledger.read
    read.runner.catch_up()
    for process in read.processes.processes.values():
        process.run()
    read.runner.catch_up()
    for issuer in read.crls.authorities():
        read.publisher.publish(issuer, only_if_pending=True)  # not waiting for the delay
    read.ocsp_signing.run()


def read_models(ledger: CertLedger, **settings: Any) -> ReadSide:
    """A read side over ``ledger``'s stores with these CRL settings (closed with the
    ledger); no thread runs until ``.start()``."""
    return ledger.new_read_side(crl=CrlSettings(**settings))


def fresh_database(ledger: CertLedger, name: str) -> ReadModelDatabase:
    """A second, empty read-model store next to the ledger's (an auditor's replay)."""
    url = ledger.settings.database_url
    if url:
        import psycopg

        from tests.conftest import POSTGRES_URL

        schema = url.split("schema=")[1] + f"_{name}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        return open_read_model_database(f"{POSTGRES_URL}?schema={schema}",
                                        ledger.settings.data_dir)
    return open_read_model_database(None, ledger.settings.data_dir / name)


def drop_fresh_database(ledger: CertLedger, database: ReadModelDatabase) -> None:
    database.close()
    if database.dialect == "postgres":
        import psycopg

        from tests.conftest import POSTGRES_URL

        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{database.schema}" CASCADE')


# RFC 5280 CRLReason names, as pyca/cryptography spells them, and their codes
REASON_CODES = {"unspecified": 0, "keyCompromise": 1, "cACompromise": 2,
                "affiliationChanged": 3, "superseded": 4, "cessationOfOperation": 5,
                "certificateHold": 6, "removeFromCRL": 8, "privilegeWithdrawn": 9,
                "aACompromise": 10}


def crl_entries(der: bytes) -> dict[int, int | None]:
    """serial -> CRLReason code (None: no reasonCode) of a DER CRL, read by pyca/cryptography."""
    entries: dict[int, int | None] = {}
    for revoked in x509.load_der_x509_crl(der):
        try:
            reason: int | None = REASON_CODES[revoked.extensions.get_extension_for_class(
                x509.CRLReason).value.reason.value]
        except x509.ExtensionNotFound:
            reason = None
        entries[revoked.serial_number] = reason
    return entries


def crl_field(der: bytes, name: str) -> Any:
    """A CRL extension's value (asn1crypto's native), e.g. ``crl_number``."""
    return getattr(asn1_crl.CertificateList.load(der), f"{name}_value").native


def table_dump(database: ReadModelDatabase, tables: tuple[str, ...] = CRL_TABLES
               ) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of ``tables``, sorted, bytes as bytes: to compare two states exactly."""
    return {table: sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                          for row in database.query(f"SELECT * FROM {table}"))
            for table in tables}
