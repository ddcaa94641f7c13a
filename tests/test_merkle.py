"""The log's Merkle tree (core/record/merkle.py) against the Certificate Transparency test
vectors (RFC 6962 / RFC 9162): the reference tree's roots, and every inclusion and consistency
case, the good ones accepted and the bad ones refused. Then, for trees of any size, every proof
the log makes is accepted, and any one flipped bit is refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.record import merkle

VECTORS = json.loads((Path(__file__).parent / "vectors" / "merkle.json").read_text())
LEAVES = [merkle.leaf_hash(bytes.fromhex(h)) for h in VECTORS["leaves_hex"]]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(values: list[str] | None) -> list[bytes]:
    return [_b64(v) for v in values or []]


def test_the_reference_tree_has_the_published_root_at_every_size():
    for size, expected in enumerate(VECTORS["roots_hex"]):
        assert merkle.root(LEAVES[:size]).hex() == expected


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: c["file"])
def test_inclusion_vectors(case):
    def check() -> None:
        merkle.verify_inclusion(
            case["leafIdx"],
            case["treeSize"],
            _b64(case["leafHash"]),
            _proof(case["proof"]),
            _b64(case["root"]),
        )

    if case["wantErr"]:
        with pytest.raises(merkle.ProofInvalid):
            check()
    else:
        check()


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: c["file"])
def test_consistency_vectors(case):
    def check() -> None:
        merkle.verify_consistency(
            case["size1"],
            case["size2"],
            _proof(case["proof"]),
            _b64(case["root1"]),
            _b64(case["root2"]),
        )

    if case["wantErr"]:
        with pytest.raises(merkle.ProofInvalid):
            check()
    else:
        check()


def test_the_proofs_made_for_the_reference_tree_are_the_published_ones():
    happy = [c for c in VECTORS["inclusion"] if c["desc"] == "happy path" and c["treeSize"] <= 8]
    assert happy
    for case in happy:
        made = merkle.inclusion_proof(case["leafIdx"], LEAVES[: case["treeSize"]])
        assert made == _proof(case["proof"]), case["file"]
    agreed = [
        c
        for c in VECTORS["consistency"]
        if c["desc"] == "happy path" and c["size1"] < c["size2"] <= 8
    ]
    assert agreed
    for case in agreed:
        made = merkle.consistency_proof(case["size1"], LEAVES[: case["size2"]])
        assert made == _proof(case["proof"]), case["file"]


def _tree(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_inclusion_proof_is_accepted_and_any_flipped_bit_refused(n, data):
    leaves = _tree(n)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = merkle.inclusion_proof(index, leaves)
    top = merkle.root(leaves)
    merkle.verify_inclusion(index, n, leaves[index], proof, top)
    if proof:
        which = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        bit = data.draw(st.integers(min_value=0, max_value=255))
        bent = bytearray(proof[which])
        bent[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(merkle.ProofInvalid):
            merkle.verify_inclusion(
                index, n, leaves[index], [*proof[:which], bytes(bent), *proof[which + 1 :]], top
            )
    with pytest.raises(merkle.ProofInvalid):  # another entry's place
        merkle.verify_inclusion((index + 1) % n if n > 1 else 1, n, leaves[index], proof, top)


@given(st.integers(min_value=2, max_value=70), st.data())
def test_every_consistency_proof_is_accepted_and_a_rewritten_entry_refused(n, data):
    leaves = _tree(n)
    old = data.draw(st.integers(min_value=1, max_value=n - 1))
    proof = merkle.consistency_proof(old, leaves)
    merkle.verify_consistency(old, n, proof, merkle.root(leaves[:old]), merkle.root(leaves))
    # An insider rewrites one entry the old checkpoint covered and builds the tree again:
    # no proof from the new tree leads back to the old root.
    changed = data.draw(st.integers(min_value=0, max_value=old - 1))
    forked = [*leaves[:changed], merkle.leaf_hash(b"rewritten"), *leaves[changed + 1 :]]
    with pytest.raises(merkle.ProofInvalid):
        merkle.verify_consistency(
            old,
            n,
            merkle.consistency_proof(old, forked),
            merkle.root(leaves[:old]),
            merkle.root(forked),
        )
