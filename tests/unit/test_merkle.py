"""ca.audit.merkle against an independent RFC 9162 implementation written here from the
RFC's definitions (§2.1.1 MTH, §2.1.3.1 PATH, §2.1.4.1 PROOF/SUBPROOF), by recursion over
the leaves, sharing no code with the module: tree sizes 1, 2, 3, 7, 8 (the RFC's examples)
and every size up to 70."""

from __future__ import annotations

import hashlib

import pytest

from ca.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# ---- the RFC, verbatim in Python -----------------------------------------------------------


def _k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def data(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


def ours(d: list[bytes]) -> tuple[list[bytes], object]:
    """Leaf hashes and the subtree function the module's proofs take."""
    leaves = [leaf_hash(x) for x in d]
    return leaves, lambda a, b: root_of(leaves[a:b])


SIZES = [1, 2, 3, 7, 8]


# ---- the tree hash -------------------------------------------------------------------------


def test_the_empty_tree_and_the_hash_prefixes_are_the_rfcs() -> None:
    assert EMPTY_ROOT == mth([]) == Frontier().root()
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32
                                                             ).digest()


@pytest.mark.parametrize("n", SIZES + list(range(9, 71)))
def test_the_frontier_root_is_the_rfc_tree_hash_at_every_size(n: int) -> None:
    frontier = Frontier()
    for i, d in enumerate(data(n), 1):
        frontier.append(leaf_hash(d))
        assert frontier.size == i
        assert frontier.root() == mth(data(i))
    reloaded = Frontier.load(n, frontier.dump())
    assert reloaded.root() == mth(data(n))


def test_the_frontier_hands_over_each_completed_perfect_subtree() -> None:
    frontier, chunks = Frontier(), []
    for d in data(40):
        chunk = frontier.append(leaf_hash(d), capture_height=3)
        if chunk is not None:
            chunks.append(chunk)
    assert chunks == [mth(data(40)[i:i + 8]) for i in range(0, 40, 8)]


# ---- inclusion -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES + [5, 16, 33])
def test_inclusion_proofs_are_the_rfcs_and_verify(n: int) -> None:
    d = data(n)
    leaves, subtree = ours(d)
    root = mth(d)
    for m in range(n):
        proof = inclusion_proof(m, n, subtree)  # type: ignore[arg-type]
        assert proof == path(m, d)
        assert verify_inclusion(leaves[m], m, n, proof, root)


@pytest.mark.parametrize("n", SIZES)
def test_a_wrong_inclusion_proof_fails(n: int) -> None:
    d = data(n)
    leaves, subtree = ours(d)
    root = mth(d)
    for m in range(n):
        proof = path(m, d)
        assert not verify_inclusion(leaf_hash(b"forged"), m, n, proof, root)
        assert not verify_inclusion(leaves[m], n, n, proof, root)
        if proof:
            assert not verify_inclusion(leaves[m], m, n, proof[:-1], root)
            bent = [bytes(32)] + proof[1:]
            assert not verify_inclusion(leaves[m], m, n, bent, root)
            assert not verify_inclusion(leaves[m], m, n, proof + [bytes(32)], root)
        if n > 1:
            other = (m + 1) % n
            assert not verify_inclusion(leaves[other], m, n, proof, root)


# ---- consistency ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES + [5, 16, 33])
def test_consistency_proofs_are_the_rfcs_and_verify(n: int) -> None:
    d = data(n)
    _, subtree = ours(d)
    for m in range(1, n + 1):
        proof = consistency_proof(m, n, subtree)  # type: ignore[arg-type]
        assert proof == subproof(m, d, True)
        assert verify_consistency(m, n, proof, mth(d[:m]), mth(d))


@pytest.mark.parametrize("n", SIZES)
def test_a_wrong_consistency_proof_fails(n: int) -> None:
    d = data(n)
    altered = d[:-1] + [b"altered"]
    for m in range(1, n):
        proof = subproof(m, d, True)
        assert verify_consistency(m, n, proof, mth(d[:m]), mth(d))
        assert not verify_consistency(m, n, proof, mth(d[:m]), mth(altered))
        assert not verify_consistency(m, n, proof, leaf_hash(b"other"), mth(d))
        assert not verify_consistency(m, n, [], mth(d[:m]), mth(d))
        assert not verify_consistency(m, n, proof + [bytes(32)], mth(d[:m]), mth(d))
        assert not verify_consistency(m, n, proof[:-1], mth(d[:m]), mth(d))
    assert verify_consistency(n, n, [], mth(d), mth(d))
    assert not verify_consistency(n, n, [bytes(32)], mth(d), mth(d))
    assert not verify_consistency(0, n, [], mth([]), mth(d))
