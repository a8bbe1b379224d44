"""Behaviour 38 catches a backend whose flows share a cache unsafely (the defect of issue #12).

The racy backend below is the example in-memory backend plus the mistake
gemini's operation cache once made: a dict shared by every flow of the
instance, read before a (slow) call and changed after it, so two flows that
read it at once both act on what they read.  Behaviour 38 must fail it —
through threads and through ``asyncio.gather`` — and pass the same backend
without the cache.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

import tuneport
from tuneport.errors import NotFoundError
from tuneport.hookspecs import hookimpl
from tuneport.models import JobState, TuningJob
from tuneport.plugins import PluginHost
from tuneport.protocol import BackendSettings, BlockingCall, Flow, call
from tuneport_contract import AsyncRunner, BackendContract, Harness, SyncRunner
from tuneport_contract.harness import Runner, ServiceLinkedClock
from tuneport_inmemory import InMemoryBackend, service

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]


class RacyBackend(InMemoryBackend):
    """Remembers the jobs it has read, in a dict all its flows share, and forgets them unsafely."""

    name: ClassVar[str] = "racy-inmemory"

    def __init__(self, settings: BackendSettings | None = None) -> None:
        super().__init__(settings)
        self._seen: dict[str, JobState] = {}

    def get(self, job_id: str) -> Flow[TuningJob]:
        known = job_id in self._seen
        yield from call(BlockingCall(time.sleep, 0.05))  # a slow network: the flows overlap here
        try:
            job: TuningJob = yield from super().get(job_id)
        except NotFoundError:
            if known:
                del self._seen[job_id]  # the defect: another flow may have deleted it already
            raise
        self._seen[job_id] = job.state
        return job


class RacyPlugin:
    @hookimpl
    def register_backends(self, register: Callable[[type[Any]], None]) -> None:
        register(RacyBackend)


class Backdoor:
    def __init__(self, namespace: str) -> None:
        self.service = service(namespace)

    def seed(self, state: JobState) -> str:
        return str(self.service.seed(state.value, PAIRS))

    def advance(self, seconds: float) -> None:
        self.service.advance(seconds)


def _harness(backend: str) -> Harness:
    host = PluginHost(environ={})
    host.register_plugin(RacyPlugin(), name="racy", distribution="tuneport-contract-tests")
    namespace = f"contract-racy-{uuid.uuid4().hex}"
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


def test_behaviour_38_catches_a_cache_shared_unsafely(kind: str) -> None:
    harness = _harness("racy-inmemory")
    for runner in _runner(kind, harness):
        with pytest.raises(AssertionError, match=r"untyped errors:\n.*BackendError: KeyError"):
            BackendContract().test_b38_concurrent_flows_raise_typed_errors_and_agree_with_the_service(
                runner, harness
            )


def test_behaviour_38_passes_the_same_backend_without_the_cache(kind: str) -> None:
    harness = _harness("inmemory")
    for runner in _runner(kind, harness):
        BackendContract().test_b38_concurrent_flows_raise_typed_errors_and_agree_with_the_service(
            runner, harness
        )
