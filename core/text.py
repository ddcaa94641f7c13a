"""What stored text may contain: one-line fields, free text, and text made safe to put in an email.

A name or an account that holds a line break (U+2028 counts as one to Python's email package)
makes every email about it fail to build, which silences the DSL's alerts; a bidirectional
override makes a record read differently from what it says. Input refuses both; emails also
clean what they show, so rows stored before these rules cannot break a message either.
"""

from __future__ import annotations

import unicodedata

# Line and paragraph breaks that are not "\n": NEL (U+0085), LINE SEPARATOR, PARAGRAPH SEPARATOR.
OTHER_LINE_BREAKS = frozenset("\u0085\u2028\u2029")
# Embeddings, overrides and isolates: they reorder how text is displayed (Trojan Source).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e") | OTHER_LINE_BREAKS


def _is_control(ch: str) -> bool:
    # Cc: C0 (U+0000 to U+001F), DEL, and C1 (U+0080 to U+009F).
    return unicodedata.category(ch) == "Cc"


def _name(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def check_line(value: str) -> str:
    """A one-line field (a name, an account, a tag): no line breaks, controls or bidi overrides."""
    for ch in value:
        if ch in LINE_BREAKS:
            raise ValueError(f"must be a single line (it contains a line break, {_name(ch)})")
        if ch in BIDI_CONTROLS:
            raise ValueError(f"must not contain a bidirectional control character ({_name(ch)})")
        if _is_control(ch) and ch != "\t":
            raise ValueError(f"must not contain control characters ({_name(ch)})")
    return value.replace("\t", " ")


def check_free_text(value: str) -> str:
    """Free text (a summary, a reason, a note): lines allowed; other breaks become "\\n"."""
    for ch in value:
        if ch in BIDI_CONTROLS:
            raise ValueError(f"must not contain a bidirectional control character ({_name(ch)})")
        if _is_control(ch) and ch not in "\t\n\r" and ch not in OTHER_LINE_BREAKS:
            raise ValueError(f"must not contain control characters ({_name(ch)})")
    for ch in OTHER_LINE_BREAKS:
        value = value.replace(ch, "\n")
    return value


def one_line(value: object) -> str:
    """Any stored value, as text that cannot break an email header or a line of an email."""
    text = str(value)
    return "".join(
        " " if (ch in LINE_BREAKS or _is_control(ch)) else ch
        for ch in text
        if ch not in BIDI_CONTROLS
    ).strip()


def safe_body(value: str) -> str:
    """An email body: lines kept, every other break a "\\n", controls and overrides gone."""
    for ch in OTHER_LINE_BREAKS | {"\r"}:
        value = value.replace(ch, "\n")
    return "".join(
        ch for ch in value if ch not in BIDI_CONTROLS and (ch in "\n\t" or not _is_control(ch))
    )
