"""Duplicate examples in bounded memory.

Each example is reduced to a 60-bit digest (Python's ``hash`` of its light
form: SipHash of every string, combined) kept in a set.  Memory is about
80-100 bytes per distinct example (a 32-byte int, its set slot at the set's
load factor, and 16 bytes to find the first occurrence's line): ~90 MB for
a million examples, whatever their size.  A digest collision (a false
"duplicate") has odds of about n²/2⁶¹, under one in a million for a
million examples.  Digests are per process (hash randomization), which is
all a single pass needs.
"""

from __future__ import annotations

from array import array

from tuneport.datasets.light import LightExample

__all__ = ["DuplicateFinder", "digest_of"]

_MASK = (1 << 60) - 1  # ints below 2**60 take 32 bytes in CPython; wider ones take 36-40


def digest_of(example: LightExample) -> int:
    """The 60-bit digest of an example (valid within one process and its forks)."""
    return hash(example) & _MASK


class DuplicateFinder:
    """Remembers examples by digest; tells the line of the first copy of a repeat."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        # Digests and lines in arrival order, only to name the first copy of a
        # duplicate; a C-speed search over 8-byte records, done a bounded number of times.
        self._digests: array[int] = array("Q")
        self._lines: array[int] = array("Q")
        self._last = 0
        # Bound methods looked up once: add() runs once per example.
        self._seen_add = self._seen.add
        self._digests_append = self._digests.append
        self._lines_append = self._lines.append

    def add(self, line: int, example: LightExample) -> bool:
        """Remember *example*; True when an identical one came before (see :meth:`first_line`)."""
        # The body of add_digest, repeated: this runs once per example.  One
        # probe of the set instead of two ("in", then "add"): it is large and
        # a probe is usually a cache miss.
        digest = hash(example) & _MASK
        seen = self._seen
        before = len(seen)
        self._seen_add(digest)
        if len(seen) == before:
            self._last = digest
            return True
        self._digests_append(digest)
        self._lines_append(line)
        return False

    def add_digest(self, line: int, digest: int) -> bool:
        """:meth:`add` for a digest computed elsewhere (by :func:`digest_of`, in this process or a fork)."""
        if digest in self._seen:
            self._last = digest
            return True
        self._seen_add(digest)
        self._digests_append(digest)
        self._lines_append(line)
        return False

    def first_line(self) -> int | None:
        """The line of the first copy of the last duplicate :meth:`add` found."""
        # A byte search over a copy: C speed, and called only for kept problems.
        needle = array("Q", [self._last]).tobytes()
        haystack = self._digests.tobytes()
        start = 0
        while True:
            at = haystack.find(needle, start)
            if at < 0:
                return None
            if at % 8 == 0:
                return self._lines[at // 8]
            start = at + 1
