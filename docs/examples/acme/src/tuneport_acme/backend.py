"""The acme backend: Acme Tune's REST API mapped onto tuneport's port.

Each operation is a flow: it yields effects (requests, blocking calls,
pauses) and the client's driver performs them, so the same code serves the
sync and the async client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, cast
from urllib.parse import quote

from tuneport.datasets import read_examples
from tuneport.errors import (
    APIError,
    BadRequestError,
    ConfigError,
    FilterError,
    JobNotReady,
    UnsupportedParameter,
)
from tuneport.idempotency import create_once, new_request_id
from tuneport.models import (
    DataSource,
    Example,
    GenerateRequest,
    Generation,
    JobError,
    JobSpec,
    JobState,
    MetricPoint,
    Metrics,
    Page,
    TuningJob,
    TuningMethod,
    Usage,
)
from tuneport.protocol import (
    Authenticator,
    BackendSettings,
    BaseBackend,
    BlockingCall,
    Capabilities,
    Flow,
    HttpRequest,
    Maturity,
    Operation,
    call,
    request,
    sleep,
)
from tuneport_acme.settings import AcmeSettings

#: Polling of Acme's long-running delete operations.
OPERATION_POLL = 2.0
OPERATION_POLLS = 150


# --8<-- [start:auth]
class ApiKeyAuth:
    """Sends the key as a bearer token; no I/O, so ``blocking`` is False."""

    blocking = False

    def __init__(self, key: str) -> None:
        self._key = key

    def headers(self) -> Mapping[str, str]:
        return {"authorization": f"Bearer {self._key}"}

    def secrets(self) -> Iterable[str]:
        return (self._key,)


# --8<-- [end:auth]

# How the service names its states, mapped deliberately: nothing is guessed.
_STATES = {
    "queued": JobState.PENDING,
    "running": JobState.RUNNING,
    "done": JobState.SUCCEEDED,
    "error": JobState.FAILED,
    "stopping": JobState.CANCELLING,
    "stopped": JobState.CANCELLED,
}


def _job(data: dict[str, Any]) -> TuningJob:
    """A job of the service, in the port's terms (``raw`` keeps the service's JSON)."""
    error = data.get("error")
    return TuningJob(
        id=data["id"],
        backend=AcmeBackend.name,
        display_name=data.get("title"),
        base_model=data.get("model"),
        state=_STATES.get(data.get("state", ""), JobState.UNKNOWN),
        progress=data.get("progress"),
        create_time=data.get("createTime"),
        error=JobError(message=error) if error else None,
        tuned_model=data.get("tunedModel"),
        # Acme Tune runs supervised tuning only (the capabilities' default methods).
        method=TuningMethod.SUPERVISED,
        raw=data,
    )


def _example_row(example: object) -> dict[str, str]:
    # Only supervised examples get here: the client refuses every other method, as the
    # capabilities declare none.  One question and one answer per example: the catalog's
    # pairs_only limit guarantees it.
    assert isinstance(example, Example)
    user, model = example.turns[0], example.turns[-1]
    return {"text_input": user.text, "output": model.text}


def _rows(source: DataSource) -> list[dict[str, str]]:
    """The training examples as Acme wants them (a file may be in any format tuneport reads)."""
    examples = source if isinstance(source, tuple) else read_examples(source)
    return [_example_row(example) for example in examples]


# generate() has a parameter called ``request`` (the protocol names it), which hides the helper there.
_send = request


# --8<-- [start:class]
class AcmeBackend(BaseBackend):
    """Acme Tune: inline or file examples; epochs and learning rate; no cancel."""

    name: ClassVar[str] = "acme"
    settings_model: ClassVar[type[BackendSettings]] = AcmeSettings
    maturity: ClassVar[Maturity] = Maturity.PREVIEW
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset(Operation) - {Operation.CANCEL},  # Acme cannot cancel a job
        hyperparameters=frozenset({"epoch_count", "learning_rate"}),
        data_sources=frozenset({"inline", "file"}),
        max_page_size=100,
    )

    @property
    def acme(self) -> AcmeSettings:
        return cast(AcmeSettings, self.settings)

    def _url(self, path: str) -> str:
        return f"{self.acme.endpoint}/v1/{path}"

    # --8<-- [end:class]

    # --8<-- [start:authenticator]
    def authenticator(self) -> Authenticator | None:
        key = self.acme.api_key.get_secret_value() if self.acme.api_key else ""
        if not key:
            raise ConfigError("no API key: set api_key in the profile, or ACME_API_KEY", key="api_key")
        return ApiKeyAuth(key)

    # --8<-- [end:authenticator]

    def check_spec(self, spec: JobSpec) -> None:
        # Acme jobs have no labels: dropping them would make list(labels=...) miss the job.
        if spec.labels:
            raise UnsupportedParameter(self.name, "labels", reason="Acme jobs have no labels")

    # --8<-- [start:plan_create]
    def _create_request(self, spec: JobSpec, examples: list[dict[str, str]], request_id: str) -> HttpRequest:
        body = {
            "model": spec.base_model,
            "title": spec.display_name,
            "examples": examples,
            "epochs": spec.hyperparameters.epoch_count,
            "learningRate": spec.hyperparameters.learning_rate,
            "requestId": request_id,  # Acme stores it on the job, and lists jobs by it
        }
        # A POST without a client-chosen job id: sending it twice could start two jobs.
        return HttpRequest("POST", self._url("jobs"), json=body, idempotent=False)

    def plan_create(self, spec: JobSpec) -> list[HttpRequest]:
        # What create() would send; tuneport.validate() shows it and sends nothing.
        return [self._create_request(spec, _rows(spec.training_data), "<request id>")]

    # --8<-- [end:plan_create]

    # --8<-- [start:create]
    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        # Reading a file is blocking I/O: the async client runs it in a worker thread.
        examples = yield from call(BlockingCall(_rows, spec.training_data))
        request_id = new_request_id()
        job = yield from create_once(
            self._create_request(spec, examples, request_id),
            parse=lambda response: _job(response.json()),
            # After an ambiguous failure, look for the job before sending the create again.
            find=lambda: self._find(request_id),
        )
        return job

    def _find(self, request_id: str) -> Flow[TuningJob | None]:
        response = yield from request(HttpRequest("GET", self._url("jobs"), params={"requestId": request_id}))
        jobs = response.json().get("jobs", [])
        return _job(jobs[0]) if jobs else None

    # --8<-- [end:create]

    def list(
        self, *, page_size: int | None, page_token: str | None, filter: str | None
    ) -> Flow[Page[TuningJob]]:
        params: dict[str, str | int] = {}
        if page_size is not None:
            params["pageSize"] = page_size
        if page_token:
            params["pageToken"] = page_token
        if filter:
            params["filter"] = filter  # Acme's own syntax, passed through: "state=done"
        try:
            response = yield from request(HttpRequest("GET", self._url("jobs"), params=params))
        except BadRequestError as error:
            if not filter:
                raise
            # A filter Acme refuses is the portable FilterError naming it (never an empty list).
            raise FilterError(self.name, filter, error.message) from error
        data = response.json()
        return Page[TuningJob](
            items=[_job(item) for item in data.get("jobs", [])],
            next_page_token=data.get("nextPageToken") or None,
        )

    # --8<-- [start:get]
    def get(self, job_id: str) -> Flow[TuningJob]:
        response = yield from request(HttpRequest("GET", self._url(f"jobs/{quote(job_id)}")))
        return _job(response.json())

    # --8<-- [end:get]

    # --8<-- [start:delete]
    def delete(self, job_id: str) -> Flow[bool]:
        # A 404 means it is gone already: delete stays idempotent, and says nothing was deleted.
        response = yield from request(
            HttpRequest("DELETE", self._url(f"jobs/{quote(job_id)}"), expected=frozenset({404}))
        )
        if response.status_code == 404:
            return False
        # Acme deletes in the background and answers with an operation to poll.
        operation = response.json()
        for _ in range(OPERATION_POLLS):
            if operation.get("done"):
                return True
            yield from sleep(OPERATION_POLL)
            response = yield from request(HttpRequest("GET", self._url(operation["name"])))
            operation = response.json()
        raise APIError(f"{operation['name']} did not finish after {OPERATION_POLLS} polls")

    # --8<-- [end:delete]

    # --8<-- [start:generate]
    def generate(self, target: str, request: GenerateRequest) -> Flow[Generation]:
        body = {
            "prompt": request.contents[-1].text,
            "temperature": request.temperature,
            "maxTokens": request.max_output_tokens,
        }
        url = self._url(f"jobs/{quote(target)}:generate")
        response = yield from _send(HttpRequest("POST", url, json=body, expected=frozenset({409})))
        data = response.json()
        if response.status_code == 409:
            # Acme answers 409 while the job is not done: say so in the port's terms.
            raise JobNotReady(target, _STATES.get(data.get("jobState", ""), JobState.UNKNOWN))
        usage = data.get("usage", {})
        return Generation(
            text=data["text"],
            finish_reason=data.get("stop"),
            candidates=(data["text"],),
            usage=Usage(prompt_tokens=usage.get("promptTokens"), output_tokens=usage.get("outputTokens")),
            raw=data,
        )

    # --8<-- [end:generate]

    def metrics(self, job_id: str) -> Flow[Metrics]:
        response = yield from request(HttpRequest("GET", self._url(f"jobs/{quote(job_id)}/metrics")))
        data = response.json()
        points = tuple(
            MetricPoint(step=p["step"], epoch=p.get("epoch"), value=p["loss"]) for p in data.get("points", [])
        )
        # Acme calls its loss curve "loss": reported under the port's canonical name, train_loss.
        return Metrics.from_native(job_id, {"loss": points}, {"loss": "train_loss"}, data)
