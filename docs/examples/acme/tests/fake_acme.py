"""A fake Acme Tune for the tests: its REST API behind ``httpx.MockTransport``, plus a backdoor.

Jobs live in memory and move on the service's clock: a job is queued for
one second, then runs two seconds per epoch.  The clock is the tests'
``ManualClock`` (so a client's pauses move the service on) plus whatever the
backdoor's ``advance()`` added.  Nothing is sent anywhere and no real time
passes.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from tuneport.models import JobState
from tuneport.waiting import ManualClock

KEY = "acme-test-key-5f2c9e"
#: Ten examples: the catalog's minimum.
PAIRS = [(str(n), str(n + 1)) for n in range(10)]

EPOCH = datetime(2025, 6, 1, tzinfo=timezone.utc)  # the service's time 0
QUEUED_FOR = 1.0
SECONDS_PER_EPOCH = 2.0
DEFAULT_EPOCHS = 5
DELETE_TAKES = 3.0
ALIASES = {"acme-small": "acme-small-2"}


@dataclass
class Job:
    id: str
    model: str
    title: str | None
    examples: list[dict[str, str]]
    epochs: int
    created: float
    request_id: str | None = None
    fixed: str | None = None  # a state the backdoor froze the job in
    deleting_since: float | None = None


class FakeAcme:
    """Acme Tune in memory: ``transport()`` for clients, ``seed()``/``advance()`` for tests."""

    def __init__(self, api_key: str = KEY, clock: ManualClock | None = None) -> None:
        self.api_key = api_key
        self.clock = clock or ManualClock()
        self.offset = 0.0
        self.jobs: dict[str, Job] = {}
        self.operations: dict[str, str] = {}  # operation name -> job id
        self.requests: list[httpx.Request] = []
        #: Creates whose reply is lost (503) after the job was made: for create_once.
        self.lose_create_replies = 0
        self._ids = itertools.count(1)

    def transport(self) -> httpx.MockTransport:
        """One transport for both clients: MockTransport is sync and async."""
        return httpx.MockTransport(self.handle)

    # --- the backdoor (the contract kit's Backdoor protocol) ----------------------------

    def now(self) -> float:
        return self.clock.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def seed(self, state: JobState) -> str:
        """A job made directly in SUCCEEDED, FAILED or RUNNING (RUNNING never ends)."""
        fixed = {JobState.SUCCEEDED: "done", JobState.FAILED: "error", JobState.RUNNING: "running"}[state]
        examples = [{"text_input": q, "output": a} for q, a in PAIRS]
        job = self._add("acme-small-2", "seeded", examples, epochs=2, request_id=None)
        job.fixed = fixed
        return job.id

    # --- the API -------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "UNAUTHENTICATED", "a valid API key is required")
        method, path = request.method, request.url.path
        if path == "/v1/jobs":
            return self._create(request) if method == "POST" else self._list(request)
        if match := re.fullmatch(r"/v1/operations/([\w-]+)", path):
            return self._operation(f"operations/{match[1]}")
        match = re.fullmatch(r"/v1/jobs/([\w-]+)(:generate|/metrics)?", path)
        job = self._live(match[1]) if match else None
        if match is None or job is None:
            return _error(404, "NOT_FOUND", f"{path} does not exist")
        if match[2] == ":generate" and method == "POST":
            return self._generate(job, request)
        if match[2] == "/metrics":
            return httpx.Response(200, json={"points": self._points(job)})
        if method == "DELETE":
            return self._delete(job)
        return httpx.Response(200, json=self._view(job))

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if not body.get("model") or not body.get("examples"):
            return _error(400, "INVALID_ARGUMENT", "model and examples are required")
        model = ALIASES.get(body["model"], body["model"])
        epochs = body.get("epochs") or DEFAULT_EPOCHS
        job = self._add(model, body.get("title"), body["examples"], epochs, body.get("requestId"))
        if self.lose_create_replies > 0:  # the job exists, but its reply is lost
            self.lose_create_replies -= 1
            return _error(503, "UNAVAILABLE", "the reply was lost")
        return httpx.Response(200, json=self._view(job))

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        jobs = [job for job in self.jobs.values() if self._live(job.id)]
        if "requestId" in params:
            jobs = [job for job in jobs if job.request_id == params["requestId"]]
        if "filter" in params:
            wanted = re.fullmatch(r"state=(\w+)", params["filter"])
            if wanted is None:
                return _error(400, "INVALID_ARGUMENT", "filter must be state=<state>")
            jobs = [job for job in jobs if self._state(job) == wanted[1]]
        start = int(params.get("pageToken", 0))
        size = min(int(params.get("pageSize", 20)), 100)
        following = start + size if start + size < len(jobs) else None
        return httpx.Response(
            200,
            json={
                "jobs": [self._view(job) for job in jobs[start : start + size]],
                **({"nextPageToken": str(following)} if following is not None else {}),
            },
        )

    def _generate(self, job: Job, request: httpx.Request) -> httpx.Response:
        state = self._state(job)
        if state != "done":
            return httpx.Response(
                409,
                json={
                    "error": {"code": 409, "message": f"{job.id} is {state}", "status": "NOT_DONE"},
                    "jobState": state,
                },
            )
        prompt = json.loads(request.content)["prompt"]
        answers = {row["text_input"]: row["output"] for row in job.examples}
        text = answers.get(prompt, job.examples[0]["output"])
        usage = {"promptTokens": len(prompt.split()), "outputTokens": len(text.split())}
        return httpx.Response(200, json={"text": text, "stop": "STOP", "usage": usage})

    def _delete(self, job: Job) -> httpx.Response:
        if job.deleting_since is None:
            job.deleting_since = self.now()
        name = f"operations/op-{next(self._ids)}"
        self.operations[name] = job.id
        return self._operation(name)

    def _operation(self, name: str) -> httpx.Response:
        if name not in self.operations:
            return _error(404, "NOT_FOUND", f"{name} does not exist")
        done = self._live(self.operations[name]) is None
        return httpx.Response(200, json={"name": name, "done": done})

    # --- internals ---------------------------------------------------------------------------------

    def _add(
        self,
        model: str,
        title: str | None,
        examples: list[dict[str, str]],
        epochs: int,
        request_id: str | None,
    ) -> Job:
        job = Job(f"job-{next(self._ids)}", model, title, examples, epochs, self.now(), request_id)
        self.jobs[job.id] = job
        return job

    def _live(self, job_id: str) -> Job | None:
        """The job, unless it does not exist or its deletion has finished."""
        job = self.jobs.get(job_id)
        if job is None or (
            job.deleting_since is not None and self.now() >= job.deleting_since + DELETE_TAKES
        ):
            return None
        return job

    def _epochs_done(self, job: Job) -> int:
        if job.fixed is not None:
            return job.epochs if job.fixed == "done" else 0
        running_for = self.now() - job.created - QUEUED_FOR
        return max(0, min(job.epochs, int(running_for // SECONDS_PER_EPOCH)))

    def _state(self, job: Job) -> str:
        if job.fixed is not None:
            return job.fixed
        if self.now() - job.created < QUEUED_FOR:
            return "queued"
        return "done" if self._epochs_done(job) >= job.epochs else "running"

    def _points(self, job: Job) -> list[dict[str, Any]]:
        return [
            {"step": epoch * 10, "epoch": epoch, "loss": round(2.0 / (1 + epoch), 4)}
            for epoch in range(1, self._epochs_done(job) + 1)
        ]

    def _view(self, job: Job) -> dict[str, Any]:
        state = self._state(job)
        view: dict[str, Any] = {
            "id": job.id,
            "model": job.model,
            "title": job.title,
            "state": state,
            "progress": self._epochs_done(job) / job.epochs,
            "createTime": (EPOCH + timedelta(seconds=job.created)).isoformat().replace("+00:00", "Z"),
            "requestId": job.request_id,
        }
        if state == "done":
            view["tunedModel"] = f"tuned/{job.id}"
        if state == "error":
            view["error"] = "seeded failure: the examples were rejected"
        return view


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": status, "message": message, "status": code}})
