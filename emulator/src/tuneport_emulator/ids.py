"""Identifiers that look random but are reproducible.

Each id is a hash of the emulator's seed, a purpose (``"gemini.operation"``…)
and a counter kept in the :class:`~tuneport_emulator.store.Store`.  Two
emulators with the same seed hand out the same ids in the same order, and
after a reset the sequence starts again, which keeps test output stable.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from tuneport_emulator.store import Store

__all__ = ["DIGITS", "LOWER_ALNUM", "IdSource", "slugify"]

LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
DIGITS = "0123456789"


class IdSource:
    """Hands out reproducible random-looking tokens, one sequence per purpose."""

    def __init__(self, store: Store, seed: str) -> None:
        self._store = store
        self._seed = seed

    def token(self, purpose: str, length: int, alphabet: str = LOWER_ALNUM) -> str:
        """The next token of ``length`` characters from ``alphabet`` for ``purpose``."""
        number = self._store.next_number(f"id:{purpose}")
        return derive_token(f"{self._seed}/{purpose}/{number}", length, alphabet)


def derive_token(material: str, length: int, alphabet: str = LOWER_ALNUM) -> str:
    """``length`` characters of ``alphabet`` derived from ``material`` (SHA-256).

    The hash, as a number, written in base ``len(alphabet)``, least
    significant digit first, ``length`` digits.
    """
    value = int.from_bytes(hashlib.sha256(material.encode("utf-8")).digest(), "big")
    base = len(alphabet)
    if alphabet == DIGITS:  # base 10: str() writes the digits in C
        return str(value % 10**length).zfill(length)[::-1]
    value %= base**length  # only the low digits are written: divide a smaller number
    chars = []
    for _ in range(length):
        value, index = divmod(value, base)
        chars.append(alphabet[index])
    return "".join(chars)


def slugify(text: str, max_length: int) -> str:
    """Lower-case ASCII words joined by ``-``, at most ``max_length`` characters.

    Accents are folded (``Übersetzer`` → ``ubersetzer``); anything else that
    is not a letter or digit separates words.  May return ``""``.
    """
    # Decompose, then drop the combining accents; every other non-ASCII
    # character (arrows, CJK…) separates words like punctuation does.
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    return slug[:max_length].rstrip("-")
