"""create_once: a create whose reply is lost is found again, never made twice."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx
import pytest

from tuneport.client import TuningClient
from tuneport.errors import APITimeoutError, BadRequestError, InternalServerError
from tuneport.idempotency import create_once, new_request_id
from tuneport.models import JobSpec, JobState, TuningJob
from tuneport.protocol import (
    BackendSettings,
    BaseBackend,
    Capabilities,
    Flow,
    HttpRequest,
    Operation,
    request,
)
from tuneport.retry import RetryPolicy
from tuneport.waiting import ManualClock


class Service:
    """Commits every create, then loses the reply for the first ``lose`` of them."""

    def __init__(self, lose: int, how: str = "503") -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.lose = lose
        self.how = how
        self.creates = 0

    def handle(self, req: httpx.Request) -> httpx.Response:
        if req.method == "POST":
            self.creates += 1
            body = json.loads(req.content)
            job = {"id": f"j{len(self.jobs) + 1}", "rid": body["rid"]}
            self.jobs[job["id"]] = job  # committed
            if self.lose > 0:
                self.lose -= 1
                if self.how == "timeout":
                    raise httpx.ReadTimeout("reply lost", request=req)
                return httpx.Response(
                    503, json={"error": {"code": 503, "message": "lost", "status": "UNAVAILABLE"}}
                )
            return httpx.Response(200, json=job)
        rid = req.url.params["rid"]
        return httpx.Response(200, json={"jobs": [j for j in self.jobs.values() if j["rid"] == rid]})


class Settings(BackendSettings):
    pass


class Backend(BaseBackend):
    name: ClassVar[str] = "once"
    settings_model: ClassVar[type[BackendSettings]] = Settings
    declared_capabilities: ClassVar[Capabilities] = Capabilities(operations=frozenset({Operation.CREATE}))
    #: The settle window (0: one lookup per ambiguous failure, as these tests were written for).
    settle: ClassVar[float] = 0.0

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        rid = new_request_id()

        def find() -> Flow[TuningJob | None]:
            resp = yield from request(HttpRequest("GET", "http://once.test/jobs", params={"rid": rid}))
            jobs = resp.json()["jobs"]
            return _job(jobs[0]) if jobs else None

        job = yield from create_once(
            HttpRequest("POST", "http://once.test/jobs", json={"rid": rid}, idempotent=False),
            parse=lambda resp: _job(resp.json()),
            find=find,
            settle=self.settle,
            request_id=rid,
        )
        return job


def _job(data: dict[str, Any]) -> TuningJob:
    return TuningJob(id=data["id"], backend="once", state=JobState.PENDING, raw=data)


def _client(service: Service) -> TuningClient:
    return TuningClient(
        Backend(),
        transport=httpx.MockTransport(service.handle),
        clock=ManualClock(),
        retry=RetryPolicy(max_attempts=3, initial_backoff=0.01),
    )


@pytest.mark.parametrize("how", ["503", "timeout"])
def test_a_lost_reply_finds_the_committed_job(how: str) -> None:
    service = Service(lose=1, how=how)
    job = _client(service).create(base_model="m", training_data=[("1", "2")])
    assert job.id == "j1"
    assert service.creates == 1  # found, not re-sent
    assert len(service.jobs) == 1


def test_gives_up_after_the_attempts_without_duplicates_found() -> None:
    class Forgetful(Service):
        def handle(self, req: httpx.Request) -> httpx.Response:
            if req.method == "GET":
                return httpx.Response(200, json={"jobs": []})  # the lookup never sees it
            return super().handle(req)

    service = Forgetful(lose=5)
    with pytest.raises(InternalServerError):
        _client(service).create(base_model="m", training_data=[("1", "2")])
    assert service.creates == 3


def test_other_errors_are_raised_at_once() -> None:
    def refuse(req: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"error": {"code": 400, "message": "no", "status": "INVALID_ARGUMENT"}}
        )

    client = TuningClient(Backend(), transport=httpx.MockTransport(refuse), clock=ManualClock())
    with pytest.raises(BadRequestError):
        client.create(base_model="m", training_data=[("1", "2")])


def test_refuses_idempotent_requests() -> None:
    flow = create_once(HttpRequest("POST", "http://x"), parse=lambda r: r, find=lambda: iter(()))  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="non-idempotent"):
        next(flow)


def test_request_ids_are_label_values() -> None:
    rid = new_request_id()
    assert len(rid) == 32
    assert rid == rid.lower()
    assert APITimeoutError  # the timeout case above is an APIConnectionError subclass


def test_the_client_retry_policy_paces_and_bounds_the_lookups(caplog: pytest.LogCaptureFixture) -> None:
    class Forgetful(Service):
        def handle(self, req: httpx.Request) -> httpx.Response:
            if req.method == "GET":
                return httpx.Response(200, json={"jobs": []})
            return super().handle(req)

    service = Forgetful(lose=10)
    clock = ManualClock()
    client = TuningClient(
        Backend(),
        transport=httpx.MockTransport(service.handle),
        clock=clock,
        retry=RetryPolicy(max_attempts=6, initial_backoff=1.0, multiplier=1.0, max_backoff=1.0),
    )
    with caplog.at_level("WARNING", logger="tuneport.http"), pytest.raises(InternalServerError):
        client.create(base_model="m", training_data=[("1", "2")])
    assert service.creates == 6  # one policy: the client's max_attempts
    assert len(clock.sleeps) == 5 and all(0 <= s <= 1.0 for s in clock.sleeps)  # noqa: PT018
    assert sum("retrying after InternalServerError 503" in r.getMessage() for r in caplog.records) == 5
    # A per-call policy overrides it; so does its deadline.
    service.creates, service.lose = 0, 10
    with pytest.raises(InternalServerError):
        client.create(base_model="m", training_data=[("1", "2")], retry=RetryPolicy(max_attempts=2))
    assert service.creates == 2
    service.creates, service.lose, slept = 0, 1000, len(clock.sleeps)
    with pytest.raises(InternalServerError):
        client.create(
            base_model="m",
            training_data=[("1", "2")],
            retry=RetryPolicy(max_attempts=50, initial_backoff=10.0, multiplier=1.0, deadline=25.0),
        )
    assert 1 <= service.creates < 50  # the deadline ended it, not the attempts
    assert sum(clock.sleeps[slept:]) <= 25.0


# --- the settle window (issue #13) ---------------------------------------------------------------


class Late(Service):
    """Each create commits ``lag`` lookups after its reply was lost (slower than the timeout)."""

    def __init__(self, lose: int, lag: int) -> None:
        super().__init__(lose, how="timeout")
        self.lag = lag
        self.pending: list[tuple[int, dict[str, Any]]] = []
        self.lookups = 0

    def handle(self, req: httpx.Request) -> httpx.Response:
        if req.method == "POST" and self.lose > 0:
            self.lose -= 1
            self.creates += 1
            self.pending.append((self.lookups + self.lag, {"rid": json.loads(req.content)["rid"]}))
            raise httpx.ReadTimeout("still at work", request=req)
        if req.method == "GET":
            self.lookups += 1
            for due, job in list(self.pending):
                if due <= self.lookups:
                    self.pending.remove((due, job))
                    job["id"] = f"j{len(self.jobs) + 1}"
                    self.jobs[job["id"]] = job
        return super().handle(req)


def _settling_client(service: Service, settle: float, **retry: Any) -> tuple[TuningClient, ManualClock]:
    class Settling(Backend):
        pass

    Settling.settle = settle
    clock = ManualClock()
    policy = RetryPolicy(**{"max_attempts": 5, "initial_backoff": 0.01, **retry})
    transport = httpx.MockTransport(service.handle)
    return TuningClient(Settling(), transport=transport, clock=clock, retry=policy), clock


def test_a_create_landing_late_is_found_within_the_window_not_re_sent() -> None:
    service = Late(lose=1, lag=5)  # the job appears at the fifth lookup
    client, clock = _settling_client(service, settle=8.0)
    job = client.create(base_model="m", training_data=[("1", "2")])
    assert job.id == "j1"
    assert service.creates == 1
    assert len(service.jobs) == 1
    assert sum(clock.sleeps) == pytest.approx(4 * 1.0)  # polled every settle/8 = 1 s


def test_nothing_is_re_sent_before_the_window_has_passed() -> None:
    service = Late(lose=1, lag=10_000)  # never lands
    client, clock = _settling_client(service, settle=8.0)
    client.create(base_model="m", training_data=[("1", "2")])
    assert service.creates == 2  # the first never landed; the second answered
    # Eight one-second pauses (the window), then the policy's backoff, then the re-send.
    assert clock.sleeps[:8] == [1.0] * 8
    assert service.lookups == 9


def test_a_create_that_gives_up_carries_its_request_id_and_the_job_a_last_lookup_found() -> None:
    service = Late(lose=10, lag=10_000)
    client, _ = _settling_client(service, settle=0.0, max_attempts=2)
    with pytest.raises(APITimeoutError) as raised:
        client.create(base_model="m", training_data=[("1", "2")])
    assert raised.value.client_request_id is not None
    assert len(raised.value.client_request_id) == 32
    assert raised.value.job is None  # nothing was created

    class LandsAtTheEnd(Late):
        def handle(self, req: httpx.Request) -> httpx.Response:
            if req.method == "GET" and self.lookups == 2:  # the last lookup, after the policy gave up
                self.lag = 0
                self.pending = [(0, job) for _, job in self.pending]
            return super().handle(req)

    landing = LandsAtTheEnd(lose=10, lag=10_000)
    client, _ = _settling_client(landing, settle=0.0, max_attempts=2)
    with pytest.raises(APITimeoutError) as raised:
        client.create(base_model="m", training_data=[("1", "2")])
    assert raised.value.job is not None
    assert raised.value.job_id == raised.value.job.id
    assert raised.value.job.raw["rid"] == raised.value.client_request_id


def test_reconcile_runs_only_when_the_create_was_sent_more_than_once() -> None:
    seen: list[str] = []

    def flow(service: Service) -> Flow[TuningJob]:
        rid = new_request_id()

        def find() -> Flow[TuningJob | None]:
            yield from ()
            return None

        def reconcile(job: TuningJob) -> Flow[TuningJob]:
            seen.append(job.id)
            yield from ()
            return job.model_copy(update={"description": "reconciled"})

        job = yield from create_once(
            HttpRequest("POST", "http://once.test/jobs", json={"rid": rid}, idempotent=False),
            parse=lambda resp: _job(resp.json()),
            find=find,
            settle=0.0,
            reconcile=reconcile,
        )
        return job

    first = Service(lose=0)
    client = _client(first)
    assert client.driver.run(flow(first)).description is None
    assert seen == []
    second = Service(lose=1)
    client = _client(second)
    assert client.driver.run(flow(second)).description == "reconciled"
    assert seen == ["j2"]


def test_settle_and_poll_must_be_sensible() -> None:
    from tuneport.idempotency import server_timeout_header, settle_window

    assert settle_window(60.0) == 65.0
    assert settle_window(2.0) == 4.0
    assert settle_window(0.2) == 2.0  # the header holds whole seconds, at least 1
    assert server_timeout_header(59.6) == {"X-Server-Timeout": "60"}
    for bad in ({"settle": -1.0}, {"poll": 0.0}):
        flow = create_once(
            HttpRequest("POST", "http://x", idempotent=False),
            parse=lambda r: r,
            find=lambda: iter(()),  # type: ignore[arg-type,return-value]
            **bad,  # type: ignore[arg-type]
        )
        with pytest.raises(ValueError, match=r"at least 0|more than 0"):
            next(flow)
