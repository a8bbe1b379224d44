"""A backend kept in memory for the CLI's tests of #16 (methods, continuous tuning, checkpoints,
evaluation), registered through a plugin like any other: the CLI runs against it unchanged.

Every job finishes at once with three checkpoints (the last is the default), each served by an
endpoint of its own; its metrics have a train loss at every step and an eval loss every 5 steps.
The backend records the spec of every create, so a test sees what the flags became.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from tuneport.catalog import CatalogEntry, MethodRule, ParamRule
from tuneport.errors import NotFoundError
from tuneport.hookspecs import hookimpl
from tuneport.models import (
    Checkpoint,
    EvaluationRun,
    GenerateRequest,
    Generation,
    JobQuery,
    JobSpec,
    JobState,
    MetricPoint,
    Metrics,
    Page,
    TunedModelRef,
    TuningJob,
    TuningMethod,
)
from tuneport.plugins import PluginHost
from tuneport.protocol import BaseBackend, Capabilities, Flow, Operation, tuned_model_of

_ANY = ParamRule()


class MemoryStore:
    """What the backends of one test share (a class attribute is reset by :func:`reset`)."""

    specs: ClassVar[dict[str, JobSpec]] = {}
    jobs: ClassVar[dict[str, TuningJob]] = {}
    calls: ClassVar[list[tuple[str, Any]]] = []

    @classmethod
    def reset(cls) -> None:
        cls.specs.clear()
        cls.jobs.clear()
        cls.calls.clear()


def _checkpoints(job_id: str) -> tuple[Checkpoint, ...]:
    return tuple(
        Checkpoint(
            id=str(epoch),
            epoch=epoch,
            step=10 * epoch,
            endpoint=f"endpoints/{job_id}-{epoch}",
            is_default=epoch == 3,
        )
        for epoch in (1, 2, 3)
    )


class MemoryBackend(BaseBackend):
    """Every method, continuous tuning, checkpoints, the default checkpoint and evaluation."""

    name: ClassVar[str] = "memory"
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset(Operation),
        hyperparameters=frozenset({"epoch_count"}),
        methods=frozenset(TuningMethod),
        method_hyperparameters={TuningMethod.PREFERENCE: frozenset({"epoch_count", "beta"})},
        spec_fields=frozenset({"service_account", "encryption_key", "tuning_mode", "output_uri"}),
        continuous_tuning=True,
        checkpoints=True,
        default_checkpoint=True,
        evaluation=True,
        data_sources=frozenset({"inline", "file", "uri"}),
        validation_data=True,
    )

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        MemoryStore.calls.append(("create", spec))
        job_id = f"job-{len(MemoryStore.jobs) + 1}"
        evaluations: tuple[EvaluationRun, ...] = ()
        if spec.evaluation is not None:
            evaluations = tuple(
                EvaluationRun(checkpoint_id=str(epoch), metrics={"bleu": 0.1 * epoch, "rouge_l": 0.2 * epoch})
                for epoch in (1, 2, 3)
            )
        job = TuningJob(
            id=job_id,
            backend=self.name,
            display_name=spec.display_name,
            base_model=spec.base_model,
            state=JobState.SUCCEEDED,
            completed_steps=30,
            total_steps=30,
            completed_epochs=3,
            progress=1.0,
            method=spec.method,
            tuned_model=f"models/{job_id}",
            endpoint=f"endpoints/{job_id}-3",
            source_model=spec.tuned_model,
            source_checkpoint=spec.checkpoint,
            teacher_model=spec.teacher_model,
            checkpoints=_checkpoints(job_id),
            evaluations=evaluations,
            hyperparameters=spec.hyperparameters,
        )
        MemoryStore.jobs[job_id] = job
        MemoryStore.specs[job_id] = spec
        return job
        yield  # a flow

    def get(self, job_id: str) -> Flow[TuningJob]:
        MemoryStore.calls.append(("get", job_id))
        if job_id not in MemoryStore.jobs:
            raise NotFoundError(f"no job {job_id}", status_code=404)
        return MemoryStore.jobs[job_id]
        yield

    def list(
        self,
        *,
        page_size: int | None,
        page_token: str | None,
        filter: str | None,
        query: JobQuery | None = None,
    ) -> Flow[Page[TuningJob]]:
        MemoryStore.calls.append(("list", query))
        return Page(items=list(MemoryStore.jobs.values()))
        yield

    def resolve_tuned_model(self, ref: str) -> Flow[TunedModelRef]:
        job_id = ref.removeprefix("models/")
        job = yield from self.get(job_id)
        return tuned_model_of(job)

    def generate(self, target: str, request: GenerateRequest) -> Flow[Generation]:
        MemoryStore.calls.append(("generate", target))
        if target in MemoryStore.jobs:
            target = MemoryStore.jobs[target].endpoint or target
        return Generation(text=f"{target} answers")
        yield

    def metrics(self, job_id: str) -> Flow[Metrics]:
        MemoryStore.calls.append(("metrics", job_id))
        train = [MetricPoint(step=step, value=2.0 - step / 20) for step in range(1, 31)]
        evaluation = [MetricPoint(step=step, value=2.5 - step / 20) for step in range(5, 31, 5)]
        return Metrics.from_native(
            job_id,
            {"loss": train, "eval_loss": evaluation},
            {"loss": "train_loss"},
        )
        yield

    def set_default_checkpoint(self, job_id: str, checkpoint_id: str) -> Flow[TuningJob]:
        MemoryStore.calls.append(("set_default_checkpoint", (job_id, checkpoint_id)))
        job = MemoryStore.jobs[job_id]
        moved = tuple(c.model_copy(update={"is_default": c.id == checkpoint_id}) for c in job.checkpoints)
        MemoryStore.jobs[job_id] = job.model_copy(update={"checkpoints": moved})
        return MemoryStore.jobs[job_id]
        yield


class SupervisedOnlyBackend(MemoryBackend):
    """Supervised tuning and nothing of #16 (like the gemini backend)."""

    name: ClassVar[str] = "memory-sft"
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        hyperparameters=frozenset({"epoch_count"}), data_sources=frozenset({"inline", "file", "uri"})
    )

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        job = yield from super().create(spec)
        MemoryStore.jobs[job.id] = job.model_copy(update={"checkpoints": (), "method": None})
        return MemoryStore.jobs[job.id]


CATALOG = (
    CatalogEntry(
        backend="memory",
        base_model="base-1",
        hyperparameters={"epoch_count": ParamRule(min=1, max=10, integer=True)},
        methods={
            TuningMethod.SUPERVISED: MethodRule(),
            TuningMethod.PREFERENCE: MethodRule(
                hyperparameters={"epoch_count": ParamRule(min=1, max=10), "beta": ParamRule(min=0, max=1)}
            ),
            TuningMethod.DISTILLATION: MethodRule(teachers=("teacher-1",)),
        },
    ),
    CatalogEntry(backend="memory-sft", base_model="base-1", hyperparameters={"epoch_count": _ANY}),
)


class MemoryPlugin:
    """Registers the memory backends and their catalog (for ``PluginHost.register_plugin``)."""

    @hookimpl
    def register_catalog(
        self, register: Callable[[Any], None], set_policy: Callable[[str, str, str], None]
    ) -> None:
        for entry in CATALOG:
            register(entry)

    @hookimpl
    def register_backends(self, register: Callable[[type[Any]], None]) -> None:
        register(MemoryBackend)
        register(SupervisedOnlyBackend)


def memory_host() -> PluginHost:
    """A plugin host holding only the in-memory plugin (the CLI tests' backend ``memory``)."""
    host = PluginHost(environ={})
    host.register_plugin(MemoryPlugin(), name="memory", distribution="tuneport-memory-tests", version="0.0")
    return host
