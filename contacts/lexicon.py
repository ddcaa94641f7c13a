"""The review lexicon: words, phrases and phone numbers that put a message before the DSL."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# A UK mobile number, however it is spaced: a private channel offered outside the school account.
PHONE = re.compile(r"(?:\+44\s?7|\b07)(?:[\s-]?\d){9}\b")


@lru_cache(maxsize=8)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w.strip().lower()) for w in words if w.strip())
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if alternatives else None


def mentions_concern(texts: Iterable[str | None], words: Iterable[str]) -> bool:
    """True if any text holds a lexicon word or phrase (as whole words), or a mobile number."""
    pattern = _pattern(tuple(words))
    for text in texts:
        if not text:
            continue
        folded = text.lower().replace("’", "'")
        if PHONE.search(folded) or (pattern is not None and pattern.search(folded)):
            return True
    return False
