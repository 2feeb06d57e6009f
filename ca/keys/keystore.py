"""CA private keys, encrypted at rest.

Each key is one JSON file: scrypt derives a key-encryption key from the operator's
passphrase, AES-256-GCM seals the private key (PKCS#8 DER, or the raw scalar for
SM2) with the key reference and algorithm as associated data, so a file renamed or
relabelled fails to open. The passphrase is handed over by the composition root (from
the settings: a value or a file the operator controls); it is never logged.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ca.encoding.algorithms import KeyAlgorithm
from ca.encoding.signers import CryptographySigner, Signer

__all__ = ["KeyStore", "KeyStoreError"]

_SCRYPT_N = 2**15
_SUFFIX = ".key.json"
_SECRET_SUFFIX = ".secret.json"
_SECRET_BYTES = 32


class KeyStoreError(Exception):
    """A key cannot be stored or opened (wrong passphrase, missing or damaged file)."""


class KeyStore:
    """Keys in ``directory``, each sealed with a key derived from ``passphrase``."""

    def __init__(self, directory: Path, passphrase: bytes, *, work_factor: int = _SCRYPT_N) -> None:
        """``work_factor`` is scrypt's N for new keys (tests lower it; files record their own)."""
        if len(passphrase) < 12:
            raise KeyStoreError("the key passphrase must be at least 12 characters")
        self._directory = Path(directory)
        self._passphrase = passphrase
        self._work_factor = work_factor
        self._cache: dict[str, Signer] = {}
        self._secrets: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def generate(self, algorithm: KeyAlgorithm, label: str) -> tuple[str, Signer]:
        """Make a key, seal it to disk, and return (key reference, signer)."""
        if algorithm is KeyAlgorithm.SM2:
            from ca.encoding import sm2

            signer: Signer = sm2.generate_signer()
            secret = signer.private_key_bytes()  # type: ignore[attr-defined]
        else:
            crypto_signer = _generate_cryptography(algorithm)
            signer, secret = crypto_signer, crypto_signer.private_key_der()
        key_ref = f"{label}-{secrets.token_hex(4)}"
        self._write(key_ref, algorithm, secret)
        with self._lock:
            self._cache[key_ref] = signer
        return key_ref, signer

    def load(self, key_ref: str) -> Signer:
        with self._lock:
            if key_ref in self._cache:
                return self._cache[key_ref]
        path = self._path(key_ref)
        try:
            algorithm = KeyAlgorithm(json.loads(path.read_text())["algorithm"])
        except (OSError, ValueError, KeyError):
            raise KeyStoreError(f"key {key_ref} is missing or unreadable at {path}") from None
        secret = self._open(path, key_ref, _aad(key_ref, algorithm))
        signer = _signer_from_secret(algorithm, secret)
        with self._lock:
            self._cache[key_ref] = signer
        return signer

    def secret(self, name: str) -> bytes:
        """A 32-byte secret (an HMAC key) sealed like the CA keys, in ``name.secret.json``,
        made on first use. Processes racing to make it agree: the first file linked into
        place wins and the others read it. Never in an event, a log line or an error."""
        with self._lock:
            if name in self._secrets:
                return self._secrets[name]
        path = self._directory / f"{_checked_ref(name)}{_SECRET_SUFFIX}"
        if not path.exists():
            self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            draft = self._directory / f".{name}.{secrets.token_hex(8)}.tmp"
            self._seal(draft, _secret_aad(name), secrets.token_bytes(_SECRET_BYTES), "secret")
            try:
                os.link(draft, path)  # atomic, and fails if another process made it first
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        value = self._open(path, name, _secret_aad(name))
        with self._lock:
            return self._secrets.setdefault(name, value)

    def key_refs(self) -> list[str]:
        """The references of the key files in the store, sorted."""
        if not self._directory.is_dir():
            return []
        return sorted(path.name[:-len(_SUFFIX)] for path in self._directory.iterdir()
                      if path.name.endswith(_SUFFIX))

    def path_of(self, key_ref: str) -> Path:
        return self._path(key_ref)

    def discard(self, key_ref: str) -> bool:
        """Remove a key no event names (made for a save that failed); True if it was there.
        Never for a key an event references: that key signed something."""
        with self._lock:
            self._cache.pop(key_ref, None)
        try:
            self._path(key_ref).unlink()
        except FileNotFoundError:
            return False
        return True

    def _write(self, key_ref: str, algorithm: KeyAlgorithm, secret: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._seal(self._path(key_ref), _aad(key_ref, algorithm), secret, algorithm.value)

    def _seal(self, path: Path, aad: bytes, secret: bytes, algorithm: str) -> None:
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        ciphertext = AESGCM(self._derive(salt, self._work_factor)).encrypt(nonce, secret, aad)
        document = {"format": "certledger-sealed-key/1", "algorithm": algorithm,
                    "kdf": "scrypt", "n": self._work_factor, "r": 8, "p": 1,
                    "salt": base64.b64encode(salt).decode(),
                    "nonce": base64.b64encode(nonce).decode(), "cipher": "aes-256-gcm",
                    "ciphertext": base64.b64encode(ciphertext).decode()}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle)

    def _open(self, path: Path, name: str, aad: bytes) -> bytes:
        try:
            sealed = json.loads(path.read_text())
            kek = self._derive(base64.b64decode(sealed["salt"]), sealed["n"])
            nonce, ciphertext = (base64.b64decode(sealed[k]) for k in ("nonce", "ciphertext"))
        except (OSError, ValueError, KeyError):
            raise KeyStoreError(f"key {name} is missing or unreadable at {path}") from None
        try:
            return AESGCM(kek).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise KeyStoreError(f"key {name} does not open: wrong passphrase or "
                                "a damaged file") from None

    def _derive(self, salt: bytes, n: int) -> bytes:
        return Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(self._passphrase)

    def _path(self, key_ref: str) -> Path:
        return self._directory / f"{_checked_ref(key_ref)}{_SUFFIX}"


def _checked_ref(key_ref: str) -> str:
    if not key_ref.replace("-", "").replace("_", "").isalnum():
        raise KeyStoreError(f"bad key reference {key_ref!r}")
    return key_ref


def _aad(key_ref: str, algorithm: KeyAlgorithm) -> bytes:
    return f"certledger-key:{key_ref}:{algorithm.value}".encode()


def _secret_aad(name: str) -> bytes:
    return f"certledger-secret:{name}".encode()


def _generate_cryptography(algorithm: KeyAlgorithm) -> CryptographySigner:
    from ca.encoding.signers import generate_private_key

    return generate_private_key(algorithm)


def _signer_from_secret(algorithm: KeyAlgorithm, secret: bytes) -> Signer:
    if algorithm is KeyAlgorithm.SM2:
        from ca.encoding import sm2

        return sm2.Sm2Signer.from_private_bytes(secret)
    key = serialization.load_der_private_key(secret, password=None)
    return CryptographySigner(key)  # type: ignore[arg-type]
