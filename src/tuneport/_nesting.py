"""Limits on what tuneport reads that no service needs: nesting depth and lone surrogates.

Python's parsers and encoders recurse, so a value nested thousands of levels
deep (``[[[[…]]]]`` in a JSON dataset, a TOML config, ``TUNEPORT_LABELS`` or a
spec's ``extras``) raises ``RecursionError`` somewhere far from its source.
tuneport refuses anything nested more than :data:`MAX_NESTING` levels where it
is read, naming the field or line; no tuning request is anywhere near that deep.

A lone surrogate (``"\\ud800"``, which a JSON escape can spell) is a ``str``
that no UTF-8 encoder accepts: it is refused where it is read too, rather than
raising ``UnicodeEncodeError`` when the request is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_NESTING",
    "first_lone_surrogate",
    "has_lone_surrogate",
    "nested_too_deep",
    "nesting_message",
    "surrogate_message",
]

#: Containers (lists, tuples, dicts) nested within one another beyond this are refused.
MAX_NESTING = 100

_SURROGATE = re.compile("[\ud800-\udfff]")


def nested_too_deep(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether *value* nests lists, tuples or mappings more than *limit* levels deep (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def nesting_message(limit: int = MAX_NESTING) -> str:
    """The message for a value nested too deeply."""
    return f"nested more than {limit} levels deep (lists or tables within one another)"


def first_lone_surrogate(value: Any) -> str | None:
    """A description of the first lone surrogate in *value* (strings, keys and items), or ``None``.

    Containers are walked without recursion; *value* should already be known
    not to nest too deeply.
    """
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                return surrogate_message(item, found.start())
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return None


def surrogate_message(text: str, index: int) -> str:
    """What is wrong with a string holding a lone surrogate at *index*."""
    return (
        f"holds a lone surrogate (U+{ord(text[index]):04X} at character {index + 1}), "
        "which is not valid Unicode text and cannot be sent as UTF-8"
    )


def has_lone_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in *text*, or ``None``."""
    found = _SURROGATE.search(text)
    return found.start() if found else None
