"""The clients: sync/async parity, spec checks before any request, paging, waiting, options."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fake_service import (
    CANARY_KEY,
    ENDPOINT,
    FakeAuthenticator,
    FakeSdk,
    FakeService,
    SdkFakeBackend,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import tuneport
from tuneport.client import AsyncTuningClient, TuningClient
from tuneport.errors import (
    InternalServerError,
    JobFailed,
    NotFoundError,
    SpecError,
    UnsupportedCapability,
    UnsupportedParameter,
    WaitTimeout,
)
from tuneport.models import GenerateRequest, Hyperparameters, JobSpec, JobState, TuningJob
from tuneport.plugins import PluginHost
from tuneport.retry import NO_RETRY, RetryPolicy
from tuneport.waiting import ManualClock, PollPolicy

EXAMPLES = [("1", "I"), ("2", "II"), ("3", "III")]


def dump(value: Any) -> Any:
    """Results as plain data, so two runs can be compared."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [dump(v) for v in value]
    return value


# --- sync/async parity ---------------------------------------------------------------


def scenario_sync(client: TuningClient) -> list[Any]:
    results: list[Any] = []
    job = client.create(
        base_model="fake-base-001", training_data=EXAMPLES, display_name="parity", epoch_count=3
    )
    results.append(job)
    results.append(client.get(job.id))
    results.append(list(client.list(page_size=4)))
    results.append(client.wait(job.id, poll=1.0))
    results.append(client.metrics(job.id))
    results.append(client.generate(job.id, "hello"))
    other = client.create(base_model="fake-base-001", training_data=EXAMPLES, display_name="to-cancel")
    results.append(client.cancel(other.id))
    results.append(client.delete(job.id))
    results.append([j.id for j in client.list()])
    return results


async def scenario_async(client: AsyncTuningClient) -> list[Any]:
    results: list[Any] = []
    job = await client.create(
        base_model="fake-base-001", training_data=EXAMPLES, display_name="parity", epoch_count=3
    )
    results.append(job)
    results.append(await client.get(job.id))
    results.append([j async for j in client.list(page_size=4)])
    results.append(await client.wait(job.id, poll=1.0))
    results.append(await client.metrics(job.id))
    results.append(await client.generate(job.id, "hello"))
    other = await client.create(base_model="fake-base-001", training_data=EXAMPLES, display_name="to-cancel")
    results.append(await client.cancel(other.id))
    results.append(await client.delete(job.id))
    results.append([j.id async for j in client.list()])
    return results


async def test_sync_and_async_clients_give_identical_results(host: PluginHost) -> None:
    sync_service, async_service = FakeService(api_key=CANARY_KEY), FakeService(api_key=CANARY_KEY)
    sync_clock, async_clock = ManualClock(), ManualClock()
    sync_service.finish_after = async_service.finish_after = 3
    seeded = sync_service.seed(9)
    assert async_service.seed(9) == seeded

    options: dict[str, Any] = {"backend": "fake", "plugins": host, "environ": {}, "api_key": CANARY_KEY}
    with tuneport.connect(transport=sync_service.transport(), clock=sync_clock, **options) as client:
        sync_results = scenario_sync(client)
    async with tuneport.connect_async(
        transport=async_service.async_transport(), clock=async_clock, **options
    ) as aclient:
        async_results = await scenario_async(aclient)

    assert dump(sync_results) == dump(async_results)
    assert [r.summary() for r in sync_service.requests] == [r.summary() for r in async_service.requests]
    assert sync_clock.sleeps == async_clock.sleeps == [1.0]

    created, fetched, listed, waited, metrics, generation, cancelled, deleted, remaining = sync_results
    assert created.state is JobState.PENDING
    assert created.hyperparameters.epoch_count == 3
    assert fetched.state is JobState.RUNNING
    # 10 jobs over pages of 4: three pages, every job once.
    assert [j.id for j in listed] == [*seeded, created.id]
    assert len(sync_service.requests_to("GET", r"^/v1/tunedModels$")) == 3 + 1
    assert waited.state is JobState.SUCCEEDED
    assert waited.tuned_model == f"tunedModels/{created.id}"
    assert [p.step for p in metrics.series["mean_loss"]] == [1, 2, 3, 4, 5]
    assert generation.text == f"{created.id} says HELLO"
    assert generation.finish_reason == "STOP"
    assert cancelled.state is JobState.CANCELLED
    assert deleted is True
    assert created.id not in remaining
    assert len(remaining) == 10  # 9 seeded + the cancelled one


def test_list_auto_paging_covers_every_job_once(client: TuningClient, service: FakeService) -> None:
    ids = service.seed(23)
    listed = [job.id for job in client.list(page_size=5)]
    assert listed == ids
    assert len(set(listed)) == len(listed)
    pages = service.requests_to("GET", r"^/v1/tunedModels$")
    assert len(pages) == 5
    assert [p.params.get("pageToken") for p in pages] == [None, *(f"after:{ids[i]}" for i in (4, 9, 14, 19))]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(min_value=0, max_value=30), page_size=st.integers(min_value=1, max_value=12))
def test_paging_property_full_coverage_no_repeats(host: PluginHost, count: int, page_size: int) -> None:
    service = FakeService()
    ids = service.seed(count)
    with tuneport.connect(
        backend="fake", plugins=host, environ={}, transport=service.transport(), clock=ManualClock()
    ) as client:
        listed = [job.id for job in client.list(page_size=page_size)]
    assert listed == ids
    # One request per page, and one for the empty listing.
    assert len(service.requests) == max(1, -(-count // page_size))


async def test_async_list_pages_lazily(aclient: AsyncTuningClient, service: FakeService) -> None:
    service.seed(12)
    iterator = aclient.list(page_size=5)
    first = await anext(iterator)
    assert first.display_name == "seeded-0"
    assert len(service.requests) == 1
    rest = [job async for job in iterator]
    assert len(rest) == 11
    assert len(service.requests) == 3


def test_list_pages_lazily(client: TuningClient, service: FakeService) -> None:
    service.seed(12)
    iterator = client.list(page_size=5)
    assert service.requests == []  # nothing is fetched before iteration
    next(iterator)
    assert len(service.requests) == 1
    for _ in range(5):
        next(iterator)
    assert len(service.requests) == 2


def test_list_limit(client: TuningClient, service: FakeService) -> None:
    ids = service.seed(10)
    assert [j.id for j in client.list(page_size=4, limit=5)] == ids[:5]
    assert len(service.requests) == 2
    assert [j.id for j in client.list(limit=100)] == ids


def test_list_limit_on_page_boundary_fetches_no_extra_page(
    client: TuningClient, service: FakeService
) -> None:
    service.seed(10)
    assert len(list(client.list(page_size=4, limit=4))) == 4
    assert len(service.requests) == 1
    assert list(client.list(limit=0)) == []
    assert len(service.requests) == 1


async def test_async_list_limit(aclient: AsyncTuningClient, service: FakeService) -> None:
    ids = service.seed(10)
    assert [j.id async for j in aclient.list(page_size=3, limit=7)] == ids[:7]


def test_list_filter_is_passed_through(client: TuningClient, service: FakeService) -> None:
    done = service.seed(3)
    service.seed(2, state="RUNNING")
    assert [j.id for j in client.list(filter="state=SUCCEEDED")] == done
    assert service.requests[-1].params == {"filter": "state=SUCCEEDED"}


def test_list_page(client: TuningClient, service: FakeService) -> None:
    ids = service.seed(7)
    first = client.list_page(page_size=3)
    assert [j.id for j in first.items] == ids[:3]
    assert first.next_page_token
    second = client.list_page(page_size=3, page_token=first.next_page_token)
    assert [j.id for j in second.items] == ids[3:6]
    last = client.list_page(page_size=3, page_token=second.next_page_token)
    assert [j.id for j in last.items] == ids[6:]
    assert last.next_page_token is None


def test_page_size_is_capped_to_the_declared_maximum(client: TuningClient, service: FakeService) -> None:
    client.list_page(page_size=500)
    assert service.requests[0].params["pageSize"] == "50"


@pytest.mark.parametrize("page_size", [0, -3])
def test_page_size_below_one_is_refused_before_any_request(
    client: TuningClient, service: FakeService, page_size: int
) -> None:
    with pytest.raises(SpecError) as info:
        client.list_page(page_size=page_size)
    assert info.value.field == "page_size"
    with pytest.raises(SpecError):
        list(client.list(page_size=page_size))
    assert service.requests == []


# --- create: specs, keywords and refusals before any request --------------------------


def test_create_with_jobspec_and_with_keywords_send_the_same_request(
    client: TuningClient, service: FakeService
) -> None:
    spec = JobSpec(
        base_model="fake-base-001",
        training_data=EXAMPLES,
        display_name="same",
        labels={"team": "ml"},
        hyperparameters=Hyperparameters(epoch_count=3, batch_size=4, learning_rate=0.001),
    )
    from_spec = client.create(spec)
    from_keywords = client.create(
        base_model="fake-base-001",
        training_data=EXAMPLES,
        display_name="same",
        labels={"team": "ml"},
        epoch_count=3,
        batch_size=4,
        learning_rate=0.001,
    )
    first, second = service.requests_to("POST")
    assert first.body == second.body
    assert first.body["tuningTask"]["hyperparameters"] == {
        "epochCount": 3,
        "batchSize": 4,
        "learningRate": 0.001,
    }
    assert first.body["tuningTask"]["trainingData"]["examples"][1] == {"textInput": "2", "output": "II"}
    assert from_spec.hyperparameters == from_keywords.hyperparameters == spec.hyperparameters
    assert from_spec.id != from_keywords.id


def test_flat_hyperparameters_merge_with_a_hyperparameters_mapping(
    client: TuningClient, service: FakeService
) -> None:
    client.create(
        base_model="fake-base-001", training_data=EXAMPLES, hyperparameters={"batch_size": 2}, epoch_count=5
    )
    assert service.requests[0].body["tuningTask"]["hyperparameters"] == {"batchSize": 2, "epochCount": 5}


def test_create_accepts_uri_and_file_sources(
    client: TuningClient, service: FakeService, tmp_path: Any
) -> None:
    client.create(base_model="fake-base-001", training_data="gs://bucket/train.jsonl")
    # A local file is validated before the request, so it must exist and be valid.
    (tmp_path / "train.jsonl").write_text('{"text_input": "1", "output": "2"}\n', encoding="utf-8")
    client.create(base_model="fake-base-001", training_data=tmp_path / "train.jsonl")
    uri, path = (r.body["tuningTask"]["trainingData"] for r in service.requests)
    assert uri == {"uri": "gs://bucket/train.jsonl"}
    assert path == {"file": (tmp_path / "train.jsonl").as_posix()}


def test_create_with_both_spec_and_keywords_is_a_type_error(client: TuningClient) -> None:
    spec = JobSpec(base_model="fake-base-001", training_data=EXAMPLES)
    with pytest.raises(TypeError):
        client.create(spec, epoch_count=2)


@pytest.mark.parametrize(
    ("fields", "parameter", "model"),
    [
        # With a catalog entry the error names the base model too.
        ({"adapter_size": 4}, "hyperparameters.adapter_size", "fake-base-001"),
        ({"learning_rate_multiplier": 2.0}, "hyperparameters.learning_rate_multiplier", "fake-base-001"),
        # fake-small declares its own, narrower set of hyperparameters.
        ({"base_model": "fake-small", "batch_size": 8}, "hyperparameters.batch_size", "fake-small"),
        ({"validation_data": EXAMPLES}, "validation_data", "fake-base-001"),
    ],
)
def test_unsupported_parameter_is_raised_before_any_request(
    client: TuningClient, service: FakeService, fields: dict[str, Any], parameter: str, model: str | None
) -> None:
    fields = {"base_model": "fake-base-001", "training_data": EXAMPLES, **fields}
    with pytest.raises(UnsupportedParameter) as info:
        client.create(**fields)
    assert info.value.backend == "fake"
    assert info.value.parameter == parameter
    assert info.value.model == model
    assert parameter in str(info.value)
    assert service.requests == []


def test_per_model_hyperparameters_allow_what_the_model_declares(
    client: TuningClient, service: FakeService
) -> None:
    client.create(base_model="fake-small", training_data=EXAMPLES, epoch_count=2)
    assert len(service.requests) == 1


def test_untunable_base_model_is_refused_before_any_request(
    client: TuningClient, service: FakeService
) -> None:
    with pytest.raises(UnsupportedCapability) as info:
        client.create(base_model="fake-retired", training_data=EXAMPLES)
    assert info.value.capability == "create"
    assert "retired in 2024" in str(info.value)
    assert service.requests == []


def test_data_source_kind_not_declared_is_refused(
    make_client: Callable[..., TuningClient], service: FakeService
) -> None:
    limited = make_client(backend="fake-limited")
    with pytest.raises(UnsupportedParameter) as info:
        limited.create(base_model="fake-base-001", training_data="gs://bucket/train.jsonl")
    assert info.value.parameter == "training_data"
    assert "uri" in str(info.value)
    assert service.requests == []


@pytest.mark.parametrize(
    ("call", "operation"),
    [
        (lambda c: c.cancel("job-0001"), "cancel"),
        (lambda c: c.metrics("job-0001"), "metrics"),
        (lambda c: c.generate("job-0001", "hi"), "generate"),
    ],
)
def test_unsupported_operation_is_raised_before_any_request(
    make_client: Callable[..., TuningClient],
    service: FakeService,
    call: Callable[[TuningClient], Any],
    operation: str,
) -> None:
    limited = make_client(backend="fake-limited")
    with pytest.raises(UnsupportedCapability) as info:
        call(limited)
    assert (info.value.backend, info.value.capability) == ("fake-limited", operation)
    assert service.requests == []


async def test_async_unsupported_operation_is_raised_before_any_request(
    make_async_client: Callable[..., AsyncTuningClient], service: FakeService
) -> None:
    limited = make_async_client(backend="fake-limited")
    with pytest.raises(UnsupportedCapability):
        await limited.metrics("job-0001")
    with pytest.raises(UnsupportedParameter):
        await limited.create(base_model="fake-base-001", training_data=EXAMPLES, batch_size=2)
    assert service.requests == []


def test_settings_only_backend_refuses_every_operation(host: PluginHost) -> None:
    """A backend registered with only its settings refuses every operation, sending nothing."""
    with tuneport.connect(backend="fake-settings-only", plugins=host, environ={}) as client:
        with pytest.raises(UnsupportedCapability, match="registration and settings"):
            client.get("anything")
        with pytest.raises(UnsupportedCapability):
            client.create(base_model="fake-base-001", training_data=EXAMPLES)
        assert client.driver.request_count == 0


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"epoch_count": 0}, "hyperparameters.epoch_count", "greater_than"),
        ({"learning_rate": -0.1}, "hyperparameters.learning_rate", "greater_than"),
        ({"training_data": []}, "training_data", "value_error"),
        ({"base_model": ""}, "base_model", "string_too_short"),
        ({"epochs": 3}, "epochs", "extra_forbidden"),
        ({"labels": "team=ml"}, "labels", "dict_type"),
    ],
)
def test_bad_keywords_raise_spec_error_naming_the_field(
    client: TuningClient, service: FakeService, fields: dict[str, Any], field: str, rule: str
) -> None:
    fields = {"base_model": "fake-base-001", "training_data": EXAMPLES, **fields}
    with pytest.raises(SpecError) as info:
        client.create(**fields)
    assert info.value.field == field
    assert info.value.first.rule == rule
    assert field in str(info.value)
    assert service.requests == []


def test_spec_error_lists_every_problem(client: TuningClient) -> None:
    with pytest.raises(SpecError) as info:
        client.create(training_data=EXAMPLES, epoch_count=0, batch_size=-1)
    fields = {p.field for p in info.value.problems}
    assert fields == {"base_model", "hyperparameters.epoch_count", "hyperparameters.batch_size"}


@pytest.mark.parametrize("training_data", [42, {"text_input": "a", "output": "b"}, 1.5])
def test_training_data_of_wrong_type_raises_spec_error(
    client: TuningClient, service: FakeService, training_data: Any
) -> None:
    with pytest.raises(SpecError) as info:
        client.create(base_model="fake-base-001", training_data=training_data)
    assert info.value.field == "training_data"
    assert "expected a path, a gs:// URI or a list of examples" in str(info.value)
    assert service.requests == []


def test_bad_generate_keywords_raise_spec_error(client: TuningClient, service: FakeService) -> None:
    with pytest.raises(SpecError) as info:
        client.generate("job-0001", "hi", temperature=-1)
    assert info.value.field == "temperature"
    with pytest.raises(TypeError):
        client.generate("job-0001", GenerateRequest(contents="hi"), temperature=0.2)
    assert service.requests == []


def test_generate_accepts_a_request_object_or_keywords(client: TuningClient, service: FakeService) -> None:
    (job_id,) = service.seed(1)
    by_keywords = client.generate(job_id, "good morning", temperature=0.5)
    by_object = client.generate(job_id, GenerateRequest(contents="good morning", temperature=0.5))
    assert by_keywords == by_object
    assert by_keywords.text == f"{job_id} says GOOD MORNING (t=0.5)"
    assert by_keywords.usage.total_tokens == by_keywords.usage.prompt_tokens + by_keywords.usage.output_tokens
    assert service.requests[0].body == {
        "contents": [{"role": "user", "parts": [{"text": "good morning"}]}],
        "generationConfig": {"temperature": 0.5},
    }


def test_delete_is_idempotent(client: TuningClient, service: FakeService) -> None:
    (job_id,) = service.seed(1)
    client.delete(job_id)
    client.delete(job_id)  # the 404 is expected by the flow, not raised
    assert job_id not in service.jobs
    assert [r.method for r in service.requests] == ["DELETE", "DELETE"]
    with pytest.raises(NotFoundError):
        client.get(job_id)


# --- wait ------------------------------------------------------------------------------


def _job(client: TuningClient, name: str = "w") -> TuningJob:
    return client.create(base_model="fake-base-001", training_data=EXAMPLES, display_name=name)


def test_wait_reaches_succeeded_with_default_backoff(
    client: TuningClient, service: FakeService, clock: ManualClock
) -> None:
    service.finish_after = 4
    job = client.wait(_job(client).id)
    assert job.state is JobState.SUCCEEDED
    policy = PollPolicy()
    assert clock.sleeps == [policy.interval(0), policy.interval(1), policy.interval(2)] == [5.0, 7.5, 11.25]
    assert len(service.requests_to("GET")) == 4


def test_wait_backoff_grows_and_is_capped(
    client: TuningClient, service: FakeService, clock: ManualClock
) -> None:
    service.finish_after = 8
    client.wait(_job(client).id, poll=PollPolicy(initial=1.0, multiplier=2.0, maximum=5.0))
    assert clock.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]


def test_wait_with_a_fixed_interval(client: TuningClient, service: FakeService, clock: ManualClock) -> None:
    service.finish_after = 5
    client.wait(_job(client).id, poll=2.0)
    assert clock.sleeps == [2.0] * 4
    assert clock.now == 8.0


def test_wait_reports_every_polled_job(client: TuningClient, service: FakeService) -> None:
    service.finish_after = 3
    seen: list[TuningJob] = []
    final = client.wait(_job(client).id, poll=1.0, progress=seen.append)
    assert [j.state for j in seen] == [JobState.RUNNING, JobState.RUNNING, JobState.SUCCEEDED]
    assert seen[-1] == final
    assert len(seen) == len(service.requests_to("GET"))


def test_wait_with_a_progress_bar(client: TuningClient, service: FakeService) -> None:
    job = client.wait(_job(client).id, poll=1.0, progress=True)
    assert job.state is JobState.SUCCEEDED


def test_wait_raises_job_failed_with_the_error(client: TuningClient, service: FakeService) -> None:
    job = _job(client, "fail")
    with pytest.raises(JobFailed) as info:
        client.wait(job.id, poll=1.0)
    assert info.value.job.state is JobState.FAILED
    assert info.value.job.error.message == "training diverged"
    assert "training diverged" in str(info.value)
    assert job.id in str(info.value)


def test_wait_returns_the_failed_job_when_asked(client: TuningClient) -> None:
    job = client.wait(_job(client, "fail").id, poll=1.0, raise_on_failure=False)
    assert job.state is JobState.FAILED
    assert job.error is not None
    assert job.error.status == "INVALID_ARGUMENT"


def test_wait_returns_a_cancelled_job(client: TuningClient) -> None:
    job = _job(client, "stuck")
    client.get(job.id)
    client.cancel(job.id)
    assert client.wait(job.id).state is JobState.CANCELLED


def test_wait_timeout_carries_the_last_job(client: TuningClient, clock: ManualClock) -> None:
    job = _job(client, "stuck")
    with pytest.raises(WaitTimeout) as info:
        client.wait(job.id, timeout=30, poll=7.0)
    # The last pause is shortened so the timeout is not overshot.
    assert clock.sleeps == [7.0, 7.0, 7.0, 7.0, 2.0]
    assert clock.now == 30.0
    assert info.value.job_id == job.id
    assert info.value.timeout == 30
    assert info.value.last.state is JobState.RUNNING
    assert "RUNNING" in str(info.value)


async def test_async_wait_matches_sync_wait(
    aclient: AsyncTuningClient, service: FakeService, clock: ManualClock
) -> None:
    service.finish_after = 5
    seen: list[JobState] = []
    job = await aclient.create(base_model="fake-base-001", training_data=EXAMPLES)
    final = await aclient.wait(
        job.id,
        poll=PollPolicy(initial=1.0, multiplier=3.0, maximum=10.0),
        progress=lambda j: seen.append(j.state),
    )
    assert final.state is JobState.SUCCEEDED
    assert clock.sleeps == [1.0, 3.0, 9.0, 10.0]
    assert seen == [JobState.RUNNING] * 4 + [JobState.SUCCEEDED]


def test_wait_applies_the_retry_policy_to_each_poll(client: TuningClient, service: FakeService) -> None:
    job = _job(client)
    service.fail_next(503, method="GET")
    with pytest.raises(InternalServerError):
        client.wait(job.id, poll=1.0, retry=NO_RETRY)
    service.fail_next(503, method="GET")
    assert client.wait(job.id, poll=1.0).state is JobState.SUCCEEDED  # the default policy retries


async def test_async_wait_failures_and_timeout(aclient: AsyncTuningClient, clock: ManualClock) -> None:
    failing = await aclient.create(base_model="fake-base-001", training_data=EXAMPLES, display_name="fail")
    with pytest.raises(JobFailed):
        await aclient.wait(failing.id, poll=1.0)
    stuck = await aclient.create(base_model="fake-base-001", training_data=EXAMPLES, display_name="stuck")
    with pytest.raises(WaitTimeout) as info:
        await aclient.wait(stuck.id, timeout=10, poll=4.0)
    assert info.value.last.id == stuck.id


# --- transport, context managers, per-call options --------------------------------------


def test_requests_carry_auth_and_user_agent(client: TuningClient, service: FakeService) -> None:
    client.get(service.seed(1)[0])
    (sent,) = service.requests
    assert sent.headers["x-goog-api-key"] == CANARY_KEY
    assert sent.headers["user-agent"] == f"tuneport/{tuneport.__version__}"
    assert sent.path.startswith("/v1/tunedModels/")


def test_injected_http_client_is_used_and_left_open(
    make_client: Callable[..., TuningClient], service: FakeService
) -> None:
    http = httpx.Client(transport=service.transport(), headers={"x-injected": "yes"})
    client = make_client(http_client=http)
    client.get(service.seed(1)[0])
    assert service.requests[0].headers["x-injected"] == "yes"
    client.close()
    assert not http.is_closed
    http.close()


def test_owned_http_client_is_closed_by_the_context_manager(host: PluginHost, service: FakeService) -> None:
    closed: list[str] = []
    with tuneport.connect(backend="fake", plugins=host, environ={}, transport=service.transport()) as client:
        client.add_closer(lambda: closed.append("first"))
        client.add_closer(lambda: closed.append("second"))
        assert not client.driver.http.is_closed
    assert client.driver.http.is_closed
    assert closed == ["second", "first"]


async def test_async_context_manager_closes_owned_client_only(host: PluginHost, service: FakeService) -> None:
    options: dict[str, Any] = {"backend": "fake", "plugins": host, "environ": {}, "api_key": CANARY_KEY}
    async with tuneport.connect_async(transport=service.async_transport(), **options) as owned:
        await owned.list_page()
    assert owned.driver.http.is_closed

    injected = httpx.AsyncClient(transport=service.transport())
    async with tuneport.connect_async(http_client=injected, **options) as client:
        await client.list_page()
    assert not injected.is_closed
    await injected.aclose()
    assert len(service.requests) == 2


def test_default_timeout_comes_from_settings_and_can_be_overridden_per_call(
    make_client: Callable[..., TuningClient], service: FakeService
) -> None:
    (job_id,) = service.seed(1)
    client = make_client(timeout=12.0)
    client.get(job_id)
    client.get(job_id, timeout=2.5)
    default, override = (r.timeout for r in service.requests)
    assert default == {"connect": 12.0, "read": 12.0, "write": 12.0, "pool": 12.0}
    assert override == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}


async def test_async_per_call_timeout(aclient: AsyncTuningClient, service: FakeService) -> None:
    await aclient.list_page(timeout=3.0)
    assert service.requests[0].timeout["read"] == 3.0


def test_per_call_retry_overrides_the_client_policy(
    make_client: Callable[..., TuningClient], service: FakeService, clock: ManualClock
) -> None:
    (job_id,) = service.seed(1)
    client = make_client()  # DEFAULT_RETRY: five attempts
    service.fail_next(503, times=5)
    with pytest.raises(InternalServerError):
        client.get(job_id, retry=NO_RETRY)
    assert len(service.requests) == 1
    assert client.get(job_id, retry=RetryPolicy(max_attempts=5)).id == job_id
    assert len(service.requests) == 1 + 5


def test_client_level_retry_policy(make_client: Callable[..., TuningClient], service: FakeService) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=2))
    service.fail_next(500, times=3)
    with pytest.raises(InternalServerError):
        client.list_page()
    assert len(service.requests) == 2


async def test_blocking_authenticator_runs_in_a_worker_thread(
    make_async_client: Callable[..., AsyncTuningClient],
    make_client: Callable[..., TuningClient],
    service: FakeService,
) -> None:
    aclient = make_async_client(auth_blocking=True)
    await aclient.list_page()
    auth = aclient.driver.authenticator
    assert isinstance(auth, FakeAuthenticator)
    assert auth.threads
    assert threading.get_ident() not in auth.threads

    sync_client = make_client(auth_blocking=True)
    sync_client.list_page()
    assert sync_client.driver.authenticator.threads == [threading.get_ident()]


def test_client_repr_and_capabilities(client: TuningClient) -> None:
    assert repr(client) == "TuningClient(backend='fake')"
    assert client.capabilities.max_page_size == 50
    assert client.backend.settings.endpoint == ENDPOINT


# --- the escape hatch: an SDK-style backend with BlockingCall effects -------------------


def sdk_scenario_sync(client: TuningClient) -> list[Any]:
    created = client.create(base_model="sdk-base", training_data=EXAMPLES, display_name="one")
    client.create(base_model="sdk-base", training_data=EXAMPLES, display_name="two")
    client.create(base_model="sdk-base", training_data=EXAMPLES, display_name="three")
    listed = [j.id for j in client.list(page_size=2)]
    waited = client.wait(created.id, poll=1.0)
    client.delete(created.id)
    with pytest.raises(NotFoundError):
        client.get(created.id)
    return [created, listed, waited, [j.id for j in client.list()]]


async def sdk_scenario_async(client: AsyncTuningClient) -> list[Any]:
    created = await client.create(base_model="sdk-base", training_data=EXAMPLES, display_name="one")
    await client.create(base_model="sdk-base", training_data=EXAMPLES, display_name="two")
    await client.create(base_model="sdk-base", training_data=EXAMPLES, display_name="three")
    listed = [j.id async for j in client.list(page_size=2)]
    waited = await client.wait(created.id, poll=1.0)
    await client.delete(created.id)
    with pytest.raises(NotFoundError):
        await client.get(created.id)
    return [created, listed, waited, [j.id async for j in client.list()]]


async def test_blocking_call_backend_through_both_clients() -> None:
    sync_sdk, async_sdk = FakeSdk(), FakeSdk()
    sync_clock, async_clock = ManualClock(), ManualClock()
    with TuningClient(SdkFakeBackend(sdk=sync_sdk), clock=sync_clock) as client:
        sync_results = sdk_scenario_sync(client)
        assert client.driver.request_count == 0
    async with AsyncTuningClient(SdkFakeBackend(sdk=async_sdk), clock=async_clock) as aclient:
        async_results = await sdk_scenario_async(aclient)
        assert aclient.driver.request_count == 0

    assert dump(sync_results) == dump(async_results)
    created, listed, waited, remaining = sync_results
    assert created.state is JobState.PENDING
    assert listed == ["sdk-1", "sdk-2", "sdk-3"]
    assert waited.state is JobState.SUCCEEDED
    assert remaining == ["sdk-2", "sdk-3"]
    assert sync_clock.sleeps == async_clock.sleeps == [1.0]
    # The sync client calls the SDK in place; the async one never blocks the event loop.
    main = threading.get_ident()
    assert set(sync_sdk.threads) == {main}
    assert main not in async_sdk.threads


def test_blocking_call_backend_through_connect(host: PluginHost) -> None:
    with tuneport.connect(backend="fake-sdk", plugins=host, environ={}, clock=ManualClock()) as client:
        job = client.create(base_model="sdk-base", training_data=EXAMPLES)
        assert isinstance(client.backend, SdkFakeBackend)
        assert job.id in client.backend.sdk.jobs
        with pytest.raises(UnsupportedCapability):
            client.metrics(job.id)
