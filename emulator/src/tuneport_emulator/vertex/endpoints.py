"""The model and endpoint a succeeded job owns, and the long-running operations that remove them.

Both appear when their job succeeds: the model
``projects/…/models/{id}`` (version 1) deployed on the endpoint
``projects/…/endpoints/{id}`` as one ``DeployedModel``.  Removing them
follows Vertex's rules and returns ``google.longrunning.Operation``s that are
done :data:`OPERATION_SECONDS` of emulator time later, when the change takes
effect:

* ``endpoints/{e}:undeployModel`` — the deployed model goes away;
* ``DELETE endpoints/{e}`` — refused with ``FAILED_PRECONDITION`` while a model is deployed;
* ``DELETE models/{m}`` — refused with ``FAILED_PRECONDITION`` while the model is deployed.

Asking again while an operation is pending returns that operation.  The
job itself keeps naming its model and endpoint, as on Vertex.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tuneport_emulator.operations import operation_json
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.vertex.jobs import POST_PROCESSING_SECONDS, SECTION, TuningJobs
from tuneport_emulator.vertex.model_labels import model_labels
from tuneport_emulator.vertex.names import numeric_id
from tuneport_emulator.vertex.records import Example, JobState, Operation, TuningJob
from tuneport_emulator.vertex.schema import messages
from tuneport_emulator.wire import ApiError, bad_request, format_timestamp

__all__ = ["OPERATION_SECONDS", "Endpoints"]

#: Emulator seconds until an undeploy or delete operation is done.
OPERATION_SECONDS = 5.0
_EMPTY = "google.protobuf.Empty"


def _ready_time(record: TuningJob) -> float:
    """When the job succeeds (and its model and endpoint appear)."""
    return record.plan.end_time + POST_PROCESSING_SECONDS


def _etag(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:16]


class Endpoints:
    """Endpoints, models and their operations, over the jobs that own them."""

    def __init__(self, jobs: TuningJobs, context: EmulatorContext) -> None:
        self._jobs = jobs
        self._context = context
        self._store = context.store
        self._clock = context.clock

    # --- lookups (hold the lock) ---------------------------------------------------------

    def _operations(self) -> dict[str, Operation]:
        return self._store.collection(SECTION, "operations", Operation.from_json)

    def _succeeded(self, record: TuningJob, now: float) -> bool:
        return self._jobs.status(record, now).state is JobState.JOB_STATE_SUCCEEDED

    @staticmethod
    def deployed(record: TuningJob, now: float) -> bool:
        """Whether the job's model is (still) deployed on its endpoint at ``now``."""
        return record.undeploy_time is None or now < record.undeploy_time

    def endpoint_record(self, name: str, now: float) -> TuningJob:
        """The job owning endpoint ``name``; 404 unless the endpoint exists at ``now``."""
        record = self._jobs.record_by("endpoints", name)
        if (
            record is None
            or not self._succeeded(record, now)
            or (record.endpoint_delete_time is not None and now >= record.endpoint_delete_time)
        ):
            raise ApiError("NOT_FOUND", f"Endpoint `{name}` not found.")
        return record

    def model_record(self, name: str, now: float) -> TuningJob:
        """The job owning model ``name`` (``@version`` allowed); 404 unless it exists at ``now``."""
        bare, _, version = name.partition("@")
        record = self._jobs.record_by("models", bare)
        if (
            record is None
            or version not in ("", "1", "default")
            or not self._succeeded(record, now)
            or (record.model_delete_time is not None and now >= record.model_delete_time)
        ):
            raise ApiError("NOT_FOUND", f"Model `{bare}` not found.")
        return record

    # --- views ----------------------------------------------------------------------------

    def get_endpoint(self, name: str) -> dict[str, Any]:
        """The Endpoint (normalized)."""
        with self._store.lock:
            now = self._clock.now()
            record = self.endpoint_record(name, now)
            ready = _ready_time(record)
            display = _display_name(record)
            view: dict[str, Any] = {"name": name, "displayName": display}
            changed = ready
            if record.undeploy_time is None or now < record.undeploy_time:
                view["deployedModels"] = [
                    {
                        "id": record.deployed_model_id,
                        "model": record.model,
                        "modelVersionId": "1",
                        "displayName": display,
                        "createTime": format_timestamp(ready),
                    }
                ]
                view["trafficSplit"] = {record.deployed_model_id: 100}
            else:
                changed = record.undeploy_time
            view["etag"] = _etag(name, changed)
            if record.fields.get("labels"):
                view["labels"] = dict(record.fields["labels"])
            view["createTime"] = format_timestamp(ready)
            view["updateTime"] = format_timestamp(changed)
            return view

    def get_model(self, name: str) -> dict[str, Any]:
        """The Model (normalized)."""
        with self._store.lock:
            now = self._clock.now()
            record = self.model_record(name, now)
            ready = format_timestamp(_ready_time(record))
            view: dict[str, Any] = {
                "name": record.model,
                "versionId": "1",
                "versionAliases": ["default"],
                "displayName": _display_name(record),
                "createTime": ready,
                "updateTime": ready,
                "versionCreateTime": ready,
                "versionUpdateTime": ready,
                "etag": _etag(record.model),
                "labels": model_labels(record),
            }
            if self.deployed(record, now):
                view["deployedModels"] = [
                    {"endpoint": record.endpoint, "deployedModelId": record.deployed_model_id}
                ]
            return view

    # --- removal ----------------------------------------------------------------------------

    def undeploy(self, endpoint: str, deployed_model_id: str, version: str) -> dict[str, Any]:
        """``:undeployModel``: the Operation."""
        if not deployed_model_id:
            raise bad_request("deployed_model_id is required.", field="deployed_model_id")
        with self._store.lock:
            now = self._clock.now()
            record = self.endpoint_record(endpoint, now)
            if deployed_model_id != record.deployed_model_id or not self.deployed(record, now):
                raise ApiError(
                    "NOT_FOUND", f"Deployed model {deployed_model_id} not found in endpoint `{endpoint}`."
                )
            if record.undeploy_operation is None:
                record.undeploy_time = now + OPERATION_SECONDS
                record.undeploy_operation = self._new_operation(
                    endpoint, "UndeployModelOperationMetadata", "UndeployModelResponse", now
                )
            return self._view(record.undeploy_operation, now, version)

    def delete_endpoint(self, endpoint: str, version: str) -> dict[str, Any]:
        """``DELETE endpoints/{e}``: the Operation; refused while a model is deployed."""
        with self._store.lock:
            now = self._clock.now()
            record = self.endpoint_record(endpoint, now)
            if self.deployed(record, now):
                raise ApiError(
                    "FAILED_PRECONDITION",
                    f"Endpoint `{endpoint}` has deployed models. Undeploy all models before deleting "
                    "the endpoint.",
                )
            if record.endpoint_delete_operation is None:
                record.endpoint_delete_time = now + OPERATION_SECONDS
                record.endpoint_delete_operation = self._new_operation(
                    endpoint, "DeleteOperationMetadata", _EMPTY, now
                )
            return self._view(record.endpoint_delete_operation, now, version)

    def delete_model(self, model: str, version: str) -> dict[str, Any]:
        """``DELETE models/{m}``: the Operation; refused while the model is deployed."""
        with self._store.lock:
            now = self._clock.now()
            record = self.model_record(model, now)
            if self.deployed(record, now):
                raise ApiError(
                    "FAILED_PRECONDITION",
                    f"The model `{record.model}` is deployed to endpoint `{record.endpoint}`. "
                    "Undeploy it before deleting the model.",
                )
            if record.model_delete_operation is None:
                record.model_delete_time = now + OPERATION_SECONDS
                record.model_delete_operation = self._new_operation(
                    record.model, "DeleteOperationMetadata", _EMPTY, now
                )
            return self._view(record.model_delete_operation, now, version)

    # --- operations --------------------------------------------------------------------------

    def _new_operation(self, resource: str, metadata: str, response: str, now: float) -> str:
        name = f"{resource}/operations/{numeric_id(self._context.ids, 'operation')}"
        self._operations()[name] = Operation(name, metadata, response, now, now + OPERATION_SECONDS)
        return name

    def _view(self, name: str, now: float, version: str) -> dict[str, Any]:
        operation = self._operations()[name]
        done = now >= operation.done_time
        package = messages(version).package
        updated = min(now, operation.done_time)
        response_type = operation.response_type
        return operation_json(
            name,
            metadata_type=f"{package}.{operation.metadata_type}",
            metadata={
                "genericMetadata": {
                    "createTime": format_timestamp(operation.create_time),
                    "updateTime": format_timestamp(updated),
                }
            },
            done=done,
            response_type=response_type
            if response_type.startswith("google.")
            else f"{package}.{response_type}",
            response={},
        )

    def get_operation(self, name: str, version: str) -> dict[str, Any]:
        """An undeploy or delete Operation by name (kept after its resource is gone)."""
        with self._store.lock:
            if name not in self._operations():
                raise ApiError("NOT_FOUND", f"Operation `{name}` not found.")
            return self._view(name, self._clock.now(), version)

    # --- generation -----------------------------------------------------------------------------

    def generation_inputs(self, endpoint: str) -> tuple[list[Example], str]:
        """What answering needs: the examples (``[input, output, system]``) and the base model."""
        with self._store.lock:
            now = self._clock.now()
            record = self.endpoint_record(endpoint, now)
            if not self.deployed(record, now):
                raise ApiError(
                    "FAILED_PRECONDITION",
                    f"Endpoint `{endpoint}` has no deployed model to serve the request.",
                )
            return record.examples, record.base_model  # never mutated: no copy


def _display_name(record: TuningJob) -> str:
    """The model's display name: the job's ``tunedModelDisplayName``, or one made of its id."""
    return str(record.fields.get("tunedModelDisplayName") or f"tuned-model-{record.id}")
