"""HMAC-SHA256 under a secret of the key store (made on first use, sealed at rest).

What must be matched later but never read (a handler's identity card number), and what
must come out the same when a request is retried (a token made for an Idempotency-Key),
is an HMAC under one of these keys. The key's reference is recorded beside a digest, so
a later key can replace it; the key itself is never in an event, a log line or an error.
"""

from __future__ import annotations

import hashlib
import hmac

from ca.keys.keystore import KeyStore

__all__ = ["HmacKey", "ID_NUMBER_KEY", "TOKEN_KEY", "CODE_KEY", "UNLOCK_CODE_KEY",
           "WEBHOOK_KEY"]

ID_NUMBER_KEY = "id-number-hmac-1"  # handlers' and persons' identity card numbers
TOKEN_KEY = "token-derivation-1"    # tokens made for a retried request
CODE_KEY = "confirmation-code-1"    # SMS confirmation codes (legal-person authorisation)
UNLOCK_CODE_KEY = "unlock-code-1"   # PIN unlock codes: their HMAC, and codes for a retry
WEBHOOK_KEY = "webhook-secret-1"    # webhook secrets, sealed


class HmacKey:
    def __init__(self, keys: KeyStore, key_ref: str) -> None:
        self._keys = keys
        self.key_ref = key_ref

    def digest(self, data: bytes) -> bytes:
        return hmac.new(self._keys.secret(self.key_ref), data, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"HmacKey({self.key_ref!r})"
