"""The composition root: every adapter (key store, event store, clock) is chosen here.

Production and tests build the service through the same function; tests pass
their own key store (a fast work factor) and clock.
"""

from __future__ import annotations

from pathlib import Path

from api.settings import Settings
from ca.applications.certificates import CAService, Clock, ServiceSettings, utc_now
from ca.keys.keystore import KeyStore, passphrase_from_environment

__all__ = ["bootstrap"]


def bootstrap(settings: Settings, *, keystore: KeyStore | None = None,
              clock: Clock = utc_now) -> CAService:
    if keystore is None:
        keystore = KeyStore(Path(settings.data_dir) / "keys", passphrase_from_environment())
    service_settings = ServiceSettings(
        data_dir=settings.data_dir, public_base_url=settings.public_base_url,
        database_url=settings.database_url, default_issuer=settings.default_issuer,
        accept_empty_sm2_id=settings.accept_empty_sm2_id)
    return CAService(service_settings, keystore, clock=clock)
