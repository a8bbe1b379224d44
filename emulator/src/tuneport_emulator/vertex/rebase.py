"""``tuningJobs:rebaseTunedModel``: re-tune a tuned model on a newer version of its base model.

Vertex's description: "A rebase operation takes a model that was previously
tuned on a base model version, and retunes it on a new base model version.
The rebase operation creates a new tuning job and a new tuned model."  The
reply is a ``google.longrunning.Operation`` (metadata
``RebaseTunedModelOperationMetadata``, response the new ``TuningJob``, as
google-cloud-aiplatform's ``GenAiTuningServiceClient.rebase_tuned_model``
unpacks it), named ``{new job}/operations/{id}`` and done
:data:`~.endpoints.OPERATION_SECONDS` of emulator time later; it is read
with ``GET …/tuningJobs/{job}/operations/{id}``.

How the emulator rebases:

* ``tunedModelRef`` names the source: ``tuningJob`` (a succeeded job) or
  ``tunedModel`` (a model version, as ``models.get`` resolves it).  There are
  no pipeline jobs (PaLM-era tuning) on the emulator: ``pipelineJob`` is
  ``NOT_FOUND``.
* The new base is ``tuningJob.baseModel`` when the request gives it, else the
  source base model's successor in :data:`SUCCESSORS` (a model the emulator
  tunes); without either the request is ``FAILED_PRECONDITION``.
* The new job is the source job's own request (its datasets,
  hyperparameters, display name, labels…) with ``baseModel`` replaced and the
  request's ``tuningJob`` merged over it (messages field by field; labels and
  lists replaced whole), then created as ``tuningJobs.create`` creates a job —
  so the new base's own checks (adapter sizes, epochs, the datasets still in
  Cloud Storage) apply.
* A job that itself continued a tuned model (``preTunedModel``) is refused
  (``FAILED_PRECONDITION``): re-tuning its own data alone would drop what its
  source had learnt.
* ``deployToSameEndpoint`` is not emulated (``UNIMPLEMENTED``); an
  ``artifactDestination`` must be a ``gs://`` prefix (Gemini jobs write no
  artifacts there).
"""

from __future__ import annotations

import copy
from typing import Any

from tuneport_emulator.operations import operation_json, render_operation
from tuneport_emulator.routing import Request, Response, Router
from tuneport_emulator.schema import Message, Schema, normalize
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.vertex.base_models import resolve_base_model
from tuneport_emulator.vertex.endpoints import OPERATION_SECONDS
from tuneport_emulator.vertex.jobs import SECTION, TuningJobs
from tuneport_emulator.vertex.model_versions import resolve
from tuneport_emulator.vertex.names import canonical_name, check_parent, numeric_id, parent_of
from tuneport_emulator.vertex.records import JobState, Operation, TuningJob
from tuneport_emulator.vertex.schema import VERSIONS, messages
from tuneport_emulator.wire import ApiError, bad_request, format_timestamp

__all__ = ["SUCCESSORS", "Rebase", "register", "successor_of"]

#: The next tunable version of each Gemini base model (Vertex's model-versions page and its
#: retirement notes: 1.5 and 2.0 give way to 2.5; 2.5 Flash and Flash-Lite to 3.5).  A successor
#: counts only when the emulator tunes it (:mod:`.base_models`); 2.5 Pro has none listed.
SUCCESSORS: dict[str, str] = {
    "gemini-1.5-pro-002": "gemini-2.5-pro",
    "gemini-1.5-flash-002": "gemini-2.5-flash",
    "gemini-2.0-flash-001": "gemini-2.5-flash",
    "gemini-2.0-flash-lite-001": "gemini-2.5-flash-lite",
    "gemini-2.5-flash": "gemini-3.5-flash",
    "gemini-2.5-flash-lite": "gemini-3.5-flash-lite",
}
_METADATA = "RebaseTunedModelOperationMetadata"
_RESPONSE = "TuningJob"
#: Fields of the request's ``tuningJob`` that replace the source's whole (maps and lists).
_REPLACED_WHOLE = frozenset({"labels"})


def _declare(package: str) -> Message:
    s = Schema(package)
    s.message(
        "TunedModelRef",
        "tunedModel string oneof=tuned_model_ref",
        "tuningJob string oneof=tuned_model_ref",
        "pipelineJob string oneof=tuned_model_ref",
    )
    s.message(_METADATA, "genericMetadata GenericOperationMetadata")
    request = s.message(
        "RebaseTunedModelRequest",
        "parent string",
        "tunedModelRef TunedModelRef",
        "tuningJob TuningJob",
        "artifactDestination GcsDestination",
        "deployToSameEndpoint bool",
    )
    s.check_complete()
    return request


_REQUESTS: dict[str, Message] = {version: _declare(messages(version).package) for version in VERSIONS}


def successor_of(base_model: str) -> str | None:
    """The base model a model tuned on *base_model* is rebased onto by default (None: none tunable)."""
    known = resolve_base_model(base_model)
    successor = SUCCESSORS.get(known.name if known is not None else base_model)
    if successor is None or resolve_base_model(successor) is None:
        return None
    return successor


def _merged(source: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """*source* with *overrides* merged in: nested messages field by field, the rest replaced."""
    result = copy.deepcopy(source)
    for key, value in overrides.items():
        current = result.get(key)
        if isinstance(value, dict) and isinstance(current, dict) and key not in _REPLACED_WHOLE:
            result[key] = _merged(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


class Rebase:
    """Rebasing tuned models, over the jobs it creates through :class:`~.jobs.TuningJobs`."""

    def __init__(self, jobs: TuningJobs, context: EmulatorContext) -> None:
        self._jobs = jobs
        self._context = context
        self._store = context.store
        self._clock = context.clock

    def _operations(self) -> dict[str, Operation]:
        return self._store.collection(SECTION, "operations", Operation.from_json)

    def _source(self, parent: str, ref: dict[str, Any]) -> TuningJob:
        """The succeeded job whose tuned model *ref* names.  Hold the lock."""
        now = self._clock.now()
        if ref.get("pipelineJob"):
            raise ApiError(
                "NOT_FOUND",
                f"PipelineJob {ref['pipelineJob']} is not found. (The emulator has no pipeline jobs: "
                "rebase a tuningJob or a tunedModel.)",
            )
        if ref.get("tuningJob"):
            name = canonical_name(str(ref["tuningJob"]))
            field = "tuned_model_ref.tuning_job"
            if parent_of(name) != parent or "/tuningJobs/" not in name:
                raise bad_request(
                    f"TuningJob {ref['tuningJob']} is not a tuning job of {parent}.", field=field
                )
            record = self._jobs.record(name)
        elif ref.get("tunedModel"):
            name = canonical_name(str(ref["tunedModel"]))
            field = "tuned_model_ref.tuned_model"
            if parent_of(name) != parent or "/models/" not in name:
                raise bad_request(f"Model {ref['tunedModel']} is not a model of {parent}.", field=field)
            record = resolve(self._jobs, name, now)
        else:
            raise bad_request(
                "tuned_model_ref is required: set tuned_model, tuning_job or pipeline_job.",
                field="tuned_model_ref",
            )
        state = self._jobs.status(record, now).state
        if state is not JobState.JOB_STATE_SUCCEEDED:
            raise ApiError(
                "FAILED_PRECONDITION",
                f"TuningJob {record.name} is in state {state.name}: only the tuned model of a succeeded "
                "job can be rebased.",
            )
        if "preTunedModel" in record.fields:
            raise ApiError(
                "FAILED_PRECONDITION",
                f"TuningJob {record.name} continued the tuned model "
                f"{record.fields['preTunedModel'].get('tunedModelName')}: rebase that model first.",
            )
        return record

    def _new_job(self, record: TuningJob, overrides: dict[str, Any]) -> dict[str, Any]:
        """The TuningJob to create: the source's request on the new base, the overrides merged in."""
        given = overrides.get("baseModel")
        if given:
            new_base = str(given)
            old = resolve_base_model(record.base_model)
            new = resolve_base_model(new_base)
            if (new.name if new else new_base) == (old.name if old else record.base_model):
                raise bad_request(
                    f"The tuned model was already tuned on {record.base_model}: give a newer base model.",
                    field="tuning_job.base_model",
                )
        else:
            successor = successor_of(record.base_model)
            if successor is None:
                raise ApiError(
                    "FAILED_PRECONDITION",
                    f"Base model {record.base_model} has no newer version to rebase onto; "
                    "set tuning_job.base_model.",
                )
            new_base = successor
        return _merged(record.fields, {**overrides, "baseModel": new_base})

    def rebase(self, parent: str, body: dict[str, Any], version: str) -> dict[str, Any]:
        """Create the new job and the operation that reports it; the operation (normalized)."""
        if body.get("deployToSameEndpoint"):
            raise ApiError(
                "UNIMPLEMENTED",
                "deploy_to_same_endpoint is not emulated: the new tuned model gets an endpoint of its own.",
            )
        prefix = str((body.get("artifactDestination") or {}).get("outputUriPrefix", ""))
        if body.get("artifactDestination") is not None and not prefix.startswith("gs://"):
            raise bad_request(
                f"artifact_destination.output_uri_prefix must be a gs:// URI, got '{prefix}'.",
                field="artifact_destination.output_uri_prefix",
            )
        with self._store.lock:
            record = self._source(parent, body.get("tunedModelRef") or {})
            fields = self._new_job(record, body.get("tuningJob") or {})
        job = self._jobs.create(parent, fields, version)
        with self._store.lock:
            now = self._clock.now()
            name = f"{job['name']}/operations/{numeric_id(self._context.ids, 'operation')}"
            self._operations()[name] = Operation(name, _METADATA, _RESPONSE, now, now + OPERATION_SECONDS)
            return self._view(name, now, version)

    def _view(self, name: str, now: float, version: str) -> dict[str, Any]:
        """The operation at *now*: done once its time has come, its response the job as it is then."""
        operation = self._operations()[name]
        done = now >= operation.done_time
        package = messages(version).package
        job_name = name.rsplit("/operations/", 1)[0]
        response = self._jobs.view(self._jobs.record(job_name), now, version) if done else None
        return operation_json(
            name,
            metadata_type=f"{package}.{operation.metadata_type}",
            metadata={
                "genericMetadata": {
                    "createTime": format_timestamp(operation.create_time),
                    "updateTime": format_timestamp(min(now, operation.done_time)),
                }
            },
            done=done,
            response_type=f"{package}.{operation.response_type}",
            response=response,
        )

    def get_operation(self, name: str, version: str) -> dict[str, Any]:
        """A rebase operation by name."""
        with self._store.lock:
            if name not in self._operations():
                raise ApiError("NOT_FOUND", f"Operation `{name}` not found.")
            return self._view(name, self._clock.now(), version)


def register(router: Router, jobs: TuningJobs, context: EmulatorContext) -> None:
    """Add ``tuningJobs:rebaseTunedModel`` and ``tuningJobs.operations.get`` (v1 and v1beta1)."""
    rebase = Rebase(jobs, context)

    def _version(request: Request) -> str:
        return request.path.split("/", 2)[1]

    def _parent(request: Request) -> str:
        return check_parent(request.params["project"], request.params["location"])

    def rebase_tuned_model(request: Request) -> Response:
        version = _version(request)
        body = normalize(request.json(), _REQUESTS[version], "")
        request.log_body = body
        operation = rebase.rebase(_parent(request), body, version)
        return Response(render_operation(operation, enum_int=request.enum_int))

    def get_operation(request: Request) -> Response:
        params = request.params
        name = f"{_parent(request)}/tuningJobs/{params['job']}/operations/{params['operation']}"
        operation = rebase.get_operation(name, _version(request))
        return Response(render_operation(operation, enum_int=request.enum_int))

    for version in VERSIONS:
        jobs_path = f"/{version}/projects/{{project}}/locations/{{location}}/tuningJobs"
        router.add(
            "POST",
            f"{jobs_path}:rebaseTunedModel",
            rebase_tuned_model,
            name=f"vertex.{version}.tuningJobs.rebaseTunedModel",
        )
        router.add(
            "GET",
            f"{jobs_path}/{{job}}/operations/{{operation}}",
            get_operation,
            name=f"vertex.{version}.tuningJobs.operations.get",
        )
