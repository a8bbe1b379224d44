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
from tuneport_emulator.vertex.checkpoints import (
    checkpoints,
    default_checkpoint,
    examples_at,
    served_checkpoint,
)
from tuneport_emulator.vertex.checks import check_labels
from tuneport_emulator.vertex.jobs import POST_PROCESSING_SECONDS, SECTION, TuningJobs
from tuneport_emulator.vertex.model_labels import model_labels
from tuneport_emulator.vertex.model_versions import (
    DEFAULT_ALIAS,
    aliases_of,
    display_name,
    live_versions,
    resolve,
    split_version,
    version_id,
    version_records,
)
from tuneport_emulator.vertex.names import numeric_id
from tuneport_emulator.vertex.records import Deployment, Example, JobState, Operation, TuningJob
from tuneport_emulator.vertex.schema import messages
from tuneport_emulator.wire import ApiError, bad_request, format_timestamp

__all__ = ["OPERATION_SECONDS", "Endpoints"]

#: Emulator seconds until an undeploy or delete operation is done.
OPERATION_SECONDS = 5.0
_EMPTY = "google.protobuf.Empty"
#: ``models.patch`` update-mask paths → Model fields.
_MUTABLE_MODEL_FIELDS = {
    "display_name": "displayName", "displayName": "displayName", "description": "description",
    "labels": "labels", "default_checkpoint_id": "defaultCheckpointId",
    "defaultCheckpointId": "defaultCheckpointId",
}  # fmt: skip


class _JobDeployment:
    """The job's own endpoint, seen as a :class:`~.records.Deployment` (its state lives on the record)."""

    def __init__(self, record: TuningJob) -> None:
        self._record = record
        self.endpoint = record.endpoint
        self.deployed_model_id = record.deployed_model_id

    @property
    def checkpoint_id(self) -> str:
        return default_checkpoint(self._record)

    @property
    def undeploy_time(self) -> float | None:
        return self._record.undeploy_time

    @undeploy_time.setter
    def undeploy_time(self, value: float | None) -> None:
        self._record.undeploy_time = value

    @property
    def endpoint_delete_time(self) -> float | None:
        return self._record.endpoint_delete_time

    @endpoint_delete_time.setter
    def endpoint_delete_time(self, value: float | None) -> None:
        self._record.endpoint_delete_time = value

    @property
    def undeploy_operation(self) -> str | None:
        return self._record.undeploy_operation

    @undeploy_operation.setter
    def undeploy_operation(self, value: str | None) -> None:
        self._record.undeploy_operation = value

    @property
    def endpoint_delete_operation(self) -> str | None:
        return self._record.endpoint_delete_operation

    @endpoint_delete_operation.setter
    def endpoint_delete_operation(self, value: str | None) -> None:
        self._record.endpoint_delete_operation = value


_AnyDeployment = Deployment | _JobDeployment


def deployments_of(record: TuningJob) -> list[_AnyDeployment]:
    """Every endpoint of a job: its own, then its checkpoints'."""
    return [_JobDeployment(record), *record.deployments]


def _deployment(record: TuningJob, endpoint: str) -> _AnyDeployment:
    return next(d for d in deployments_of(record) if d.endpoint == endpoint)


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
    def deployed(deployment: _AnyDeployment | TuningJob, now: float) -> bool:
        """Whether a model is (still) deployed on the endpoint at ``now`` (a job: on any of its endpoints)."""
        if isinstance(deployment, TuningJob):
            return any(Endpoints.deployed(d, now) for d in deployments_of(deployment))
        return deployment.undeploy_time is None or now < deployment.undeploy_time

    def endpoint_record(self, name: str, now: float) -> TuningJob:
        """The job owning endpoint ``name``; 404 unless the endpoint exists at ``now``."""
        record = self._jobs.record_by("endpoints", name)
        if record is None or not self._succeeded(record, now):
            raise ApiError("NOT_FOUND", f"Endpoint `{name}` not found.")
        deployment = _deployment(record, name)
        if deployment.endpoint_delete_time is not None and now >= deployment.endpoint_delete_time:
            raise ApiError("NOT_FOUND", f"Endpoint `{name}` not found.")
        return record

    def model_record(self, name: str, now: float) -> TuningJob:
        """The job of the model version ``name`` names (see :func:`.model_versions.resolve`); 404 if none."""
        return resolve(self._jobs, name, now)

    # --- views ----------------------------------------------------------------------------

    def get_endpoint(self, name: str) -> dict[str, Any]:
        """The Endpoint (normalized)."""
        with self._store.lock:
            now = self._clock.now()
            record = self.endpoint_record(name, now)
            deployment = _deployment(record, name)
            ready = _ready_time(record)
            display = display_name(record)
            if deployment.endpoint != record.endpoint:
                display = f"{display}-checkpoint-{deployment.checkpoint_id}"
            view: dict[str, Any] = {"name": name, "displayName": display}
            changed = ready
            if deployment.undeploy_time is None or now < deployment.undeploy_time:
                view["deployedModels"] = [
                    {
                        "id": deployment.deployed_model_id,
                        "model": record.model,
                        "modelVersionId": version_id(self._jobs, record, now),
                        "displayName": display,
                        "createTime": format_timestamp(ready),
                        "checkpointId": deployment.checkpoint_id,
                    }
                ]
                view["trafficSplit"] = {deployment.deployed_model_id: 100}
            else:
                changed = deployment.undeploy_time
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
            return self.model_view(record, now)

    def patch_model(self, name: str, body: dict[str, Any], update_mask: str | None) -> dict[str, Any]:
        """``models.patch``: change the fields ``update_mask`` names; the Model.

        The mask may name ``display_name``, ``description``, ``labels`` and
        ``default_checkpoint_id`` (snake_case or camelCase).  google-genai's
        ``models.update`` sends no mask, only the fields it changes, and
        works against Vertex: without a mask the mutable fields the body
        sets are updated; a body that sets none needs a mask.  The default
        checkpoint must be one of the model's checkpoints.
        """
        paths = [p.strip() for p in (update_mask or "").split(",") if p.strip()]
        if not paths:
            paths = [
                key for key in ("displayName", "description", "labels", "defaultCheckpointId") if key in body
            ]
        if not paths:
            raise bad_request("update_mask is required.", field="update_mask")
        chosen: list[str] = []
        for path in paths:
            key = _MUTABLE_MODEL_FIELDS.get(path)
            if key is None:
                raise bad_request(
                    f"Invalid update_mask path '{path}': the mutable fields are display_name, description, "
                    "labels and default_checkpoint_id.",
                    field="update_mask",
                )
            chosen.append(key)
        with self._store.lock:
            now = self._clock.now()
            record = self.model_record(name, now)
            changes: dict[str, Any] = {}
            for key in chosen:
                value = body.get(key)
                if key == "defaultCheckpointId":
                    known = [c.id for c in checkpoints(record)]
                    if value not in known:
                        raise bad_request(
                            f"Checkpoint '{value or ''}' does not exist in model {record.model}; "
                            f"its checkpoints are {', '.join(known)}.",
                            field="model.default_checkpoint_id",
                        )
                elif key == "displayName" and not value:
                    raise bad_request("display_name must not be empty.", field="model.display_name")
                elif key == "labels":
                    value = check_labels(value or {}, "model.labels")
                changes[key] = value
            if "defaultCheckpointId" in changes:
                record.default_checkpoint = str(changes.pop("defaultCheckpointId"))
            record.model_updates = {**record.model_updates, **changes, "updateTime": now}
            return self.model_view(record, now)

    def model_view(self, record: TuningJob, now: float, *, versioned_name: bool = False) -> dict[str, Any]:
        """The Model (version) of a job that has one (normalized).  Hold the lock.

        ``name`` is the model's; ``versioned_name``: with ``@{version id}`` (``listVersions``).
        """
        ready = format_timestamp(_ready_time(record))
        updates = record.model_updates
        updated = format_timestamp(updates["updateTime"]) if "updateTime" in updates else ready
        version = version_id(self._jobs, record, now)
        first = version_records(self._jobs, record.model)[0]
        view: dict[str, Any] = {
            "name": f"{record.model}@{version}" if versioned_name else record.model,
            "versionId": version,
            "versionAliases": aliases_of(self._jobs, record, now),
            "displayName": updates.get("displayName") or display_name(record),
            "createTime": format_timestamp(_ready_time(first)),
            "updateTime": updated,
            "versionCreateTime": ready,
            "versionUpdateTime": updated,
            "etag": _etag(record.model if version == "1" else f"{record.model}@{version}", updated),
            "labels": {**model_labels(record), **dict(updates.get("labels") or {})},
            "checkpoints": [
                {"checkpointId": c.id, "epoch": c.epoch, "step": c.step} for c in checkpoints(record)
            ],
            "defaultCheckpointId": default_checkpoint(record),
        }
        if updates.get("description"):
            view["description"] = updates["description"]
        deployed = [
            {"endpoint": d.endpoint, "deployedModelId": d.deployed_model_id, "checkpointId": d.checkpoint_id}
            for d in deployments_of(record)
            if self.deployed(d, now) and not self._gone(d, now)
        ]
        if deployed:
            view["deployedModels"] = deployed
        return view

    @staticmethod
    def _gone(deployment: _AnyDeployment, now: float) -> bool:
        return deployment.endpoint_delete_time is not None and now >= deployment.endpoint_delete_time

    # --- removal ----------------------------------------------------------------------------

    def undeploy(self, endpoint: str, deployed_model_id: str, version: str) -> dict[str, Any]:
        """``:undeployModel``: the Operation."""
        if not deployed_model_id:
            raise bad_request("deployed_model_id is required.", field="deployed_model_id")
        with self._store.lock:
            now = self._clock.now()
            deployment = _deployment(self.endpoint_record(endpoint, now), endpoint)
            if deployed_model_id != deployment.deployed_model_id or not self.deployed(deployment, now):
                raise ApiError(
                    "NOT_FOUND", f"Deployed model {deployed_model_id} not found in endpoint `{endpoint}`."
                )
            if deployment.undeploy_operation is None:
                deployment.undeploy_time = now + OPERATION_SECONDS
                deployment.undeploy_operation = self._new_operation(
                    endpoint, "UndeployModelOperationMetadata", "UndeployModelResponse", now
                )
            return self._view(deployment.undeploy_operation, now, version)

    def delete_endpoint(self, endpoint: str, version: str) -> dict[str, Any]:
        """``DELETE endpoints/{e}``: the Operation; refused while a model is deployed."""
        with self._store.lock:
            now = self._clock.now()
            deployment = _deployment(self.endpoint_record(endpoint, now), endpoint)
            if self.deployed(deployment, now):
                raise ApiError(
                    "FAILED_PRECONDITION",
                    f"Endpoint `{endpoint}` has deployed models. Undeploy all models before deleting "
                    "the endpoint.",
                )
            if deployment.endpoint_delete_operation is None:
                deployment.endpoint_delete_time = now + OPERATION_SECONDS
                deployment.endpoint_delete_operation = self._new_operation(
                    endpoint, "DeleteOperationMetadata", _EMPTY, now
                )
            return self._view(deployment.endpoint_delete_operation, now, version)

    def delete_model(self, model: str, version: str) -> dict[str, Any]:
        """``DELETE models/{m}``: the Operation deleting every version; refused while one is deployed.

        A version in the name (google-genai's ``models.delete`` sends ``@1``)
        names the model all the same.  A job still making a version of the
        model makes none once the model is deleted.
        """
        with self._store.lock:
            now = self._clock.now()
            record = self.model_record(model, now)
            bare = record.model
            still = [
                d.endpoint
                for _, owner in live_versions(self._jobs, bare, now)
                for d in deployments_of(owner)
                if self.deployed(d, now)
            ]
            if still:
                raise ApiError(
                    "FAILED_PRECONDITION",
                    f"The model `{bare}` is deployed to endpoint `{still[0]}`"
                    + (f" and {len(still) - 1} more" if len(still) > 1 else "")
                    + ". Undeploy it before deleting the model.",
                )
            default = self.model_record(bare, now)
            if default.model_delete_operation is None:
                operation = self._new_operation(bare, "DeleteOperationMetadata", _EMPTY, now)
                for owner in version_records(self._jobs, bare):
                    if owner.model_delete_operation is None:
                        owner.model_delete_time = now + OPERATION_SECONDS
                        owner.model_delete_operation = operation
            assert default.model_delete_operation is not None
            return self._view(default.model_delete_operation, now, version)

    def delete_version(self, name: str, version: str) -> dict[str, Any]:
        """``DELETE models/{m}@{v}:deleteVersion``: the Operation deleting that version.

        As the discovery document says: the name must include the version;
        "Model version can only be deleted if there are no DeployedModels
        created from it. Deleting the only version in the Model is not
        allowed. Use DeleteModel for deleting the Model instead."  Nor is
        the ``default`` version's: one version carries that alias at all
        times (move it first: ``mergeVersionAliases``).
        """
        if not split_version(name)[1]:
            raise bad_request(
                f"The model version name `{name}` has no version ID: use models/{{model}}@{{version_id}}.",
                field="name",
            )
        with self._store.lock:
            now = self._clock.now()
            record = self.model_record(name, now)
            if record.model_delete_operation is None:
                if len(live_versions(self._jobs, record.model, now)) == 1:
                    raise ApiError(
                        "FAILED_PRECONDITION",
                        f"Deleting the only version of the model `{record.model}` is not allowed. "
                        "Use DeleteModel for deleting the Model instead.",
                    )
                if DEFAULT_ALIAS in aliases_of(self._jobs, record, now):
                    raise ApiError(
                        "FAILED_PRECONDITION",
                        f"The version `{name}` is the default version of the model and cannot be deleted. "
                        "Make another version the default first.",
                    )
                still = [d.endpoint for d in deployments_of(record) if self.deployed(d, now)]
                if still:
                    raise ApiError(
                        "FAILED_PRECONDITION",
                        f"The model version `{name}` is deployed to endpoint `{still[0]}`"
                        + (f" and {len(still) - 1} more" if len(still) > 1 else "")
                        + ". Undeploy it before deleting the version.",
                    )
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
            if not self.deployed(_deployment(record, endpoint), now):
                raise ApiError(
                    "FAILED_PRECONDITION",
                    f"Endpoint `{endpoint}` has no deployed model to serve the request.",
                )
            return examples_at(record, served_checkpoint(record, endpoint)), record.base_model
