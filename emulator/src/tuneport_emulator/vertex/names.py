"""Vertex resource names and the numeric ids the service hands out.

Every resource lives under a *parent* ``projects/{project}/locations/{location}``.
Vertex accepts a project id or its number in a request, and names every
resource it returns with the project *number*
(``projects/123456789012/locations/us-central1/tuningJobs/…``); so does the
emulator.  It has no Resource Manager to ask, so a project id's number is
derived from the id (:func:`project_number`): twelve digits from its SHA-256,
the same for the same id in every emulator and release.  A number given in a
request is its own number.  :func:`check_parent` turns the project of every
request URL into its number, so a job created under ``projects/my-project``
is found under ``projects/my-project`` and under ``projects/{its number}``
alike, and both requests answer the same name.
"""

from __future__ import annotations

import hashlib
import re

from tuneport_emulator.ids import DIGITS, IdSource
from tuneport_emulator.wire import ApiError

__all__ = [
    "ID_DIGITS",
    "METADATA_STORE",
    "canonical_name",
    "check_parent",
    "numeric_id",
    "parent_of",
    "project_number",
]

#: Vertex ids are 64-bit numbers, 19 digits long.
ID_DIGITS = 19
#: The metadata store tuning experiments live in.
METADATA_STORE = "default"
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}")
#: Project numbers are twelve digits (Google's are; none starts with 0).
_NUMBER_LOW, _NUMBER_SPAN = 10**11, 9 * 10**11
#: Salt of the derivation: changing it would rename every stored resource.
_NUMBER_SALT = "tuneport-emulator/project-number/v1:"


def project_number(project: str) -> str:
    """The project number of ``project``: itself if it is all digits, else derived from the id.

    A project id starts with a letter, so an all-digit segment can only be a number.
    The derivation: ``10**11 + int(sha256(salt + id)[:8]) % (9 * 10**11)``.
    """
    if project.isdigit():
        return project
    digest = hashlib.sha256(f"{_NUMBER_SALT}{project}".encode()).digest()
    return str(_NUMBER_LOW + int.from_bytes(digest[:8], "big") % _NUMBER_SPAN)


def numeric_id(ids: IdSource, purpose: str) -> str:
    """A reproducible 19-digit id that does not start with 0."""
    token = ids.token(f"vertex.{purpose}", ID_DIGITS, DIGITS)
    return ("1" + token[1:]) if token[0] == "0" else token


def check_parent(project: str, location: str) -> str:
    """``projects/{project number}/locations/{location}``; 400 if a segment is malformed."""
    for kind, value in (("project", project), ("location", location)):
        if not _SEGMENT.fullmatch(value):
            raise ApiError("INVALID_ARGUMENT", f"Invalid {kind} in the resource name: '{value}'.")
    return f"projects/{project_number(project)}/locations/{location}"


def canonical_name(name: str) -> str:
    """A resource name given in a request body, with its project as a number (other text as is)."""
    segments = name.split("/")
    if len(segments) >= 4 and segments[0] == "projects" and segments[2] == "locations" and segments[1]:
        segments[1] = project_number(segments[1])
    return "/".join(segments)


def parent_of(name: str) -> str:
    """The ``projects/*/locations/*`` prefix of a resource name."""
    return "/".join(name.split("/")[:4])
