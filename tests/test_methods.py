"""The port's tuning methods, continuous tuning and checkpoints (issue #16), backend-neutral.

A small backend kept in memory (no HTTP) records every operation it runs,
so each test can say exactly what reached the backend: a refused job never
reaches ``create``, and a continued one reads its source first.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from tuneport import AsyncTuningClient, TuningClient
from tuneport.catalog import Catalog, CatalogEntry, MethodRule, ParamRule
from tuneport.errors import NotFoundError, SpecError, UnsupportedCapability, UnsupportedParameter
from tuneport.models import (
    Checkpoint,
    EvaluationSpec,
    GenerateRequest,
    Generation,
    JobSpec,
    JobState,
    PreferenceExample,
    PromptExample,
    TuningJob,
    TuningMethod,
)
from tuneport.protocol import BaseBackend, Capabilities, Flow, Operation

PAIRS = [(f"question {i}", f"answer {i}") for i in range(4)]
PREFERENCES = [
    {"prompt": f"question {i}", "preferred": f"good {i}", "rejected": f"bad {i}"} for i in range(4)
]


class MemoryBackend(BaseBackend):
    """Jobs finish at once with two checkpoints (the second is the default), served by their own endpoints."""

    name: ClassVar[str] = "memory"
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset(Operation),
        hyperparameters=frozenset({"epoch_count"}),
        methods=frozenset({TuningMethod.SUPERVISED, TuningMethod.PREFERENCE}),
        method_hyperparameters={TuningMethod.PREFERENCE: frozenset({"epoch_count", "beta"})},
        spec_fields=frozenset({"service_account"}),
        continuous_tuning=True,
        checkpoints=True,
        default_checkpoint=True,
    )

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []
        self.jobs: dict[str, TuningJob] = {}
        self.specs: dict[str, JobSpec] = {}

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        self.calls.append(("create", spec))
        job_id = f"job-{len(self.jobs) + 1}"
        checkpoints = (
            Checkpoint(id="1", epoch=1, step=10, endpoint=f"endpoints/{job_id}-1"),
            Checkpoint(id="2", epoch=2, step=20, endpoint=f"endpoints/{job_id}-2", is_default=True),
        )
        job = TuningJob(
            id=job_id,
            backend=self.name,
            base_model=spec.base_model,
            state=JobState.SUCCEEDED,
            method=spec.method,
            tuned_model=f"models/{job_id}",
            endpoint=f"endpoints/{job_id}-2",
            source_model=spec.tuned_model,
            source_checkpoint=spec.checkpoint,
            checkpoints=checkpoints,
        )
        self.jobs[job_id] = job
        self.specs[job_id] = spec
        return job
        yield  # a flow

    def get(self, job_id: str) -> Flow[TuningJob]:
        self.calls.append(("get", job_id))
        if job_id not in self.jobs:
            raise NotFoundError(f"no job {job_id}", status_code=404)
        return self.jobs[job_id]
        yield

    def generate(self, target: str, request: GenerateRequest) -> Flow[Generation]:
        self.calls.append(("generate", target))
        return Generation(text=f"{target} says hi")
        yield

    def set_default_checkpoint(self, job_id: str, checkpoint_id: str) -> Flow[TuningJob]:
        self.calls.append(("set_default_checkpoint", (job_id, checkpoint_id)))
        job = self.jobs[job_id]
        moved = tuple(c.model_copy(update={"is_default": c.id == checkpoint_id}) for c in job.checkpoints)
        self.jobs[job_id] = job.model_copy(update={"checkpoints": moved})
        return self.jobs[job_id]
        yield


CATALOG = Catalog()
CATALOG.add(
    CatalogEntry(
        backend="memory",
        base_model="base-1",
        hyperparameters={"epoch_count": ParamRule(min=1, max=10, integer=True)},
        methods={
            TuningMethod.SUPERVISED: MethodRule(),
            TuningMethod.PREFERENCE: MethodRule(
                hyperparameters={"epoch_count": ParamRule(min=1, max=10), "beta": ParamRule(min=0, max=1)}
            ),
        },
    )
)
CATALOG.add(
    CatalogEntry(backend="memory", base_model="sft-only", hyperparameters={"epoch_count": ParamRule()})
)
CATALOG.add(CatalogEntry(backend="memory", base_model="retired-1", tunable=False, reason="retired"))


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend()


@pytest.fixture
def client(backend: MemoryBackend) -> Iterator[TuningClient]:
    with TuningClient(backend, catalog=CATALOG) as made:
        yield made


def _creates(backend: MemoryBackend) -> list[JobSpec]:
    return [spec for name, spec in backend.calls if name == "create"]


# --- the method in the spec -----------------------------------------------------------------


def test_preference_job_is_created_with_its_method_and_beta(
    client: TuningClient, backend: MemoryBackend
) -> None:
    job = client.create(base_model="base-1", method="preference", training_data=PREFERENCES, beta=0.2)
    assert job.method is TuningMethod.PREFERENCE
    (spec,) = _creates(backend)
    assert spec.hyperparameters.beta == 0.2
    assert isinstance(spec.training_data, tuple)
    assert isinstance(spec.training_data[0], PreferenceExample)


def test_a_method_the_backend_does_not_declare_is_refused_before_any_request(
    client: TuningClient, backend: MemoryBackend
) -> None:
    with pytest.raises(UnsupportedCapability) as info:
        client.create(
            base_model="base-1", method="distillation", teacher_model="t", training_data=["a prompt"]
        )
    assert "distillation" in str(info.value)
    assert "(it runs: preference, supervised)" in str(info.value)
    assert backend.calls == []


def test_a_method_the_model_does_not_take_is_refused_naming_the_field(
    client: TuningClient, backend: MemoryBackend
) -> None:
    with pytest.raises(UnsupportedParameter) as info:
        client.create(base_model="sft-only", method="preference", training_data=PREFERENCES)
    assert info.value.parameter == "method"
    assert "takes: supervised" in str(info.value)
    assert backend.calls == []


def test_a_hyperparameter_of_another_method_is_refused(client: TuningClient, backend: MemoryBackend) -> None:
    with pytest.raises(UnsupportedParameter) as info:
        client.create(base_model="base-1", training_data=PAIRS, beta=0.1)
    assert info.value.parameter == "hyperparameters.beta"
    assert backend.calls == []


def test_a_method_hyperparameter_out_of_the_catalog_range_is_refused(
    client: TuningClient, backend: MemoryBackend
) -> None:
    with pytest.raises(SpecError) as info:
        client.create(base_model="base-1", method="preference", training_data=PREFERENCES, beta=3)
    assert info.value.problems[0].field == "hyperparameters.beta"
    assert backend.calls == []


def test_a_spec_field_the_backend_does_not_send_is_refused(
    client: TuningClient, backend: MemoryBackend
) -> None:
    with pytest.raises(UnsupportedParameter) as info:
        client.create(base_model="base-1", training_data=PAIRS, output_uri="gs://bucket/out")
    assert info.value.parameter == "output_uri"
    client.create(base_model="base-1", training_data=PAIRS, service_account="sa@p.iam.gserviceaccount.com")
    assert len(_creates(backend)) == 1


def test_evaluation_on_a_backend_without_it_is_refused(client: TuningClient, backend: MemoryBackend) -> None:
    evaluation = EvaluationSpec(metrics=("bleu",), output_uri="gs://bucket/eval")
    with pytest.raises(UnsupportedParameter) as info:
        client.create(base_model="base-1", training_data=PAIRS, evaluation=evaluation)
    assert info.value.parameter == "evaluation"
    assert backend.calls == []


def test_distillation_needs_a_teacher_and_only_distillation_has_one() -> None:
    with pytest.raises(ValueError, match="teacher_model: distillation needs a teacher"):
        JobSpec(base_model="b", method="distillation", training_data=["p"])
    with pytest.raises(ValueError, match="teacher_model: only distillation"):
        JobSpec(base_model="b", teacher_model="t", training_data=PAIRS)
    spec = JobSpec(base_model="b", method="distillation", teacher_model="t", training_data=["p1", "p2"])
    assert all(isinstance(item, PromptExample) for item in spec.training_data)  # type: ignore[union-attr]


def test_spec_errors_across_fields_name_the_field(client: TuningClient) -> None:
    with pytest.raises(SpecError) as info:
        client.create(base_model="base-1", training_data=PAIRS, checkpoint="3")
    assert info.value.problems[0].field == "checkpoint"


def test_in_memory_data_must_match_the_method() -> None:
    from tuneport.models import Example

    with pytest.raises(ValueError, match="example \\[0\\]"):
        JobSpec(base_model="b", method="preference", training_data=PAIRS)
    with pytest.raises(ValueError, match="instance of PreferenceExample"):
        JobSpec(base_model="b", method="preference", training_data=(Example.from_pair("q", "a"),))


def test_capabilities_say_which_hyperparameters_each_method_takes() -> None:
    caps = MemoryBackend.declared_capabilities
    assert caps.hyperparameters_of("supervised") == {"epoch_count"}
    assert caps.hyperparameters_of(TuningMethod.PREFERENCE) == {"epoch_count", "beta"}
    assert caps.hyperparameters_of("distillation") == frozenset()
    summary = caps.summary()
    assert summary["methods"] == ["preference", "supervised"]
    assert summary["method_hyperparameters"] == {"preference": ["beta", "epoch_count"]}
    assert Capabilities.model_validate(json.loads(json.dumps(summary))) == caps


def test_a_backend_declaring_nothing_new_runs_supervised_only() -> None:
    caps = Capabilities(hyperparameters=frozenset({"epoch_count"}))
    assert caps.methods == {TuningMethod.SUPERVISED}
    assert not (caps.continuous_tuning)
    assert not (caps.checkpoints)
    assert not (caps.default_checkpoint)
    assert not caps.evaluation


# --- continuous tuning ----------------------------------------------------------------------


def test_dpo_recipe_continues_from_the_sft_checkpoint(client: TuningClient, backend: MemoryBackend) -> None:
    """Google's recipe: SFT on the preferred answers, then preference tuning from its checkpoint."""
    sft = client.create(base_model="base-1", training_data=[(f"question {i}", f"good {i}") for i in range(4)])
    dpo = client.create(
        base_model=sft, checkpoint="1", method="preference", training_data=PREFERENCES, beta=0.1
    )
    spec = backend.specs[dpo.id]
    assert (spec.tuned_model, spec.checkpoint, spec.base_model) == (sft.tuned_model, "1", "base-1")
    assert (dpo.source_model, dpo.source_checkpoint, dpo.method) == (
        sft.tuned_model,
        "1",
        TuningMethod.PREFERENCE,
    )


def test_tuned_model_given_as_a_job_id_is_resolved_through_the_backend(
    client: TuningClient, backend: MemoryBackend
) -> None:
    sft = client.create(base_model="base-1", training_data=PAIRS)
    backend.calls.clear()
    job = client.create(tuned_model=sft.id, training_data=PAIRS)
    assert backend.calls[0] == ("get", sft.id)
    assert backend.specs[job.id].base_model == "base-1"


def test_an_unknown_checkpoint_is_refused_before_create_with_the_ones_there_are(
    client: TuningClient, backend: MemoryBackend
) -> None:
    sft = client.create(base_model="base-1", training_data=PAIRS)
    with pytest.raises(SpecError) as info:
        client.create(tuned_model=sft.id, checkpoint="3", training_data=PAIRS)
    problem = info.value.problems[0]
    assert problem.field == "checkpoint"
    assert "checkpoints: 1, 2" in problem.message
    assert len(_creates(backend)) == 1


def test_a_different_base_model_than_the_tuned_models_is_refused(
    client: TuningClient, backend: MemoryBackend
) -> None:
    sft = client.create(base_model="base-1", training_data=PAIRS)
    with pytest.raises(SpecError) as info:
        client.create(base_model="sft-only", tuned_model=sft.id, training_data=PAIRS)
    assert info.value.problems[0].field == "base_model"
    assert len(_creates(backend)) == 1


def test_the_tuned_models_base_must_still_accept_tuning(client: TuningClient, backend: MemoryBackend) -> None:
    old = TuningJob(
        id="old", backend="memory", base_model="retired-1", state=JobState.SUCCEEDED, tuned_model="models/old"
    )
    backend.jobs["old"] = old
    with pytest.raises(UnsupportedCapability, match="retired-1' cannot be tuned"):
        client.create(tuned_model="old", training_data=PAIRS)
    assert _creates(backend) == []


def test_continuing_on_a_backend_without_continuous_tuning_sends_nothing() -> None:
    class Plain(MemoryBackend):
        declared_capabilities = Capabilities(hyperparameters=frozenset({"epoch_count"}))

    backend = Plain()
    with TuningClient(backend) as client, pytest.raises(UnsupportedCapability, match="continue tuning"):
        client.create(base_model="base-1", tuned_model="job-9", training_data=PAIRS)
    assert backend.calls == []


def test_a_job_that_has_not_finished_cannot_be_continued(
    client: TuningClient, backend: MemoryBackend
) -> None:
    from tuneport.errors import JobNotReady

    backend.jobs["running"] = TuningJob(
        id="running", backend="memory", base_model="base-1", state=JobState.RUNNING
    )
    with pytest.raises(JobNotReady):
        client.create(tuned_model="running", training_data=PAIRS)


# --- checkpoints ------------------------------------------------------------------------------


def test_generate_calls_a_checkpoint_through_its_endpoint(
    client: TuningClient, backend: MemoryBackend
) -> None:
    job = client.create(base_model="base-1", training_data=PAIRS)
    assert client.generate(job.id, "hi", checkpoint="1").text == f"endpoints/{job.id}-1 says hi"
    assert client.generate(job.id, "hi").text == f"{job.id} says hi"


def test_generate_an_unknown_checkpoint_names_the_ones_there_are(client: TuningClient) -> None:
    job = client.create(base_model="base-1", training_data=PAIRS)
    with pytest.raises(SpecError, match="checkpoints: 1, 2"):
        client.generate(job.id, "hi", checkpoint="7")


def test_set_default_checkpoint_moves_the_default(client: TuningClient) -> None:
    job = client.create(base_model="base-1", training_data=PAIRS)
    assert job.default_checkpoint is not None
    assert job.default_checkpoint.id == "2"
    moved = client.set_default_checkpoint(job.id, "1")
    assert moved.default_checkpoint is not None
    assert moved.default_checkpoint.id == "1"
    assert [c.is_default for c in client.checkpoints(job.id)] == [True, False]


def test_set_default_checkpoint_without_the_capability_is_refused() -> None:
    class NoDefault(MemoryBackend):
        declared_capabilities = MemoryBackend.declared_capabilities.model_copy(
            update={"default_checkpoint": False}
        )

    backend = NoDefault()
    with TuningClient(backend) as client, pytest.raises(UnsupportedCapability):
        client.set_default_checkpoint("job-1", "1")
    assert backend.calls == []


def test_job_checkpoint_lookup_names_the_ids() -> None:
    job = TuningJob(id="j", backend="b", state=JobState.SUCCEEDED, checkpoints=(Checkpoint(id="5"),))
    assert job.checkpoint("5").id == "5"
    with pytest.raises(KeyError, match="checkpoints: 5"):
        job.checkpoint("6")
    assert job.default_checkpoint is None


# --- async: the same flows ------------------------------------------------------------------


def test_the_async_client_continues_tuning_and_calls_checkpoints(backend: MemoryBackend) -> None:
    async def scenario() -> tuple[TuningJob, str, TuningJob]:
        async with AsyncTuningClient(backend, catalog=CATALOG) as client:
            sft = await client.create(base_model="base-1", training_data=PAIRS)
            dpo = await client.create(
                base_model=sft, checkpoint="2", method="preference", training_data=PREFERENCES
            )
            answer = await client.generate(sft.id, "hi", checkpoint="1")
            moved = await client.set_default_checkpoint(sft.id, "1")
            return dpo, answer.text, moved

    dpo, text, moved = asyncio.run(scenario())
    assert (dpo.source_checkpoint, dpo.method) == ("2", TuningMethod.PREFERENCE)
    assert text.startswith("endpoints/job-1-1")
    assert moved.default_checkpoint is not None
    assert moved.default_checkpoint.id == "1"


def test_a_method_the_backend_cannot_run_is_refused_as_such_whatever_the_file_holds(
    client: TuningClient, backend: MemoryBackend, tmp_path: Any
) -> None:
    """Reproduction: a supervised file given to an undeclared method raised the data's
    method mismatch (exit 4) instead of the capability (exit 5), and read the whole file."""
    data = tmp_path / "train.jsonl"
    data.write_text("".join(f'{{"text_input": "q{i}", "output": "a{i}"}}\n' for i in range(3)))
    with pytest.raises(UnsupportedCapability, match="cannot run distillation"):
        client.create(base_model="base-1", method="distillation", teacher_model="t", training_data=data)
    assert backend.calls == []


def test_another_methods_file_is_a_dataset_problem_with_its_rule(
    client: TuningClient, backend: MemoryBackend, tmp_path: Any
) -> None:
    from tuneport.errors import DatasetError

    data = tmp_path / "train.jsonl"
    data.write_text("".join(f'{{"text_input": "q{i}", "output": "a{i}"}}\n' for i in range(3)))
    with pytest.raises(DatasetError) as info:
        client.create(base_model="base-1", method="preference", training_data=data)
    assert [problem.rule for problem in info.value.problems] == ["method-mismatch"]
    assert backend.calls == []
