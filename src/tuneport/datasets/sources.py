"""Where a dataset comes from: a local file, a remote URI, or examples in memory."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from tuneport.datasets.problems import Rule
from tuneport.errors import DatasetError, Problem
from tuneport.models import Example, PreferenceExample, PromptExample

__all__ = [
    "IN_MEMORY_NAME",
    "DatasetSource",
    "InMemory",
    "LocalFile",
    "RemoteFile",
    "remote_error",
    "resolve_source",
    "unreadable_error",
]

#: What a dataset function accepts: a path, a ``gs://`` URI, or examples in memory
#: (``Example`` objects, ``(input, output)`` pairs, ``{"text_input", "output"}`` dicts;
#: ``PreferenceExample`` objects or their fields as dicts; ``PromptExample`` objects or prompt strings).
DatasetSource = Union[
    str,
    "os.PathLike[str]",
    Iterable[Union[Example, PreferenceExample, PromptExample, "tuple[str, str]", Mapping[str, Any], str]],
]

#: The ``source`` of problems found in in-memory examples.
IN_MEMORY_NAME = "<examples>"

# A URI scheme of two letters or more (one letter is a Windows drive).
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")


@dataclass(frozen=True)
class LocalFile:
    """A dataset file on this machine."""

    path: Path

    @property
    def name(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class RemoteFile:
    """A dataset the service reads itself (``gs://…``); it cannot be opened here."""

    uri: str

    @property
    def name(self) -> str:
        return self.uri


@dataclass(frozen=True)
class InMemory:
    """Examples held in memory; their "line" is their 1-based position."""

    items: Iterable[Any]
    name: str = IN_MEMORY_NAME


Resolved = Union[LocalFile, RemoteFile, InMemory]


def resolve_source(source: DatasetSource) -> Resolved:
    """Classify *source* (a ``str`` is always a path or a URI, never data)."""
    if isinstance(source, str):
        if _REMOTE.match(source):
            return RemoteFile(source)
        return LocalFile(Path(source))
    if isinstance(source, os.PathLike):
        return LocalFile(Path(source))
    candidate: object = source  # typed as data, but callers may pass anything
    if isinstance(candidate, (bytes, bytearray)):
        raise TypeError("pass a dataset as a path, a gs:// URI or examples, not bytes")
    return InMemory(source)


def remote_error(remote: RemoteFile) -> DatasetError:
    """The error raised when a remote dataset would have to be read locally."""
    problem = Problem(
        message="a remote dataset cannot be read locally; the service validates it when the job starts",
        source=remote.uri,
        rule=Rule.REMOTE_SOURCE.value,
    )
    return DatasetError([problem], summary=f"{remote.uri}: {problem.message}")


def unreadable_error(path: Path, exc: OSError) -> DatasetError:
    """The error raised when a local dataset file cannot be opened."""
    reason = exc.strerror or str(exc)
    problem = Problem(
        message=f"cannot read the file: {reason}", source=str(path), rule=Rule.FILE_NOT_READABLE.value
    )
    return DatasetError([problem], summary=f"{path}: {problem.message}")
