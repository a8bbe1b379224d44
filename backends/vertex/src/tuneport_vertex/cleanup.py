"""Removing what tuneport staged or left behind on Vertex: ``delete --staged`` and ``tuneport cleanup``.

What tuneport creates there, and so what it may remove:

* **staged datasets**: objects under ``{staging_bucket}/tuneport/datasets/``
  carrying tuneport's metadata (``tuneport-staged: "1"``, see
  :mod:`tuneport_vertex.staging`).  An object there *without* it — put
  there by hand, by another tool, or staged before tuneport marked its
  objects — is never removed: it is reported as kept.
* **endpoints of its jobs** (jobs carrying the ``tuneport-request-id``
  label): an endpoint of such a job that serves nothing (no deployed model),
  or whose job was deleted (its tuned model is gone), is a leftover — what
  an interrupted ``delete`` leaves.  A job's serving endpoint is not.

A staged object is *in use* while a job that is not deleted names it as a
dataset (any ``…DatasetUri`` of the job: training, validation, prompts).
Vertex keeps every job record, so a failed or cancelled job still counts
until it is deleted (``delete JOB --staged`` removes its data): its data is
what ``rebase`` re-creates it from.  The jobs are listed in every
``projects/P/locations/L`` an object was staged for (``tuneport-parents``)
and the profile's; where those jobs cannot be listed, their objects are kept.
A removal is conditional on the object's metageneration: an object staged
again (its metadata refreshed) after it was read is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tuneport.cleanup import CleanupAction, CleanupItem, CleanupReport
from tuneport.errors import APIStatusError, SpecError
from tuneport.protocol import Effect, HttpRequest, request
from tuneport_vertex import staging, wire

if TYPE_CHECKING:
    from tuneport_vertex.backend import VertexBackend

__all__ = ["cleanup", "dataset_uris", "delete_staged"]

#: Objects listed per page (Cloud Storage's maximum).
_PAGE = 1000


def dataset_uris(job: Mapping[str, Any]) -> set[str]:
    """Every dataset URI a ``TuningJob`` reply names (``…DatasetUri`` in any of its specs)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, str) and key.endswith("DatasetUri") and isinstance(item, str):
                    found.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(job)
    return found


def delete_staged(backend: VertexBackend, job_id: str) -> Generator[Effect, Any, CleanupReport]:
    """Remove the datasets tuneport staged for *job_id* that no other job (not deleted) uses."""
    name = wire.job_name(job_id, backend.parent)
    reply = yield from request(backend._read("GET", name, expected=frozenset({404})))
    if reply.status_code == 404:
        return CleanupReport(applied=True)  # no such job: nothing of it to remove (as delete says)
    uris = sorted(dataset_uris(reply.json()))
    area = _staging_area(backend)
    items: list[CleanupItem] = []
    candidates: dict[str, dict[str, Any]] = {}
    for uri in uris:
        if area is None or not uri.startswith(area):
            items.append(_kept(uri, "not staged by tuneport (a gs:// dataset given as it is)"))
            continue
        resource = yield from _read_object(backend, uri)
        if resource is None:
            continue  # gone already
        if not staging.is_staged(resource):
            items.append(_kept(uri, _FOREIGN, resource))
        else:
            candidates[uri] = resource
    if candidates:
        users, unreadable = yield from _users(backend, _parents(backend, candidates.values()))
        own = _job_key(name)
        for uri, resource in candidates.items():
            others = {job for job in users.get(uri, set()) if job != own}
            item = yield from _settle(backend, uri, resource, others, unreadable, apply=True)
            items.append(item)
    return CleanupReport(applied=True, items=tuple(items))


def cleanup(
    backend: VertexBackend, cutoff: dt.datetime, apply: bool
) -> Generator[Effect, Any, CleanupReport]:
    """Staged datasets staged before *cutoff* that no live job uses, and leftover endpoints.

    A dry run (*apply* false) removes nothing and says what it would remove.
    """
    items: list[CleanupItem] = []
    candidates: dict[str, dict[str, Any]] = {}
    area = _staging_area(backend)
    if area is not None:
        listed = yield from _list_staged(backend, area)
        for uri, resource in listed:
            if not staging.is_staged(resource):
                items.append(_kept(uri, _FOREIGN, resource))
                continue
            staged_at = _staged_at(resource)
            if staged_at is not None and staged_at > cutoff:
                items.append(
                    _kept(uri, f"staged {_day(staged_at)}, after the cut-off {_day(cutoff)}", resource)
                )
                continue
            candidates[uri] = resource
    if candidates:  # only objects old enough are worth listing the jobs for
        users, unreadable = yield from _users(backend, _parents(backend, candidates.values()))
        for uri, resource in candidates.items():
            used = users.get(uri, set())
            item = yield from _settle(backend, uri, resource, used, unreadable, apply=apply)
            items.append(item)
    leftovers = yield from _leftover_endpoints(backend, cutoff, apply)
    items.extend(leftovers)
    return CleanupReport(applied=apply, items=tuple(items))


# --- staged objects ---------------------------------------------------------------------------------

_FOREIGN = "not created by tuneport (no tuneport-staged metadata): left as it is"


def _staging_area(backend: VertexBackend) -> str | None:
    """``gs://bucket/prefix/tuneport/datasets/``: where tuneport stages (``None``: no staging bucket)."""
    setting = backend.vertex_settings.staging_bucket
    if setting is None:
        return None
    bucket, prefix = staging.split_bucket(setting)
    return f"gs://{bucket}/{prefix}tuneport/datasets/"


def _split(uri: str) -> tuple[str, str]:
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    return bucket, name


def _read_object(backend: VertexBackend, uri: str) -> Generator[Effect, Any, dict[str, Any] | None]:
    url = staging.object_url(backend.storage, *_split(uri))
    reply = yield from request(HttpRequest("GET", url, expected=frozenset({404})))
    return None if reply.status_code == 404 else dict(reply.json())


def _list_staged(
    backend: VertexBackend, area: str
) -> Generator[Effect, Any, list[tuple[str, dict[str, Any]]]]:
    """Every object under the staging area, with its resource."""
    bucket, prefix = _split(area)
    url = f"{backend.storage}/storage/v1/b/{quote(bucket, safe='')}/o"
    params: dict[str, str | int] = {"prefix": prefix, "maxResults": _PAGE}
    found: list[tuple[str, dict[str, Any]]] = []
    while True:
        reply = yield from request(HttpRequest("GET", url, params=params, expected=frozenset({404})))
        if reply.status_code == 404:
            return found  # no such bucket yet: nothing was staged
        data = reply.json()
        for item in data.get("items") or []:
            found.append((f"gs://{bucket}/{item['name']}", dict(item)))
        token = data.get("nextPageToken")
        if not token:
            return found
        params = {**params, "pageToken": str(token)}


def _settle(
    backend: VertexBackend,
    uri: str,
    resource: dict[str, Any],
    users: set[str],
    unreadable: Mapping[str, str],
    *,
    apply: bool,
) -> Generator[Effect, Any, CleanupItem]:
    """Keep a staged object that is (or may be) in use; otherwise remove it, or say it would."""
    blind = [f"{parent}: {why}" for parent in staging.parents_of(resource) if (why := unreadable.get(parent))]
    if blind:
        return _kept(uri, "its jobs could not be listed (" + "; ".join(blind) + ")", resource)
    if users:
        shown = ", ".join(sorted(job.rsplit("/", 1)[-1] for job in users))
        return _kept(uri, f"used by job {shown}", resource)
    if not apply:
        return _item(uri, "would-remove", "used by no live job", resource)
    url = staging.object_url(backend.storage, *_split(uri))
    reply = yield from request(
        HttpRequest(
            "DELETE",
            url,
            params={"ifMetagenerationMatch": str(resource.get("metageneration", ""))},
            expected=frozenset({404, 412}),
        )
    )
    if reply.status_code == 412:
        return _kept(uri, "staged again while the cleanup ran", resource)
    return _item(uri, "removed", "used by no live job", resource)


def _parents(backend: VertexBackend, resources: Iterable[dict[str, Any]]) -> list[str]:
    """The profile's parent and every parent a staged object was given to."""
    parents = {backend.parent}
    for resource in resources:
        parents.update(staging.parents_of(resource))
    return sorted(parents)


def _users(
    backend: VertexBackend, parents: list[str]
) -> Generator[Effect, Any, tuple[dict[str, set[str]], dict[str, str]]]:
    """Dataset URI → the jobs (not deleted) naming it, over *parents*; and the parents not listable."""
    users: dict[str, set[str]] = {}
    unreadable: dict[str, str] = {}
    own_project = backend.parent.split("/")[1]
    for parent in parents:
        try:
            replies = yield from _all_jobs(backend, parent)
            # Deleted jobs are told by their models, looked up in the profile's project only:
            # another project's jobs all count as live.
            live = (
                [job.raw for job in (yield from backend._without_deleted(replies))]
                if parent.split("/")[1] == own_project
                else replies
            )
        except (APIStatusError, SpecError) as error:
            unreadable[parent] = str(error).splitlines()[0][:200]
            continue
        for job in live:
            for uri in dataset_uris(job):
                users.setdefault(uri, set()).add(_job_key(str(job.get("name", ""))))
    return users, unreadable


def _all_jobs(backend: VertexBackend, parent: str) -> Generator[Effect, Any, list[dict[str, Any]]]:
    """Every ``TuningJob`` reply under *parent*."""
    params: dict[str, str | int] = {"pageSize": 100}
    jobs: list[dict[str, Any]] = []
    while True:
        data = (yield from request(backend._read("GET", f"{parent}/tuningJobs", params=params))).json()
        jobs.extend(dict(job) for job in data.get("tuningJobs") or [])
        token = data.get("nextPageToken")
        if not token:
            return jobs
        params = {**params, "pageToken": str(token)}


def _job_key(name: str) -> str:
    """``locations/L/tuningJobs/ID`` (Vertex names a job's project by number, a profile by id)."""
    parts = name.split("/")
    return "/".join(parts[2:]) if len(parts) >= 6 else name


# --- leftover endpoints -----------------------------------------------------------------------------


def _leftover_endpoints(
    backend: VertexBackend, cutoff: dt.datetime, apply: bool
) -> Generator[Effect, Any, list[CleanupItem]]:
    """Endpoints of tuneport's jobs (created before *cutoff*) that serve nothing or outlived their job."""
    replies = yield from _all_jobs(backend, backend.parent)
    ours = [
        job
        for job in replies
        if wire.REQUEST_ID_LABEL in (job.get("labels") or {})
        and (created := _parse_time(job.get("createTime"))) is not None
        and created <= cutoff
        and isinstance(job.get("tunedModel"), Mapping)
    ]
    live = {_job_key(str(job.name)) for job in (yield from backend._without_deleted(ours))}
    items: list[CleanupItem] = []
    for job in ours:
        tuned = job["tunedModel"]
        deleted = _job_key(str(job.get("name", ""))) not in live
        endpoints = [tuned.get("endpoint")] + [c.get("endpoint") for c in tuned.get("checkpoints") or []]
        for endpoint in dict.fromkeys(e for e in endpoints if isinstance(e, str) and e):
            reply = yield from request(backend._http("GET", endpoint, expected=frozenset({404})))
            if reply.status_code == 404:
                continue
            if deleted:
                why = "its job was deleted"
            elif not reply.json().get("deployedModels"):
                why = "no model is deployed on it"
            else:
                continue  # a live job's serving endpoint
            created = _parse_time(reply.json().get("createTime"))
            if apply:
                yield from backend._delete_endpoint(endpoint)
            items.append(
                CleanupItem("endpoint", endpoint, "removed" if apply else "would-remove", why, created)
            )
    return items


# --- small helpers ----------------------------------------------------------------------------------


def _item(
    uri: str, action: CleanupAction, reason: str, resource: Mapping[str, Any] | None = None
) -> CleanupItem:
    size = resource.get("size") if resource else None
    return CleanupItem(
        "staged-dataset",
        uri,
        action,
        reason,
        _staged_at(resource) if resource else None,
        int(size) if isinstance(size, (int, str)) and str(size).isdigit() else None,
    )


def _kept(uri: str, reason: str, resource: Mapping[str, Any] | None = None) -> CleanupItem:
    return _item(uri, "kept", reason, resource)


def _staged_at(resource: Mapping[str, Any]) -> dt.datetime | None:
    """When tuneport last staged the object (its metadata; else the object's creation time)."""
    metadata = resource.get("metadata")
    stamp = metadata.get(staging.STAGED_AT_KEY) if isinstance(metadata, Mapping) else None
    return _parse_time(stamp) or _parse_time(resource.get("timeCreated"))


def _parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 timestamp (nanoseconds allowed) as an aware datetime; ``None`` if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # at most microseconds for fromisoformat (3.10)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _day(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
