"""SM2 signatures with SM3 (GB/T 32918, GM/T 0003/0009) behind the ``Signer`` API.

Signing runs on an engine (see :mod:`ca.encoding.sm2._backends`): gmssl by default, or
GmSSL through the optional ``gmssl-pyx`` package, used automatically when it is
installed (``CERTLEDGER_SM2_BACKEND=gmssl|gmssl-pyx`` forces one). Everything
else (key generation from :mod:`secrets`, Z and e with SM3, DER, public key
checks and verification) is done here, the same for every engine.

Importing this package registers the SM2 curve with asn1crypto so that SM2
SubjectPublicKeyInfos parse and round-trip.
"""

from __future__ import annotations

import functools
import secrets

from asn1crypto import algos, keys

from ca.encoding.algorithms import (
    DEFAULT_SM2_ID,
    SM2_CURVE_OID,
    KeyAlgorithm,
    signature_algorithm_identifier,
)

from . import curve
from ._backends import available_backends, choose_backend, make_engine
from ._encoding import (
    decode_signature,
    encode_point,
    encode_signature,
    message_digest,
    point_of,
    public_key_info,
    z_value,
)

__all__ = [
    "Sm2Signer",
    "generate_signer",
    "verify_spki",
    "validate_public_key_info",
    "backend_name",
    "use_backend",
    "available_backends",
    "verify_digest",
]

keys.NamedCurve.register("sm2p256v1", SM2_CURVE_OID, 32)

_BACKEND = choose_backend()
_Z_CACHE_SIZE = 16  # Z values kept per signer (one per signer ID)


def backend_name() -> str:
    """The engine new signers use: "gmssl" or "gmssl-pyx"."""
    return _BACKEND


def use_backend(name: str | None) -> str:
    """Make ``name`` (None: the fastest available) the engine new signers use."""
    global _BACKEND
    _BACKEND = choose_backend(name)
    return _BACKEND


class Sm2Signer:
    """An SM2 private key that signs with SM3 and a signer ID (default "1234567812345678")."""

    __slots__ = ("_d", "_point", "_spki", "_engine", "_backend", "_z")

    def __init__(self, d: int, *, backend: str | None = None) -> None:
        if not 1 <= d <= curve.N - 2:
            raise ValueError("SM2 private key must be an integer in [1, n-2]")
        point = curve.to_affine(curve.mul_base(d))
        assert point is not None  # d is in range, so d*G is not infinity
        self._d = d
        self._point = point
        self._backend = backend or _BACKEND
        self._engine = make_engine(self._backend, d, point)
        self._spki = public_key_info(point)
        self._z: dict[bytes, bytes] = {}

    @classmethod
    def from_private_bytes(cls, d: bytes, *, backend: str | None = None) -> Sm2Signer:
        """The signer for a 32-byte big-endian private scalar (as :meth:`private_key_bytes`)."""
        if not isinstance(d, bytes | bytearray) or len(d) != 32:
            raise ValueError("SM2 private key must be exactly 32 bytes")
        return cls(int.from_bytes(d, "big"), backend=backend)

    def __repr__(self) -> str:
        return f"<Sm2Signer x={self._point[0]:064x} backend={self._backend}>"

    @property
    def key_algorithm(self) -> KeyAlgorithm:
        return KeyAlgorithm.SM2

    @property
    def backend(self) -> str:
        return self._backend

    def public_key_info(self) -> keys.PublicKeyInfo:
        return self._spki

    def public_point(self) -> bytes:
        """The public key as 04 || x || y."""
        return encode_point(self._point)

    def signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        return signature_algorithm_identifier(KeyAlgorithm.SM2)

    def private_key_bytes(self) -> bytes:
        """The 32-byte private scalar, for the key store to encrypt. Never log or store it as is."""
        return self._d.to_bytes(32, "big")

    def sign(self, message: bytes, signer_id: bytes = DEFAULT_SM2_ID) -> bytes:
        """DER SEQUENCE { r, s } over SM3(Z || message), Z bound to this key and ``signer_id``."""
        z = self._z.get(signer_id)
        if z is None:
            z = z_value(self._point, bytes(signer_id))
            if len(self._z) < _Z_CACHE_SIZE:
                self._z[bytes(signer_id)] = z
        r, s = self._engine.sign_digest(message_digest(z, message))
        return encode_signature(r, s)


def generate_signer(*, backend: str | None = None) -> Sm2Signer:
    """A new SM2 key with d drawn uniformly from [1, n-2] by :mod:`secrets`."""
    return Sm2Signer(secrets.randbelow(curve.N - 2) + 1, backend=backend)


def validate_public_key_info(public_key_info: keys.PublicKeyInfo) -> None:
    """Raise ValueError, saying why, unless this is an uncompressed SM2 point on the curve."""
    point_of(public_key_info)


@functools.lru_cache(maxsize=1024)
def _point_and_z(spki_der: bytes, signer_id: bytes) -> tuple[tuple[int, int], bytes]:
    point = point_of(keys.PublicKeyInfo.load(spki_der))
    return point, z_value(point, signer_id)


def verify_digest(point: tuple[int, int], e: int, r: int, s: int) -> bool:
    """GB/T 32918.2 §7.1 verification of (r, s) over the digest ``e`` for public key ``point``."""
    if not (0 < r < curve.N and 0 < s < curve.N):
        return False
    t = (r + s) % curve.N
    if t == 0:
        return False
    xy = curve.to_affine(curve.mul_base_add(s, t, point))
    return xy is not None and (e + xy[0]) % curve.N == r


def verify_spki(public_key_info: keys.PublicKeyInfo, message: bytes, signature: bytes,
                signer_id: bytes) -> bool:
    """True only if ``signature`` (DER) is a valid SM2 signature of ``message`` for ``signer_id``.

    Never raises for bad input: a malformed or out-of-range signature, a key that
    is not a valid SM2 public key, or an over-long signer ID all give False.
    """
    try:
        point, z = _point_and_z(public_key_info.dump(), bytes(signer_id))
        rs = decode_signature(bytes(signature))
        if rs is None:
            return False
        return verify_digest(point, message_digest(z, bytes(message)), *rs)
    except (ValueError, TypeError, AttributeError, OverflowError):
        return False
