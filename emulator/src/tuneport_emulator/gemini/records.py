"""The Gemini surface's typed records: a tuned model, its state, and why it stopped.

A :class:`TunedModel` is what the store keeps of ``tunedModels/{id}`` and
its creation operation (one per model).  Its :class:`State` is not stored:
it is computed from the :class:`~tuneport_emulator.training.Plan`, the
optional :class:`Stop` and the emulator clock on every read (see
:mod:`.tuning`).  ``fields`` holds what the client sent, normalized — wire
content, kept as the JSON the schema reads and writes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from tuneport_emulator.operations import RpcStatus
from tuneport_emulator.training import Plan

__all__ = ["Example", "State", "Stop", "TunedModel"]


class State(enum.Enum):
    """``TunedModel.State`` (the values the emulator reaches)."""

    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Example:
    """One training example: ``TuningExample`` with a text input."""

    text_input: str
    output: str

    def to_json(self) -> dict[str, str]:
        """As stored (and as the wire writes it)."""
        return {"textInput": self.text_input, "output": self.output}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Example:
        """A stored or validated example."""
        return cls(str(value["textInput"]), str(value["output"]))


@dataclass(frozen=True)
class Stop:
    """Tuning stopped early at ``time``: the dataset was refused, or the operation cancelled."""

    time: float
    error: RpcStatus

    def to_json(self) -> dict[str, Any]:
        """As stored."""
        return {"time": self.time, "error": self.error.to_json()}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Stop:
        """A stored stop."""
        return cls(float(value["time"]), RpcStatus.from_json(value["error"]))


@dataclass
class TunedModel:
    """A tuned model and its creation operation."""

    #: The ``{id}`` of ``tunedModels/{id}``.
    id: str
    #: Creation order (listing order, page tokens).
    number: int
    operation_id: str
    #: The TunedModel fields the client set (normalized), with the base model's sampling defaults.
    fields: dict[str, Any]
    #: The effective ``Hyperparameters`` (normalized).
    hyperparameters: dict[str, Any]
    examples: list[Example]
    create_time: float
    update_time: float
    plan: Plan
    stop: Stop | None = None

    @property
    def name(self) -> str:
        """``tunedModels/{id}``."""
        return f"tunedModels/{self.id}"

    def to_json(self) -> dict[str, Any]:
        """The record as stored."""
        return {
            "id": self.id,
            "number": self.number,
            "operationId": self.operation_id,
            "fields": self.fields,
            "hyperparameters": self.hyperparameters,
            "examples": [example.to_json() for example in self.examples],
            "createTime": self.create_time,
            "updateTime": self.update_time,
            "plan": self.plan.to_json(),
            "stop": None if self.stop is None else self.stop.to_json(),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> TunedModel:
        """A stored record."""
        stop = value.get("stop")
        return cls(
            id=str(value["id"]),
            number=int(value["number"]),
            operation_id=str(value["operationId"]),
            fields=dict(value["fields"]),
            hyperparameters=dict(value["hyperparameters"]),
            examples=[Example.from_json(e) for e in value["examples"]],
            create_time=float(value["createTime"]),
            update_time=float(value["updateTime"]),
            plan=Plan.from_json(value["plan"]),
            stop=None if stop is None else Stop.from_json(stop),
        )
