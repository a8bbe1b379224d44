"""Vertex ML Metadata reads beyond contexts: the artifacts and executions of the ``default`` store.

The vertexai SDK's experiment objects (``job.experiment``, an
``aiplatform.Experiment``; ``aiplatform.ExperimentRun``) read these:

* ``ExperimentRun(...)`` looks up its TensorBoard run through the artifact
  ``{run context id}-tb-run`` (schema ``google.VertexTensorboardRun``,
  ``metadata.resourceName`` = the TensorboardRun) — the SDK's own
  convention for Vertex Experiments.  Each tuning experiment's run
  (``{experiment}-tuning-run``) has one, so the SDK finds the job's loss
  series from its experiment.  Google documents nothing about which
  metadata the tuning service writes; this follows the SDK.
* ``ExperimentRun.list(experiment=…)`` lists ``executions`` with
  ``schema_title="system.Run" AND in_context("…")`` (the legacy runs).  A
  tuning job records no executions, so every list is empty; the filter is
  still checked.

Filters are the AIP-160 subset of :mod:`.filters` plus ``in_context("…")``,
which Vertex documents for artifacts and executions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.routing import Request, Response, Router, require_json_alt
from tuneport_emulator.schema import Message, Schema, render
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.vertex.filters import FilterField, Predicate, compile_filter
from tuneport_emulator.vertex.jobs import TuningJobs, experiment_name
from tuneport_emulator.vertex.names import METADATA_STORE, check_parent
from tuneport_emulator.vertex.schema import VERSIONS
from tuneport_emulator.vertex.tensorboard import RUN_ID, Metrics
from tuneport_emulator.wire import ApiError, bad_request

__all__ = ["TB_RUN_SUFFIX", "MetadataReads", "register"]

#: The suffix of the artifact linking an experiment run to its TensorBoard run (the SDK's own).
TB_RUN_SUFFIX = "-tb-run"
TB_RUN_SCHEMA = "google.VertexTensorboardRun"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_FIELDS: dict[str, FilterField] = {
    "schema_title": FilterField("schema_title", "string"),
    "schemaTitle": FilterField("schema_title", "string"),
    "display_name": FilterField("display_name", "string"),
    "displayName": FilterField("display_name", "string"),
    "uri": FilterField("uri", "string"),
    "state": FilterField("state", "string"),
    "create_time": FilterField("create_time", "timestamp"),
    "createTime": FilterField("create_time", "timestamp"),
    "update_time": FilterField("update_time", "timestamp"),
    "updateTime": FilterField("update_time", "timestamp"),
    "in_context": FilterField("in_context", "list"),
}
#: ``orderBy`` values: every record's create and update times follow creation order.
_ORDERS = {"": False, "create_time": False, "update_time": False, "create_time asc": False,
           "update_time asc": False, "create_time desc": True, "update_time desc": True}  # fmt: skip
#: ``in_context("name")`` is read as the has-test ``in_context:"name"`` over the contexts holding a record.
_IN_CONTEXT = re.compile(r'\bin_context\(\s*("(?:[^"\\]|\\.)*")\s*\)')


def _descending(order_by: str | None) -> bool:
    """Whether ``order_by`` reverses creation order; 400 for a field the emulator cannot order by."""
    key = " ".join(
        (order_by or "").replace("createTime", "create_time").replace("updateTime", "update_time").split()
    )
    if key not in _ORDERS:
        raise bad_request(
            f"Invalid order_by '{order_by}': use create_time or update_time, optionally with desc.",
            field="order_by",
        )
    return _ORDERS[key]


def _compile(text: str | None) -> Predicate:
    if text is not None and "in_context(" in text.replace(" ", ""):
        rewritten = _IN_CONTEXT.sub(r"in_context:\1", text)
        if "in_context(" in rewritten.replace(" ", ""):
            raise bad_request(
                f"Invalid filter '{text}': in_context takes one quoted context name.", field="filter"
            )
        return compile_filter(rewritten, _FIELDS)
    return compile_filter(text, _FIELDS)


def _declare(version: str) -> dict[str, Message]:
    s = Schema(f"google.cloud.aiplatform.{version}")
    s.enum("Artifact.State", ["STATE_UNSPECIFIED", "PENDING", "LIVE"])
    s.enum(
        "Execution.State",
        ["STATE_UNSPECIFIED", "NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELLED"],
    )
    common = (
        "name string", "displayName string", "etag string", "labels json", "createTime timestamp ro",
        "updateTime timestamp ro", "schemaTitle string", "schemaVersion string", "metadata json",
        "description string",
    )  # fmt: skip
    artifact = s.message("Artifact", *common, "uri string", "state Artifact.State")
    execution = s.message("Execution", *common, "state Execution.State")
    return {
        "artifact": artifact,
        "list_artifacts": s.message("ListArtifactsResponse", "artifacts Artifact[]", "nextPageToken string"),
        "execution": execution,
        "list_executions": s.message(
            "ListExecutionsResponse", "executions Execution[]", "nextPageToken string"
        ),
    }


_MESSAGES = {version: _declare(version) for version in VERSIONS}


class MetadataReads:
    """The artifacts (and no executions) of the tuning experiments' metadata store."""

    def __init__(self, jobs: TuningJobs, metrics: Metrics, context: EmulatorContext) -> None:
        self._jobs = jobs
        self._metrics = metrics
        self._store = context.store
        self._clock = context.clock

    def _run_contexts(self, store: str) -> list[str]:
        """The run context of every job under ``store`` that has started running, in creation order."""
        with self._store.lock:
            now = self._clock.now()
            return [
                f"{experiment_name(record)}-{RUN_ID}"
                for record in self._jobs.all_jobs()
                if experiment_name(record).startswith(store + "/") and self._jobs.status(record, now).ran
            ]

    def _artifact(self, run_context: str) -> dict[str, Any]:
        context = self._metrics.get_context(run_context)
        tensorboard_run = context["metadata"]["backing_tensorboard_run"]
        return {
            "name": run_context.replace("/contexts/", "/artifacts/") + TB_RUN_SUFFIX,
            "displayName": run_context.rsplit("/", 1)[-1] + TB_RUN_SUFFIX,
            "uri": f"https://{run_context.split('/')[3]}-aiplatform.googleapis.com/v1/{tensorboard_run}",
            "etag": context["etag"],
            "createTime": context["createTime"],
            "updateTime": context["createTime"],
            "state": "LIVE",
            "schemaTitle": TB_RUN_SCHEMA,
            "schemaVersion": "0.0.1",
            "metadata": {"resourceName": tensorboard_run, "vertex_experiment_tracking": True},
        }

    def get_artifact(self, name: str) -> dict[str, Any]:
        """An experiment run's TensorBoard-run artifact; 404 for any other name."""
        store, _, artifact_id = name.rpartition("/artifacts/")
        run_context = f"{store}/contexts/{artifact_id.removesuffix(TB_RUN_SUFFIX)}"
        if artifact_id.endswith(TB_RUN_SUFFIX) and run_context in self._run_contexts(store):
            return self._artifact(run_context)
        raise ApiError("NOT_FOUND", f"Artifact {name} is not found.")

    def list_artifacts(
        self,
        store: str,
        *,
        size: str | None,
        token: str | None,
        filter_text: str | None,
        order_by: str | None,
    ) -> dict[str, Any]:
        """ListArtifactsResponse: one artifact per tuning experiment run, in creation order (or reversed)."""
        predicate = _compile(filter_text)
        descending = _descending(order_by)
        limit = page_size(
            size, default=self._jobs.page_cap(DEFAULT_PAGE_SIZE), maximum=self._jobs.page_cap(MAX_PAGE_SIZE)
        )
        key = f"artifacts|{store}|{filter_text or ''}|{order_by or ''}"
        after = decode_page_token(token, context=key)
        matching: list[dict[str, Any]] = []
        for run_context in self._run_contexts(store):
            artifact = self._artifact(run_context)
            fields = {
                "schema_title": artifact["schemaTitle"],
                "display_name": artifact["displayName"],
                "uri": artifact["uri"],
                "state": artifact["state"],
                "create_time": artifact["createTime"],
                "update_time": artifact["updateTime"],
                "in_context": [run_context],
            }
            if predicate(fields):
                matching.append(artifact)
        if descending:
            matching.reverse()
        return _page(matching[after:], limit, after, key, "artifacts")

    @staticmethod
    def list_executions(
        store: str, *, size: str | None, token: str | None, filter_text: str | None, order_by: str | None
    ) -> dict[str, Any]:
        """ListExecutionsResponse: empty (tuning records no executions), once the request is checked."""
        _compile(filter_text)
        _descending(order_by)
        page_size(size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        decode_page_token(token, context=f"executions|{store}|{filter_text or ''}")
        return {}


def _page(items: list[dict[str, Any]], limit: int, after: int, key: str, field: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if items[:limit]:
        result[field] = items[:limit]
    if len(items) > limit:
        result["nextPageToken"] = encode_page_token(after + limit, context=key)
    return result


def register(router: Router, context: EmulatorContext, metrics: Metrics | None = None) -> None:
    """Add the artifact and execution reads of ``metadataStores/default`` in v1 and v1beta1."""
    jobs = TuningJobs(context)
    reads = MetadataReads(jobs, metrics or Metrics(jobs, context), context)

    def store_of(request: Request) -> str:
        parent = check_parent(request.params["project"], request.params["location"])
        store = request.params["store"]
        if store != METADATA_STORE:
            raise ApiError("NOT_FOUND", f"MetadataStore {parent}/metadataStores/{store} is not found.")
        return f"{parent}/metadataStores/{store}"

    def reply(request: Request, kind: str, value: dict[str, Any]) -> Response:
        require_json_alt(request)
        message = _MESSAGES[request.path.split("/", 2)[1]][kind]
        return Response(render(value, message, enum_int=request.enum_int))

    def get_artifact(request: Request) -> Response:
        name = f"{store_of(request)}/artifacts/{request.params['artifact']}"
        return reply(request, "artifact", reads.get_artifact(name))

    def listing(request: Request) -> dict[str, str | None]:
        return {
            "size": request.param("pageSize"),
            "token": request.param("pageToken"),
            "filter_text": request.param("filter"),
            "order_by": request.param("orderBy"),
        }

    def list_artifacts(request: Request) -> Response:
        return reply(request, "list_artifacts", reads.list_artifacts(store_of(request), **listing(request)))

    def get_execution(request: Request) -> Response:
        name = f"{store_of(request)}/executions/{request.params['execution']}"
        raise ApiError("NOT_FOUND", f"Execution {name} is not found.")

    def list_executions(request: Request) -> Response:
        return reply(request, "list_executions", reads.list_executions(store_of(request), **listing(request)))

    list_query = ("pageSize", "pageToken", "filter", "orderBy")
    handlers: list[tuple[str, Callable[[Request], Response], str, tuple[str, ...]]] = [
        ("artifacts/{artifact}", get_artifact, "artifacts.get", ()),
        ("artifacts", list_artifacts, "artifacts.list", list_query),
        ("executions/{execution}", get_execution, "executions.get", ()),
        ("executions", list_executions, "executions.list", list_query),
    ]
    for version in VERSIONS:
        base = f"/{version}/projects/{{project}}/locations/{{location}}/metadataStores/{{store}}"
        for tail, handler, name, query in handlers:
            router.add(
                "GET", f"{base}/{tail}", handler, name=f"vertex.{version}.metadataStores.{name}", query=query
            )
