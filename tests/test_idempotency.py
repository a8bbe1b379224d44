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
