"""One program, every backend: the same mistakes and the same lifecycle give the same results (issue #15).

A table across gemini and vertex (on the emulator) and the in-memory example
plugin: each row is one situation, each column a backend, each cell what the
program sees (the error's type, or a summary of the answer).  Every row must
read the same on every backend; the contract kit checks the same rules
backend by backend (behaviours 39 to 43).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

import tuneport
from tuneport.client import TuningClient
from tuneport.models import Hyperparameters, JobState
from tuneport.waiting import ManualClock
from tuneport_contract.harness import ServiceLinkedClock
from tuneport_emulator import Emulator, EmulatorClock
from tuneport_inmemory import service

UNKNOWN = "tuneport-portability-no-such-job"
PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]
PARENT = "projects/tuneport-portability/locations/us-central1"


@dataclass
class Backend:
    """A client of one backend and a way to seed a job in a state without the API."""

    client: TuningClient
    seed: Callable[[JobState], str]
    spec: dict[str, Any]


def _gemini(emulator: Emulator) -> Backend:
    base = "models/gemini-1.5-flash-001-tuning"
    states = {JobState.SUCCEEDED: "ACTIVE", JobState.FAILED: "FAILED", JobState.RUNNING: "CREATING"}

    def seed(state: JobState) -> str:
        examples = {"examples": {"examples": [{"textInput": q, "output": a} for q, a in PAIRS]}}
        model = {"baseModel": base, "displayName": "seeded", "tuningTask": {"trainingData": examples}}
        error = {"code": 3, "message": "seeded failure"} if state is JobState.FAILED else None
        progress = None if state is JobState.SUCCEEDED else 0.5
        seeded = emulator.seed_gemini_model(model, state=states[state], progress=progress, error=error)
        return str(seeded["name"]).removeprefix("tunedModels/")

    clock = ServiceLinkedClock(emulator)  # long-running operations finish on the client's sleeps
    client = tuneport.connect(backend="gemini", endpoint=emulator.url, emulator=True, environ={}, clock=clock)
    return Backend(client, seed, {"base_model": base, "training_data": PAIRS})


def _vertex(emulator: Emulator) -> Backend:
    states = {
        JobState.SUCCEEDED: "JOB_STATE_SUCCEEDED",
        JobState.FAILED: "JOB_STATE_FAILED",
        JobState.RUNNING: "JOB_STATE_RUNNING",
    }

    def seed(state: JobState) -> str:
        job = emulator.seed_vertex_job(
            {
                "baseModel": "gemini-2.5-flash",
                "supervisedTuningSpec": {"trainingDatasetUri": "gs://s/t.jsonl"},
            },
            parent=PARENT,
            state=states[state],
            progress=0.5 if state is JobState.RUNNING else None,
            error={"code": 3, "message": "seeded failure"} if state is JobState.FAILED else None,
            examples=PAIRS,
        )
        return str(job["name"]).rsplit("/", 1)[-1]

    client = tuneport.connect(
        backend="vertex",
        endpoint=emulator.url,
        emulator=True,
        project="tuneport-portability",
        location="us-central1",
        staging_bucket="gs://tuneport-portability",
        environ={},
        clock=ServiceLinkedClock(emulator),  # the deletes' operations finish on the client's sleeps
    )
    return Backend(client, seed, {"base_model": "gemini-2.5-flash", "training_data": PAIRS})


def _inmemory() -> Backend:
    namespace = f"portability-{uuid.uuid4().hex}"
    target = service(namespace)
    client = tuneport.connect(backend="inmemory", namespace=namespace, environ={}, clock=ManualClock())
    return Backend(
        client,
        lambda state: target.seed(state.value, PAIRS),
        {"base_model": "inmemory-base", "training_data": PAIRS},
    )


@pytest.fixture
def backends() -> Iterator[dict[str, Backend]]:
    with ExitStack() as stack:
        emulator = stack.enter_context(Emulator(clock=EmulatorClock.manual()))
        found = {"gemini": _gemini(emulator), "vertex": _vertex(emulator), "inmemory": _inmemory()}
        for backend in found.values():
            stack.callback(backend.client.close)
        yield found


def _outcome(action: Callable[[], Any]) -> str:
    """What a program sees: the error's type, or the answer summed up."""
    try:
        result = action()
    except Exception as error:
        return type(error).__name__
    if isinstance(result, tuneport.TuningJob):
        return f"job {result.state}"
    return repr(result)


def _situations(backend: Backend) -> dict[str, Callable[[], Any]]:
    """Each situation of the table, as one call on *backend*."""
    client, seed = backend.client, backend.seed
    running, failed = seed(JobState.RUNNING), seed(JobState.FAILED)
    succeeded, deleted = seed(JobState.SUCCEEDED), seed(JobState.SUCCEEDED)
    undeclared = next(n for n in Hyperparameters.model_fields if n not in client.capabilities.hyperparameters)
    value = 0.5 if "learning_rate" in undeclared else 4
    return {
        "get an unknown id": lambda: client.get(UNKNOWN),
        "cancel an unknown id": lambda: client.cancel(UNKNOWN),
        "generate from an unknown id": lambda: client.generate(UNKNOWN, "IV"),
        "metrics of an unknown id": lambda: client.metrics(UNKNOWN),
        "wait for an unknown id": lambda: client.wait(UNKNOWN),
        "delete an unknown id": lambda: client.delete(UNKNOWN),
        "generate from a running job": lambda: client.generate(running, "IV"),
        "generate from a failed job": lambda: client.generate(failed, "IV"),
        "cancel a succeeded job": lambda: client.cancel(succeeded),
        "cancel a failed job": lambda: client.cancel(failed),
        "the succeeded job's loss": lambda: bool(client.metrics(succeeded).series["train_loss"]),
        "delete a succeeded job": lambda: client.delete(deleted),
        "delete it again": lambda: client.delete(deleted),
        "get a deleted job": lambda: client.get(deleted),
        "cancel a deleted job": lambda: client.cancel(deleted),
        "generate from a deleted job": lambda: client.generate(deleted, "IV"),
        "metrics of a deleted job": lambda: client.metrics(deleted),
        "list shows a deleted job": lambda: deleted in {job.id for job in client.list()},
        "an undeclared hyperparameter": lambda: client.create(**{**backend.spec, undeclared: value}),
        "a filter the backend cannot honour": lambda: list(client.list(filter="tuneport_no_such_field=1")),
    }


EXPECTED = {
    "get an unknown id": "NotFoundError",
    "cancel an unknown id": "NotFoundError",
    "generate from an unknown id": "NotFoundError",
    "metrics of an unknown id": "NotFoundError",
    "wait for an unknown id": "NotFoundError",
    "delete an unknown id": "False",
    "generate from a running job": "JobNotReady",
    "generate from a failed job": "JobNotReady",
    "cancel a succeeded job": "job SUCCEEDED",
    "cancel a failed job": "job FAILED",
    "the succeeded job's loss": "True",
    "delete a succeeded job": "True",
    "delete it again": "False",
    "get a deleted job": "NotFoundError",
    "cancel a deleted job": "NotFoundError",
    "generate from a deleted job": "NotFoundError",
    "metrics of a deleted job": "NotFoundError",
    "list shows a deleted job": "False",
    "an undeclared hyperparameter": "UnsupportedParameter",
    "a filter the backend cannot honour": "FilterError",
}


def test_the_same_situations_read_the_same_on_every_backend(backends: dict[str, Backend]) -> None:
    table: dict[str, dict[str, str]] = {}
    for name, backend in backends.items():
        for situation, action in _situations(backend).items():  # in order: deletes come after reads
            table.setdefault(situation, {})[name] = _outcome(action)
    differing = {
        situation: row
        for situation, row in table.items()
        if set(row.values()) != {EXPECTED[situation]} or row.keys() != backends.keys()
    }
    assert not differing, "situations that read differently:\n" + "\n".join(
        f"  {situation}: {row} (expected {EXPECTED[situation]})" for situation, row in differing.items()
    )
