"""The gemini backend declares supervised tuning only: everything else is refused before any request.

The Gemini API's ``tunedModels`` tune a base model from supervised examples
(``tuningTask``); a TunedModel has no checkpoints, no evaluation, and cannot
start from another tuned model.  The client refuses the rest from the
capabilities alone, so the emulator sees no request at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tuneport
from tuneport.errors import UnsupportedCapability, UnsupportedParameter
from tuneport.models import PreferenceExample, TuningMethod
from tuneport.waiting import ManualClock
from tuneport_contract import AsyncRunner, SyncRunner
from tuneport_emulator import Emulator, EmulatorClock
from tuneport_gemini import GeminiBackend

PAIRS = [("1", "2"), ("3", "4"), ("IV", "V")]
BASE = "models/gemini-1.5-flash-001-tuning"
PREFERENCES = [PreferenceExample(prompt="1", preferred="2", rejected="3")]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock.manual()) as running:
        yield running


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Any]:
    options: dict[str, Any] = {
        "backend": "gemini",
        "endpoint": emulator.url,
        "emulator": True,
        "environ": {},
        "clock": ManualClock(),
    }
    runner: SyncRunner | AsyncRunner
    if request.param == "sync":
        runner = SyncRunner(tuneport.connect(**options))
    else:
        runner = AsyncRunner(tuneport.connect_async(**options))
    yield runner
    runner.close()


def test_the_capabilities_declare_supervised_tuning_only() -> None:
    caps = GeminiBackend.declared_capabilities
    assert caps.methods == {TuningMethod.SUPERVISED}
    assert caps.hyperparameters_of("preference") == frozenset()
    assert "beta" not in caps.hyperparameters_of("supervised")
    assert caps.spec_fields == frozenset()
    flags = (caps.continuous_tuning, caps.checkpoints, caps.default_checkpoint, caps.evaluation)
    assert flags == (False, False, False, False)


@pytest.mark.parametrize(
    "changes",
    [
        {"method": "preference", "training_data": PREFERENCES},
        {"method": "preference", "training_data": [{"prompt": "1", "preferred": "2", "rejected": "3"}]},
        {"method": "distillation", "training_data": ["1", "3"], "teacher_model": "gemini-2.5-pro"},
    ],
    ids=["preference", "preference-dicts", "distillation"],
)
def test_other_methods_are_refused_before_any_request(
    call: Any, emulator: Emulator, changes: dict[str, Any]
) -> None:
    with pytest.raises(UnsupportedCapability, match=f"cannot run {changes['method']} tuning"):
        call("create", **{"base_model": BASE, **changes})
    assert emulator.requests() == []


@pytest.mark.parametrize(
    "start",
    [{"tuned_model": "tunedModels/earlier"}, {"tuned_model": "earlier", "checkpoint": "3"}],
    ids=["tuned-model", "checkpoint"],
)
def test_continuing_a_tuned_model_is_refused_before_any_request(
    call: Any, emulator: Emulator, start: dict[str, Any]
) -> None:
    with pytest.raises(UnsupportedCapability, match="cannot continue tuning"):
        call("create", base_model=BASE, training_data=PAIRS, **start)
    assert emulator.requests() == []


def test_continuing_a_job_object_is_refused_before_any_request(call: Any, emulator: Emulator) -> None:
    job = call("create", base_model=BASE, training_data=PAIRS)
    sent = len(emulator.requests())
    with pytest.raises(UnsupportedCapability):
        call("create", base_model=job, training_data=PAIRS)
    assert len(emulator.requests()) == sent


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tuning_mode", "full"),
        ("output_uri", "gs://bucket/out"),
        ("custom_base_model", "gs://bucket/weights"),
        ("encryption_key", "projects/p/locations/l/keyRings/r/cryptoKeys/k"),
        ("service_account", "tuner@p.iam.gserviceaccount.com"),
        ("evaluation", {"metrics": ["bleu"], "output_uri": "gs://bucket/eval"}),
        ("beta", 0.1),
    ],
)
def test_what_a_tuned_model_cannot_carry_is_refused_not_dropped(
    call: Any, emulator: Emulator, field: str, value: Any
) -> None:
    with pytest.raises(UnsupportedParameter) as info:
        call("create", base_model=BASE, training_data=PAIRS, **{field: value})
    assert info.value.parameter == ("hyperparameters.beta" if field == "beta" else field)
    assert emulator.requests() == []


def test_jobs_report_supervised_tuning_and_no_checkpoints(call: Any, emulator: Emulator) -> None:
    job = call("create", base_model=BASE, training_data=PAIRS, method="supervised")
    assert job.method is TuningMethod.SUPERVISED
    emulator.advance(24 * 3600)
    done = call("get", job.id)
    assert (done.method, done.checkpoints, done.source_model) == (TuningMethod.SUPERVISED, (), None)
    assert [j.method for j in call("list") if j.id == job.id] == [TuningMethod.SUPERVISED]
    sent = len(emulator.requests())
    with pytest.raises(UnsupportedCapability):
        call("generate", job.id, "1", checkpoint="1")
    with pytest.raises(UnsupportedCapability):
        call("set_default_checkpoint", job.id, "1")
    assert len(emulator.requests()) == sent
