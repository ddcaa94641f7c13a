"""The Merkle tree of a transparency log, as RFC 9162 (and RFC 6962 before it) defines it: leaf
and node hashing, a tree's root, the inclusion proof of one entry and the consistency proof of
two sizes of the tree, and checking each. Hashes only, never content: what a log commits to is
the hash of each entry, so a proof never carries a person's data.

Checked against the Certificate Transparency test vectors (tests/vectors/merkle.json)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
# RFC 9162 §2.1.1: a leaf's hash and an interior node's start with different bytes, so that
# no leaf can pass for a node (the second-preimage attack on unprefixed trees).
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofInvalid(ValueError):
    """A proof that does not show what it claims, and why."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH: the root of the tree over these leaf hashes, in order (RFC 9162 §2.1.1)."""
    if not leaves:
        return EMPTY_ROOT
    # The perfect subtrees of the tree, left to right, merged as each leaf arrives; then the
    # remaining ones folded from the right, as the recursive definition splits them.
    stack: list[tuple[int, bytes]] = []
    for leaf in leaves:
        size, node = 1, leaf
        while stack and stack[-1][0] == size:
            node = node_hash(stack.pop()[1], node)
            size *= 2
        stack.append((size, node))
    node = stack.pop()[1]
    while stack:
        node = node_hash(stack.pop()[1], node)
    return node


# MTH(D[start:end]) of some tree: how a proof reads the subtrees it needs, whether the leaves
# are in a list (`of_leaves`) or the tree is in a store of tiles.
Subtrees = Callable[[int, int], bytes]


def of_leaves(leaves: Sequence[bytes]) -> Subtrees:
    return lambda start, end: root(leaves[start:end])


def inclusion_path(index: int, size: int, subtree: Subtrees) -> list[bytes]:
    """PATH(m, D[n]): the hashes that lead from leaf `index` to the root (RFC 9162 §2.1.3.1),
    from the leaf's sibling up."""
    if not 0 <= index < size:
        raise ProofInvalid(f"entry {index} is not in a tree of {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:  # the recursion of the RFC, top down; its output is bottom up
        k = _split(end - start)
        if index < start + k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    return path[::-1]


def consistency_path(old_size: int, size: int, subtree: Subtrees) -> list[bytes]:
    """PROOF(m, D[n]): the hashes that show the tree of `old_size` is a prefix of the tree of
    `size` (RFC 9162 §2.1.4.1)."""
    if not 0 < old_size <= size:
        raise ProofInvalid(f"no consistency proof from {old_size} to {size}")
    path: list[bytes] = []
    m, start, end, complete = old_size, 0, size, True
    while m != end - start:  # SUBPROOF, top down; its output is bottom up
        k = _split(end - start)
        if m <= k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        path.append(subtree(start, end))
    return path[::-1]


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    return inclusion_path(index, len(leaves), of_leaves(leaves))


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    return consistency_path(old_size, len(leaves), of_leaves(leaves))


def _sized(*hashes: bytes) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofInvalid(f"a hash is not {HASH_SIZE} bytes")


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: that the leaf hash is entry `index` of the tree of `size` whose root
    is `expected_root`; raises ProofInvalid saying why not."""
    if not 0 <= index < size:
        raise ProofInvalid(f"entry {index} is not in a tree of {size}")
    _sized(leaf, *proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofInvalid("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofInvalid("the proof is shorter than the tree is deep")
    if r != expected_root:
        raise ProofInvalid("the proof leads to another root")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """RFC 9162 §2.1.4.2: that the tree of `new_size` with `new_root` extends the tree of
    `old_size` with `old_root`, nothing in it changed; raises ProofInvalid saying why not."""
    if old_size > new_size:
        raise ProofInvalid(f"a tree of {new_size} cannot extend one of {old_size}")
    if old_size == 0:
        raise ProofInvalid("every tree extends the empty one: there is nothing to prove")
    if old_size == new_size:
        if proof:
            raise ProofInvalid("the trees are the same size: the proof must be empty")
        if old_root != new_root:
            raise ProofInvalid("the same size, two different roots: the log forked")
        return
    if not proof:
        raise ProofInvalid("the proof is empty")
    _sized(old_root, new_root, *proof)
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofInvalid("the proof is longer than the trees are deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofInvalid("the proof is shorter than the trees are deep")
    if fr != old_root:
        raise ProofInvalid("the proof does not lead to the old root")
    if sr != new_root:
        raise ProofInvalid("the proof does not lead to the new root")
