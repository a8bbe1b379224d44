"""An in-memory fake tuning service and the backends that talk to it (a test helper).

:class:`FakeService` is a tiny REST service shaped like Gemini's ``tunedModels``
surface, served through :class:`httpx.MockTransport` (no sockets).  It keeps
jobs in a dict, records every request it receives, and can be told to fail the
next requests with an error status or a transport exception.  Jobs advance one
step per ``GET`` of the job: ``PENDING`` → ``RUNNING`` → ``SUCCEEDED`` (or
``FAILED`` for a job whose display name is ``"fail"``; a job called ``"stuck"``
never finishes).

:class:`FakeBackend` implements the seven operations of the port as sans-IO
flows against that service; :class:`SdkFakeBackend` is the escape hatch: an
"SDK" backend whose flows yield :class:`~tuneport.protocol.BlockingCall`.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar, cast

import httpx
from pydantic import SecretStr

from tuneport.catalog import CatalogEntry, ParamRule
from tuneport.errors import NotFoundError
from tuneport.hookspecs import hookimpl
from tuneport.models import (
    DataSource,
    GenerateRequest,
    Generation,
    Hyperparameters,
    JobError,
    JobSpec,
    JobState,
    MetricPoint,
    Metrics,
    Page,
    TuningJob,
    Usage,
)
from tuneport.protocol import (
    BackendSettings,
    BaseBackend,
    BlockingCall,
    Capabilities,
    ErrorDetails,
    Flow,
    HttpRequest,
    HttpResponse,
    Maturity,
    Operation,
    call,
    request,
)
from tuneport_google.errors import read_google_error
from tuneport_google.proto_json import list_params

#: Three tiny pairs, the data most tests tune on.
EXAMPLES = [("1", "I"), ("2", "II"), ("3", "III")]
#: An API key shaped like a real one (``AIza…``): it must never show up in text.
CANARY_KEY = "AIzaSyCANARY0123456789abcdefghijk"
#: A secret that matches no known shape: only ``Authenticator.secrets()`` can mask it.
CANARY_SECRET = "opaque-canary-secret-4711"
ENDPOINT = "http://fake.test"
BASE_TIME = datetime(2025, 1, 1, tzinfo=timezone.utc)

_TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


def google_error(
    code: int,
    message: str,
    status: str | None = None,
    *,
    details: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A Google API error body (``{"error": {code, message, status, details}}``)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if status is not None:
        error["status"] = status
    details = list(details)
    if details:
        error["details"] = details
    return {"error": error}


def request_info(request_id: str) -> dict[str, Any]:
    """A ``google.rpc.RequestInfo`` error detail."""
    return {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": request_id}


def retry_info(delay: str) -> dict[str, Any]:
    """A ``google.rpc.RetryInfo`` error detail (``delay`` like ``"3s"``)."""
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


@dataclass(frozen=True)
class RecordedRequest:
    """What the service saw of one request."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str] = field(repr=False)  # they hold the API key
    body: Any
    timeout: dict[str, Any] | None
    thread: int

    def summary(self) -> tuple[str, str, tuple[tuple[str, str], ...], Any]:
        """The request without volatile parts (for comparing two runs)."""
        return (self.method, self.path, tuple(sorted(self.params.items())), self.body)


@dataclass
class _Fault:
    method: str | None
    path: str | None
    status: int = 500
    body: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    exception: Callable[[httpx.Request], Exception] | None = None


class FakeService:
    """The in-memory tuning service (see the module docstring)."""

    def __init__(
        self, *, api_key: str | None = None, finish_after: int = 2, default_page_size: int = 10
    ) -> None:
        #: Key required in ``x-goog-api-key`` (``None``: no auth).
        self.api_key = api_key
        #: The job is terminal on this many-th GET of it.
        self.finish_after = finish_after
        self.default_page_size = default_page_size
        self.max_page_size = 50
        self.failure_message = "training diverged"
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)
        self._ticks = itertools.count(1)
        self._lock = threading.Lock()

    # --- transports -------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """A transport for :class:`httpx.Client` (works for AsyncClient too)."""
        return httpx.MockTransport(self.handle)

    def async_transport(self) -> httpx.MockTransport:
        """A transport whose handler is a coroutine (for :class:`httpx.AsyncClient` only)."""
        return httpx.MockTransport(self.ahandle)

    async def ahandle(self, req: httpx.Request) -> httpx.Response:
        """The async handler."""
        return self.handle(req)

    # --- backdoor: seed, inspect and break the service ----------------------------

    def seed(self, count: int, *, state: str = "SUCCEEDED", prefix: str = "seeded") -> list[str]:
        """Add *count* jobs without going through the API; returns their ids."""
        with self._lock:
            return [
                self._new_job({"displayName": f"{prefix}-{i}", "baseModel": "fake-base-001"}, state=state)[
                    "id"
                ]
                for i in range(count)
            ]

    def fail_next(
        self,
        status: int,
        message: str = "injected failure",
        status_name: str | None = None,
        *,
        details: Iterable[Mapping[str, Any]] = (),
        body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next *times* matching requests with an error status."""
        if body is None and content is None:
            body = google_error(status, message, status_name, details=details)
        for _ in range(times):
            self._faults.append(
                _Fault(method, path, status=status, body=body, content=content, headers=dict(headers or {}))
            )

    def raise_next(
        self,
        exc_type: type[httpx.TransportError],
        message: str = "injected transport error",
        *,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """Make the next *times* matching requests raise *exc_type* in the transport."""
        for _ in range(times):
            self._faults.append(_Fault(method, None, exception=lambda req: exc_type(message, request=req)))

    def requests_to(self, method: str, path_pattern: str = "") -> list[RecordedRequest]:
        """Recorded requests with this method whose path matches the regex."""
        return [r for r in self.requests if r.method == method and re.search(path_pattern, r.path)]

    # --- the handler ---------------------------------------------------------------

    def handle(self, req: httpx.Request) -> httpx.Response:
        """Serve one request (the :class:`httpx.MockTransport` handler)."""
        body = None
        if req.content:
            body = httpx.Response(200, content=req.content).json()
        self.requests.append(
            RecordedRequest(
                method=req.method,
                path=req.url.path,
                params=dict(req.url.params),
                headers=dict(req.headers),
                body=body,
                timeout=req.extensions.get("timeout"),
                thread=threading.get_ident(),
            )
        )
        fault = self._take_fault(req)
        if fault is not None:
            if fault.exception is not None:
                raise fault.exception(req)
            if fault.content is not None:
                return httpx.Response(fault.status, content=fault.content, headers=fault.headers)
            return httpx.Response(fault.status, json=fault.body, headers=fault.headers)
        if self.api_key is not None and req.headers.get("x-goog-api-key") != self.api_key:
            return _error(401, "API key not valid. Please pass a valid API key.", "UNAUTHENTICATED")
        with self._lock:
            return self._route(req.method, req.url.path, dict(req.url.params), body)

    def _take_fault(self, req: httpx.Request) -> _Fault | None:
        for i, fault in enumerate(self._faults):
            if fault.method not in (None, req.method):
                continue
            if fault.path is not None and not re.search(fault.path, req.url.path):
                continue
            return self._faults.pop(i)
        return None

    def _route(self, method: str, path: str, params: dict[str, str], body: Any) -> httpx.Response:
        if path == "/v1/tunedModels":
            if method == "GET":
                return self._list(params)
            if method == "POST":
                return self._create(body or {})
        match = re.fullmatch(r"/v1/tunedModels/([^/:]+)(:cancel|:generateContent|/metrics)?", path)
        if match is None:
            return _error(404, f"no route for {method} {path}", "NOT_FOUND")
        job_id, verb = match.group(1), match.group(2)
        job = self.jobs.get(job_id)
        if job is None:
            return _error(404, f"tunedModels/{job_id} is not found", "NOT_FOUND")
        if verb is None and method == "GET":
            self._advance(job)
            return _ok(_public(job))
        if verb is None and method == "DELETE":
            del self.jobs[job_id]
            return _ok({})
        if verb == ":cancel" and method == "POST":
            if job["state"] in _TERMINAL:
                return _error(400, f"job {job_id} is already {job['state']}", "FAILED_PRECONDITION")
            job.update(state="CANCELLED", updateTime=self._now())
            return _ok(_public(job))
        if verb == ":generateContent" and method == "POST":
            return self._generate(job, body or {})
        if verb == "/metrics" and method == "GET":
            return _ok({"snapshots": _snapshots(job)})
        return _error(405, f"{method} not allowed on {path}", "INVALID_ARGUMENT")

    def _now(self) -> str:
        return (BASE_TIME + timedelta(seconds=next(self._ticks))).isoformat().replace("+00:00", "Z")

    def _new_job(self, body: Mapping[str, Any], *, state: str = "PENDING") -> dict[str, Any]:
        job_id = f"job-{next(self._ids):04d}"
        now = self._now()
        task = body.get("tuningTask") or {}
        job = {
            "id": job_id,
            "name": f"tunedModels/{job_id}",
            "displayName": body.get("displayName"),
            "description": body.get("description"),
            "baseModel": body["baseModel"],
            "labels": body.get("labels") or {},
            "state": state,
            "createTime": now,
            "updateTime": now,
            "hyperparameters": task.get("hyperparameters") or {},
            "exampleCount": len((task.get("trainingData") or {}).get("examples") or []),
            "polls": 0,
        }
        if state == "SUCCEEDED":
            job["tunedModel"] = f"tunedModels/{job_id}"
        self.jobs[job_id] = job
        return job

    def _create(self, body: Mapping[str, Any]) -> httpx.Response:
        if not body.get("baseModel"):
            return _error(400, "baseModel is required", "INVALID_ARGUMENT")
        return _ok(_public(self._new_job(body)))

    def _advance(self, job: dict[str, Any]) -> None:
        if job["state"] in _TERMINAL:
            return
        job["polls"] += 1
        if job["displayName"] != "stuck" and job["polls"] >= self.finish_after:
            if job["displayName"] == "fail":
                job["state"] = "FAILED"
                job["error"] = {"code": 3, "status": "INVALID_ARGUMENT", "message": self.failure_message}
            else:
                job["state"] = "SUCCEEDED"
                job["tunedModel"] = job["name"]
        else:
            job["state"] = "RUNNING"
        job["updateTime"] = self._now()

    def _list(self, params: Mapping[str, str]) -> httpx.Response:
        size = min(int(params.get("pageSize", self.default_page_size)), self.max_page_size)
        token = params.get("pageToken", "")
        if token and not re.fullmatch(r"after:job-\d{4}", token):
            return _error(400, "invalid page token", "INVALID_ARGUMENT")
        jobs = sorted(self.jobs.values(), key=lambda j: j["id"])
        if "filter" in params:
            wanted = params["filter"].removeprefix("state=")
            jobs = [j for j in jobs if j["state"] == wanted]
        if token:
            jobs = [j for j in jobs if j["id"] > token.removeprefix("after:")]
        page, rest = jobs[:size], jobs[size:]
        answer: dict[str, Any] = {"tunedModels": [_public(j) for j in page]}
        if rest:
            answer["nextPageToken"] = f"after:{page[-1]['id']}"
        return _ok(answer)

    def _generate(self, job: Mapping[str, Any], body: Mapping[str, Any]) -> httpx.Response:
        if job["state"] != "SUCCEEDED":
            return _error(400, f"{job['name']} is not ready", "FAILED_PRECONDITION")
        prompt = " ".join(p["text"] for turn in body.get("contents", ()) for p in turn["parts"])
        temperature = (body.get("generationConfig") or {}).get("temperature")
        text = f"{job['id']} says {prompt.upper()}" + (
            f" (t={temperature})" if temperature is not None else ""
        )
        words = len(prompt.split())
        return _ok(
            {
                "candidates": [
                    {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
                ],
                "usageMetadata": {
                    "promptTokenCount": words,
                    "candidatesTokenCount": len(text.split()),
                    "totalTokenCount": words + len(text.split()),
                },
            }
        )


def _public(job: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k not in {"polls", "id"} and v is not None}


def _snapshots(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    # Deliberately out of order: the client must sort by step.
    return [
        {"step": step, "epoch": 1 + step // 3, "meanLoss": round(2.0 / step, 4)} for step in (5, 1, 4, 2, 3)
    ]


def _ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json=data)


def _error(code: int, message: str, status: str) -> httpx.Response:
    return httpx.Response(code, json=google_error(code, message, status))


# --- the HTTP backend -------------------------------------------------------------------


class FakeSettings(BackendSettings):
    """Settings of the fake backend."""

    endpoint: str = ENDPOINT
    api_key: SecretStr | None = None
    #: Make the authenticator claim to block (the async driver then uses a thread).
    auth_blocking: bool = False


class FakeAuthenticator:
    """Sends the API key as ``x-goog-api-key``; records the threads it ran on."""

    def __init__(self, key: str | None, *, blocking: bool = False) -> None:
        self._key = key
        self.blocking = blocking
        self.threads: list[int] = []

    def __repr__(self) -> str:
        return f"FakeAuthenticator(blocking={self.blocking})"

    def headers(self) -> Mapping[str, str]:
        self.threads.append(threading.get_ident())
        return {"x-goog-api-key": self._key} if self._key else {}

    def secrets(self) -> Iterable[str]:
        return (self._key,) if self._key else ()


FAKE_CAPABILITIES = Capabilities(
    hyperparameters=frozenset({"epoch_count", "batch_size", "learning_rate"}),
    data_sources=frozenset({"inline", "file", "uri"}),
    validation_data=False,
    max_page_size=50,
)

_ANY = ParamRule()
#: The fake backend's model catalog (registered by :class:`FakePlugin`).
FAKE_CATALOG = (
    CatalogEntry(
        backend="fake",
        base_model="fake-base-001",
        hyperparameters={
            "epoch_count": ParamRule(min=1, max=100, integer=True),
            "batch_size": _ANY,
            "learning_rate": ParamRule(min=0, min_exclusive=True),
        },
    ),
    CatalogEntry(backend="fake", base_model="fake-small", hyperparameters={"epoch_count": _ANY}),
    CatalogEntry(
        backend="fake",
        base_model="fake-retired",
        tunable=False,
        status="retired",
        reason="retired in 2024",
        hyperparameters={"epoch_count": _ANY},
    ),
)

_HYPER_NAMES = {
    "epoch_count": "epochCount",
    "batch_size": "batchSize",
    "learning_rate": "learningRate",
    "learning_rate_multiplier": "learningRateMultiplier",
    "adapter_size": "adapterSize",
}


def _data_json(source: DataSource) -> dict[str, Any]:
    if isinstance(source, tuple):
        return {"examples": [{"textInput": ex.turns[0].text, "output": ex.turns[-1].text} for ex in source]}
    if isinstance(source, Path):
        return {"file": source.as_posix()}
    return {"uri": source}


def job_from_json(data: Mapping[str, Any], *, backend: str = "fake") -> TuningJob:
    """Normalize the fake service's job JSON."""
    hyper = data.get("hyperparameters") or {}
    error = data.get("error")
    return TuningJob(
        id=str(data["name"]).rsplit("/", 1)[-1],
        backend=backend,
        name=data["name"],
        display_name=data.get("displayName"),
        description=data.get("description"),
        base_model=data.get("baseModel"),
        state=JobState(data["state"]),
        create_time=data.get("createTime"),
        update_time=data.get("updateTime"),
        error=JobError(**error) if error else None,
        tuned_model=data.get("tunedModel"),
        hyperparameters=Hyperparameters(**{k: hyper[v] for k, v in _HYPER_NAMES.items() if v in hyper}),
        data_stats={"example_count": data["exampleCount"]} if "exampleCount" in data else None,
        labels=data.get("labels") or {},
        raw=dict(data),
    )


class FakeBackend(BaseBackend):
    """The fake service's backend: every operation as a sans-IO flow."""

    name: ClassVar[str] = "fake"
    settings_model: ClassVar[type[BackendSettings]] = FakeSettings
    maturity: ClassVar[Maturity] = Maturity.STABLE
    declared_capabilities: ClassVar[Capabilities] = FAKE_CAPABILITIES

    @property
    def fake_settings(self) -> FakeSettings:
        return cast(FakeSettings, self.settings)

    def read_error(self, response: HttpResponse) -> ErrorDetails:
        # The fake service answers errors as Google's front ends do.
        return read_google_error(response)

    def authenticator(self) -> FakeAuthenticator:
        key = self.fake_settings.api_key
        return FakeAuthenticator(
            key.get_secret_value() if key else None, blocking=self.fake_settings.auth_blocking
        )

    def _url(self, path: str) -> str:
        return f"{self.fake_settings.endpoint}/v1/{path}"

    def _create_request(self, spec: JobSpec) -> HttpRequest:
        body: dict[str, Any] = {
            "baseModel": spec.base_model,
            "tuningTask": {
                "hyperparameters": {_HYPER_NAMES[k]: v for k, v in spec.hyperparameters.given().items()},
                "trainingData": _data_json(spec.training_data),
            },
        }
        for key, value in (
            ("displayName", spec.display_name),
            ("description", spec.description),
            ("labels", spec.labels),
        ):
            if value:
                body[key] = value
        # No client-chosen id: re-sending after the service saw it could duplicate the job.
        return HttpRequest("POST", self._url("tunedModels"), json=body, idempotent=False)

    def plan_create(self, spec: JobSpec) -> list[HttpRequest]:
        return [self._create_request(spec)]

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        resp = yield from request(self._create_request(spec))
        return job_from_json(resp.json(), backend=self.name)

    def list(
        self, *, page_size: int | None, page_token: str | None, filter: str | None
    ) -> Flow[Page[TuningJob]]:
        params = list_params(page_size, page_token, filter)
        resp = yield from request(HttpRequest("GET", self._url("tunedModels"), params=params))
        data = resp.json()
        return Page[TuningJob](
            items=[job_from_json(j, backend=self.name) for j in data.get("tunedModels", [])],
            next_page_token=data.get("nextPageToken"),
        )

    def get(self, job_id: str) -> Flow[TuningJob]:
        resp = yield from request(HttpRequest("GET", self._url(f"tunedModels/{job_id}")))
        return job_from_json(resp.json(), backend=self.name)

    def cancel(self, job_id: str) -> Flow[TuningJob]:
        resp = yield from request(HttpRequest("POST", self._url(f"tunedModels/{job_id}:cancel")))
        return job_from_json(resp.json(), backend=self.name)

    def delete(self, job_id: str) -> Flow[bool]:
        # Deleting what is already gone is success: the flow takes the 404 itself.
        resp = yield from request(
            HttpRequest("DELETE", self._url(f"tunedModels/{job_id}"), expected=frozenset({404}))
        )
        return resp.status_code != 404

    def generate(self, target: str, request_: GenerateRequest) -> Flow[Generation]:
        body: dict[str, Any] = {
            "contents": [{"role": turn.role, "parts": [{"text": turn.text}]} for turn in request_.contents]
        }
        if request_.temperature is not None:
            body["generationConfig"] = {"temperature": request_.temperature}
        job_id = target.rsplit("/", 1)[-1]
        resp = yield from request(
            HttpRequest("POST", self._url(f"tunedModels/{job_id}:generateContent"), json=body)
        )
        data = resp.json()
        candidate = data["candidates"][0]
        usage = data.get("usageMetadata", {})
        return Generation(
            text="".join(p["text"] for p in candidate["content"]["parts"]),
            finish_reason=candidate.get("finishReason"),
            usage=Usage(
                prompt_tokens=usage.get("promptTokenCount"),
                output_tokens=usage.get("candidatesTokenCount"),
                total_tokens=usage.get("totalTokenCount"),
            ),
            raw=data,
        )

    def metrics(self, job_id: str) -> Flow[Metrics]:
        resp = yield from request(HttpRequest("GET", self._url(f"tunedModels/{job_id}/metrics")))
        data = resp.json()
        points = [
            MetricPoint(step=s["step"], epoch=s.get("epoch"), value=s["meanLoss"]) for s in data["snapshots"]
        ]
        return Metrics(job_id=job_id, series={"mean_loss": tuple(points)}, raw=data)


class LimitedFakeBackend(FakeBackend):
    """The same service, declaring fewer capabilities (no cancel, metrics or generate; inline data only)."""

    name: ClassVar[str] = "fake-limited"
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset({Operation.CREATE, Operation.GET, Operation.LIST, Operation.DELETE}),
        hyperparameters=frozenset({"epoch_count"}),
        data_sources=frozenset({"inline"}),
        validation_data=False,
    )


# --- the escape hatch: an SDK-style backend ------------------------------------------


class FakeSdk:
    """A blocking vendor "SDK" keeping jobs in memory; records the threads it ran on."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.threads: list[int] = []
        self._ids = itertools.count(1)

    def _enter(self) -> None:
        self.threads.append(threading.get_ident())

    def create_job(self, *, base_model: str, display_name: str | None) -> dict[str, Any]:
        self._enter()
        job_id = f"sdk-{next(self._ids)}"
        self.jobs[job_id] = {
            "name": job_id,
            "baseModel": base_model,
            "displayName": display_name,
            "state": "PENDING",
        }
        return dict(self.jobs[job_id])

    def get_job(self, job_id: str) -> dict[str, Any]:
        self._enter()
        job = self.jobs[job_id]  # KeyError, as SDKs do
        job["state"] = {"PENDING": "RUNNING", "RUNNING": "SUCCEEDED"}.get(job["state"], job["state"])
        return dict(job)

    def list_jobs(self, page_size: int, offset: int) -> tuple[list[dict[str, Any]], int | None]:
        self._enter()
        jobs = [dict(self.jobs[k]) for k in sorted(self.jobs)]
        end = offset + page_size
        return jobs[offset:end], (end if end < len(jobs) else None)

    def delete_job(self, job_id: str) -> bool:
        self._enter()
        return self.jobs.pop(job_id, None) is not None


class SdkFakeSettings(BackendSettings):
    """Settings of the SDK-style backend (no endpoint of its own)."""


class SdkFakeBackend(BaseBackend):
    """A backend wrapping :class:`FakeSdk`: its flows yield ``BlockingCall`` effects."""

    name: ClassVar[str] = "fake-sdk"
    settings_model: ClassVar[type[BackendSettings]] = SdkFakeSettings
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset({Operation.CREATE, Operation.GET, Operation.LIST, Operation.DELETE}),
        data_sources=frozenset({"inline"}),
    )

    def __init__(self, settings: BackendSettings | None = None, *, sdk: FakeSdk | None = None) -> None:
        super().__init__(settings)
        self.sdk = sdk or FakeSdk()

    def _get_job(self, job_id: str) -> dict[str, Any]:
        # Runs inside the BlockingCall: SDK exceptions become tuneport errors here.
        try:
            return self.sdk.get_job(job_id)
        except KeyError:
            raise NotFoundError(f"job {job_id} not found", status_code=404, status="NOT_FOUND") from None

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        data = yield from call(
            BlockingCall(self.sdk.create_job, base_model=spec.base_model, display_name=spec.display_name)
        )
        return job_from_json(data, backend=self.name)

    def get(self, job_id: str) -> Flow[TuningJob]:
        data = yield from call(BlockingCall(self._get_job, job_id))
        return job_from_json(data, backend=self.name)

    def list(
        self, *, page_size: int | None, page_token: str | None, filter: str | None
    ) -> Flow[Page[TuningJob]]:
        items, following = yield from call(
            BlockingCall(self.sdk.list_jobs, page_size or 2, int(page_token or 0))
        )
        return Page[TuningJob](
            items=[job_from_json(j, backend=self.name) for j in items],
            next_page_token=None if following is None else str(following),
        )

    def delete(self, job_id: str) -> Flow[bool]:
        deleted = yield from call(BlockingCall(self.sdk.delete_job, job_id))
        return deleted


class SettingsOnlyBackend(BaseBackend):
    """A backend registered with its settings only (its operations come "later")."""

    name: ClassVar[str] = "fake-settings-only"
    settings_model: ClassVar[type[BackendSettings]] = FakeSettings
    maturity: ClassVar[Maturity] = Maturity.SETTINGS_ONLY
    declared_capabilities: ClassVar[Capabilities] = Capabilities(operations=frozenset())


class FakePlugin:
    """A plugin object registering the fake backends (for ``PluginHost.register_plugin``)."""

    @hookimpl
    def register_catalog(
        self, register: Callable[[Any], None], set_policy: Callable[[str, str, str], None]
    ) -> None:
        for entry in FAKE_CATALOG:
            register(entry)

    @hookimpl
    def register_backends(self, register: Callable[[type[Any]], None]) -> None:
        register(FakeBackend)
        register(LimitedFakeBackend)
        register(SettingsOnlyBackend)
        register(SdkFakeBackend)
