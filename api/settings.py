"""Every setting, read from the environment in this one place (README, "Configuration").

Nothing else in CertLedger reads ``os.environ`` (tests/unit/test_architecture.py checks):
the composition root (api/bootstrap.py) hands each part what it needs from here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from api.http_wire import HttpLimits
from ca.applications.crl_publisher import CrlSettings
from ca.applications.tree_heads import AuditSettings
from ca.processes.ocsp_signing import OcspSettings

__all__ = ["Settings", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_TRUE = ("1", "true", "yes", "on")


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``6h``, ``7d``."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (e.g. 30s, 15m, 6h, 1d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None = None        # None: SQLite in data_dir
    public_base_url: str = "http://127.0.0.1:8080"
    default_issuer: str = "issuing-ca"
    accept_empty_sm2_id: bool = False
    max_body_bytes: int = 64 * 1024
    # the key passphrase: the value, or a file holding it (else DATA_DIR/key-passphrase,
    # the demo passphrase `make serve` makes)
    key_passphrase: bytes | None = field(default=None, repr=False)
    key_passphrase_file: Path | None = None
    sm2_backend: str | None = None          # None: the fastest installed
    run_processes: bool = True              # projection runner and processes in `serve`
    crl: CrlSettings = field(default_factory=CrlSettings)
    ocsp: OcspSettings = field(default_factory=OcspSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    pool_size: int = 5                      # event-store connections per process (PostgreSQL)
    max_overflow: int = 10
    read_pool_size: int = 4                 # read-model connections per process (PostgreSQL)
    connect_timeout: int = 5                # seconds
    pool_timeout: float = 0.75              # seconds to wait for a pooled connection
    statement_timeout: float = 5.0          # seconds a database statement may run
    bind: str = "127.0.0.1:8080"
    workers: int = 2
    ocsp_bind: str = "127.0.0.1:8081"
    ocsp_workers: int = 1
    operator: str = "operator"              # who the command line acts as (its user)
    http: HttpLimits = field(default_factory=HttpLimits)  # the front ends' read limits
    threads: int = 4                        # `serve`: request threads per worker process
    queue_limit: int = 256                  # requests waiting for a thread (more: 503)
    ocsp_signers: int = 1                   # on-demand OCSP signing processes (0: threads)
    ocsp_nonce_limit: int = 8               # on-demand OCSP requests at once per process
    log_format: str = "json"                # servers' logs: json or text
    ready_max_lag: float = 30.0             # /readyz: seconds the read models may lag
    document_max_bytes: int = 2 * 1024 * 1024  # one uploaded document (licence, letter, ...)
    expiry_thresholds: tuple[int, ...] = (30, 7, 1)  # days before notAfter: a notice each
    expiry_check_every: float = 3600.0      # seconds between expiry-notice runs
    query_rate: int = 10                    # public queries per minute per client address
    webhook_every: float = 5.0              # seconds between webhook delivery rounds
    webhook_backoff: float = 5.0            # seconds before a failed delivery's first retry

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def number(name: str, default: str) -> int:
            text = env.get(name, "") or default
            if not text.strip().isdigit():
                raise ValueError(f"{name} must be a whole number, not {text!r}")
            return int(text)

        def seconds(name: str, default: str) -> float:
            text = env.get(name, "") or default
            try:
                value = float(text)
            except ValueError:
                value = -1.0
            if not 0 < value < 86400:
                raise ValueError(f"{name} must be a number of seconds, not {text!r}")
            return value

        passphrase_file = env.get("CERTLEDGER_KEY_PASSPHRASE_FILE")
        data_dir = Path(env.get("CERTLEDGER_DATA_DIR", "var")).resolve()
        document_max_bytes = number("CERTLEDGER_DOCUMENT_MAX_BYTES", str(2 * 1024 * 1024))
        return cls(
            data_dir=data_dir,
            database_url=env.get("CERTLEDGER_DATABASE_URL") or None,
            public_base_url=env.get("CERTLEDGER_PUBLIC_URL", "http://127.0.0.1:8080"),
            default_issuer=env.get("CERTLEDGER_DEFAULT_ISSUER", "issuing-ca"),
            accept_empty_sm2_id=env.get("CERTLEDGER_ACCEPT_EMPTY_SM2_ID", "") in _TRUE,
            key_passphrase=(env.get("CERTLEDGER_KEY_PASSPHRASE") or "").encode() or None,
            key_passphrase_file=Path(passphrase_file) if passphrase_file else None,
            sm2_backend=env.get("CERTLEDGER_SM2_BACKEND") or None,
            run_processes=env.get("CERTLEDGER_PROJECTIONS", "on").lower()
            not in ("0", "off", "false", "no"),
            crl=_crl_settings(env),
            ocsp=OcspSettings(validity=timedelta(
                seconds=number("CERTLEDGER_OCSP_VALIDITY", "3600"))),
            audit=_audit_settings(env, data_dir, number("CERTLEDGER_AUDIT_HEAD_EVENTS", "1000")),
            pool_size=number("CERTLEDGER_DB_POOL_SIZE", "5"),
            max_overflow=number("CERTLEDGER_DB_MAX_OVERFLOW", "10"),
            read_pool_size=number("CERTLEDGER_READ_POOL_SIZE", "4"),
            connect_timeout=number("CERTLEDGER_DB_CONNECT_TIMEOUT", "5"),
            pool_timeout=seconds("CERTLEDGER_DB_POOL_TIMEOUT", "0.75"),
            statement_timeout=seconds("CERTLEDGER_DB_STATEMENT_TIMEOUT", "5"),
            bind=env.get("CERTLEDGER_BIND", "127.0.0.1:8080"),
            workers=number("WEB_CONCURRENCY", "2"),
            ocsp_bind=env.get("CERTLEDGER_OCSP_BIND", "127.0.0.1:8081"),
            ocsp_workers=number("CERTLEDGER_OCSP_WORKERS", "1"),
            operator=env.get("USER") or "operator",
            http=HttpLimits(
                header_timeout=seconds("CERTLEDGER_HTTP_HEADER_TIMEOUT", "10"),
                body_timeout=seconds("CERTLEDGER_HTTP_BODY_TIMEOUT", "30"),
                idle_timeout=seconds("CERTLEDGER_HTTP_IDLE_TIMEOUT", "60"),
                per_client=number("CERTLEDGER_HTTP_MAX_PER_CLIENT", "128"),
                # the front end lets a document through (base64 in JSON); the app still
                # holds every other route to max_body_bytes
                max_body=max(64 * 1024, document_max_bytes * 4 // 3 + 16 * 1024)),
            threads=number("CERTLEDGER_THREADS", "4"),
            queue_limit=number("CERTLEDGER_HTTP_QUEUE", "256"),
            ocsp_signers=number("CERTLEDGER_OCSP_SIGNERS", "1"),
            ocsp_nonce_limit=number("CERTLEDGER_OCSP_NONCE_LIMIT", "8"),
            log_format=_choice(env, "CERTLEDGER_LOG_FORMAT", ("json", "text")),
            ready_max_lag=seconds("CERTLEDGER_READY_MAX_LAG", "30"),
            document_max_bytes=document_max_bytes,
            expiry_thresholds=_days(env.get("CERTLEDGER_EXPIRY_NOTICE_DAYS") or "30,7,1"),
            expiry_check_every=seconds("CERTLEDGER_EXPIRY_CHECK_EVERY", "3600"),
            query_rate=number("CERTLEDGER_QUERY_RATE", "10"),
            webhook_every=seconds("CERTLEDGER_WEBHOOK_EVERY", "5"),
            webhook_backoff=seconds("CERTLEDGER_WEBHOOK_BACKOFF", "5"),
        )


def _days(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and 0 < int(part) <= 3650 for part in parts):
        raise ValueError("CERTLEDGER_EXPIRY_NOTICE_DAYS is whole days, comma separated "
                         f"(e.g. 30,7,1), not {text!r}")
    return tuple(sorted({int(part) for part in parts}, reverse=True))


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or choices[0]).lower()
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _crl_settings(env: Mapping[str, str]) -> CrlSettings:
    interval = parse_duration(env.get("CERTLEDGER_CRL_INTERVAL", "6h"))
    return CrlSettings(
        interval=interval,
        validity=parse_duration(env.get("CERTLEDGER_CRL_VALIDITY", "24h")),
        delta_validity=parse_duration(env.get("CERTLEDGER_CRL_DELTA_VALIDITY", "")
                                      or f"{interval.total_seconds() + 7200}s"),
        delay=parse_duration(env.get("CERTLEDGER_CRL_DELAY", "5s")).total_seconds(),
        lint_limit=int(env.get("CERTLEDGER_CRL_LINT_LIMIT", "100")))


def _audit_settings(env: Mapping[str, str], data_dir: Path, head_every: int) -> AuditSettings:
    heads_dir = env.get("CERTLEDGER_AUDIT_HEADS_DIR", "")
    return AuditSettings(
        head_every=head_every,
        head_interval=parse_duration(env.get("CERTLEDGER_AUDIT_HEAD_INTERVAL", "60s")),
        issuer=env.get("CERTLEDGER_AUDIT_ISSUER") or None,
        heads_dir=None if heads_dir.lower() == "off"
        else Path(heads_dir).resolve() if heads_dir else data_dir / "tree-heads")
