"""What a cleanup found and did: the report of ``tuneport cleanup`` and ``delete --staged``.

A backend that stages data or leaves resources behind implements the
optional operations ``delete_staged(job_id)`` and ``cleanup(cutoff, apply)``
(see :data:`tuneport.protocol.OPTIONAL_OPERATIONS`); both answer a
:class:`CleanupReport`.  Every item says what it is, what was (or would be)
done with it and why — including what was *kept*: in use by a job, too
recent, or not created by tuneport.  See docs/cleanup.md.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CleanupAction", "CleanupItem", "CleanupKind", "CleanupReport", "parse_age"]

#: What happened to an item: removed, would be removed (a dry run), or kept.
CleanupAction = Literal["removed", "would-remove", "kept"]
#: What an item is: a dataset tuneport staged, or a resource it left behind.
CleanupKind = Literal["staged-dataset", "endpoint"]


@dataclass(frozen=True)
class CleanupItem:
    """One thing a cleanup looked at."""

    kind: CleanupKind
    #: Its name: ``gs://bucket/object`` or a resource name.
    resource: str
    action: CleanupAction
    #: Why: "used by no live job", "used by job 123", "not created by tuneport"…
    reason: str
    #: When tuneport staged or created it, if known.
    created: dt.datetime | None = None
    size_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "kind": self.kind,
            "resource": self.resource,
            "action": self.action,
            "reason": self.reason,
            "created": self.created.isoformat() if self.created else None,
            "size_bytes": self.size_bytes,
        }


@dataclass(frozen=True)
class CleanupReport:
    """Everything a cleanup looked at; ``applied`` is False for a dry run (nothing was removed)."""

    applied: bool
    items: tuple[CleanupItem, ...] = field(default_factory=tuple)

    @property
    def removed(self) -> tuple[CleanupItem, ...]:
        """Items removed."""
        return tuple(i for i in self.items if i.action == "removed")

    @property
    def would_remove(self) -> tuple[CleanupItem, ...]:
        """Items a dry run would remove."""
        return tuple(i for i in self.items if i.action == "would-remove")

    @property
    def kept(self) -> tuple[CleanupItem, ...]:
        """Items left, each with its reason."""
        return tuple(i for i in self.items if i.action == "kept")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``--json`` output)."""
        return {"applied": self.applied, "items": [item.to_dict() for item in self.items]}


_AGE = re.compile(r"\s*(\d+)\s*([smhdw])\s*")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> dt.timedelta:
    """``30d`` → 30 days (units ``s``, ``m``, ``h``, ``d``, ``w``); :class:`ValueError` otherwise."""
    match = _AGE.fullmatch(text)
    if match is None:
        raise ValueError(f"expected an age such as 30d, 12h or 2w, got {text!r}")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
