"""The version methods of Vertex's ModelService: ``listVersions``, ``deleteVersion``, ``mergeVersionAliases``.

* ``GET …/models/{m}:listVersions`` — the versions that exist now, by
  version id, each the Model ``models.get`` answers for ``…@{id}`` but
  named with its version ("In the returned Model name field, version ID …
  will be included", ListModelVersionsResponse).  ``filter`` on ``labels``
  (the discovery document's only field), ``orderBy`` ``create_time`` /
  ``update_time`` (``asc`` or ``desc``), paging; ``readMask`` is accepted
  and not applied.
* ``DELETE …/models/{m}@{v}:deleteVersion`` — see
  :meth:`.endpoints.Endpoints.delete_version`.
* ``POST …/models/{m}@{v}:mergeVersionAliases`` — adds the aliases given,
  removes those given as ``-alias``; an alias moves from the version that had
  it.  The ``default`` alias can be moved, not removed.  The Model version.

A model's versions are those of :mod:`.model_versions`.
"""

from __future__ import annotations

from typing import Any

from tuneport_emulator.operations import render_operation
from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.routing import Request, Response, Router, require_json_alt
from tuneport_emulator.schema import Message, Schema, normalize, render
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.vertex.endpoints import Endpoints
from tuneport_emulator.vertex.filters import FilterField, compile_filter
from tuneport_emulator.vertex.jobs import TuningJobs
from tuneport_emulator.vertex.model_versions import (
    ALIAS_PATTERN,
    DEFAULT_ALIAS,
    aliases_of,
    live_versions,
    resolve,
    split_version,
)
from tuneport_emulator.vertex.names import check_parent
from tuneport_emulator.vertex.schema import VERSIONS, messages
from tuneport_emulator.wire import ApiError, bad_request

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "ModelVersions", "register"]

#: Vertex documents no default or maximum for ListModelVersions; these match its other lists here.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_FIELDS = {"labels": FilterField("labels", "map")}
_ORDER_FIELDS = {
    "create_time": "versionCreateTime",
    "createTime": "versionCreateTime",
    "update_time": "versionUpdateTime",
    "updateTime": "versionUpdateTime",
}


def _messages(version: str) -> tuple[Message, Message]:
    schema = Schema(f"google.cloud.aiplatform.{version}")
    listed = schema.message("ListModelVersionsResponse", "models Model[]", "nextPageToken string")
    merge = schema.message("MergeVersionAliasesRequest", "versionAliases string[]")
    return listed, merge


_MESSAGES = {version: _messages(version) for version in VERSIONS}


def _order(text: str | None) -> list[tuple[str, bool]]:
    """``orderBy`` as (Model field, descending) pairs; 400 for a field the method does not sort on."""
    order: list[tuple[str, bool]] = []
    for part in (text or "").split(","):
        words = part.split()
        if not words:
            continue
        if words[0] not in _ORDER_FIELDS or len(words) > 2 or words[1:] not in ([], ["asc"], ["desc"]):
            raise bad_request(
                f"Invalid order_by '{part.strip()}': the supported fields are create_time and update_time, "
                "each optionally followed by asc or desc.",
                field="order_by",
            )
        order.append((_ORDER_FIELDS[words[0]], words[1:] == ["desc"]))
    return order


class ModelVersions:
    """The versions of the models the tuning jobs made."""

    def __init__(self, jobs: TuningJobs, endpoints: Endpoints, context: EmulatorContext) -> None:
        self._jobs = jobs
        self._endpoints = endpoints
        self._store = context.store
        self._clock = context.clock

    def list_versions(
        self,
        name: str,
        *,
        size: str | None,
        token: str | None,
        filter_text: str | None,
        order_by: str | None,
    ) -> dict[str, Any]:
        """One page of ListModelVersionsResponse (normalized); 404 if the model does not exist."""
        model = split_version(name)[0]
        limit = page_size(
            size,
            default=self._jobs.page_cap(DEFAULT_PAGE_SIZE),
            maximum=self._jobs.page_cap(MAX_PAGE_SIZE),
        )
        predicate = compile_filter(filter_text, _FIELDS)
        order = _order(order_by)
        context = f"modelVersions|{model}|{filter_text or ''}|{order_by or ''}"
        skip = decode_page_token(token, context=context)
        with self._store.lock:
            now = self._clock.now()
            versions = live_versions(self._jobs, model, now)
            if not versions:
                raise ApiError("NOT_FOUND", f"Model `{model}` not found.")
            views = [self._endpoints.model_view(r, now, versioned_name=True) for _, r in versions]
        matching = [v for v in views if predicate({"labels": v.get("labels") or {}})]
        for key, descending in reversed(order):  # stable sorts, last key first
            matching.sort(key=lambda v: (v[key], int(v["versionId"])), reverse=descending)
        page = matching[skip : skip + limit]
        result: dict[str, Any] = {}
        if page:
            result["models"] = page
        if len(matching) > skip + limit:
            result["nextPageToken"] = encode_page_token(skip + limit, context=context)
        return result

    def merge_aliases(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """``mergeVersionAliases``: the Model version, with its aliases changed."""
        if not split_version(name)[1]:
            raise bad_request(
                f"The model version name `{name}` has no version ID: use models/{{model}}@{{version_id}}.",
                field="name",
            )
        changes = [str(alias) for alias in body.get("versionAliases") or []]
        if not changes:
            raise bad_request("version_aliases is required.", field="version_aliases")
        for change in changes:
            alias = change.removeprefix("-")
            if not ALIAS_PATTERN.fullmatch(alias):
                raise bad_request(
                    f"Invalid version alias '{alias}': an alias matches [a-z][a-z0-9-]{{0,126}}[a-z0-9].",
                    field="version_aliases",
                )
            if change == f"-{DEFAULT_ALIAS}":
                raise bad_request(
                    "The default alias cannot be removed: one version of a model carries it at all times.",
                    field="version_aliases",
                )
        with self._store.lock:
            now = self._clock.now()
            record = resolve(self._jobs, name, now)
            versions = [r for _, r in live_versions(self._jobs, record.model, now)]
            current = {id(r): aliases_of(self._jobs, r, now) for r in versions}
            mine = current[id(record)]
            for change in changes:
                if change.startswith("-"):
                    mine = [a for a in mine if a != change[1:]]
                    continue
                for other in versions:
                    if other is not record:
                        current[id(other)] = [a for a in current[id(other)] if a != change]
                if change not in mine:
                    mine.append(change)
            current[id(record)] = mine
            for other in versions:
                if current[id(other)] != aliases_of(self._jobs, other, now):
                    other.version_aliases = current[id(other)]
            return self._endpoints.model_view(record, now)


def register(router: Router, context: EmulatorContext) -> None:
    """Add ``:listVersions``, ``:deleteVersion`` and ``:mergeVersionAliases`` (v1 and v1beta1)."""
    jobs = TuningJobs(context)
    endpoints = Endpoints(jobs, context)
    versions = ModelVersions(jobs, endpoints, context)

    def _version(request: Request) -> str:
        return request.path.split("/", 2)[1]

    def _name(request: Request) -> str:
        parent = check_parent(request.params["project"], request.params["location"])
        return f"{parent}/models/{request.params['model']}"

    def list_versions(request: Request) -> Response:
        page = versions.list_versions(
            _name(request),
            size=request.param("pageSize"),
            token=request.param("pageToken"),
            filter_text=request.param("filter"),
            order_by=request.param("orderBy"),
        )
        require_json_alt(request)
        return Response(render(page, _MESSAGES[_version(request)][0], enum_int=request.enum_int))

    def delete_version(request: Request) -> Response:
        operation = endpoints.delete_version(_name(request), _version(request))
        require_json_alt(request)
        return Response(render_operation(operation, enum_int=request.enum_int))

    def merge_aliases(request: Request) -> Response:
        version = _version(request)
        body = normalize(request.json(), _MESSAGES[version][1], "")
        request.log_body = body
        view = versions.merge_aliases(_name(request), body)
        require_json_alt(request)
        return Response(render(view, messages(version).model, enum_int=request.enum_int))

    for version in VERSIONS:
        model = f"/{version}/projects/{{project}}/locations/{{location}}/models/{{model}}"
        router.add(
            "GET",
            f"{model}:listVersions",
            list_versions,
            name=f"vertex.{version}.models.listVersions",
            query=("pageSize", "pageToken", "filter", "orderBy", "readMask"),
        )
        router.add(
            "DELETE", f"{model}:deleteVersion", delete_version, name=f"vertex.{version}.models.deleteVersion"
        )
        router.add(
            "POST",
            f"{model}:mergeVersionAliases",
            merge_aliases,
            name=f"vertex.{version}.models.mergeVersionAliases",
        )
