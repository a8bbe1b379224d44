"""The normalized models, capabilities as data, and the small value types of the port."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tuneport.models import (
    Example,
    FilePart,
    GenerateRequest,
    Hyperparameters,
    JobError,
    JobSpec,
    JobState,
    MetricPoint,
    Metrics,
    Page,
    TextPart,
    TuningJob,
    Turn,
)
from tuneport.protocol import (
    BackendSettings,
    BaseBackend,
    BlockingCall,
    Capabilities,
    HttpResponse,
    Maturity,
    Operation,
)
from tuneport.waiting import ManualClock, PollPolicy, SystemClock

# --- JobState ---------------------------------------------------------------------------------

TERMINAL = {
    JobState.SUCCEEDED,
    JobState.PARTIALLY_SUCCEEDED,
    JobState.FAILED,
    JobState.EXPIRED,
    JobState.CANCELLED,
}


@pytest.mark.parametrize("state", list(JobState))
def test_job_state_terminal_and_success(state: JobState) -> None:
    assert state.is_terminal is (state in TERMINAL)
    assert state.is_success is (state in {JobState.SUCCEEDED, JobState.PARTIALLY_SUCCEEDED})
    assert str(state) == state.value
    if state.is_success:
        assert state.is_terminal


# --- examples and data sources ----------------------------------------------------------------


def _pair(example: Example) -> tuple[str, str, str, str]:
    user, model = example.turns
    return user.role, user.text, model.role, model.text


@pytest.mark.parametrize(
    "value",
    [
        ("What is 2+2?", "4"),
        ["What is 2+2?", "4"],
        {"text_input": "What is 2+2?", "output": "4"},
        {"textInput": "What is 2+2?", "output": "4"},
    ],
)
def test_example_pair_coercion(value: Any) -> None:
    example = Example.model_validate(value)
    assert _pair(example) == ("user", "What is 2+2?", "model", "4")
    assert example == Example.from_pair("What is 2+2?", "4")


def test_example_with_full_turns() -> None:
    example = Example.model_validate(
        {
            "system": [{"kind": "text", "text": "be terse"}],
            "turns": [
                {"role": "user", "parts": "look at this"},
                {
                    "role": "user",
                    "parts": [{"kind": "file", "uri": "gs://b/cat.png", "mime_type": "image/png"}],
                },
                {"role": "model", "parts": [{"kind": "text", "text": "a "}, {"kind": "text", "text": "cat"}]},
            ],
        }
    )
    assert example.system == (TextPart(text="be terse"),)
    assert example.turns[0].parts == (TextPart(text="look at this"),)
    assert isinstance(example.turns[1].parts[0], FilePart)
    assert example.turns[1].text == ""
    assert example.turns[2].text == "a cat"


@pytest.mark.parametrize(
    "value",
    [
        ("only one",),
        ("a", "b", "c"),
        ("a", 2),
        {"text_input": "no output"},
        {"turns": [{"role": "system", "parts": "x"}]},
        {"turns": [{"role": "user", "parts": [{"kind": "audio", "uri": "x"}]}]},
    ],
)
def test_bad_examples_are_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        Example.model_validate(value)


def test_data_source_coercion() -> None:
    assert JobSpec(base_model="m", training_data=Path("train.jsonl")).training_data == Path("train.jsonl")
    assert JobSpec(base_model="m", training_data="gs://b/train.jsonl").training_data == "gs://b/train.jsonl"
    assert JobSpec(base_model="m", training_data="train.jsonl").training_data == "train.jsonl"

    class _PathLike:
        def __fspath__(self) -> str:
            return "data/train.jsonl"

    assert JobSpec(base_model="m", training_data=_PathLike()).training_data == Path("data/train.jsonl")

    pairs = [("1", "I"), {"text_input": "2", "output": "II"}, Example.from_pair("3", "III")]
    spec = JobSpec(base_model="m", training_data=pairs, validation_data=iter([("4", "IV")]))
    assert isinstance(spec.training_data, tuple)
    assert [_pair(e)[3] for e in spec.training_data] == ["I", "II", "III"]
    assert isinstance(spec.validation_data, tuple)
    assert _pair(spec.validation_data[0])[3] == "IV"


@pytest.mark.parametrize(
    ("value", "message"),
    [([], "holds no examples"), ((), "holds no examples"), ("", "path is empty"), ("   ", "path is empty")],
)
def test_empty_data_sources_are_errors(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        JobSpec(base_model="m", training_data=value)
    assert info.value.errors()[0]["loc"][0] == "training_data"
    with pytest.raises(ValidationError, match=message):
        JobSpec(base_model="m", training_data=[("a", "b")], validation_data=value)


def test_job_spec_defaults_and_strictness() -> None:
    spec = JobSpec(base_model="m", training_data="gs://b/t.jsonl")
    assert spec.validation_data is None
    assert spec.hyperparameters == Hyperparameters()
    assert spec.labels == {}
    assert spec.extras == {}
    with pytest.raises(ValidationError, match="extra"):
        JobSpec(base_model="m", training_data="x.jsonl", epochs=3)
    with pytest.raises(ValidationError):
        JobSpec(base_model="", training_data="x.jsonl")
    with pytest.raises(ValidationError, match="frozen"):
        spec.base_model = "other"  # type: ignore[misc]


# --- hyperparameters ---------------------------------------------------------------------------


def test_hyperparameters_given() -> None:
    assert Hyperparameters().given() == {}
    given = Hyperparameters(epoch_count=3, learning_rate=0.01).given()
    assert given == {"epoch_count": 3, "learning_rate": 0.01}


@pytest.mark.parametrize(
    "field", ["epoch_count", "batch_size", "learning_rate", "learning_rate_multiplier", "adapter_size"]
)
@pytest.mark.parametrize("value", [0, -1])
def test_hyperparameters_must_be_positive(field: str, value: int) -> None:
    with pytest.raises(ValidationError) as info:
        Hyperparameters(**{field: value})
    assert info.value.errors()[0]["loc"] == (field,)


# --- times, jobs, errors -----------------------------------------------------------------------


def _job(**fields: Any) -> TuningJob:
    return TuningJob(id="j", backend="fake", state=JobState.RUNNING, **fields)


def test_times_must_be_timezone_aware() -> None:
    aware = datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert _job(create_time=aware).create_time == aware
    assert _job(create_time="2025-01-01T10:00:00Z").create_time == datetime(
        2025, 1, 1, 10, tzinfo=timezone.utc
    )
    for field in ("create_time", "start_time", "end_time", "update_time"):
        with pytest.raises(ValidationError, match="timezone"):
            _job(**{field: datetime(2025, 1, 1, 12)})
    with pytest.raises(ValidationError, match="timezone"):
        MetricPoint(step=1, value=0.5, time=datetime(2025, 1, 1))


@pytest.mark.parametrize("progress", [-0.1, 1.01])
def test_progress_is_a_fraction(progress: float) -> None:
    with pytest.raises(ValidationError):
        _job(progress=progress)


def test_tuning_job_keeps_raw_out_of_its_repr() -> None:
    job = _job(raw={"note": "provider json"})
    assert job.raw == {"note": "provider json"}
    assert "provider json" not in repr(job)


def test_job_state_from_string() -> None:
    assert _job().state is JobState.RUNNING
    assert TuningJob(id="j", backend="b", state="SUCCEEDED").state is JobState.SUCCEEDED
    with pytest.raises(ValidationError):
        TuningJob(id="j", backend="b", state="JOB_STATE_SUCCEEDED")


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (JobError(message="boom"), "boom"),
        (JobError(message="boom", code=3), "3: boom"),
        (JobError(message="boom", code=3, status="INVALID_ARGUMENT"), "3 INVALID_ARGUMENT: boom"),
        (JobError(message="boom", status="INTERNAL"), "INTERNAL: boom"),
    ],
)
def test_job_error_text(error: JobError, text: str) -> None:
    assert str(error) == text


# --- metrics ---------------------------------------------------------------------------------


def test_metrics_sorts_points_by_step_and_gives_rows() -> None:
    metrics = Metrics(
        job_id="j",
        series={
            "train_loss": (
                MetricPoint(step=3, value=0.3, epoch=2),
                MetricPoint(step=1, value=0.9, epoch=1),
                MetricPoint(step=2, value=0.5, epoch=1, time=datetime(2025, 1, 1, tzinfo=timezone.utc)),
            ),
            "accuracy": ({"step": 2, "value": 0.8}, {"step": 1, "value": 0.6}),
        },
    )
    assert [p.step for p in metrics.series["train_loss"]] == [1, 2, 3]
    assert [p.value for p in metrics.series["accuracy"]] == [0.6, 0.8]
    rows = metrics.rows()
    assert rows[0] == {"series": "accuracy", "step": 1, "value": 0.6, "epoch": None, "time": None}
    assert [(r["series"], r["step"]) for r in rows] == [
        ("accuracy", 1),
        ("accuracy", 2),
        ("train_loss", 1),
        ("train_loss", 2),
        ("train_loss", 3),
    ]
    assert rows[3]["time"] == "2025-01-01T00:00:00Z"
    assert Metrics(job_id="j").rows() == []


# --- generation requests, pages ----------------------------------------------------------------------


def test_generate_request_prompt_shortcut() -> None:
    request = GenerateRequest(contents="hello")
    assert request.contents == (Turn(role="user", parts=(TextPart(text="hello"),)),)
    with pytest.raises(ValidationError, match="at least one turn"):
        GenerateRequest(contents=[])
    for bad in ({"top_p": 1.5}, {"top_k": 0}, {"max_output_tokens": 0}, {"temperature": -0.1}):
        with pytest.raises(ValidationError):
            GenerateRequest(contents="hi", **bad)


def test_page_is_generic() -> None:
    page = Page[TuningJob](items=[{"id": "a", "backend": "b", "state": "PENDING"}], next_page_token="t")
    assert isinstance(page.items[0], TuningJob)
    assert Page[int](items=[1, 2]).next_page_token is None
    with pytest.raises(ValidationError):
        Page[int](items=["x"])


# --- capabilities and the protocol's value types --------------------------------------------------------


def test_capabilities_as_data() -> None:
    caps = Capabilities(
        operations=frozenset({Operation.GET, Operation.LIST}),
        hyperparameters=frozenset({"epoch_count"}),
    )
    assert caps.supports("get")
    assert caps.supports(Operation.LIST)
    assert not caps.supports(Operation.CREATE)
    with pytest.raises(ValueError, match="not a valid Operation"):
        caps.supports("fly")
    summary = caps.summary()
    assert summary["operations"] == ["get", "list"]
    assert Capabilities().operations == frozenset(Operation)
    with pytest.raises(ValidationError):
        Capabilities(data_sources=frozenset({"ftp"}))


def test_backend_settings_forbid_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="extra"):
        BackendSettings(endpont="x")
    with pytest.raises(ValidationError):
        BackendSettings(timeout=0)


def test_base_backend_refuses_every_operation() -> None:
    class _Bare(BaseBackend):
        name = "bare"
        maturity = Maturity.PREVIEW

    backend = _Bare()
    assert backend.settings == BackendSettings()
    assert backend.authenticator() is None
    assert repr(backend) == "_Bare(settings=BackendSettings(endpoint=None, emulator=False, timeout=60.0))"
    from tuneport.errors import UnsupportedCapability

    with pytest.raises(UnsupportedCapability) as info:
        backend.get("x")
    assert (info.value.backend, info.value.capability) == ("bare", "get")
    assert str(Operation.GET) == "get"
    assert str(Maturity.SETTINGS_ONLY) == "settings-only"


def test_http_response_and_blocking_call() -> None:
    assert HttpResponse(204, {}, b"").json() == {}
    assert HttpResponse(200, {}, b'{"a": 1}').json() == {"a": 1}
    assert HttpResponse(299, {}, b"").is_success
    assert not HttpResponse(300, {}, b"").is_success
    call = BlockingCall(divmod, 7, 2)
    assert call.run() == (3, 1)
    assert BlockingCall(dict, a=1).run() == {"a": 1}


# --- polling schedules and clocks -----------------------------------------------------------------


def test_poll_policy() -> None:
    policy = PollPolicy(initial=2.0, multiplier=3.0, maximum=20.0)
    assert [policy.interval(n) for n in range(4)] == [2.0, 6.0, 18.0, 20.0]
    assert PollPolicy.fixed(4.0).interval(10) == 4.0
    assert PollPolicy.coerce(None) == PollPolicy()
    assert PollPolicy.coerce(3) == PollPolicy.fixed(3.0)
    assert PollPolicy.coerce(policy) is policy
    for bad in ({"initial": 0}, {"initial": 10, "maximum": 5}, {"multiplier": 0.9}):
        with pytest.raises(ValueError, match="poll intervals must be positive"):
            PollPolicy(**bad)


async def test_manual_clock() -> None:
    clock = ManualClock(start=100.0)
    clock.sleep(2.0)
    clock.advance(1.0)
    await clock.asleep(0.5)
    clock.sleep(-1.0)
    assert clock.monotonic() == 103.5
    assert clock.sleeps == [2.0, 0.5, -1.0]


async def test_system_clock_does_not_sleep_for_nothing() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    clock.sleep(0)
    clock.sleep(-5)
    await clock.asleep(-5)
    assert clock.monotonic() - before < 1.0


def test_metrics_from_native_names_rename_and_keep_the_native_names_reachable() -> None:
    point = MetricPoint(step=1, value=0.5)
    metrics = Metrics.from_native(
        "j", {"mean_loss": [point], "perplexity": [point]}, {"mean_loss": "train_loss"}, {"k": 1}
    )
    assert set(metrics.series) == {"train_loss", "perplexity"}  # an unnamed series keeps its name
    assert metrics.native_names == {"train_loss": "mean_loss"}
    assert metrics.native("mean_loss") == (point,)
    assert metrics.native("perplexity") == (point,)
    with pytest.raises(KeyError):
        metrics.native("train_loss")  # a canonical name that was renamed is not a native one
    with pytest.raises(ValueError, match="two series are named 'train_loss'"):
        Metrics.from_native("j", {"a": [point], "b": [point]}, {"a": "train_loss", "b": "train_loss"})
