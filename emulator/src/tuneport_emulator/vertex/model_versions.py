"""Model versions: which job made which version of a tuned model, and how a name picks one.

A job tuning a base model makes a new model, version 1, aliased ``default``.
A job continuing a tuned model (``preTunedModel``) makes, by default, a new
*version* of that model: "For continuous tuning, if the provided
tuned_model_display_name is set and different from parent model's display
name, the tuned model will have a new parent model with version 1. Otherwise
the version id will be incremented by 1 from the last version ID in the parent
model" (``TunedModel.model``, aiplatform discovery); its display name is then
the model's ("tuned_model_display_name will by default use the same display
name as the pre-tuned model", ``TuningJob.tunedModelDisplayName``).

A version's id is given when it is made, that is when its job succeeds: one
more than the model's versions made before it (deleted ones count, so an id
is never given twice; a job that fails or is cancelled makes no version).  A
name picks a version as ``models.get`` documents: ``…/models/{id}`` the
``default`` version, ``…/models/{id}@{version id}`` or ``@{alias}`` that one.
One version carries the ``default`` alias at all times ("One version of a
model is required to carry the default alias at all times", Google's model
alias page); ``mergeVersionAliases`` moves it.

The store keeps, per model, the names of the jobs that make its later
versions (index ``modelVersions``: model → job names); the first version's job
is the model's owner in the ``models`` index.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tuneport_emulator.vertex.records import JobState, TuningJob
from tuneport_emulator.wire import ApiError

if TYPE_CHECKING:
    from tuneport_emulator.vertex.jobs import TuningJobs

__all__ = [
    "ALIAS_PATTERN",
    "DEFAULT_ALIAS",
    "VERSIONS_INDEX",
    "add_version",
    "aliases_of",
    "display_name",
    "live",
    "live_versions",
    "resolve",
    "split_version",
    "version_id",
    "version_records",
]

#: The index of the jobs making a model's later versions (model → job names, in creation order).
VERSIONS_INDEX = "modelVersions"
DEFAULT_ALIAS = "default"
#: "The format is a-z{0,126}[a-z0-9] to distinguish from version_id" (Model.versionAliases);
#: Google's alias page gives it as ``[a-z][a-z0-9-]{0,126}[a-z0-9]``.
ALIAS_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,126}[a-z0-9]")


def split_version(name: str) -> tuple[str, str]:
    """(``…/models/{id}``, the version id or alias after ``@``, or "")."""
    bare, _, version = name.partition("@")
    return bare, version


def version_records(jobs: TuningJobs, model: str) -> list[TuningJob]:
    """Every job making a version of ``model`` (made or not, deleted or not), in creation order.

    Hold the lock.
    """
    first = jobs.record_by("models", model)
    if first is None:
        return []
    later = [jobs.record(name) for name in _versions_index(jobs).get(model, [])]
    return [first, *later]


def add_version(jobs: TuningJobs, model: str, job: str) -> None:
    """Record that job ``job`` makes a later version of ``model``.  Hold the lock."""
    _versions_index(jobs).setdefault(model, []).append(job)


def _versions_index(jobs: TuningJobs) -> dict[str, list[str]]:
    indexes = jobs.section().setdefault("index", {})
    return indexes.setdefault(VERSIONS_INDEX, {})  # type: ignore[no-any-return]


def _made(jobs: TuningJobs, record: TuningJob, now: float) -> bool:
    return jobs.status(record, now).state is JobState.JOB_STATE_SUCCEEDED


def _deleted(record: TuningJob, now: float) -> bool:
    return record.model_delete_time is not None and now >= record.model_delete_time


def live(jobs: TuningJobs, record: TuningJob, now: float) -> bool:
    """Whether the job's model version exists at ``now`` (its job succeeded, no completed delete)."""
    return _made(jobs, record, now) and not _deleted(record, now)


def _made_in_order(jobs: TuningJobs, model: str, now: float) -> list[TuningJob]:
    """The jobs whose version of ``model`` is made at ``now``, in the order they succeeded."""
    made: list[tuple[float, int, TuningJob]] = []
    for record in version_records(jobs, model):
        status = jobs.status(record, now)
        if status.state is JobState.JOB_STATE_SUCCEEDED and status.end is not None:
            made.append((status.end, record.number, record))
    return [record for _, _, record in sorted(made, key=lambda item: item[:2])]


def version_id(jobs: TuningJobs, record: TuningJob, now: float) -> str:
    """The id of the job's model version (its rank among the model's versions made; "1" before)."""
    made = _made_in_order(jobs, record.model, now)
    return str(made.index(record) + 1) if record in made else "1"


def aliases_of(jobs: TuningJobs, record: TuningJob, now: float) -> list[str]:
    """The aliases of the job's model version."""
    if record.version_aliases is not None:
        return list(record.version_aliases)
    return [DEFAULT_ALIAS] if version_id(jobs, record, now) == "1" else []


def live_versions(jobs: TuningJobs, model: str, now: float) -> list[tuple[str, TuningJob]]:
    """(version id, job) of every version of ``model`` that exists at ``now``, by version id."""
    made = _made_in_order(jobs, model, now)
    return [(str(i), r) for i, r in enumerate(made, start=1) if not _deleted(r, now)]


def resolve(jobs: TuningJobs, name: str, now: float) -> TuningJob:
    """The job of the model version ``name`` names (``default`` without ``@``); 404 if none exists."""
    model, wanted = split_version(name)
    versions = live_versions(jobs, model, now)
    if not versions:
        raise ApiError("NOT_FOUND", f"Model `{model}` not found.")
    wanted = wanted or DEFAULT_ALIAS
    for version, record in versions:
        if version == wanted or (not wanted.isdigit() and wanted in aliases_of(jobs, record, now)):
            return record
    raise ApiError("NOT_FOUND", f"Model `{name}` not found.")


def display_name(record: TuningJob) -> str:
    """The version's display name before ``models.patch``: the job's, its model's, or one of its id."""
    given = record.fields.get("tunedModelDisplayName") or record.version_display_name
    return str(given or f"tuned-model-{record.id}")
