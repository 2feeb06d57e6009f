"""Settings from the environment, in one place (see README, "Configuration")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None
    public_base_url: str
    default_issuer: str
    accept_empty_sm2_id: bool
    max_body_bytes: int = 64 * 1024

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("CERTLEDGER_DATA_DIR", "var")).resolve(),
            database_url=env.get("CERTLEDGER_DATABASE_URL") or None,
            public_base_url=env.get("CERTLEDGER_PUBLIC_URL", "http://127.0.0.1:8080"),
            default_issuer=env.get("CERTLEDGER_DEFAULT_ISSUER", "issuing-ca"),
            accept_empty_sm2_id=env.get("CERTLEDGER_ACCEPT_EMPTY_SM2_ID", "") in ("1", "true"),
        )
