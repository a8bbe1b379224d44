"""The error tree, status mapping, the retry policy and secret hygiene."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fake_service import (
    CANARY_KEY,
    CANARY_SECRET,
    FakeService,
    google_error,
    request_info,
    retry_info,
)
from hypothesis import given
from hypothesis import strategies as st

import tuneport
from tuneport.client import AsyncTuningClient, TuningClient
from tuneport.errors import (
    AlreadyExistsError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    InternalServerError,
    JobFailed,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TuneportError,
    redact,
)
from tuneport.plugins import PluginHost
from tuneport.protocol import HttpRequest, request
from tuneport.retry import DEFAULT_RETRY, NO_RETRY, RETRYABLE_STATUSES, RetryPolicy
from tuneport.waiting import ManualClock

EXAMPLES = [("1", "I")]


@pytest.fixture
def job_id(service: FakeService) -> str:
    return service.seed(1)[0]


def _create(client: TuningClient, **options: Any) -> Any:
    return client.create(base_model="fake-base-001", training_data=EXAMPLES, **options)


# --- status mapping ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "error_class"),
    [
        (400, "INVALID_ARGUMENT", BadRequestError),
        (401, "UNAUTHENTICATED", AuthenticationError),
        (403, "PERMISSION_DENIED", PermissionDeniedError),
        (404, "NOT_FOUND", NotFoundError),
        (409, "ALREADY_EXISTS", AlreadyExistsError),
        (429, "RESOURCE_EXHAUSTED", RateLimitError),
        (500, "INTERNAL", InternalServerError),
        (503, "UNAVAILABLE", InternalServerError),
    ],
)
def test_status_maps_to_error_class(
    client: TuningClient,
    service: FakeService,
    job_id: str,
    code: int,
    status: str,
    error_class: type[APIStatusError],
) -> None:
    service.fail_next(code, "something is off", status, details=[request_info("r1")])
    with pytest.raises(error_class) as info:
        client.get(job_id, retry=NO_RETRY)
    error = info.value
    assert type(error) is error_class
    if code < 500:
        assert error_class.status_code == code  # the class names its status too
    assert isinstance(error, (APIStatusError, APIError, TuneportError))
    assert error.status_code == code
    assert error.status == status
    assert error.request_id == "r1"
    assert error.message == "something is off"
    assert error.method == "GET"
    assert error.url == f"http://fake.test/v1/tunedModels/{job_id}"
    assert error.body["error"]["code"] == code
    assert str(error) == f"{code} {status}: something is off (request id r1)"


def test_unmapped_status_gives_the_generic_status_error(
    client: TuningClient, service: FakeService, job_id: str
) -> None:
    service.fail_next(418, "teapot")
    with pytest.raises(APIStatusError) as info:
        client.get(job_id)
    assert type(info.value) is APIStatusError
    assert info.value.status_code == 418
    assert info.value.status is None


def test_request_id_from_the_header(client: TuningClient, service: FakeService, job_id: str) -> None:
    service.fail_next(404, "gone", "NOT_FOUND", headers={"x-request-id": "hdr-7"})
    with pytest.raises(NotFoundError) as info:
        client.get(job_id)
    assert info.value.request_id == "hdr-7"


def test_request_id_in_details_wins_over_the_header(
    client: TuningClient, service: FakeService, job_id: str
) -> None:
    service.fail_next(404, "gone", details=[request_info("body-1")], headers={"x-request-id": "hdr-7"})
    with pytest.raises(NotFoundError) as info:
        client.get(job_id)
    assert info.value.request_id == "body-1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"upstream connect error", "upstream connect error"),
        (b"", "HTTP 502"),
        (json.dumps([google_error(502, "wrapped in a list", "UNAVAILABLE")]).encode(), "wrapped in a list"),
        (b'{"unexpected": "shape"}', "HTTP 502"),
    ],
)
def test_error_bodies_that_are_not_the_usual_shape(
    client: TuningClient, service: FakeService, job_id: str, content: bytes, message: str
) -> None:
    service.fail_next(502, content=content)
    with pytest.raises(InternalServerError) as info:
        client.get(job_id, retry=NO_RETRY)
    assert info.value.message == message
    assert info.value.status_code == 502


def test_retry_after_from_header_and_from_retry_info(
    client: TuningClient, service: FakeService, job_id: str
) -> None:
    service.fail_next(429, "slow down", "RESOURCE_EXHAUSTED", headers={"retry-after": "7"})
    with pytest.raises(RateLimitError) as info:
        client.get(job_id, retry=NO_RETRY)
    assert info.value.retry_after == 7.0

    service.fail_next(429, "slow down", "RESOURCE_EXHAUSTED", details=[retry_info("3s")])
    with pytest.raises(RateLimitError) as info:
        client.get(job_id, retry=NO_RETRY)
    assert info.value.retry_after == 3.0

    # The header wins over the body's hint.
    service.fail_next(429, "slow down", details=[retry_info("3s")], headers={"retry-after": "1.5"})
    with pytest.raises(RateLimitError) as info:
        client.get(job_id, retry=NO_RETRY)
    assert info.value.retry_after == 1.5


def test_retry_after_as_an_http_date(client: TuningClient, service: FakeService, job_id: str) -> None:
    service.fail_next(503, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    with pytest.raises(InternalServerError) as info:
        client.get(job_id, retry=NO_RETRY)
    assert info.value.retry_after == 0.0  # a date in the past: retry now


def test_malformed_retry_after_is_ignored(client: TuningClient, service: FakeService, job_id: str) -> None:
    service.fail_next(429, "slow down", "RESOURCE_EXHAUSTED", headers={"retry-after": "soon"})
    with pytest.raises(RateLimitError) as info:
        client.get(job_id, retry=NO_RETRY)
    assert info.value.retry_after is None


# --- connection errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc_type", "error_class", "sent"),
    [
        (httpx.ConnectError, APIConnectionError, False),
        (httpx.ConnectTimeout, APITimeoutError, False),
        (httpx.ReadTimeout, APITimeoutError, True),
        (httpx.ReadError, APIConnectionError, True),
        (httpx.RemoteProtocolError, APIConnectionError, True),
    ],
)
def test_transport_errors_map_to_connection_errors(
    client: TuningClient,
    service: FakeService,
    job_id: str,
    exc_type: type[httpx.TransportError],
    error_class: type[APIConnectionError],
    sent: bool,
) -> None:
    service.raise_next(exc_type, "the network said no")
    with pytest.raises(error_class) as info:
        client.get(job_id, retry=NO_RETRY)
    assert type(info.value) is error_class
    assert info.value.request_sent is sent
    assert info.value.method == "GET"
    assert "the network said no" in str(info.value)
    assert not isinstance(info.value, APIStatusError)


async def test_async_transport_errors_map_to_connection_errors(
    aclient: AsyncTuningClient, service: FakeService, job_id: str
) -> None:
    service.raise_next(httpx.ConnectError)
    with pytest.raises(APIConnectionError) as info:
        await aclient.get(job_id, retry=NO_RETRY)
    assert info.value.request_sent is False
    service.raise_next(httpx.ReadTimeout)
    with pytest.raises(APITimeoutError) as timeout:
        await aclient.get(job_id, retry=NO_RETRY)
    assert timeout.value.request_sent is True


# --- the retry policy, through the driver -----------------------------------------------------


@pytest.mark.parametrize("code", sorted(RETRYABLE_STATUSES))
def test_retryable_statuses_are_retried(
    client: TuningClient, service: FakeService, clock: ManualClock, job_id: str, code: int
) -> None:
    service.fail_next(code)
    assert client.get(job_id).id == job_id
    assert len(service.requests) == 2
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409])
def test_other_statuses_are_not_retried(
    client: TuningClient, service: FakeService, clock: ManualClock, job_id: str, code: int
) -> None:
    service.fail_next(code)
    with pytest.raises(APIStatusError):
        client.get(job_id)
    assert len(service.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ReadTimeout, httpx.ReadError])
def test_connection_errors_are_retried_for_idempotent_requests(
    client: TuningClient, service: FakeService, job_id: str, exc_type: type[httpx.TransportError]
) -> None:
    service.raise_next(exc_type, times=2)
    assert client.get(job_id).id == job_id
    assert len(service.requests) == 3


@pytest.mark.parametrize(
    ("fault", "retried"),
    [
        (("raise", httpx.ConnectError), True),  # never reached the service
        (("raise", httpx.ConnectTimeout), True),  # never reached the service
        (("status", 429), True),  # refused before processing
        (("raise", httpx.ReadTimeout), False),  # may have created the job
        (("raise", httpx.ReadError), False),
        (("status", 503), False),
        (("status", 500), False),
    ],
)
def test_non_idempotent_requests_are_retried_only_when_safe(
    client: TuningClient, service: FakeService, fault: tuple[str, Any], retried: bool
) -> None:
    kind, what = fault
    if kind == "raise":
        service.raise_next(what, method="POST")
    else:
        service.fail_next(what, method="POST")
    if retried:
        job = _create(client)
        assert list(service.jobs) == [job.id]
        assert len(service.requests) == 2
    else:
        with pytest.raises(APIError):
            _create(client)
        assert len(service.requests) == 1


def test_non_idempotent_flag_on_a_raw_request(
    client: TuningClient, service: FakeService, job_id: str
) -> None:
    def flow(idempotent: bool) -> Any:
        response = yield from request(
            HttpRequest("GET", f"http://fake.test/v1/tunedModels/{job_id}", idempotent=idempotent)
        )
        return response.status_code

    service.fail_next(503)
    assert client.driver.run(flow(True)) == 200
    assert len(service.requests) == 2
    service.fail_next(503)
    with pytest.raises(InternalServerError):
        client.driver.run(flow(False))
    assert len(service.requests) == 3


async def test_async_retries_follow_the_same_policy(
    aclient: AsyncTuningClient, service: FakeService, clock: ManualClock, job_id: str
) -> None:
    service.fail_next(503, times=2)
    assert (await aclient.get(job_id)).id == job_id
    assert len(clock.sleeps) == 2
    service.raise_next(httpx.ReadTimeout, method="POST")
    with pytest.raises(APITimeoutError):
        await aclient.create(base_model="fake-base-001", training_data=EXAMPLES)
    assert len(service.requests_to("POST")) == 1


def test_retry_after_is_honoured_and_capped(
    make_client: Callable[..., TuningClient], service: FakeService, clock: ManualClock, job_id: str
) -> None:
    client = make_client(retry=RetryPolicy(retry_after_cap=20.0))
    service.fail_next(429, headers={"retry-after": "4"})
    service.fail_next(503, headers={"retry-after": "120"})
    service.fail_next(503, details=[retry_info("2.5s")])
    service.fail_next(503, headers={"retry-after": "Fri, 01 Jan 2999 00:00:00 GMT"})
    assert client.get(job_id).id == job_id
    assert clock.sleeps == [4.0, 20.0, 2.5, 20.0]


def test_deadline_stops_retrying(
    make_client: Callable[..., TuningClient], service: FakeService, clock: ManualClock, job_id: str
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=10, deadline=10.0))
    service.fail_next(503, headers={"retry-after": "4"}, times=10)
    with pytest.raises(InternalServerError):
        client.get(job_id)
    # Slept at 0 and 4; at 8 another 4 s would overrun the 10 s deadline.
    assert clock.sleeps == [4.0, 4.0]
    assert len(service.requests) == 3


def test_deadline_covers_every_request_of_a_call(
    client: TuningClient, service: FakeService, clock: ManualClock
) -> None:
    """The budget starts with the call, not with each request of its flow."""
    (job_id,) = service.seed(1)
    service.fail_next(503, headers={"retry-after": "6"}, path=r"^/v1/tunedModels$")
    service.fail_next(503, headers={"retry-after": "6"}, path=job_id, times=2)

    def two_requests() -> Any:
        first = yield from request(HttpRequest("GET", "http://fake.test/v1/tunedModels"))
        second = yield from request(HttpRequest("GET", f"http://fake.test/v1/tunedModels/{job_id}"))
        return first.status_code, second.status_code

    with pytest.raises(InternalServerError):
        client.driver.run(two_requests(), retry=RetryPolicy(deadline=10.0))
    # First request: failed at 0, retried at 6.  Second: failed at 6; 6 + 6 > 10.
    assert clock.sleeps == [6.0]
    assert [r.path for r in service.requests] == ["/v1/tunedModels"] * 2 + [f"/v1/tunedModels/{job_id}"]
    # With a budget for both, the call succeeds.
    service.fail_next(503, headers={"retry-after": "6"}, path=r"^/v1/tunedModels$")
    assert client.driver.run(two_requests(), retry=RetryPolicy(deadline=20.0)) == (200, 200)


def test_per_call_timeout_replaces_the_request_timeout(client: TuningClient, service: FakeService) -> None:
    def flow() -> Any:
        yield from request(HttpRequest("GET", "http://fake.test/v1/tunedModels", timeout=5.0))

    client.driver.run(flow())
    client.driver.run(flow(), timeout=2.0)
    assert [r.timeout["read"] for r in service.requests] == [5.0, 2.0]


def test_no_deadline(
    make_client: Callable[..., TuningClient], service: FakeService, clock: ManualClock, job_id: str
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=4, deadline=None))
    service.fail_next(503, headers={"retry-after": "1000"}, times=3)
    assert client.get(job_id).id == job_id
    assert clock.sleeps == [60.0, 60.0, 60.0]


def test_max_attempts(
    make_client: Callable[..., TuningClient], service: FakeService, clock: ManualClock, job_id: str
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=3))
    service.fail_next(500, times=5)
    with pytest.raises(InternalServerError):
        client.get(job_id)
    assert len(service.requests) == 3
    assert len(clock.sleeps) == 2


def test_backoff_delays_follow_the_seeded_policy(
    make_client: Callable[..., TuningClient], service: FakeService, clock: ManualClock, job_id: str
) -> None:
    client = make_client(retry=RetryPolicy(rng=random.Random(0)))
    service.fail_next(503, times=4)
    client.get(job_id)
    replica = random.Random(0)
    assert clock.sleeps == [replica.uniform(0, ceiling) for ceiling in (0.5, 1.0, 2.0, 4.0)]


def test_one_log_line_per_retry_without_secrets(
    make_client: Callable[..., TuningClient],
    service: FakeService,
    job_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client()
    service.fail_next(503, f"bad key {CANARY_KEY}", headers={"retry-after": "1"}, times=2)
    with caplog.at_level(logging.DEBUG, logger="tuneport"):
        client.get(job_id)
    records = [r for r in caplog.records if r.name == "tuneport.http"]
    assert len(records) == 2
    assert all(r.levelno == logging.WARNING for r in records)
    first = records[0].getMessage()
    assert first == (
        f"retrying GET http://fake.test/v1/tunedModels/{job_id} in 1.00s (attempt 2 of 5): "
        "InternalServerError 503"
    )
    assert "attempt 3 of 5" in records[1].getMessage()
    assert CANARY_KEY not in caplog.text


def test_no_log_line_when_nothing_is_retried(
    client: TuningClient, service: FakeService, job_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    service.fail_next(404)
    with caplog.at_level(logging.DEBUG, logger="tuneport"), pytest.raises(NotFoundError):
        client.get(job_id)
    assert [r for r in caplog.records if r.name == "tuneport.http"] == []


# --- the retry policy as data ------------------------------------------------------------------


def _status_error(code: int, retry_after: float | None = None) -> APIStatusError:
    from tuneport.errors import status_error_class

    return status_error_class(code)("x", status_code=code, retry_after=retry_after)


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (_status_error(408), True, True),
        (_status_error(429), True, True),
        (_status_error(500), True, True),
        (_status_error(502), True, True),
        (_status_error(503), True, True),
        (_status_error(504), True, True),
        (_status_error(400), True, False),
        (_status_error(404), True, False),
        (_status_error(501), True, False),
        (_status_error(429), False, True),
        (_status_error(503), False, False),
        (_status_error(408), False, False),
        (APIConnectionError("x", request_sent=False), False, True),
        (APIConnectionError("x", request_sent=True), False, False),
        (APIConnectionError("x", request_sent=True), True, True),
        (APITimeoutError("x", request_sent=True), False, False),
        (APITimeoutError("x", request_sent=False), False, True),
        (APIError("x"), True, False),
    ],
)
def test_is_retryable(error: APIError, idempotent: bool, expected: bool) -> None:
    assert DEFAULT_RETRY.is_retryable(error, idempotent=idempotent) is expected


def test_jitter_is_bounded_by_the_backoff_ceiling() -> None:
    policy = RetryPolicy(initial_backoff=0.5, multiplier=2.0, max_backoff=8.0, rng=random.Random(0))
    ceilings = [min(8.0, 0.5 * 2.0 ** (attempt - 1)) for attempt in range(1, 40)]
    delays = [policy.delay(attempt) for attempt in range(1, 40)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays) <= 8.0
    # Full jitter: not pinned to the ceiling.
    assert any(d < c / 2 for d, c in zip(delays, ceilings, strict=True))
    again = RetryPolicy(initial_backoff=0.5, multiplier=2.0, max_backoff=8.0, rng=random.Random(0))
    assert [again.delay(attempt) for attempt in range(1, 40)] == delays


def test_retry_after_beats_jitter_and_is_capped() -> None:
    policy = RetryPolicy(retry_after_cap=10.0)
    assert policy.delay(1, _status_error(429, retry_after=3.0)) == 3.0
    assert policy.delay(1, _status_error(429, retry_after=99.0)) == 10.0
    assert policy.delay(1, _status_error(429, retry_after=-5.0)) == 0.0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"initial_backoff": -1.0}, "backoff must be non-negative"),
        ({"max_backoff": -1.0}, "backoff must be non-negative"),
        ({"multiplier": 0.5}, "multiplier at least 1"),
    ],
)
def test_invalid_policies_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**changes)


def test_with_options_and_no_retry() -> None:
    assert DEFAULT_RETRY.with_options(max_attempts=2).max_attempts == 2
    assert DEFAULT_RETRY.max_attempts == 5
    assert NO_RETRY.max_attempts == 1


# --- flows: expected statuses, errors thrown into the flow ---------------------------------------


def test_expected_statuses_are_returned_to_the_flow(client: TuningClient, service: FakeService) -> None:
    def flow() -> Any:
        response = yield from request(
            HttpRequest("GET", "http://fake.test/v1/tunedModels/missing", expected=frozenset({404}))
        )
        return response.status_code, response.json()["error"]["status"]

    assert client.driver.run(flow()) == (404, "NOT_FOUND")


def test_expected_retryable_status_is_not_retried(client: TuningClient, service: FakeService) -> None:
    service.fail_next(503)

    def flow() -> Any:
        response = yield from request(
            HttpRequest("GET", "http://fake.test/v1/tunedModels", expected=frozenset({503}))
        )
        return response.status_code

    assert client.driver.run(flow()) == 503
    assert len(service.requests) == 1


async def test_errors_are_thrown_into_the_flow(
    client: TuningClient, aclient: AsyncTuningClient, service: FakeService
) -> None:
    cleaned: list[str] = []

    def flow() -> Any:
        try:
            yield from request(HttpRequest("GET", "http://fake.test/v1/tunedModels/missing"))
        except NotFoundError as error:
            return f"handled {error.status_code}"
        finally:
            cleaned.append("done")
        return "not reached"

    assert client.driver.run(flow()) == "handled 404"
    assert await aclient.driver.run(flow()) == "handled 404"
    assert cleaned == ["done", "done"]


# --- secrets never leak -------------------------------------------------------------------------


def _assert_hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


def test_canary_key_never_appears_in_errors_reprs_or_logs(
    client: TuningClient, service: FakeService, job_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.get(job_id)
    assert service.requests[-1].headers["x-goog-api-key"] == CANARY_KEY  # the key is really in use

    service.fail_next(
        403,
        f"API key {CANARY_KEY} lacks permission",
        "PERMISSION_DENIED",
        headers={"x-echo": CANARY_KEY, "retry-after": "0"},
    )
    with pytest.raises(PermissionDeniedError) as status_error:
        client.get(job_id)
    service.fail_next(503, f"overloaded while serving {CANARY_KEY}", times=2)
    client.get(job_id)  # retried: logs lines
    service.raise_next(httpx.ConnectError, f"refused for Bearer {CANARY_KEY}", times=5)
    with pytest.raises(APIConnectionError) as connection_error:
        client.get(job_id)

    texts = [
        str(status_error.value),
        repr(status_error.value),
        status_error.value.message,
        json.dumps(status_error.value.body),
        str(status_error.value.url),
        str(connection_error.value),
        repr(connection_error.value),
        repr(client),
        repr(client.backend),
        repr(client.backend.settings),
        str(client.backend.settings),
        client.backend.settings.model_dump_json(),
        repr(client.driver.authenticator),
        caplog.text,
    ]
    for text in texts:
        _assert_hidden(text, CANARY_KEY)
    assert "***" in status_error.value.message


def test_error_body_ending_in_a_key_parameter_is_redacted(
    client: TuningClient, service: FakeService, job_id: str
) -> None:
    service.fail_next(400, "see https://console.test/apis?key=abc123", "INVALID_ARGUMENT")
    with pytest.raises(BadRequestError) as info:
        client.get(job_id)
    assert info.value.body["error"]["message"] == "see https://console.test/apis?key=***"
    assert info.value.message == "see https://console.test/apis?key=***"


def test_secrets_listed_by_the_authenticator_are_masked(
    host: PluginHost, caplog: pytest.LogCaptureFixture
) -> None:
    """A secret of no known shape is masked because the authenticator lists it."""
    service = FakeService(api_key=CANARY_SECRET)
    with tuneport.connect(
        backend="fake",
        plugins=host,
        environ={},
        transport=service.transport(),
        clock=ManualClock(),
        api_key=CANARY_SECRET,
    ) as client:
        (job_id,) = service.seed(1)
        service.fail_next(400, f"the key {CANARY_SECRET} is malformed", "INVALID_ARGUMENT")
        with pytest.raises(BadRequestError) as status_error:
            client.get(job_id)
        service.raise_next(httpx.ReadError, f"reset while sending {CANARY_SECRET}")
        with pytest.raises(APIConnectionError) as connection_error:
            client.get(job_id, retry=NO_RETRY)
        texts = [
            str(status_error.value),
            status_error.value.message,
            json.dumps(status_error.value.body),
            str(connection_error.value),
            repr(client.backend),
            caplog.text,
        ]
    for text in texts:
        _assert_hidden(text, CANARY_SECRET)
    assert status_error.value.message == "the key *** is malformed"


def test_job_failure_message_is_redacted(client: TuningClient, service: FakeService) -> None:
    service.failure_message = f"could not read data with key {CANARY_KEY}"
    job = _create(client, display_name="fail")
    with pytest.raises(JobFailed) as info:
        client.wait(job.id, poll=1.0)
    _assert_hidden(str(info.value), CANARY_KEY)


def test_config_errors_do_not_echo_secrets(host: PluginHost) -> None:
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(
            backend="gemini", plugins=host, environ={}, endpoint=f"https://x.test/?key={CANARY_KEY}"
        )
    _assert_hidden(str(info.value), CANARY_KEY)
    with pytest.raises(ConfigError) as info:
        tuneport.open_backend(backend="fake", plugins=host, environ={}, api_key=CANARY_KEY, timeout="slow")
    _assert_hidden(str(info.value), CANARY_KEY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {CANARY_KEY} here", "key *** here"),
        ("token ya29.a0AfH6SMBx-y_z.123 end", "token *** end"),
        ("Authorization: Bearer abc.DEF-123/+= tail", "Authorization: Bearer *** tail"),
        ("GET /v1/x?key=abc123&alt=json", "GET /v1/x?key=***&alt=json"),
        ("GET /v1/x?alt=json&access_token=tok", "GET /v1/x?alt=json&access_token=***"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redact_known_shapes(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_given_secrets() -> None:
    assert redact(f"a {CANARY_SECRET} b {CANARY_SECRET}", [CANARY_SECRET]) == "a *** b ***"
    # Too short to mask safely, or empty: left alone.
    assert redact("abc and more", ["abc", ""]) == "abc and more"


@given(
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=4, max_size=40),
    prefix=st.text(max_size=30),
    suffix=st.text(max_size=30),
)
def test_redact_never_lets_a_given_secret_through(secret: str, prefix: str, suffix: str) -> None:
    assert secret not in redact(prefix + secret + suffix, [secret])
