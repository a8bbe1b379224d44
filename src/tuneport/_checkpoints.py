"""Continuous tuning and checkpoints: the flows the clients add on top of a backend.

A job may continue from a tuned model (``create(tuned_model=…)`` or
``create(base_model=<a finished TuningJob>)``): the client resolves what it
names through the backend — a job id, a tuned model's name, or a job object —
fills in the base model the catalog checks, and refuses a checkpoint the
tuned model does not have, before any request that creates anything.  A
checkpoint is called through its own endpoint, and the default checkpoint is
changed through the backend's optional ``set_default_checkpoint``.  Written
once as flows, so the sync and async clients behave alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuneport._suggest import close_matches, did_you_mean
from tuneport.errors import Problem, SpecError, UnsupportedCapability
from tuneport.models import Checkpoint, GenerateRequest, Generation, JobSpec, TunedModelRef, TuningJob
from tuneport.protocol import Flow, TuningBackend, tuned_model_of

__all__ = [
    "checkpoint_of",
    "continued_from",
    "generate_checkpoint",
    "resolve_source",
    "set_default_checkpoint",
    "with_source",
]

#: Google's prefix of a base model's full name (``publishers/google/models/gemini-2.5-flash``).
_PUBLISHER_PREFIX = "publishers/google/models/"


def continued_from(
    spec: JobSpec | None, fields: Mapping[str, Any]
) -> tuple[TuningJob | str | None, dict[str, Any]]:
    """What the job continues from (``None``: a base model), and the keywords without a job object.

    ``base_model=<TuningJob>`` means "continue from that job's tuned model";
    ``tuned_model`` may be a job object, a job id or a tuned model's name.
    """
    if spec is not None:
        return spec.tuned_model, dict(fields)
    rest = dict(fields)
    if isinstance(rest.get("base_model"), TuningJob):
        if rest.get("tuned_model") is not None:
            raise SpecError(
                [
                    Problem(
                        "give the job to continue from once: as base_model or as tuned_model",
                        field="tuned_model",
                    )
                ]
            )
        rest["tuned_model"] = rest.pop("base_model")
    source = rest.get("tuned_model")
    if source is None or isinstance(source, (TuningJob, str)):
        return source, rest
    problem = Problem(
        f"expected a job, a job id or a tuned model's name, got {type(source).__name__}",
        field="tuned_model",
        rule="string_type",
    )
    raise SpecError([problem], summary="invalid JobSpec")


def resolve_source(backend: TuningBackend, source: TuningJob | str) -> Flow[TunedModelRef]:
    """The tuned model *source* names, as the backend reports it (refused if it cannot continue tuning)."""
    if not backend.capabilities.continuous_tuning:
        raise UnsupportedCapability(
            backend.name, "create", reason="it cannot continue tuning a tuned model (tuned_model)"
        )
    if isinstance(source, TuningJob):
        job = source
        if not (job.state.is_success and job.tuned_model):
            job = yield from backend.get(job.id)  # a job object read before it finished
        return tuned_model_of(job)
    resolve = getattr(backend, "resolve_tuned_model", None)
    if resolve is None:  # a backend without the optional operation: the reference is one of its jobs
        job = yield from backend.get(source)
        return tuned_model_of(job)
    ref = yield from resolve(source)
    assert isinstance(ref, TunedModelRef)
    return ref


def _bare(model: str) -> str:
    return model.removeprefix(_PUBLISHER_PREFIX)


def with_source(
    ref: TunedModelRef, spec: JobSpec | None, fields: Mapping[str, Any], defaults: Mapping[str, Any]
) -> tuple[JobSpec | None, dict[str, Any]]:
    """*spec* or *fields* continuing from *ref*: its model, its base, a checkpoint it has.

    The base model is the tuned model's own; one given explicitly must be the
    same (the profile's default base model gives way to it).
    """
    given = spec.base_model if spec is not None else fields.get("base_model")
    base = ref.base_model
    if base is not None and given is not None and _bare(str(given)) != _bare(base):
        raise SpecError(
            [
                Problem(
                    f"{ref.model} was tuned from {base}, not {given}: leave base_model out or give {base}",
                    field="base_model",
                    rule="base-model-mismatch",
                )
            ]
        )
    if base is None:
        base = given if given is not None else defaults.get("base_model")
    if base is None:
        raise SpecError(
            [
                Problem(
                    f"the base model of {ref.model} is not known: give base_model",
                    field="base_model",
                    rule="missing",
                )
            ]
        )
    checkpoint = spec.checkpoint if spec is not None else fields.get("checkpoint")
    if checkpoint is not None and ref.checkpoints:
        checkpoint_of(ref.checkpoints, str(checkpoint), owner=ref.model)
    if spec is not None:
        return spec.model_copy(update={"tuned_model": ref.model, "base_model": _bare(str(base))}), {}
    return None, {**fields, "tuned_model": ref.model, "base_model": _bare(str(base))}


def checkpoint_of(checkpoints: tuple[Checkpoint, ...], checkpoint_id: str, *, owner: str) -> Checkpoint:
    """The checkpoint of that id, or a :class:`SpecError` naming the ones there are."""
    for checkpoint in checkpoints:
        if checkpoint.id == checkpoint_id:
            return checkpoint
    ids = [c.id for c in checkpoints]
    hint = did_you_mean(close_matches(checkpoint_id, ids, n=2))
    listed = ", ".join(ids) or "none"
    raise SpecError(
        [
            Problem(
                f"{owner} has no checkpoint '{checkpoint_id}'{hint} (checkpoints: {listed})",
                field="checkpoint",
                rule="unknown-checkpoint",
            )
        ]
    )


def _checkpointed_job(backend: TuningBackend, job_id: str, operation: str) -> Flow[TuningJob]:
    if not backend.capabilities.checkpoints:
        raise UnsupportedCapability(backend.name, operation, reason="its jobs report no checkpoints")
    job = yield from backend.get(job_id)
    return job


def generate_checkpoint(
    backend: TuningBackend, job_id: str, checkpoint_id: str, request: GenerateRequest
) -> Flow[Generation]:
    """Call one checkpoint of *job_id* through the endpoint that serves it."""
    job = yield from _checkpointed_job(backend, job_id, "generate")
    checkpoint = checkpoint_of(job.checkpoints, checkpoint_id, owner=f"job {job.id}")
    if not checkpoint.endpoint:
        raise UnsupportedCapability(
            backend.name, "generate", reason=f"checkpoint {checkpoint.id} of job {job.id} is not served"
        )
    return (yield from backend.generate(checkpoint.endpoint, request))


def set_default_checkpoint(backend: TuningBackend, job_id: str, checkpoint_id: str) -> Flow[TuningJob]:
    """Make *checkpoint_id* the one *job_id*'s tuned model serves; returns the job afterwards."""
    if not backend.capabilities.default_checkpoint:
        raise UnsupportedCapability(backend.name, "set_default_checkpoint")
    job = yield from _checkpointed_job(backend, job_id, "set_default_checkpoint")
    checkpoint_of(job.checkpoints, checkpoint_id, owner=f"job {job.id}")
    operation = getattr(backend, "set_default_checkpoint", None)
    if operation is None:
        raise UnsupportedCapability(backend.name, "set_default_checkpoint")
    updated = yield from operation(job.id, checkpoint_id)
    assert isinstance(updated, TuningJob)
    return updated
