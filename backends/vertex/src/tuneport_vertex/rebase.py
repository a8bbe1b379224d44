"""Moving a tuned model to a new base: ``tuningJobs:rebaseTunedModel``, and a job's spec read back.

:func:`rebase` sends ``POST {parent}/tuningJobs:rebaseTunedModel`` with the
discovery document's ``RebaseTunedModelRequest``: ``tunedModelRef.tuningJob``
names the source job and ``tuningJob`` carries what changes — always the new
``baseModel``, and only the overrides asked for (the method spec's
``hyperParameters``, ``tunedModelDisplayName``, ``description``, ``labels``);
Vertex keeps the rest of the source's configuration.  It answers with a
long-running operation whose response is the new ``TuningJob``; the flow polls
it and returns that job.

:func:`spec_of` is the source job's :class:`~tuneport.models.JobSpec` as
Vertex keeps it (its datasets are ``gs://`` URIs), which the client checks
against the catalog before a rebase and re-creates from where a service has
no rebase.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tuneport.errors import APIError, Problem, SpecError
from tuneport.idempotency import new_request_id
from tuneport.models import Hyperparameters, JobSpec, TuningJob
from tuneport.protocol import Flow, HttpRequest, request, sleep
from tuneport_vertex.wire import ADAPTER_SIZES, REQUEST_ID_LABEL
from tuneport_vertex.wire_methods import SPEC_KEYS, TUNING_MODES, read_version
from tuneport_vertex.wire_reads import job_from, method_of

if TYPE_CHECKING:
    from tuneport_vertex.backend import VertexBackend

__all__ = ["OVERRIDES", "rebase", "rebase_body", "spec_from", "spec_of"]

#: The fields a rebase may change besides the base model (JobSpec names).
OVERRIDES = frozenset({"hyperparameters", "display_name", "description", "labels"})
_PUBLISHER_PREFIX = "publishers/google/models/"
_CAMEL = re.compile(r"_([a-z])")
#: Polls of the operation start fast and back off to this interval.
_POLL = 2.0
_FIRST_POLL = 0.1
_POLLS = 300


def _camel(name: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def _hyper_parameters(hyper: Hyperparameters) -> dict[str, Any]:
    """``hyperParameters`` of the given hyperparameters (adapter sizes as their enum names)."""
    wire: dict[str, Any] = {}
    for name, value in hyper.given().items():
        wire[_camel(name)] = ADAPTER_SIZES[value] if name == "adapter_size" else value
    return wire


def rebase_body(
    job: TuningJob, base_model: str, overrides: Mapping[str, Any], *, request_id: str
) -> dict[str, Any]:
    """The ``RebaseTunedModelRequest`` body re-tuning *job*'s tuned model on *base_model*."""
    unknown = sorted(set(overrides) - OVERRIDES)
    if unknown:
        raise SpecError(
            [Problem(f"a rebase cannot change {n}", field=n, rule="not-overridable") for n in unknown]
        )
    if job.method is None or not job.name:
        raise SpecError([Problem(f"job {job.id} holds no tuning spec to rebase", field="job")])
    tuning_job: dict[str, Any] = {"baseModel": base_model}
    hyper = overrides.get("hyperparameters")
    if isinstance(hyper, Hyperparameters) and hyper.given():
        tuning_job[SPEC_KEYS[job.method]] = {"hyperParameters": _hyper_parameters(hyper)}
    if overrides.get("display_name"):
        tuning_job["tunedModelDisplayName"] = overrides["display_name"]
    if overrides.get("description"):
        tuning_job["description"] = overrides["description"]
    # Labels replace the source's whole: carry its own, add the overrides and this request's id.
    labels = {**job.labels, **dict(overrides.get("labels") or {}), REQUEST_ID_LABEL: request_id}
    tuning_job["labels"] = labels
    return {"tunedModelRef": {"tuningJob": job.name}, "tuningJob": tuning_job}


def rebase(
    backend: VertexBackend, job_id: str, base_model: str, overrides: Mapping[str, Any]
) -> Flow[TuningJob]:
    """Re-tune *job_id*'s tuned model on *base_model*; the new job, once the operation reports it."""
    job = yield from backend.get(job_id)
    body = rebase_body(job, base_model, overrides, request_id=new_request_id())
    parent = str(job.name).split("/tuningJobs/", 1)[0]
    version = read_version(backend.vertex_settings.api_version)
    # On the host of the job's own location, like every call (tuneport_vertex.routing).
    address = backend.router.address(f"{parent}/tuningJobs:rebaseTunedModel", version)
    # Not idempotent: a second rebase would make a second job (the request id label finds it).
    sent = HttpRequest("POST", address.url, headers=address.headers, json=body, idempotent=False)
    operation = (yield from request(sent)).json()
    for poll in range(_POLLS):
        if operation.get("done"):
            error = operation.get("error")
            if isinstance(error, Mapping):
                raise APIError(f"{operation.get('name')}: {error.get('message', 'rebase failed')}")
            response = {k: v for k, v in (operation.get("response") or {}).items() if k != "@type"}
            return job_from(response)
        yield from sleep(min(_POLL, _FIRST_POLL * 2**poll))
        poll_at = backend.router.address(str(operation["name"]), version)
        reply = yield from request(HttpRequest("GET", poll_at.url, headers=poll_at.headers))
        operation = reply.json()
    raise APIError(f"{operation.get('name')} did not finish after {_POLLS} polls")


def spec_from(data: Mapping[str, Any]) -> JobSpec:
    """The :class:`JobSpec` a ``TuningJob`` reply was created from, as far as Vertex keeps it."""
    job = job_from(data)
    method = method_of(data)
    name = job.name or job.id
    if method is None:
        raise SpecError([Problem(f"job {name} holds no tuning spec tuneport reads", field="job")])
    spec = data.get(SPEC_KEYS[method]) or {}
    training = spec.get("trainingDatasetUri") or spec.get("promptDatasetUri")
    if not training:
        raise SpecError([Problem(f"job {name} names no training dataset", field="training_data")])
    pre_tuned = data.get("preTunedModel") or {}
    base = str(data.get("baseModel") or pre_tuned.get("baseModel") or "")
    modes = {wire: mode for mode, wire in TUNING_MODES.items()}
    fields: dict[str, Any] = {
        "base_model": base.removeprefix(_PUBLISHER_PREFIX),
        "method": method,
        "training_data": training,
        "validation_data": spec.get("validationDatasetUri") or None,
        "hyperparameters": job.hyperparameters,
        "tuned_model": pre_tuned.get("tunedModelName") or None,
        "checkpoint": job.source_checkpoint if pre_tuned.get("tunedModelName") else None,
        "teacher_model": job.teacher_model,
        "tuning_mode": modes.get(str(spec.get("tuningMode", ""))),
        "output_uri": data.get("outputUri") or None,
        "custom_base_model": data.get("customBaseModel") or None,
        "encryption_key": (data.get("encryptionSpec") or {}).get("kmsKeyName") or None,
        "service_account": data.get("serviceAccount") or None,
        "display_name": job.display_name,
        "description": job.description,
        "labels": job.labels,
    }
    return JobSpec.model_validate({k: v for k, v in fields.items() if v is not None})


def spec_of(backend: VertexBackend, job_id: str) -> Flow[JobSpec]:
    """*job_id*'s spec as Vertex keeps it (see :func:`spec_from`)."""
    job = yield from backend.get(job_id)
    return spec_from(job.raw)
