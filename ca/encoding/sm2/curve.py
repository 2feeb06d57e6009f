"""The SM2 curve (GB/T 32918.5, sm2p256v1) and point arithmetic on it in plain Python ints.

Used to derive public keys, to check points, and to verify signatures (all but
key derivation work on public data). Points are Jacobian triples ``(X, Y, Z)``
with ``Z == 0`` for the point at infinity; affine points are ``(x, y)`` pairs.

Multiplying the base point uses a fixed-base table (one precomputed multiple of
G per 8-bit window), so ``k*G`` costs 32 point additions and no doublings; other
points use a width-5 NAF. The curve has ``a = p - 3``, which the doubling
formula exploits.
"""

from __future__ import annotations

__all__ = [
    "P",
    "A",
    "B",
    "N",
    "GX",
    "GY",
    "is_on_curve",
    "mul_base",
    "mul_base_add",
    "to_affine",
]

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

_Jacobian = tuple[int, int, int]
_INFINITY: _Jacobian = (1, 1, 0)
_WINDOW = 8
_WINDOWS = 256 // _WINDOW
_table: list[list[tuple[int, int]]] = []


def is_on_curve(x: int, y: int) -> bool:
    """True if ``(x, y)`` are field elements satisfying y^2 = x^3 + ax + b (mod p)."""
    if not (0 <= x < P and 0 <= y < P):
        return False
    return (y * y - (x * x * x + A * x + B)) % P == 0


def _double(pt: _Jacobian) -> _Jacobian:
    x, y, z = pt
    if z == 0 or y == 0:
        return _INFINITY
    delta = z * z % P
    gamma = y * y % P
    beta = x * gamma % P
    alpha = 3 * (x - delta) * (x + delta) % P
    x3 = (alpha * alpha - 8 * beta) % P
    z3 = ((y + z) * (y + z) - gamma - delta) % P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % P
    return x3, y3, z3


def _add_affine(pt: _Jacobian, q: tuple[int, int]) -> _Jacobian:
    """``pt + q`` with ``q`` affine (mixed addition, madd-2007-bl)."""
    x1, y1, z1 = pt
    if z1 == 0:
        return q[0], q[1], 1
    z1z1 = z1 * z1 % P
    h = (q[0] * z1z1 - x1) % P
    r = 2 * (q[1] * z1 * z1z1 - y1) % P
    if h == 0:
        return _double(pt) if r == 0 else _INFINITY
    hh = h * h % P
    i = 4 * hh
    j = h * i % P
    v = x1 * i % P
    x3 = (r * r - j - 2 * v) % P
    y3 = (r * (v - x3) - 2 * y1 * j) % P
    z3 = ((z1 + h) * (z1 + h) - z1z1 - hh) % P
    return x3, y3, z3


def _add(pt: _Jacobian, q: _Jacobian) -> _Jacobian:
    """``pt + q`` for two Jacobian points (add-2007-bl)."""
    x1, y1, z1 = pt
    x2, y2, z2 = q
    if z1 == 0:
        return q
    if z2 == 0:
        return pt
    z1z1 = z1 * z1 % P
    z2z2 = z2 * z2 % P
    u1 = x1 * z2z2 % P
    s1 = y1 * z2 * z2z2 % P
    h = (x2 * z1z1 - u1) % P
    r = 2 * (y2 * z1 * z1z1 - s1) % P
    if h == 0:
        return _double(pt) if r == 0 else _INFINITY
    i = 4 * h * h % P
    j = h * i % P
    v = u1 * i % P
    x3 = (r * r - j - 2 * v) % P
    y3 = (r * (v - x3) - 2 * s1 * j) % P
    z3 = ((z1 + z2) * (z1 + z2) - z1z1 - z2z2) * h % P
    return x3, y3, z3


def to_affine(pt: _Jacobian) -> tuple[int, int] | None:
    """The affine coordinates of ``pt``, or None for the point at infinity."""
    x, y, z = pt
    if z == 0:
        return None
    zinv = pow(z, -1, P)
    zinv2 = zinv * zinv % P
    return x * zinv2 % P, y * zinv2 * zinv % P


def _build_table() -> list[list[tuple[int, int]]]:
    """table[i][j-1] = j * 2^(8i) * G in affine coordinates, for j in 1..255."""
    table: list[list[tuple[int, int]]] = []
    base = (GX, GY)
    for _ in range(_WINDOWS):
        row: list[_Jacobian] = [(base[0], base[1], 1)]
        for _ in range(2, 1 << _WINDOW):
            row.append(_add_affine(row[-1], base))
        row.append(_add_affine(row[-1], base))  # 2^8 * base: the next window's base
        affine = _batch_affine(row)
        table.append(affine[:-1])
        base = affine[-1]
    return table


def _batch_affine(points: list[_Jacobian]) -> list[tuple[int, int]]:
    """Convert many Jacobian points (none at infinity) with one field inversion."""
    prefix = [1]
    for _, _, z in points:
        prefix.append(prefix[-1] * z % P)
    inv = pow(prefix[-1], -1, P)
    out: list[tuple[int, int]] = [(0, 0)] * len(points)
    for idx in range(len(points) - 1, -1, -1):
        x, y, z = points[idx]
        zinv = inv * prefix[idx] % P
        inv = inv * z % P
        zinv2 = zinv * zinv % P
        out[idx] = (x * zinv2 % P, y * zinv2 * zinv % P)
    return out


def mul_base(k: int) -> _Jacobian:
    """``k * G`` for 0 <= k < 2^256, from the fixed-base table (built on first use).

    Used for public keys (once per key) and for verification; signing nonces are
    multiplied by the signing engine.
    """
    global _table
    if not _table:
        _table = _build_table()
    acc = _INFINITY
    mask = (1 << _WINDOW) - 1
    for row in _table:
        digit = k & mask
        if digit:
            acc = _add_affine(acc, row[digit - 1])
        k >>= _WINDOW
    return acc


def _wnaf(k: int, width: int = 5) -> list[int]:
    """Width-``width`` non-adjacent form of ``k``, least significant digit first."""
    digits: list[int] = []
    half = 1 << (width - 1)
    full = 1 << width
    while k:
        if k & 1:
            digit = k & (full - 1)
            if digit >= half:
                digit -= full
            k -= digit
        else:
            digit = 0
        digits.append(digit)
        k >>= 1
    return digits


def mul_base_add(u1: int, u2: int, q: tuple[int, int]) -> _Jacobian:
    """``u1 * G + u2 * Q`` for a point ``Q`` on the curve (public inputs: not constant time)."""
    odd: list[_Jacobian] = [(q[0], q[1], 1)]
    twice = _double(odd[0])
    for _ in range(7):
        odd.append(_add(odd[-1], twice))
    multiples = _batch_affine(odd)  # Q, 3Q, ..., 15Q: none is infinity, the order is prime
    negated = [(x, P - y) for x, y in multiples]
    acc = _INFINITY
    for digit in reversed(_wnaf(u2)):
        acc = _double(acc)
        if digit > 0:
            acc = _add_affine(acc, multiples[digit >> 1])
        elif digit < 0:
            acc = _add_affine(acc, negated[(-digit) >> 1])
    return _add(acc, mul_base(u1))
