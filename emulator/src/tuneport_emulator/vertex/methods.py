"""The tuning methods a ``TuningJob`` may ask for, one per member of its ``tuning_spec`` oneof.

Each :class:`Method` says where its spec lives in the job, which fields hold
its datasets, which rules its data follows (the emulator's oracle,
:mod:`tuneport_emulator.datasets`), which API versions declare it, where its
statistics go in ``tuningDataStats`` and which label Vertex puts on the
model it makes.  A job's method is never stored: it is the spec the job
holds (:func:`method_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuneport_emulator.datasets import VERTEX_PREFERENCE, DatasetLimits

__all__ = [
    "DISTILLATION",
    "FULL",
    "METHODS",
    "PREFERENCE",
    "SUPERVISED",
    "UNSUPPORTED_SPECS",
    "Method",
    "method_of",
    "spec_of",
]


@dataclass(frozen=True)
class Method:
    """One tuning method as the wire spells it."""

    #: The emulator's short name (``supervised``, ``preference``, ``distillation``, ``full``).
    name: str
    #: The TuningJob field holding the spec (camelCase) and its proto name.
    spec_key: str
    proto: str
    #: The spec's field naming the training (or prompt) dataset.
    training_key: str
    #: The rules of its data (:func:`tuneport_emulator.datasets.rules_for`).
    data_kind: str
    #: Its data's limits; None: supervised tuning's (:data:`.datasets._LIMITS`, looked up when read).
    limits: DatasetLimits | None
    #: The ``TuningDataStats`` member holding its statistics.
    stats_key: str
    #: The ``tune-type`` label of the model it makes.
    tune_type: str
    #: Whether only v1beta1 declares it.
    beta_only: bool = False

    @property
    def spec_path(self) -> str:
        """The spec's proto path from the request root (for error fields)."""
        return f"tuning_job.{self.proto}"


SUPERVISED = Method(
    "supervised", "supervisedTuningSpec", "supervised_tuning_spec", "trainingDatasetUri", "supervised",
    None, "supervisedTuningDataStats", "sft",
)  # fmt: skip
PREFERENCE = Method(
    "preference", "preferenceOptimizationSpec", "preference_optimization_spec", "trainingDatasetUri",
    "preference", VERTEX_PREFERENCE, "preferenceOptimizationDataStats", "dpo",
)  # fmt: skip
DISTILLATION = Method(
    "distillation", "distillationSpec", "distillation_spec", "promptDatasetUri", "prompts",
    None, "distillationDataStats", "distillation", beta_only=True,
)  # fmt: skip
FULL = Method(
    "full", "fullFineTuningSpec", "full_fine_tuning_spec", "trainingDatasetUri", "supervised",
    None, "supervisedTuningDataStats", "full", beta_only=True,
)  # fmt: skip
METHODS = (SUPERVISED, PREFERENCE, DISTILLATION, FULL)

#: Members of the oneof the emulator does not run (Veo, partner models, reinforcement tuning).
UNSUPPORTED_SPECS = (
    ("partnerModelTuningSpec", "partner_model_tuning_spec"),
    ("veoTuningSpec", "veo_tuning_spec"),
    ("veoLoraTuningSpec", "veo_lora_tuning_spec"),
    ("reinforcementTuningSpec", "reinforcement_tuning_spec"),
)


def method_of(fields: Mapping[str, Any]) -> Method:
    """The method of a job's (checked) fields; supervised when it holds no known spec."""
    return next((m for m in METHODS if m.spec_key in fields), SUPERVISED)


def spec_of(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The job's tuning spec (normalized)."""
    spec: dict[str, Any] = fields.get(method_of(fields).spec_key) or {}
    return spec


def training_uri(fields: Mapping[str, Any]) -> str:
    """The training (or prompt) dataset of a job; distillation's deprecated ``trainingDatasetUri`` too."""
    method = method_of(fields)
    spec = spec_of(fields)
    return str(spec.get(method.training_key) or spec.get("trainingDatasetUri") or "")
