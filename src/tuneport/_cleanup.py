"""Cleanup of what tuneport staged: the flows behind ``delete(job, staged=True)`` and ``cleanup()``.

The work is the backend's optional ``delete_staged`` and ``cleanup``
operations (:data:`tuneport.protocol.OPTIONAL_OPERATIONS`); a backend
without them raises :class:`~tuneport.errors.UnsupportedCapability`, before
anything is deleted.  Written once as flows, so the sync and async clients
behave alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tuneport.cleanup import CleanupReport, parse_age
from tuneport.errors import Problem, SpecError, UnsupportedCapability
from tuneport.protocol import Flow, TuningBackend

__all__ = ["cleanup", "delete_staged", "delete_with_staged", "require"]


def require(backend: TuningBackend, name: str) -> Any:
    """The backend's optional cleanup operation *name*; :class:`UnsupportedCapability` without it."""
    operation = getattr(backend, name, None)
    if operation is None:
        raise UnsupportedCapability(backend.name, name, reason="it does not track the data tuneport staged")
    return operation


def delete_staged(backend: TuningBackend, job_id: str) -> Flow[CleanupReport]:
    """Remove the data tuneport staged for *job_id* that no other job uses."""
    operation = require(backend, "delete_staged")
    report = yield from operation(job_id)
    assert isinstance(report, CleanupReport)
    return report


def delete_with_staged(backend: TuningBackend, job_id: str) -> Flow[tuple[bool, CleanupReport]]:
    """``delete(job)``, then its staged data: (whether outputs were deleted, the data's report)."""
    operation = require(backend, "delete_staged")  # refused before anything is deleted
    deleted = yield from backend.delete(job_id)
    report = yield from operation(job_id)
    assert isinstance(report, CleanupReport)
    return deleted, report


def cutoff_of(older_than: dt.timedelta | str, now: dt.datetime | None) -> dt.datetime:
    """The instant before which things are old enough to remove."""
    try:
        age = parse_age(older_than) if isinstance(older_than, str) else older_than
    except ValueError as error:
        raise SpecError([Problem(str(error), field="older_than")], summary="invalid cleanup") from None
    if age < dt.timedelta(0):
        raise SpecError([Problem("must not be negative", field="older_than")], summary="invalid cleanup")
    moment = now if now is not None else dt.datetime.now(dt.timezone.utc)
    if moment.tzinfo is None:
        raise SpecError([Problem("must carry a time zone", field="now")], summary="invalid cleanup")
    return moment - age


def cleanup(
    backend: TuningBackend, older_than: dt.timedelta | str, apply: bool, now: dt.datetime | None
) -> Flow[CleanupReport]:
    """What tuneport staged or left before ``now - older_than`` and nothing uses: removed if *apply*."""
    operation = require(backend, "cleanup")
    cutoff = cutoff_of(older_than, now)
    report = yield from operation(cutoff, apply)
    assert isinstance(report, CleanupReport)
    return report
