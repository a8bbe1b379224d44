"""Behaviours 55-64 fail a backend whose jobs do not do what its capabilities declare.

Each backend below is the example in-memory backend with one mistake: a job
that reads as another method, a continued job that forgets its source, two
default checkpoints, checkpoints reported while none are declared, an
undeclared default-checkpoint operation that works.  The behaviour that
covers the mistake must fail it, and pass the example itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

import tuneport
from tuneport.hookspecs import hookimpl
from tuneport.models import Checkpoint, JobState, TuningJob, TuningMethod
from tuneport.plugins import PluginHost
from tuneport.protocol import BaseBackend, Capabilities, Flow
from tuneport_contract import AsyncRunner, BackendContract, Harness, SyncRunner
from tuneport_contract.harness import Runner, ServiceLinkedClock
from tuneport_inmemory import InMemoryBackend, service

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]


class ForgetsItsMethod(InMemoryBackend):
    """Every job reads as supervised, whatever it was created as."""

    name: ClassVar[str] = "forgets-method"

    def get(self, job_id: str) -> Flow[TuningJob]:
        job = yield from super().get(job_id)
        return job.model_copy(update={"method": TuningMethod.SUPERVISED})


class ForgetsItsSource(InMemoryBackend):
    """A continued job does not say what it continued from."""

    name: ClassVar[str] = "forgets-source"

    def get(self, job_id: str) -> Flow[TuningJob]:
        job = yield from super().get(job_id)
        return job.model_copy(update={"source_model": None, "source_checkpoint": None})


class TwoDefaults(InMemoryBackend):
    """Every checkpoint claims to be the default."""

    name: ClassVar[str] = "two-defaults"

    def get(self, job_id: str) -> Flow[TuningJob]:
        job = yield from super().get(job_id)
        defaults = tuple(c.model_copy(update={"is_default": True}) for c in job.checkpoints)
        return job.model_copy(update={"checkpoints": defaults})


_NO_CHECKPOINTS = InMemoryBackend.declared_capabilities.model_copy(
    update={"checkpoints": False, "default_checkpoint": False}
)


class UndeclaredCheckpoints(InMemoryBackend):
    """Declares no checkpoints, yet reports them, and sets the default one."""

    name: ClassVar[str] = "undeclared-checkpoints"
    declared_capabilities: ClassVar[Capabilities] = _NO_CHECKPOINTS


class HidesItsCheckpoints(InMemoryBackend):
    """Declares no checkpoints and reports none, but still sets the default one."""

    name: ClassVar[str] = "hides-checkpoints"
    declared_capabilities: ClassVar[Capabilities] = _NO_CHECKPOINTS

    def get(self, job_id: str) -> Flow[TuningJob]:
        job = yield from super().get(job_id)
        no_checkpoints: tuple[Checkpoint, ...] = ()
        return job.model_copy(update={"checkpoints": no_checkpoints})


class NoCheckpoints(HidesItsCheckpoints):
    """Declares no checkpoints, reports none, and cannot set a default one: what 62 and 64 pass."""

    name: ClassVar[str] = "no-checkpoints"
    set_default_checkpoint = BaseBackend.set_default_checkpoint


BACKENDS = (
    ForgetsItsMethod,
    ForgetsItsSource,
    TwoDefaults,
    UndeclaredCheckpoints,
    HidesItsCheckpoints,
    NoCheckpoints,
)


class Plugin:
    @hookimpl
    def register_backends(self, register: Callable[[type[Any]], None]) -> None:
        for backend in BACKENDS:
            register(backend)


class Backdoor:
    def __init__(self, namespace: str) -> None:
        self.service = service(namespace)

    def seed(self, state: JobState) -> str:
        return str(self.service.seed(state.value, PAIRS))

    def advance(self, seconds: float) -> None:
        self.service.advance(seconds)


def _harness(backend: str) -> Harness:
    host = PluginHost(environ={})
    host.register_plugin(Plugin(), name="mistaken", distribution="tuneport-contract-tests")
    namespace = f"contract-methods-{uuid.uuid4().hex}"
    return Harness(
        connect={"backend": backend, "namespace": namespace, "plugins": host, "environ": {}},
        spec={"base_model": "inmemory-base", "training_data": PAIRS, "epoch_count": 2},
        backdoor=Backdoor(namespace),
        prompt="IV",
    )


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _runner(kind: str, harness: Harness) -> Iterator[Runner]:
    assert harness.backdoor is not None
    options = {"clock": ServiceLinkedClock(harness.backdoor), **harness.connect}
    runner: Runner
    if kind == "sync":
        runner = SyncRunner(tuneport.connect(**options))
    else:
        runner = AsyncRunner(tuneport.connect_async(**options))
    try:
        yield runner
    finally:
        runner.close()


#: (mistaken backend, the behaviour that must fail it, its message, a backend it passes)
CAUGHT = [
    (
        "forgets-method",
        "test_b55_each_declared_method_runs",
        "a preference job reads as supervised",
        "inmemory",
    ),
    ("forgets-source", "test_b59_a_job_continues_from_a_tuned_model_or_checkpoint", "from None", "inmemory"),
    ("two-defaults", "test_b61_a_finished_job_lists_callable_checkpoints", "defaults", "inmemory"),
    (
        "undeclared-checkpoints",
        "test_b62_no_checkpoints_where_undeclared",
        "yet the job lists some",
        "no-checkpoints",
    ),
    (
        "hides-checkpoints",
        "test_b64_setting_the_default_checkpoint_is_refused_where_undeclared",
        "unexpected success: 'set_default_checkpoint'",
        "no-checkpoints",
    ),
]
_IDS = [behaviour[5:8] for _, behaviour, _, _ in CAUGHT]


@pytest.mark.parametrize(("backend", "behaviour", "message", "sound"), CAUGHT, ids=_IDS)
def test_the_behaviour_fails_the_mistaken_backend_and_passes_a_sound_one(
    kind: str, backend: str, behaviour: str, message: str, sound: str
) -> None:
    harness = _harness(backend)
    for runner in _runner(kind, harness):
        with pytest.raises((AssertionError, pytest.fail.Exception), match=message):
            getattr(BackendContract(), behaviour)(runner, harness)
    harness = _harness(sound)
    for runner in _runner(kind, harness):
        getattr(BackendContract(), behaviour)(runner, harness)
