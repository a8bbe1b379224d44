"""Vertex resource names and the numeric ids the service hands out.

Every resource lives under a *parent* ``projects/{project}/locations/{location}``
taken from the request URL as given (a project id or number alike), so a
job created under ``projects/p`` is found under ``projects/p``.
"""

from __future__ import annotations

import re

from tuneport_emulator.ids import DIGITS, IdSource
from tuneport_emulator.wire import ApiError

__all__ = [
    "ID_DIGITS",
    "METADATA_STORE",
    "check_parent",
    "numeric_id",
    "parent_of",
]

#: Vertex ids are 64-bit numbers, 19 digits long.
ID_DIGITS = 19
#: The metadata store tuning experiments live in.
METADATA_STORE = "default"
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}")


def numeric_id(ids: IdSource, purpose: str) -> str:
    """A reproducible 19-digit id that does not start with 0."""
    token = ids.token(f"vertex.{purpose}", ID_DIGITS, DIGITS)
    return ("1" + token[1:]) if token[0] == "0" else token


def check_parent(project: str, location: str) -> str:
    """``projects/{project}/locations/{location}``; 400 if a segment is malformed."""
    for kind, value in (("project", project), ("location", location)):
        if not _SEGMENT.fullmatch(value):
            raise ApiError("INVALID_ARGUMENT", f"Invalid {kind} in the resource name: '{value}'.")
    return f"projects/{project}/locations/{location}"


def parent_of(name: str) -> str:
    """The ``projects/*/locations/*`` prefix of a resource name."""
    return "/".join(name.split("/")[:4])
