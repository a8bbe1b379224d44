"""The Vertex AI REST routes, under ``/v1`` and ``/v1beta1``, over the jobs, endpoints and metrics.

Every route exists in both versions; a reply is written through the
version's schema (v1 leaves out v1beta1-only fields) and honours
``$alt=json;enum-encoding=int``.  Credentials are not checked: any
``Authorization: Bearer …`` (or none) is accepted, and the request log
records only its kind.
"""

from __future__ import annotations

import json
from typing import Any

from tuneport_emulator.operations import render_operation
from tuneport_emulator.routing import Request, Response, Router
from tuneport_emulator.schema import Message, normalize, render
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.vertex.endpoints import Endpoints
from tuneport_emulator.vertex.generation import generate, stream_chunks
from tuneport_emulator.vertex.jobs import TuningJobs
from tuneport_emulator.vertex.names import METADATA_STORE, check_parent
from tuneport_emulator.vertex.rebase import register as register_rebase
from tuneport_emulator.vertex.schema import VERSIONS, messages
from tuneport_emulator.vertex.tensorboard import Metrics
from tuneport_emulator.wire import ApiError, bad_request

__all__ = ["register"]

_PAGING = ("pageSize", "pageToken")
_LIST_QUERY = (*_PAGING, "filter", "orderBy", "readMask")


def _alt_format(request: Request, *, sse: bool = False) -> str:
    fmt = request.alt.split(";", 1)[0].strip().lower() or "json"
    if fmt == "json" or (sse and fmt == "sse"):
        return fmt
    raise bad_request(f"Invalid value for the alt system parameter: '{fmt}'.", field="$alt")


def _version(request: Request) -> str:
    return request.path.split("/", 2)[1]


def _parent(request: Request) -> str:
    return check_parent(request.params["project"], request.params["location"])


def _reply(request: Request, value: dict[str, Any], message: Message) -> Response:
    _alt_format(request)
    return Response(render(value, message, enum_int=request.enum_int))


def _operation_reply(request: Request, operation: dict[str, Any]) -> Response:
    _alt_format(request)
    return Response(render_operation(operation, enum_int=request.enum_int))


def _read(request: Request, message: Message, root: str) -> dict[str, Any]:
    body = normalize(request.json(), message, root)
    request.log_body = body
    return body


def register(router: Router, context: EmulatorContext) -> None:
    """Add the Vertex AI routes to ``router``."""
    jobs = TuningJobs(context)
    endpoints = Endpoints(jobs, context)
    metrics = Metrics(jobs, context)
    register_rebase(router, jobs, context)  # tuningJobs:rebaseTunedModel and its operations

    # --- tuningJobs -----------------------------------------------------------------------

    def create_job(request: Request) -> Response:
        version = _version(request)
        schema = messages(version)
        parent = _parent(request)
        body = _read(request, schema.tuning_job, "tuning_job")
        return _reply(request, jobs.create(parent, body, version), schema.tuning_job)

    def list_jobs(request: Request) -> Response:
        version = _version(request)
        page = jobs.list_jobs(
            _parent(request),
            size=request.param("pageSize"),
            token=request.param("pageToken"),
            filter_text=request.param("filter"),
            version=version,
        )
        return _reply(request, page, messages(version).list_tuning_jobs_response)

    def _job_name(request: Request) -> str:
        return f"{_parent(request)}/tuningJobs/{request.params['job']}"

    def get_job(request: Request) -> Response:
        version = _version(request)
        return _reply(request, jobs.get(_job_name(request), version), messages(version).tuning_job)

    def cancel_job(request: Request) -> Response:
        _read(request, messages(_version(request)).cancel_tuning_job_request, "")
        jobs.cancel(_job_name(request))
        _alt_format(request)
        return Response({})

    # --- endpoints and models -------------------------------------------------------------

    def _endpoint(request: Request) -> str:
        return f"{_parent(request)}/endpoints/{request.params['endpoint']}"

    def _model(request: Request) -> str:
        return f"{_parent(request)}/models/{request.params['model']}"

    def get_endpoint(request: Request) -> Response:
        return _reply(
            request, endpoints.get_endpoint(_endpoint(request)), messages(_version(request)).endpoint
        )

    def delete_endpoint(request: Request) -> Response:
        return _operation_reply(request, endpoints.delete_endpoint(_endpoint(request), _version(request)))

    def undeploy(request: Request) -> Response:
        body = _read(request, messages(_version(request)).undeploy_model_request, "")
        operation = endpoints.undeploy(
            _endpoint(request), str(body.get("deployedModelId", "")), _version(request)
        )
        return _operation_reply(request, operation)

    def get_model(request: Request) -> Response:
        return _reply(request, endpoints.get_model(_model(request)), messages(_version(request)).model)

    def patch_model(request: Request) -> Response:
        schema = messages(_version(request))
        body = _read(request, schema.model, "model")
        view = endpoints.patch_model(_model(request), body, request.param("updateMask"))
        return _reply(request, view, schema.model)

    def delete_model(request: Request) -> Response:
        return _operation_reply(request, endpoints.delete_model(_model(request), _version(request)))

    def get_endpoint_operation(request: Request) -> Response:
        name = f"{_endpoint(request)}/operations/{request.params['operation']}"
        return _operation_reply(request, endpoints.get_operation(name, _version(request)))

    def get_model_operation(request: Request) -> Response:
        name = f"{_model(request)}/operations/{request.params['operation']}"
        return _operation_reply(request, endpoints.get_operation(name, _version(request)))

    # --- generateContent ------------------------------------------------------------------

    def _answer(request: Request) -> dict[str, Any]:
        body = _read(request, messages(_version(request)).generate_content_request, "")
        examples, base_model = endpoints.generation_inputs(_endpoint(request))
        return generate(examples, base_model, body, ids=context.ids, now=context.clock.now())

    def generate_content(request: Request) -> Response:
        _alt_format(request)
        return _reply(request, _answer(request), messages(_version(request)).generate_content_response)

    def stream_generate_content(request: Request) -> Response:
        fmt = _alt_format(request, sse=True)
        message = messages(_version(request)).generate_content_response
        chunks = [render(c, message, enum_int=request.enum_int) for c in stream_chunks(_answer(request))]
        if fmt == "sse":
            events = "".join(f"data: {json.dumps(c, ensure_ascii=False)}\r\n\r\n" for c in chunks)
            return Response(events.encode("utf-8"), content_type="text/event-stream")
        return Response(chunks)

    def publisher_model_generate(request: Request) -> Response:
        # Base (publisher) models are not emulated; google-genai also builds
        # publishers/endpoints/models/{id} from "endpoints/{id}", which Vertex answers with 404.
        name = f"{_parent(request)}/publishers/{request.params['publisher']}/models/{request.params['model']}"
        raise ApiError(
            "NOT_FOUND",
            f"Publisher Model `{name}` not found. (The emulator serves tuned models on their endpoints, "
            "projects/*/locations/*/endpoints/*, not base models.)",
        )

    # --- the metrics path -------------------------------------------------------------------

    def _store_name(request: Request) -> str:
        store = request.params["store"]
        if store != METADATA_STORE:
            raise ApiError(
                "NOT_FOUND", f"MetadataStore {_parent(request)}/metadataStores/{store} is not found."
            )
        return f"{_parent(request)}/metadataStores/{store}"

    def _list_args(request: Request) -> dict[str, str | None]:
        return {
            "size": request.param("pageSize"),
            "token": request.param("pageToken"),
            "filter_text": request.param("filter"),
        }

    def get_context(request: Request) -> Response:
        name = f"{_store_name(request)}/contexts/{request.params['context']}"
        return _reply(request, metrics.get_context(name), messages(_version(request)).context)

    def list_contexts(request: Request) -> Response:
        page = metrics.list_contexts(_store_name(request), **_list_args(request))
        return _reply(request, page, messages(_version(request)).list_contexts_response)

    def _tb_experiment(request: Request) -> str:
        tensorboard = f"{_parent(request)}/tensorboards/{request.params['tensorboard']}"
        return f"{tensorboard}/experiments/{request.params['experiment']}"

    def _run(request: Request) -> str:
        return f"{_tb_experiment(request)}/runs/{request.params['run']}"

    def _series(request: Request) -> str:
        return f"{_run(request)}/timeSeries/{request.params['series']}"

    def list_runs(request: Request) -> Response:
        page = metrics.list_runs(_tb_experiment(request), **_list_args(request))
        return _reply(request, page, messages(_version(request)).list_tensorboard_runs_response)

    def get_run(request: Request) -> Response:
        return _reply(request, metrics.get_run(_run(request)), messages(_version(request)).tensorboard_run)

    def list_time_series(request: Request) -> Response:
        page = metrics.list_time_series(_run(request), **_list_args(request))
        return _reply(request, page, messages(_version(request)).list_tensorboard_time_series_response)

    def get_time_series(request: Request) -> Response:
        view = metrics.get_time_series(_series(request))
        return _reply(request, view, messages(_version(request)).tensorboard_time_series)

    def export_time_series(request: Request) -> Response:
        schema = messages(_version(request))
        body = _read(request, schema.export_request, "")
        return _reply(request, metrics.export(_series(request), body), schema.export_response)

    # --- registration -----------------------------------------------------------------------

    for version in VERSIONS:
        base = f"/{version}/projects/{{project}}/locations/{{location}}"
        jobs_path = f"{base}/tuningJobs"
        endpoint = f"{base}/endpoints/{{endpoint}}"
        model = f"{base}/models/{{model}}"
        tensorboard_run = f"{base}/tensorboards/{{tensorboard}}/experiments/{{experiment}}/runs"
        contexts = f"{base}/metadataStores/{{store}}/contexts"
        series_path = f"{tensorboard_run}/{{run}}/timeSeries"
        routes: list[tuple[str, str, Any, str, tuple[str, ...]]] = [
            ("POST", jobs_path, create_job, "tuningJobs.create", ()),
            ("GET", jobs_path, list_jobs, "tuningJobs.list", (*_PAGING, "filter")),
            ("GET", f"{jobs_path}/{{job}}", get_job, "tuningJobs.get", ()),
            ("POST", f"{jobs_path}/{{job}}:cancel", cancel_job, "tuningJobs.cancel", ()),
            ("GET", endpoint, get_endpoint, "endpoints.get", ()),
            ("DELETE", endpoint, delete_endpoint, "endpoints.delete", ()),
            ("POST", f"{endpoint}:undeployModel", undeploy, "endpoints.undeployModel", ()),
            ("POST", f"{endpoint}:generateContent", generate_content, "endpoints.generateContent", ()),
            (
                "POST", f"{endpoint}:streamGenerateContent", stream_generate_content,
                "endpoints.streamGenerateContent", (),
            ),
            (
                "GET", f"{endpoint}/operations/{{operation}}", get_endpoint_operation,
                "endpoints.operations.get", (),
            ),
            ("GET", model, get_model, "models.get", ()),
            ("PATCH", model, patch_model, "models.patch", ("updateMask",)),
            ("DELETE", model, delete_model, "models.delete", ()),
            ("GET", f"{model}/operations/{{operation}}", get_model_operation, "models.operations.get", ()),
            (
                "POST", f"{base}/publishers/{{publisher}}/models/{{model}}:generateContent",
                publisher_model_generate, "publishers.models.generateContent", (),
            ),
            (
                "POST", f"{base}/publishers/{{publisher}}/models/{{model}}:streamGenerateContent",
                publisher_model_generate, "publishers.models.streamGenerateContent", (),
            ),
            ("GET", f"{contexts}/{{context}}", get_context, "metadataStores.contexts.get", ()),
            ("GET", contexts, list_contexts, "metadataStores.contexts.list", _LIST_QUERY),
            ("GET", tensorboard_run, list_runs, "tensorboards.experiments.runs.list", _LIST_QUERY),
            ("GET", f"{tensorboard_run}/{{run}}", get_run, "tensorboards.experiments.runs.get", ()),
            (
                "GET", series_path, list_time_series, "tensorboards.experiments.runs.timeSeries.list",
                _LIST_QUERY,
            ),
            (
                "GET", f"{series_path}/{{series}}", get_time_series,
                "tensorboards.experiments.runs.timeSeries.get", (),
            ),
            (
                "POST", f"{series_path}/{{series}}:exportTensorboardTimeSeries", export_time_series,
                "tensorboards.experiments.runs.timeSeries.exportTensorboardTimeSeries", (),
            ),
        ]  # fmt: skip
        for method, pattern, handler, name, query in routes:
            router.add(method, pattern, handler, name=f"vertex.{version}.{name}", query=query)

    # --- admin -------------------------------------------------------------------------------

    def seed(request: Request) -> Response:
        return _reply(request, jobs.seed(request.json()), messages("v1beta1").tuning_job)

    def configure(request: Request) -> Response:
        return Response(jobs.configure(request.json()))

    router.add("POST", "/_emulator/vertex/tuningJobs:seed", seed, name="admin.vertex.seed", log=False)
    router.add("POST", "/_emulator/vertex:configure", configure, name="admin.vertex.configure", log=False)
