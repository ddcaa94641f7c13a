"""Signed notes and checkpoints (core/record/notes.py) as C2SP specifies them: the spec's own
example verifies with its published verifier key; an altered text, a forged signature, a note
only strangers signed and a badly formed one are refused; a checkpoint's text reads strictly."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.record import merkle, notes

# From c2sp.org/signed-note, "Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mF"
    "XmRKuwHjG1Yu72IneyaQM=\n"
)


def test_the_spec_s_example_verifies_with_its_verifier_key():
    text, signed = notes.verify(SPEC_NOTE, [notes.read_vkey(SPEC_VKEY)])
    assert text == "This is an example message.\n"
    assert [v.name for v in signed] == ["example.com/foo"]


def test_an_altered_text_or_a_forged_signature_is_refused():
    trusted = [notes.read_vkey(SPEC_VKEY)]
    with pytest.raises(notes.NoteInvalid, match="does not verify"):
        notes.verify(SPEC_NOTE.replace("example message", "exemplary message"), trusted)
    forged = SPEC_NOTE.replace("Uw2QOkn8", "Uw2QOkn9")
    with pytest.raises(notes.NoteInvalid):
        notes.verify(forged, trusted)


def test_strangers_signatures_are_ignored_and_a_note_only_strangers_signed_is_refused():
    log_key, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    note = notes.sign("Hello\n", "trust.example/log", log_key)
    cosigned = notes.add_signature(note, "elsewhere.example/witness", stranger)
    trusted = notes.read_vkey(notes.vkey("trust.example/log", log_key.public_key()))
    text, signed = notes.verify(cosigned, [trusted])
    assert text == "Hello\n"
    assert [v.name for v in signed] == ["trust.example/log"]
    with pytest.raises(notes.NoteInvalid, match="no key the reader trusts"):
        notes.verify(notes.sign("Hello\n", "trust.example/log", stranger), [trusted])


@pytest.mark.parametrize(
    "bad",
    [
        "no blank line\n\u2014 a AAAA\n",
        "text\n\n- a AAAAAAAA\n",  # a hyphen, not an em dash
        "text\n\n\u2014 a not-base64!\n",
        "text\x07bell\n\n\u2014 a AAAAAAAA\n",
        "text\n\n",
        "text\n\n\u2014 a AAAAAAAA",  # no final newline
    ],
)
def test_a_badly_formed_note_is_refused(bad):
    with pytest.raises(notes.NoteInvalid):
        notes.verify(bad, [notes.read_vkey(SPEC_VKEY)])


def test_a_verifier_key_whose_id_is_not_its_key_s_is_refused():
    with pytest.raises(notes.NoteInvalid, match="id"):
        notes.read_vkey(SPEC_VKEY.replace("530d903a", "530d903b"))


def test_a_checkpoint_reads_as_the_spec_writes_it_and_strictly():
    # From c2sp.org/tlog-checkpoint.
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    read = notes.read_checkpoint(text)
    assert (read.origin, read.size) == ("example.com/behind-the-sofa", 20852163)
    assert read.text() == text
    for bad in (
        "origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # a leading zero
        "origin\n12\nnot a root\n",
        "origin\n12\n",
        "origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",  # an empty line
    ):
        with pytest.raises(notes.NoteInvalid):
            notes.read_checkpoint(bad)


def test_a_signed_checkpoint_of_a_tree_round_trips():
    key = Ed25519PrivateKey.generate()
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(5)]
    head = notes.Checkpoint("riverside.example/contactlog", 5, merkle.root(leaves))
    signed = notes.sign(head.text(), head.origin, key)
    text, _ = notes.verify(signed, [notes.read_vkey(notes.vkey(head.origin, key.public_key()))])
    assert notes.read_checkpoint(text) == head
