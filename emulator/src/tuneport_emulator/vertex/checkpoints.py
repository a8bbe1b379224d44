"""The checkpoints of a tuning job, their endpoints, and the tuned model's default checkpoint.

* Supervised, full and preference tuning export one checkpoint per epoch,
  with the id of the epoch (``"1"``, ``"2"``…), at the step that ends it;
  with ``exportLastCheckpointOnly`` only the last.
* Distillation exports "the final model plus 10 intermediate checkpoints
  with endpoints" (Google's distillation page): ids ``"1"``…``"11"`` at
  evenly spaced steps, the last at the final step (fewer when the run has
  fewer than 11 steps: two checkpoints never share a step).

The last checkpoint is deployed on the job's endpoint (``tunedModel.endpoint``);
every other one on an endpoint of its own (a :class:`~.records.Deployment`),
removed as the job's is (undeploy, then delete).  The model's default
checkpoint is the last until ``models.patch`` sets ``defaultCheckpointId``;
the job's endpoint serves the default checkpoint.

A checkpoint answers from the examples trained on by its step (the first
``step x batch size``, all of them after the first epoch), so an early
distillation checkpoint knows less than the final model; then from what the
tuned model it continues (``preTunedModel``) knew at its checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tuneport_emulator.ids import DIGITS, derive_token
from tuneport_emulator.vertex.methods import DISTILLATION, method_of, spec_of
from tuneport_emulator.vertex.names import ID_DIGITS
from tuneport_emulator.vertex.records import Deployment, Example, TuningJob

__all__ = [
    "INTERMEDIATE_DISTILLATION_CHECKPOINTS",
    "Checkpoint",
    "checkpoint_views",
    "checkpoints",
    "default_checkpoint",
    "examples_at",
    "make_deployments",
    "served_checkpoint",
]

INTERMEDIATE_DISTILLATION_CHECKPOINTS = 10


@dataclass(frozen=True)
class Checkpoint:
    """One exported checkpoint."""

    id: str
    epoch: int
    step: int


def checkpoints(record: TuningJob) -> list[Checkpoint]:
    """The job's checkpoints, in training order (the last is the final model)."""
    plan = record.plan
    spec = spec_of(record.fields)
    last_only = bool(spec.get("exportLastCheckpointOnly"))
    if method_of(record.fields) is DISTILLATION:
        total = plan.total_steps
        parts = INTERMEDIATE_DISTILLATION_CHECKPOINTS + 1
        steps = sorted({math.ceil(k * total / parts) for k in range(1, parts)} | {total})
        if last_only:
            steps = [total]
        return [Checkpoint(str(i), plan.epoch_of(step), step) for i, step in enumerate(steps, start=1)]
    epochs = range(plan.epochs, plan.epochs + 1) if last_only else range(1, plan.epochs + 1)
    return [Checkpoint(str(epoch), epoch, plan.epoch_end_step(epoch)) for epoch in epochs]


def default_checkpoint(record: TuningJob) -> str:
    """The model's default checkpoint id (the last unless ``models.patch`` changed it)."""
    return record.default_checkpoint or checkpoints(record)[-1].id


def _endpoint_id(record: TuningJob, checkpoint: str, purpose: str) -> str:
    token = derive_token(f"{record.name}/checkpoints/{checkpoint}/{purpose}", ID_DIGITS, DIGITS)
    return ("1" + token[1:]) if token[0] == "0" else token


def make_deployments(record: TuningJob) -> list[Deployment]:
    """The endpoints of every checkpoint but the last (named from the job and the checkpoint)."""
    location_root = record.endpoint.rsplit("/endpoints/", 1)[0]
    return [
        Deployment(
            c.id,
            f"{location_root}/endpoints/{_endpoint_id(record, c.id, 'endpoint')}",
            _endpoint_id(record, c.id, "deployedModel"),
        )
        for c in checkpoints(record)[:-1]
    ]


def checkpoint_views(record: TuningJob) -> list[dict[str, Any]]:
    """``tunedModel.checkpoints`` (normalized): id, epoch, step and endpoint of each."""
    own = {d.checkpoint_id: d.endpoint for d in record.deployments}
    found = checkpoints(record)
    return [
        {
            "checkpointId": c.id,
            "epoch": c.epoch,
            "step": c.step,
            "endpoint": record.endpoint if c is found[-1] else own.get(c.id, record.endpoint),
        }
        for c in found
    ]


def served_checkpoint(record: TuningJob, endpoint: str) -> str:
    """The checkpoint an endpoint of the job serves (the job's endpoint: the default)."""
    if endpoint == record.endpoint:
        return default_checkpoint(record)
    return next(d.checkpoint_id for d in record.deployments if d.endpoint == endpoint)


def examples_at(record: TuningJob, checkpoint: str) -> list[Example]:
    """The examples checkpoint ``checkpoint`` was trained on (what it answers from)."""
    found = {c.id: c for c in checkpoints(record)}
    step = found[checkpoint].step if checkpoint in found else record.plan.total_steps
    seen = max(1, step * record.plan.batch_size)
    own = record.examples if seen >= len(record.examples) else record.examples[:seen]
    return own + record.inherited_examples if record.inherited_examples else own
