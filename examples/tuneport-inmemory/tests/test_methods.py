"""What the example declares beyond supervised tuning, through both clients.

Preference tuning, continuing from a tuned model or one of its checkpoints
(Google's DPO recipe: supervised tuning on the preferred answers, then
preference tuning from that checkpoint), a checkpoint per epoch, and the
default checkpoint.  The contract kit checks the port's side of each
(behaviours 55-64); these check what the example's service does with them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tuneport
from tuneport.errors import NotFoundError, SpecError
from tuneport.models import JobState, PreferenceExample, TuningJob, TuningMethod
from tuneport.waiting import ManualClock
from tuneport_contract import AsyncRunner, SyncRunner
from tuneport_contract.harness import Runner
from tuneport_inmemory import InMemoryService, service

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]
PREFERENCES = [
    PreferenceExample(prompt="1", preferred="two", rejected="2"),
    PreferenceExample(prompt="7", preferred="8", rejected="6"),
]


@pytest.fixture
def namespace() -> str:
    return f"methods-{uuid.uuid4().hex}"


@pytest.fixture
def backdoor(namespace: str) -> InMemoryService:
    return service(namespace)


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, namespace: str) -> Iterator[Runner]:
    options: dict[str, Any] = {
        "backend": "inmemory",
        "namespace": namespace,
        "environ": {},
        "clock": ManualClock(),
    }
    runner: Runner
    if request.param == "sync":
        runner = SyncRunner(tuneport.connect(**options))
    else:
        runner = AsyncRunner(tuneport.connect_async(**options))
    yield runner
    runner.close()


def _finished(run: Runner, backdoor: InMemoryService, **spec: Any) -> TuningJob:
    job: TuningJob = run("create", **{"base_model": "inmemory-base", **spec})
    backdoor.advance(3600)
    done: TuningJob = run("get", job.id)
    assert done.state is JobState.SUCCEEDED
    return done


def test_a_preference_job_learns_the_preferred_answers(run: Runner, backdoor: InMemoryService) -> None:
    job = _finished(run, backdoor, method="preference", training_data=PREFERENCES, beta=0.2, epoch_count=2)
    assert job.method is TuningMethod.PREFERENCE
    assert job.hyperparameters.beta == 0.2
    assert run("generate", job.id, "1").text == "two"
    assert run("generate", job.id, "7").text == "8"


def test_preference_examples_given_as_dicts(run: Runner, backdoor: InMemoryService) -> None:
    data = [{"prompt": "1", "preferred": "two", "rejected": "2"}]
    job = _finished(run, backdoor, method="preference", training_data=data)
    assert run("generate", job.id, "1").text == "two"


def test_a_preference_file_is_read_by_tuneport(
    run: Runner, backdoor: InMemoryService, tmp_path: Path
) -> None:
    path = tmp_path / "preferences.jsonl"
    rows = [
        {
            "input": {"messages": [{"role": "user", "content": "1"}]},
            "preferred_output": [{"role": "assistant", "content": "two"}],
            "non_preferred_output": [{"role": "assistant", "content": "2"}],
        },
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    job = _finished(run, backdoor, method="preference", training_data=path)
    assert run("generate", job.id, "1").text == "two"


def test_a_multi_turn_preference_prompt_is_refused_naming_the_example(run: Runner) -> None:
    chat = PreferenceExample(
        prompt=(
            {"role": "user", "parts": "a"},
            {"role": "model", "parts": "b"},
            {"role": "user", "parts": "c"},
        ),
        preferred="d",
        rejected="e",
    )
    data = [PREFERENCES[0], chat]
    with pytest.raises(SpecError) as info:
        run("create", base_model="inmemory-base", method="preference", training_data=data)
    assert info.value.field == "training_data[1].prompt"
    assert run("list") == []
    # The dry run reports it too: check_spec needs no request.
    spec = {"base_model": "inmemory-base", "method": "preference", "training_data": data}
    report = tuneport.validate(spec, backend="inmemory", environ={})
    assert [f.problem.field for f in report.findings if f.kind == "spec"] == ["training_data[1].prompt"]


def test_one_checkpoint_per_epoch_the_last_one_default(run: Runner, backdoor: InMemoryService) -> None:
    job = _finished(run, backdoor, training_data=PAIRS, epoch_count=3)
    assert [(c.id, c.epoch, c.step, c.is_default) for c in job.checkpoints] == [
        ("1", 1, 1, False),
        ("2", 2, 2, False),
        ("3", 3, 3, True),
    ]
    for checkpoint in job.checkpoints:
        generation = run("generate", job.id, "IV", checkpoint=checkpoint.id)
        assert (generation.text, generation.raw["checkpoint"]) == ("V", checkpoint.id)
    assert run("generate", job.id, "IV").raw["checkpoint"] == "3"


def test_no_checkpoints_before_the_job_succeeds(run: Runner) -> None:
    job: TuningJob = run("create", base_model="inmemory-base", training_data=PAIRS, epoch_count=3)
    assert job.checkpoints == ()
    assert job.tuned_model is None


def test_the_default_checkpoint_is_the_one_that_answers(run: Runner, backdoor: InMemoryService) -> None:
    job = _finished(run, backdoor, training_data=PAIRS, epoch_count=2)
    updated: TuningJob = run("set_default_checkpoint", job.id, "1")
    assert updated.default_checkpoint is not None
    assert updated.default_checkpoint.id == "1"
    assert run("generate", job.id, "1").raw["checkpoint"] == "1"
    with pytest.raises(SpecError) as info:
        run("set_default_checkpoint", job.id, "9")
    assert info.value.field == "checkpoint"


def test_the_dpo_recipe_supervised_then_preference_from_its_checkpoint(
    run: Runner, backdoor: InMemoryService
) -> None:
    # Google's recipe: supervised tuning on the preferred answers first...
    sft_data = [(p.prompt[0].text, p.preferred.text) for p in PREFERENCES] + PAIRS
    sft = _finished(run, backdoor, training_data=sft_data, epoch_count=2)
    # ...then preference tuning continued from (a checkpoint of) that tuned model, no base model given.
    dpo: TuningJob = run(
        "create",
        method="preference",
        tuned_model=sft.id,
        checkpoint="1",
        training_data=[PreferenceExample(prompt="3", preferred="four", rejected="4")],
        beta=0.1,
    )
    assert (dpo.base_model, dpo.source_model, dpo.source_checkpoint) == ("inmemory-base", sft.id, "1")
    backdoor.advance(3600)
    assert run("get", dpo.id).state is JobState.SUCCEEDED
    assert run("generate", dpo.id, "3").text == "four"  # what preference tuning taught
    assert run("generate", dpo.id, "IV").text == "V"  # what it kept from the supervised model


def test_continuing_from_a_job_object_or_an_unfinished_job(run: Runner, backdoor: InMemoryService) -> None:
    sft = _finished(run, backdoor, training_data=PAIRS)
    again: TuningJob = run("create", base_model=sft, training_data=[("5", "6")])
    assert again.source_model == sft.tuned_model
    running: TuningJob = run("create", base_model="inmemory-base", training_data=PAIRS)
    with pytest.raises(tuneport.JobNotReady):
        run("create", tuned_model=running.id, training_data=PAIRS)


def test_the_service_refuses_what_it_does_not_have(backdoor: InMemoryService) -> None:
    done = backdoor.seed("SUCCEEDED", PAIRS)
    with pytest.raises(NotFoundError):
        backdoor.create_job("inmemory-base", None, PAIRS, 1, source_model=done, source_checkpoint="7")
    with pytest.raises(NotFoundError):
        backdoor.answer(done, "1", "7")
    with pytest.raises(NotFoundError):
        backdoor.set_default_checkpoint(done, "7")


def test_the_simulation_is_deterministic() -> None:
    def one_run() -> tuple[Any, ...]:
        target = service(f"determinism-{uuid.uuid4().hex}")
        job = target.create_job("inmemory-base", "d", [("a", "b")] * 9, 3, method="preference", beta=0.5)
        target.advance(3600)
        view = target.get_job(job["id"])
        return target.losses(job["id"]), view["checkpoints"], target.answer(job["id"], "a")

    assert one_run() == one_run()
