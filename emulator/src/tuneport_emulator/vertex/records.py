"""The Vertex surface's typed records: tuning jobs (with the model and endpoint they own) and operations.

A :class:`TuningJob` is what the store keeps of one tuning job and of the
resources it owns once it succeeds: its model, its endpoint and the
deployment of one on the other (removing them sets times and operations
here).  Its :class:`JobState` is not stored: it is computed from the
:class:`~tuneport_emulator.training.Plan`, the optional :class:`Stop` and the
emulator clock on every read (see :mod:`.jobs`).  ``fields`` holds what the
client sent, normalized — wire content, kept as the JSON the schema reads and
writes.  An :class:`Operation` is an undeploy or delete operation.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tuneport_emulator.operations import RpcStatus
from tuneport_emulator.training import Plan

__all__ = ["Deployment", "Example", "JobState", "Operation", "Stop", "StopKind", "TuningJob", "Validation"]


class JobState(enum.Enum):
    """``google.cloud.aiplatform.v1.JobState``, every value (filters compare their numbers)."""

    JOB_STATE_UNSPECIFIED = 0
    JOB_STATE_QUEUED = 1
    JOB_STATE_PENDING = 2
    JOB_STATE_RUNNING = 3
    JOB_STATE_SUCCEEDED = 4
    JOB_STATE_FAILED = 5
    JOB_STATE_CANCELLING = 6
    JOB_STATE_CANCELLED = 7
    JOB_STATE_PAUSED = 8
    JOB_STATE_EXPIRED = 9
    JOB_STATE_UPDATING = 10
    JOB_STATE_PARTIALLY_SUCCEEDED = 11

    @property
    def terminal(self) -> bool:
        """Whether the job can change no more (SUCCEEDED, FAILED, CANCELLED)."""
        return self in (JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED)


class StopKind(enum.Enum):
    """Why a job stopped before succeeding."""

    #: It failed (a refused dataset, or a seed).
    FAIL = "fail"
    #: It was cancelled (CANCELLING, then CANCELLED).
    CANCEL = "cancel"


@dataclass(frozen=True)
class Stop:
    """A job stopped at ``time``; a failure carries its error."""

    time: float
    kind: StopKind
    error: RpcStatus | None = None

    def to_json(self) -> dict[str, Any]:
        """As stored."""
        stored: dict[str, Any] = {"time": self.time, "kind": self.kind.value}
        if self.error is not None:
            stored["error"] = self.error.to_json()
        return stored

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Stop:
        """A stored stop."""
        error = value.get("error")
        return cls(
            float(value["time"]),
            StopKind(value["kind"]),
            None if error is None else RpcStatus.from_json(error),
        )


@dataclass(frozen=True)
class Example:
    """One training example, as the tuned model answers from it."""

    input: str
    output: str
    #: The example's system instruction ("" without one).
    system: str = ""

    def to_json(self) -> list[str]:
        """As stored: ``[input, output, system]``."""
        return [self.input, self.output, self.system]

    @classmethod
    def from_json(cls, value: list[str]) -> Example:
        """A stored example."""
        return cls(str(value[0]), str(value[1]), str(value[2]) if len(value) > 2 else "")


@dataclass(frozen=True)
class Validation:
    """What the metrics need of a job's validation dataset."""

    count: int
    output_tokens: int

    def to_json(self) -> dict[str, Any]:
        """As stored."""
        return {"count": self.count, "outputTokens": self.output_tokens}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Validation:
        """A stored summary."""
        return cls(int(value["count"]), int(value["outputTokens"]))


@dataclass
class Deployment:
    """A checkpoint's own endpoint (other than the job's), and its removal, as for the job's endpoint."""

    checkpoint_id: str
    endpoint: str
    deployed_model_id: str
    undeploy_time: float | None = None
    endpoint_delete_time: float | None = None
    undeploy_operation: str | None = None
    endpoint_delete_operation: str | None = None

    def to_json(self) -> dict[str, Any]:
        """As stored."""
        return {
            "checkpointId": self.checkpoint_id,
            "endpoint": self.endpoint,
            "deployedModelId": self.deployed_model_id,
            "undeployTime": self.undeploy_time,
            "endpointDeleteTime": self.endpoint_delete_time,
            "undeployOperation": self.undeploy_operation,
            "endpointDeleteOperation": self.endpoint_delete_operation,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Deployment:
        """A stored deployment."""
        return cls(
            checkpoint_id=str(value["checkpointId"]),
            endpoint=str(value["endpoint"]),
            deployed_model_id=str(value["deployedModelId"]),
            undeploy_time=_time(value.get("undeployTime")),
            endpoint_delete_time=_time(value.get("endpointDeleteTime")),
            undeploy_operation=value.get("undeployOperation"),
            endpoint_delete_operation=value.get("endpointDeleteOperation"),
        )


@dataclass
class TuningJob:
    """A tuning job, and the model, endpoint and deployment it owns once it succeeds."""

    #: ``projects/{number}/locations/{location}/tuningJobs/{id}``.
    name: str
    #: ``projects/{number}/locations/{location}``.
    parent: str
    id: str
    #: Creation order (listing order, page tokens).
    number: int
    #: The TuningJob fields the client set (normalized).
    fields: dict[str, Any]
    #: The base model's resource name (also of a job continuing a pre-tuned model).
    base_model: str
    #: The effective ``SupervisedHyperParameters`` (normalized).
    hyper_parameters: dict[str, Any]
    examples: list[Example]
    #: ``SupervisedTuningDataStats`` (normalized), None for a dataset that failed the checks.
    stats: dict[str, Any] | None
    #: Output tokens of one step (batch size x mean output tokens), for the metrics.
    step_tokens: float
    validation: Validation | None
    create_time: float
    plan: Plan
    stop: Stop | None
    experiment_id: str
    #: The location's TensorBoard.
    tensorboard: str
    #: The model it makes a version of (``…/models/{id}``): its own (version 1), or, for a job
    #: continuing a tuned model, by default that model's (a later version: :mod:`.model_versions`).
    model: str
    #: The endpoint the model is deployed on (``…/endpoints/{id}``).
    endpoint: str
    deployed_model_id: str
    #: When the model leaves its endpoint (set by ``:undeployModel``).
    undeploy_time: float | None = None
    #: When the endpoint, and the model, are gone (set by their deletes).
    endpoint_delete_time: float | None = None
    model_delete_time: float | None = None
    #: Names of the operations of those removals (asked again, they return the same one).
    undeploy_operation: str | None = None
    endpoint_delete_operation: str | None = None
    model_delete_operation: str | None = None
    #: When its dataset was processed, if later than the usual processing phase allows (a check
    #: on a thread of its own that took longer); None: ``create_time`` + the processing phase.
    processed_time: float | None = None
    #: When it got its quota and started, if it waited for it (``WAITING_FOR_QUOTA`` until then).
    admitted_time: float | None = None
    #: The aliases of its model version, once ``mergeVersionAliases`` changed them (None: ``default``
    #: on version 1, none on the others).
    version_aliases: list[str] | None = None
    #: A continued job's model version without a display name of its own: its model's display name.
    version_display_name: str | None = None
    #: What the tuned model it continues knew (``preTunedModel``): answered from after its own examples.
    inherited_examples: list[Example] = field(default_factory=list)
    #: The endpoints of its checkpoints other than the last (which is deployed on ``endpoint``).
    deployments: list[Deployment] = field(default_factory=list)
    #: The model's default checkpoint (set by ``models.patch``); None: the last.
    default_checkpoint: str | None = None
    #: What ``models.patch`` changed on the model (``displayName``, ``description``, ``labels``).
    model_updates: dict[str, Any] = field(default_factory=dict)
    #: The examples its evaluation scores (the validation set's first; empty: its training examples)
    #: and the file they come from (only for a job with an ``evaluationConfig``).
    evaluation_examples: list[Example] = field(default_factory=list)
    evaluation_source: str | None = None
    #: A distillation job's tuned teacher's examples, until its data is applied.  Not stored.
    teacher_examples: list[Example] | None = field(default=None, compare=False, repr=False)
    #: While its dataset is checked in the background: what fills in the fields that follow
    #: from the data (``examples``, ``stats``, ``step_tokens``, ``validation``, ``plan``, a
    #: failing ``stop``) once the check is over (given True: waiting for it).  Not stored.
    settle: Callable[[bool], None] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The record as stored (once its dataset is checked: this waits for a check in progress)."""
        if self.settle is not None:
            self.settle(True)
        return {
            "name": self.name,
            "parent": self.parent,
            "id": self.id,
            "number": self.number,
            "fields": self.fields,
            "baseModel": self.base_model,
            "hyperParameters": self.hyper_parameters,
            "examples": [example.to_json() for example in self.examples],
            "stats": self.stats,
            "stepTokens": self.step_tokens,
            "validation": None if self.validation is None else self.validation.to_json(),
            "createTime": self.create_time,
            "plan": self.plan.to_json(),
            "stop": None if self.stop is None else self.stop.to_json(),
            "experimentId": self.experiment_id,
            "tensorboard": self.tensorboard,
            "model": self.model,
            "endpoint": self.endpoint,
            "deployedModelId": self.deployed_model_id,
            "undeployTime": self.undeploy_time,
            "endpointDeleteTime": self.endpoint_delete_time,
            "modelDeleteTime": self.model_delete_time,
            "undeployOperation": self.undeploy_operation,
            "endpointDeleteOperation": self.endpoint_delete_operation,
            "modelDeleteOperation": self.model_delete_operation,
            # Only when set: most jobs' processing ends when the phase does.
            **({} if self.processed_time is None else {"processedTime": self.processed_time}),
            **({"deployments": [d.to_json() for d in self.deployments]} if self.deployments else {}),
            **({} if self.admitted_time is None else {"admittedTime": self.admitted_time}),
            **(
                {"inheritedExamples": [e.to_json() for e in self.inherited_examples]}
                if self.inherited_examples
                else {}
            ),
            **({} if self.default_checkpoint is None else {"defaultCheckpoint": self.default_checkpoint}),
            **({"modelUpdates": self.model_updates} if self.model_updates else {}),
            **({} if self.version_aliases is None else {"versionAliases": list(self.version_aliases)}),
            **(
                {} if self.version_display_name is None else {"versionDisplayName": self.version_display_name}
            ),
            **(
                {"evaluationExamples": [e.to_json() for e in self.evaluation_examples]}
                if self.evaluation_examples
                else {}
            ),
            **({} if self.evaluation_source is None else {"evaluationSource": self.evaluation_source}),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> TuningJob:
        """A stored record."""
        stop, validation = value.get("stop"), value.get("validation")
        return cls(
            name=str(value["name"]),
            parent=str(value["parent"]),
            id=str(value["id"]),
            number=int(value["number"]),
            fields=dict(value["fields"]),
            base_model=str(value["baseModel"]),
            hyper_parameters=dict(value["hyperParameters"]),
            examples=[Example.from_json(e) for e in value["examples"]],
            stats=value.get("stats"),
            step_tokens=float(value["stepTokens"]),
            validation=None if validation is None else Validation.from_json(validation),
            create_time=float(value["createTime"]),
            plan=Plan.from_json(value["plan"]),
            stop=None if stop is None else Stop.from_json(stop),
            experiment_id=str(value["experimentId"]),
            tensorboard=str(value["tensorboard"]),
            model=str(value["model"]),
            endpoint=str(value["endpoint"]),
            deployed_model_id=str(value["deployedModelId"]),
            undeploy_time=_time(value.get("undeployTime")),
            endpoint_delete_time=_time(value.get("endpointDeleteTime")),
            model_delete_time=_time(value.get("modelDeleteTime")),
            undeploy_operation=value.get("undeployOperation"),
            endpoint_delete_operation=value.get("endpointDeleteOperation"),
            model_delete_operation=value.get("modelDeleteOperation"),
            processed_time=None if value.get("processedTime") is None else float(value["processedTime"]),
            deployments=[Deployment.from_json(d) for d in value.get("deployments") or []],
            admitted_time=_time(value.get("admittedTime")),
            inherited_examples=[Example.from_json(e) for e in value.get("inheritedExamples") or []],
            default_checkpoint=value.get("defaultCheckpoint"),
            model_updates=dict(value.get("modelUpdates") or {}),
            version_aliases=None if value.get("versionAliases") is None else list(value["versionAliases"]),
            version_display_name=value.get("versionDisplayName"),
            evaluation_examples=[Example.from_json(e) for e in value.get("evaluationExamples") or []],
            evaluation_source=value.get("evaluationSource"),
        )


@dataclass(frozen=True)
class Operation:
    """An undeploy or delete operation: done :data:`~.endpoints.OPERATION_SECONDS` after creation."""

    name: str
    #: Message names (without package) of its metadata and response; ``google.*`` names are whole.
    metadata_type: str
    response_type: str
    create_time: float
    done_time: float

    def to_json(self) -> dict[str, Any]:
        """The record as stored."""
        return {
            "name": self.name,
            "metadataType": self.metadata_type,
            "responseType": self.response_type,
            "createTime": self.create_time,
            "doneTime": self.done_time,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Operation:
        """A stored record."""
        return cls(
            name=str(value["name"]),
            metadata_type=str(value["metadataType"]),
            response_type=str(value["responseType"]),
            create_time=float(value["createTime"]),
            done_time=float(value["doneTime"]),
        )


def _time(value: Any) -> float | None:
    return None if value is None else float(value)
