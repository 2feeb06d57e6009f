"""Merkle tree hashing, proofs and their verification, as RFC 9162 §2.1 defines them.

The tree hash of a list of n leaves D[n] (§2.1.1)::

    MTH({})   = SHA-256()
    MTH({d0}) = SHA-256(0x00 || d0)
    MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))  k: the largest power of 2 < n

A :class:`Frontier` holds the roots of the perfect subtrees a tree of ``size`` leaves is
made of (one per set bit of ``size``, largest first; RFC 9162 calls such a list a
compact range): appending a leaf costs one hash per carried bit, and the root folds the
frontier from the right, so a log of millions of events never rehashes what it has.
Inclusion and consistency proofs (§2.1.3, §2.1.4) are made from any function that gives
MTH(D[a:b]); their verification follows §2.1.3.2 and §2.1.4.2 step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

__all__ = ["HASH_SIZE", "EMPTY_ROOT", "leaf_hash", "node_hash", "Frontier", "inclusion_proof",
           "consistency_proof", "verify_inclusion", "verify_consistency", "root_of",
           "split_hashes"]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256
Subtree = Callable[[int, int], bytes]  # MTH(D[a:b])


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def split_hashes(data: bytes) -> list[bytes]:
    """32-byte hashes concatenated, one by one (ValueError if the length is not a multiple)."""
    if len(data) % HASH_SIZE:
        raise ValueError(f"{len(data)} bytes are not a list of {HASH_SIZE}-byte hashes")
    return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The roots of the perfect subtrees of a tree of ``size`` leaves, largest first."""

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != bin(size).count("1"):
            raise ValueError(f"a frontier of {size} leaves has {bin(size).count('1')} hashes")
        self.size = size
        self.hashes = list(hashes)

    @classmethod
    def load(cls, size: int, packed: bytes) -> Frontier:
        return cls(size, split_hashes(packed))

    def dump(self) -> bytes:
        return b"".join(self.hashes)

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)

    def append(self, leaf: bytes, capture_height: int | None = None) -> bytes | None:
        """Add a leaf hash. Returns the root of the perfect subtree of 2**capture_height
        leaves this leaf completes, if it completes one (None otherwise)."""
        hashes, size, height, captured = self.hashes, self.size, 0, None
        node = leaf
        while size & 1:
            node = _sha256(b"\x01" + hashes.pop() + node).digest()
            size >>= 1
            height += 1
            if height == capture_height:
                captured = node
        if capture_height == 0:
            captured = leaf
        hashes.append(node)
        self.size += 1
        return captured

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Add many leaf hashes (the loop of :meth:`append`, without its call per leaf)."""
        hashes, size, sha256 = self.hashes, self.size, _sha256
        pop, push = hashes.pop, hashes.append
        for node in leaves:
            carry = size
            while carry & 1:
                node = sha256(b"\x01" + pop() + node).digest()
                carry >>= 1
            push(node)
            size += 1
        self.size = size

    def root(self) -> bytes:
        """MTH of the tree: the frontier folded from the right."""
        if not self.hashes:
            return EMPTY_ROOT
        node = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            node = _sha256(b"\x01" + left + node).digest()
        return node


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of the leaf hashes ``leaves``."""
    frontier = Frontier()
    frontier.extend(leaves)
    return frontier.root()


# ---- proofs (RFC 9162 §2.1.3.1, §2.1.4.1) -------------------------------------------------

def inclusion_proof(index: int, size: int, subtree: Subtree, start: int = 0) -> list[bytes]:
    """PATH(index, D[start:start + size]): the hashes from the leaf's sibling up."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    if size == 1:
        return []
    k = _largest_power_of_two_below(size)
    if index < k:
        return inclusion_proof(index, k, subtree, start) + [subtree(start + k, start + size)]
    return inclusion_proof(index - k, size - k, subtree, start + k) + [
        subtree(start, start + k)]


def consistency_proof(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """PROOF(first, D[second]): that the tree of ``first`` leaves is a prefix of the tree of
    ``second`` leaves (empty when the sizes are equal)."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second} leaves")
    return _subproof(first, second, True, subtree, 0)


def _subproof(m: int, n: int, whole: bool, subtree: Subtree, start: int) -> list[bytes]:
    if m == n:
        return [] if whole else [subtree(start, start + n)]
    k = _largest_power_of_two_below(n)
    if m <= k:
        return _subproof(m, k, whole, subtree, start) + [subtree(start + k, start + n)]
    return _subproof(m - k, n - k, False, subtree, start + k) + [subtree(start, start + k)]


# ---- verification (RFC 9162 §2.1.3.2, §2.1.4.2) -------------------------------------------

def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree of ``size``
    leaves whose root is ``root``."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, proof: Sequence[bytes], first_root: bytes,
                       second_root: bytes) -> bool:
    """Whether ``proof`` shows the tree of ``first`` leaves (root ``first_root``) is a prefix
    of the tree of ``second`` leaves (root ``second_root``)."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of 2: the first root is on the path
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
