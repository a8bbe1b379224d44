"""The closest known names to a misspelt one, for the "did you mean …?" of error messages.

One helper for every unknown-name message (backends, profiles, settings,
top-level keys, catalog tables and models), so that they all suggest alike.
:mod:`difflib` is imported only when a message is built: never on the path of
a valid configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["close_matches", "did_you_mean"]


def close_matches(name: str, candidates: Iterable[str], *, n: int = 1) -> list[str]:
    """Up to *n* of *candidates* close enough to *name* to suggest, the closest first."""
    import difflib

    return difflib.get_close_matches(name, list(candidates), n=n)


def did_you_mean(matches: Sequence[str], *, prefix: str = "; ") -> str:
    """``"; did you mean 'a' or 'b'?"`` for *matches* (from :func:`close_matches`), or ``""``.

    *prefix* joins the hint to the message before it.
    """
    if not matches:
        return ""
    return f"{prefix}did you mean {' or '.join(repr(m) for m in matches)}?"
