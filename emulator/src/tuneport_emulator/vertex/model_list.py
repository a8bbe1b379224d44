"""``GET …/models``: the tuned models of a project and location, as Vertex's ModelService lists them.

google-genai's ``models.list(config={"query_base": False})`` in Vertex mode
sends this (both 2.x and 3.x).  The emulator's models are exactly the models
its tuning jobs made, so the list holds those that exist now (their job
succeeded, no completed delete), in creation order.  Each is the same
``Model`` that ``GET …/models/{id}`` answers.

Filters, per the discovery document's ``filter`` description: ``model``
(the id), ``display_name``, ``labels`` and ``base_model_name``, with the
operators of :mod:`.filters`.  ``readMask`` is accepted and not applied
(every field is returned, which the mask's absence also means).

Each model carries the labels tuning puts on it (:mod:`.model_labels`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.routing import Request, Response, Router, require_json_alt
from tuneport_emulator.schema import Message, Schema, render
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.vertex.endpoints import Endpoints
from tuneport_emulator.vertex.filters import FilterField, compile_filter
from tuneport_emulator.vertex.jobs import TuningJobs
from tuneport_emulator.vertex.names import check_parent
from tuneport_emulator.vertex.schema import VERSIONS
from tuneport_emulator.wire import ApiError

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "ModelList", "register"]

#: Vertex documents no default or maximum for ListModels; these match its other list methods here.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_FIELDS: dict[str, FilterField] = {
    "model": FilterField("model", "string"),
    "display_name": FilterField("display_name", "string"),
    "displayName": FilterField("display_name", "string"),
    "labels": FilterField("labels", "map"),
    "base_model_name": FilterField("base_model_name", "string"),
    "baseModelName": FilterField("base_model_name", "string"),
}


def _list_response(version: str) -> Message:
    schema = Schema(f"google.cloud.aiplatform.{version}")
    return schema.message("ListModelsResponse", "models Model[]", "nextPageToken string")


_RESPONSES = {version: _list_response(version) for version in VERSIONS}


@dataclass(frozen=True)
class _Listed:
    """A model that exists now, with the values its filter fields read."""

    number: int
    view: dict[str, Any]
    fields: dict[str, Any]


class ModelList:
    """Lists the models the tuning jobs of a location made."""

    def __init__(self, jobs: TuningJobs, endpoints: Endpoints, context: EmulatorContext) -> None:
        self._jobs = jobs
        self._endpoints = endpoints
        self._store = context.store
        self._clock = context.clock

    def _existing(self, parent: str) -> list[_Listed]:
        listed: list[_Listed] = []
        now = self._clock.now()
        for record in self._jobs.all_jobs():
            if record.model.rsplit("/models/", 1)[0] != parent:
                continue  # where the model lives: a job in "global" makes its model in a real region
            if self._jobs.record_by("models", record.model) is not record:
                continue  # a later version of a model: the model is listed once, at its default version
            try:
                view = self._endpoints.model_view(self._endpoints.model_record(record.model, now), now)
            except ApiError:
                continue  # not made yet (the job has not succeeded) or deleted
            fields = {
                "model": record.model.rsplit("/", 1)[-1],
                "display_name": view.get("displayName", ""),
                "labels": view.get("labels") or {},
                "base_model_name": record.base_model.rsplit("/", 1)[-1],
            }
            listed.append(_Listed(record.number, view, fields))
        return listed

    def list_models(
        self, parent: str, *, size: str | None, token: str | None, filter_text: str | None
    ) -> dict[str, Any]:
        """One page of ListModelsResponse (normalized), in creation order."""
        limit = page_size(
            size,
            default=self._jobs.page_cap(DEFAULT_PAGE_SIZE),
            maximum=self._jobs.page_cap(MAX_PAGE_SIZE),
        )
        predicate = compile_filter(filter_text, _FIELDS)
        context = f"models|{parent}|{filter_text or ''}"
        after = decode_page_token(token, context=context)
        with self._store.lock:
            matching = [m for m in self._existing(parent) if m.number > after and predicate(m.fields)]
        page = matching[:limit]
        result: dict[str, Any] = {}
        if page:
            result["models"] = [m.view for m in page]
        if len(matching) > limit:
            result["nextPageToken"] = encode_page_token(page[-1].number, context=context)
        return result


def register(router: Router, context: EmulatorContext) -> None:
    """Add ``GET /{v1,v1beta1}/projects/{p}/locations/{l}/models``."""
    jobs = TuningJobs(context)
    models = ModelList(jobs, Endpoints(jobs, context), context)

    def list_models(request: Request) -> Response:
        version = request.path.split("/", 2)[1]
        parent = check_parent(request.params["project"], request.params["location"])
        page = models.list_models(
            parent,
            size=request.param("pageSize"),
            token=request.param("pageToken"),
            filter_text=request.param("filter"),
        )
        require_json_alt(request)
        return Response(render(page, _RESPONSES[version], enum_int=request.enum_int))

    for version in VERSIONS:
        router.add(
            "GET",
            f"/{version}/projects/{{project}}/locations/{{location}}/models",
            list_models,
            name=f"vertex.{version}.models.list",
            query=("pageSize", "pageToken", "filter", "readMask"),
        )
