"""Signing engines: gmssl (pure Python, the reference and default) and gmssl-pyx (GmSSL in C).

An engine holds one private scalar and turns a digest ``e`` into ``(r, s)``.
Hashing (Z and e), DER, key generation and verification are done by the
package itself, the same whichever engine signs.

gmssl 3.2.2 pitfalls handled here: ``CryptSM2.sign_with_sm3`` would draw its
nonce from :mod:`random`, so we call ``CryptSM2.sign`` with a nonce from
:mod:`secrets`; its constructor strips every leading "0", "4" character pair
of the public key hex (``lstrip("04")``), so the key attributes are set after
construction; it returns ``r || s`` as hex, which we turn into integers.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from gmssl.sm2 import CryptSM2

from . import curve
from ._encoding import decode_signature

__all__ = [
    "GMSSL",
    "GMSSL_PYX",
    "Engine",
    "available_backends",
    "choose_backend",
    "make_engine",
    "gmssl_verify_digest",
]

GMSSL = "gmssl"
GMSSL_PYX = "gmssl-pyx"
_MAX_TRIES = 64  # a retry needs a ~2^-255 event; more than a few means something is broken

try:
    import gmssl_pyx as _pyx
except ImportError:  # optional: pip install 'certledger[sm2-fast]'
    _pyx = None


class Engine(Protocol):
    def sign_digest(self, e: int) -> tuple[int, int]:
        """An SM2 signature (r, s) of the digest ``e``, with a fresh CSPRNG nonce."""
        ...


def _gmssl(private_hex: str | None, point: tuple[int, int]) -> CryptSM2:
    engine = CryptSM2(private_key=None, public_key="")
    engine.private_key = private_hex  # set afterwards: the constructor mangles keys
    engine.public_key = f"{point[0]:064x}{point[1]:064x}"
    return engine


class _GmsslEngine:
    __slots__ = ("_crypt",)

    def __init__(self, d: int, point: tuple[int, int]) -> None:
        self._crypt = _gmssl(f"{d:064x}", point)

    def sign_digest(self, e: int) -> tuple[int, int]:
        digest = e.to_bytes(32, "big")
        for _ in range(_MAX_TRIES):
            k = secrets.randbelow(curve.N - 1) + 1
            out = self._crypt.sign(digest, f"{k:064x}")
            if out is not None:  # None: r == 0, r + k == n or s == 0; draw another k
                return int(out[:64], 16), int(out[64:128], 16)
        raise RuntimeError("gmssl could not produce an SM2 signature")


class _PyxEngine:
    __slots__ = ("_d",)

    def __init__(self, d: int, point: tuple[int, int]) -> None:
        self._d = d.to_bytes(32, "big")

    def sign_digest(self, e: int) -> tuple[int, int]:
        assert _pyx is not None
        # GmSSL draws the nonce from its own CSPRNG (rand_bytes); it cannot be passed in.
        rs = decode_signature(_pyx.sm2_sign_sm3_digest(self._d, e.to_bytes(32, "big")))
        if rs is None:
            raise RuntimeError("gmssl-pyx returned a malformed SM2 signature")
        return rs


def available_backends() -> tuple[str, ...]:
    """The engines that can be used here, fastest first."""
    return (GMSSL_PYX, GMSSL) if _pyx is not None else (GMSSL,)


def choose_backend(forced: str | None = None) -> str:
    """``forced`` (the operator's choice, from the settings) if given, else the fastest
    available engine."""
    forced = (forced or "").strip().lower()
    if not forced:
        return available_backends()[0]
    if forced not in (GMSSL, GMSSL_PYX):
        raise RuntimeError(f"{forced!r} is not an SM2 backend; use {GMSSL!r} or {GMSSL_PYX!r}")
    if forced not in available_backends():
        raise RuntimeError(f"SM2 backend {forced!r} is chosen but the gmssl-pyx package is not "
                           "installed (pip install 'certledger[sm2-fast]')")
    return forced


def make_engine(backend: str, d: int, point: tuple[int, int]) -> Engine:
    if backend == GMSSL:
        return _GmsslEngine(d, point)
    if backend == GMSSL_PYX and _pyx is not None:
        return _PyxEngine(d, point)
    raise ValueError(f"SM2 backend {backend!r} is not available; "
                     f"available: {', '.join(available_backends())}")


def gmssl_verify_digest(point: tuple[int, int], e: int, r: int, s: int) -> bool:
    """gmssl's own verification of (r, s) over ``e``: the reference the tests compare with."""
    if not (0 < r < curve.N and 0 < s < curve.N):
        return False
    return bool(_gmssl(None, point).verify(f"{r:064x}{s:064x}", e.to_bytes(32, "big")))
