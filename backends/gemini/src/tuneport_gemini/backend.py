"""The gemini backend: every operation of the port on the ``tunedModels`` REST surface.

Each operation is a sans-IO flow (see :mod:`tuneport.protocol`); request
bodies and response parsing live in :mod:`tuneport_gemini.wire`.

Polling cost: while a model is CREATING its progress lives on the creation
operation, so ``get`` polls the operation (one request) when it knows the
operation's name — it remembers the names of the operations it created — and
otherwise reads the model, then looks its operation up once.
"""

from __future__ import annotations

import threading
import time
from typing import Any, ClassVar
from urllib.parse import quote

from tuneport.errors import (
    AlreadyExistsError,
    APIConnectionError,
    APIError,
    APIStatusError,
    BadRequestError,
    JobNotReady,
    Problem,
    SpecError,
    UnsupportedCapability,
)
from tuneport.idempotency import AMBIGUOUS, server_timeout_header, settle_window
from tuneport.models import (
    DataSource,
    Example,
    GenerateRequest,
    Generation,
    JobQuery,
    JobSpec,
    JobState,
    Metrics,
    Page,
    TuningJob,
    TuningMethod,
)
from tuneport.protocol import (
    Authenticator,
    BackendSettings,
    BaseBackend,
    Capabilities,
    ErrorDetails,
    Flow,
    HttpRequest,
    HttpResponse,
    Maturity,
    Operation,
    backoff,
    call,
    request,
    sleep,
)
from tuneport_gemini import wire
from tuneport_gemini.settings import DEFAULT_ENDPOINT, GeminiSettings
from tuneport_google.auth import (
    ApiKeyAuthenticator,
    CredentialsAuthenticator,
    application_default_credentials,
)
from tuneport_google.errors import read_google_error
from tuneport_google.proto_json import list_params

#: OAuth scopes for tuning with Application Default Credentials.
SCOPES = (
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/generative-language.tuning",
)
_AUTH_HINT = (
    'set GEMINI_API_KEY (or GOOGLE_API_KEY), put api_key in the profile, or use auth = "adc" '
    "with Application Default Credentials (gcloud auth application-default login)"
)


class GeminiBackend(BaseBackend):
    """Gemini API ``tunedModels`` (inline examples; batch size, learning rate, epochs)."""

    name: ClassVar[str] = "gemini"
    settings_model: ClassVar[type[BackendSettings]] = GeminiSettings
    maturity: ClassVar[Maturity] = Maturity.STABLE
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset(Operation),
        hyperparameters=frozenset({"epoch_count", "batch_size", "learning_rate", "learning_rate_multiplier"}),
        # The Gemini API's tuningTask is supervised tuning of a base model, and a TunedModel
        # has neither checkpoints nor an evaluation: preference and distillation jobs,
        # continuing from a tuned model and the optional spec fields (output_uri,
        # service_account...) are refused by the client before any request.
        methods=frozenset({TuningMethod.SUPERVISED}),
        spec_fields=frozenset(),
        continuous_tuning=False,
        checkpoints=False,
        default_checkpoint=False,
        evaluation=False,
        data_sources=frozenset({"inline", "file"}),
        validation_data=False,
        max_page_size=1000,
        json_replies=True,  # Google's front ends answer every success in JSON
    )

    def __init__(self, settings: BackendSettings | None = None) -> None:
        super().__init__(settings)
        #: Creation operation of each model this backend created or looked up: shared by
        #: every flow of this instance, in threads and tasks alike, so only ever read and
        #: changed through its lock-guarded methods.
        self._operations = OperationNames()
        #: Models whose create had an attempt that may still land, and until when (monotonic).
        self._settling = SettlingModels()

    @property
    def gemini_settings(self) -> GeminiSettings:
        assert isinstance(self.settings, GeminiSettings)
        return self.settings

    # --- plumbing ------------------------------------------------------------------------

    def _url(self, path: str, version: str | None = None) -> str:
        base = self.gemini_settings.endpoint or DEFAULT_ENDPOINT
        return f"{base}/{version or self.gemini_settings.api_version}/{path}"

    def read_error(self, response: HttpResponse) -> ErrorDetails:
        return read_google_error(response)

    def authenticator(self) -> Authenticator | None:
        settings = self.gemini_settings
        key = settings.api_key.get_secret_value() if settings.api_key else None
        if settings.auth == "none":
            return None
        if settings.auth in ("auto", "api_key") and key:
            return ApiKeyAuthenticator(key)
        if settings.emulator:
            return None  # a declared emulator takes requests without credentials
        if settings.auth == "api_key":
            raise _missing_credentials()
        credentials = application_default_credentials(SCOPES, service="the Gemini API", hint=_AUTH_HINT)
        return CredentialsAuthenticator(credentials, quota_project=settings.quota_project)

    # --- create ------------------------------------------------------------------------------

    def check_spec(self, spec: JobSpec) -> None:
        wire.check_spec(spec)
        self._tuned_model_id(spec)
        if isinstance(spec.training_data, str) and "://" in spec.training_data:
            raise SpecError(
                [
                    Problem(
                        "the Gemini API takes inline examples, not URIs",
                        field="training_data",
                        rule="uri-not-allowed",
                    )
                ]
            )

    def _create_request(self, spec: JobSpec, tuned_model_id: str, examples: list[Example]) -> HttpRequest:
        body = wire.create_body(spec, examples)
        return HttpRequest(
            "POST",
            self._url("tunedModels"),
            params={"tunedModelId": tuned_model_id},
            json=body,
            # The service abandons an attempt it has not finished after the request timeout.
            headers=server_timeout_header(self.settings.timeout),
            # The id is chosen here, so a re-sent create cannot make a second model: the
            # service answers 409 ALREADY_EXISTS instead (handled in create).  create
            # re-sends it itself, so that it knows when an attempt may still be in flight.
            idempotent=False,
            expected=frozenset({409}),
        )

    def _tuned_model_id(self, spec: JobSpec) -> str:
        chosen = spec.extras.get("tuned_model_id")
        if chosen is None:
            return wire.new_tuned_model_id(spec.display_name)
        if not isinstance(chosen, str) or not wire.TUNED_MODEL_ID.match(chosen):
            raise SpecError(
                [
                    Problem(
                        "must match [a-z]([a-z0-9-]{0,38}[a-z0-9])?",
                        field="extras.tuned_model_id",
                        rule="bad-id",
                    )
                ]
            )
        return chosen

    def plan_create(self, spec: JobSpec) -> list[HttpRequest]:
        self.check_spec(spec)
        examples = _read_examples(spec.training_data)
        return [self._create_request(spec, self._tuned_model_id(spec), examples)]

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        self.check_spec(spec)
        tuned_model_id = self._tuned_model_id(spec)
        # Reading a local dataset is file I/O: a blocking call, off the event loop.
        examples = yield from call(_read_examples, spec.training_data)
        req = self._create_request(spec, tuned_model_id, examples)
        window = settle_window(self.settings.timeout)
        attempt = 0
        try:
            while True:
                attempt += 1
                try:
                    resp = yield from request(req)
                    operation = resp.json() if resp.status_code != 409 else None
                    break
                except APIError as error:
                    if not _ambiguous(error):
                        raise
                    # This attempt may still be at work on the service: a delete of this model
                    # within the settle window deletes again once the window has passed.
                    self._settling.mark(tuned_model_id, time.monotonic() + window)
                    yield from backoff(error, attempt)  # raises when the retry policy gives up
            if operation is None:
                # Our retry reached a service that had already accepted an earlier
                # attempt: return that model if it is the one we asked for.
                existing = yield from request(HttpRequest("GET", self._url(f"tunedModels/{tuned_model_id}")))
                model = existing.json()
                if not _same_model(model, req.json):
                    raise AlreadyExistsError(
                        f"tunedModels/{tuned_model_id} already exists and is not the model this create "
                        "asked for",
                        status_code=409,
                        status="ALREADY_EXISTS",
                    )
                return wire.job_from_model(model)
        except APIError as error:
            if error.client_request_id is None and not isinstance(error, AlreadyExistsError):
                # The handle: the id this create chose, and the model if a last lookup finds it.
                error.client_request_id = tuned_model_id
                error.job_id = tuned_model_id
                if attempt > 1 or _ambiguous(error):
                    error.job = yield from self._last_lookup(tuned_model_id, req.json)
            raise
        if operation.get("name"):
            self._operations.remember(tuned_model_id, str(operation["name"]))
        return wire.job_from_operation(operation, spec)

    def _last_lookup(self, tuned_model_id: str, sent: Any) -> Flow[TuningJob | None]:
        try:
            resp = yield from request(
                HttpRequest("GET", self._url(f"tunedModels/{tuned_model_id}"), expected=frozenset({404}))
            )
            if resp.status_code == 404 or not _same_model(resp.json(), sent):
                return None
            return wire.job_from_model(resp.json())
        except APIError:
            return None

    # --- read ----------------------------------------------------------------------------------

    def get(self, job_id: str) -> Flow[TuningJob]:
        name = wire.model_name(job_id)
        model_id = name.removeprefix("tunedModels/")
        op_name = self._operations.get(model_id)
        if op_name is not None:
            resp = yield from request(HttpRequest("GET", self._url(op_name), expected=frozenset({404})))
            if resp.status_code != 404:
                operation = resp.json()
                if not operation.get("done"):
                    return wire.job_from_operation(operation)
                response = operation.get("response")
                if not operation.get("error") and isinstance(response, dict) and response.get("name"):
                    # Done, and the reply carries the final TunedModel: no second request.
                    return wire.job_from_operation(operation)
                # Done without the model (the response may be elided): the model holds the final state.
                resp = yield from request(HttpRequest("GET", self._url(name)))
                return wire.job_from_model(resp.json(), operation)
            # Gone (the model was deleted): another flow may have forgotten it already.
            self._operations.forget(model_id, op_name)
        resp = yield from request(HttpRequest("GET", self._url(name)))
        model = resp.json()
        operation = None
        # Progress (CREATING) and the reason for a failure (FAILED) live on the operation.
        if wire.state_of(model) in (JobState.RUNNING, JobState.FAILED):
            operation = yield from self._find_operation(name)
        return wire.job_from_model(model, operation)

    def _find_operation(self, name: str) -> Flow[dict[str, Any] | None]:
        """The creation operation of a model (remembered for the next poll)."""
        resp = yield from request(
            HttpRequest(
                "GET", self._url(f"{name}/operations"), params={"pageSize": 1}, expected=frozenset({404})
            )
        )
        if resp.status_code == 404:
            return None
        operations = resp.json().get("operations") or []
        if not operations:
            return None
        operation: dict[str, Any] = operations[0]
        self._operations.remember(name.removeprefix("tunedModels/"), str(operation.get("name")))
        return operation

    def list(
        self,
        *,
        page_size: int | None,
        page_token: str | None,
        filter: str | None,
        query: JobQuery | None = None,
    ) -> Flow[Page[TuningJob]]:
        """One page of tuned models; ``query`` is selected by the client (the API has no such filter).

        A FAILED model may have been cancelled: only its creation operation
        tells, so each FAILED model of the page costs one more request (none
        when the query selects neither FAILED nor CANCELLED).  A TunedModel has
        no labels, so a query naming labels selects nothing and sends nothing.
        """
        wire.check_list_filter(filter)
        params = list_params(page_size, page_token, filter)
        if query is not None and query.labels:
            return Page[TuningJob](items=[])
        resp = yield from request(HttpRequest("GET", self._url("tunedModels"), params=params))
        data = resp.json()
        endings = {JobState.FAILED, JobState.CANCELLED}
        look_up = query is None or not query.states or bool(query.states & endings)
        items = []
        for model in data.get("tunedModels") or []:
            operation = None
            if look_up and wire.state_of(model) is JobState.FAILED:
                operation = yield from self._creation_operation(str(model.get("name", "")))
            items.append(wire.job_from_model(model, operation))
        return Page[TuningJob](items=items, next_page_token=data.get("nextPageToken") or None)

    def _creation_operation(self, name: str) -> Flow[dict[str, Any] | None]:
        """A model's creation operation: the remembered one, else looked up (one request either way)."""
        model_id = name.removeprefix("tunedModels/")
        op_name = self._operations.get(model_id)
        if op_name is not None:
            resp = yield from request(HttpRequest("GET", self._url(op_name), expected=frozenset({404})))
            if resp.status_code != 404:
                operation: dict[str, Any] = resp.json()
                return operation
            self._operations.forget(model_id, op_name)
        return (yield from self._find_operation(name))

    # --- cancel and delete -----------------------------------------------------------------------

    def cancel(self, job_id: str) -> Flow[TuningJob]:
        """Best effort: cancel the creation operation (``POST /v1/{operation}:cancel``).

        Google declares this method in its v1 protos but documents no effect
        for tuning; the returned job shows whatever the service did.  A model
        that is no longer CREATING is returned unchanged.
        """
        name = wire.model_name(job_id)
        model_id = name.removeprefix("tunedModels/")
        op_name = self._operations.get(model_id)
        if op_name is None:
            resp = yield from request(HttpRequest("GET", self._url(name)))
            model = resp.json()
            if wire.state_of(model) is JobState.FAILED:
                # Cancelled or failed: only the operation tells (never report a cancel as a failure).
                ended = yield from self._find_operation(name)
                return wire.job_from_model(model, ended)
            if wire.state_of(model) is not JobState.RUNNING:
                return wire.job_from_model(model)
            operation = yield from self._find_operation(name)
            if operation is None:
                raise UnsupportedCapability(
                    self.name, "cancel", reason=f"{name} has no creation operation to cancel"
                )
            op_name = str(operation["name"])
        yield from request(HttpRequest("POST", self._url(f"{op_name}:cancel", version="v1"), json={}))
        job = yield from self.get(job_id)
        return job

    def delete(self, job_id: str) -> Flow[bool]:
        """Delete the tuned model (the job *is* the model): ``False`` when it was not there (404)."""
        name = wire.model_name(job_id)
        model_id = name.removeprefix("tunedModels/")
        # 404: already gone, which is what delete wants (idempotent).
        resp = yield from request(HttpRequest("DELETE", self._url(name), expected=frozenset({404})))
        deleted = resp.status_code != 404
        self._operations.forget(model_id)
        until = self._settling.pop(model_id)
        if until is not None:
            # A create attempt of this model may still land and make it again (a resurrection):
            # once no attempt can land any more, delete again.
            remaining = until - time.monotonic()
            if remaining > 0:
                yield from sleep(remaining)
            again = yield from request(HttpRequest("DELETE", self._url(name), expected=frozenset({404})))
            deleted = deleted or again.status_code != 404
            self._operations.forget(model_id)
        return deleted

    # --- generate and metrics -----------------------------------------------------------------------

    def generate(self, target: str, request_: GenerateRequest) -> Flow[Generation]:
        name = wire.model_name(target)
        body = wire.generate_body(request_)
        url = self._url(f"{quote(name, safe='/')}:generateContent")
        try:
            resp = yield from request(HttpRequest("POST", url, json=body))
        except BadRequestError as error:
            if error.status != "FAILED_PRECONDITION":
                raise
            # The model exists but is not ACTIVE: say so in the port's terms, with its state.
            job = yield from self.get(target)
            raise JobNotReady(job.id, job.state) from None
        return wire.generation_from(resp.json())

    def metrics(self, job_id: str) -> Flow[Metrics]:
        name = wire.model_name(job_id)
        resp = yield from request(HttpRequest("GET", self._url(name)))
        model = resp.json()
        snapshots = (model.get("tuningTask") or {}).get("snapshots") or []
        raw: dict[str, Any] = {"tunedModel": model}
        if not snapshots and wire.state_of(model) is JobState.RUNNING:
            operation = yield from self._find_operation(name)
            if operation is not None:
                snapshots = (operation.get("metadata") or {}).get("snapshots") or []
                raw["operation"] = operation
        return wire.metrics_from_snapshots(name.removeprefix("tunedModels/"), snapshots, raw)


class OperationNames:
    """Model id → name of its creation operation, safe to share between concurrent flows.

    Flows of one backend run at once (``asyncio.gather``, threads sharing a
    client) and interleave at every request, so a name read before a request
    may be forgotten by another flow before the next: each change is one
    locked step that tolerates the others having happened.  Bounded, so a
    long-lived backend that creates many models does not grow without end.
    """

    LIMIT = 4096

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, model_id: str) -> str | None:
        """The remembered operation of *model_id*, if any."""
        with self._lock:
            return self._names.get(model_id)

    def remember(self, model_id: str, operation: str) -> None:
        """Remember *operation* as *model_id*'s creation operation."""
        with self._lock:
            self._names.pop(model_id, None)
            self._names[model_id] = operation
            while len(self._names) > self.LIMIT:
                del self._names[next(iter(self._names))]  # the oldest first

    def forget(self, model_id: str, operation: str | None = None) -> None:
        """Forget *model_id*'s operation (only if it is still *operation*, when given)."""
        with self._lock:
            if operation is None or self._names.get(model_id) == operation:
                self._names.pop(model_id, None)


class SettlingModels:
    """Models whose create had an attempt that may still land, with the monotonic time it no longer can.

    Thread-safe: shared by every flow of a backend instance.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def mark(self, model_id: str, until: float) -> None:
        with self._lock:
            self._until[model_id] = max(until, self._until.get(model_id, until))

    def pop(self, model_id: str) -> float | None:
        with self._lock:
            return self._until.pop(model_id, None)


def _ambiguous(error: APIError) -> bool:
    """Whether a failed create attempt may have reached the service (and must be re-sent by the flow)."""
    if isinstance(error, APIConnectionError):
        return error.request_sent  # one that never left is re-sent by the driver
    if isinstance(error, APIStatusError) and error.status_code == 408:
        return True
    return isinstance(error, AMBIGUOUS)


def _same_model(existing: dict[str, Any], sent: Any) -> bool:
    """Whether an existing model is the one a create asked for (after a lost reply)."""
    if not isinstance(sent, dict):
        return False
    if existing.get("baseModel") != sent.get("baseModel") or existing.get("displayName") != sent.get(
        "displayName"
    ):
        return False
    sent_hyper = (sent.get("tuningTask") or {}).get("hyperparameters") or {}
    got_hyper = (existing.get("tuningTask") or {}).get("hyperparameters") or {}
    # The service fills in defaults; what we sent must be there unchanged.
    return all(got_hyper.get(key) in (value, str(value)) for key, value in sent_hyper.items())


def _read_examples(source: DataSource) -> list[Example]:
    """The examples of *source*, read from its file if it is one (blocking)."""
    if isinstance(source, tuple):
        # Pre-flight lets only supervised jobs through (the capabilities declare no other
        # method), so these are supervised examples; anything else is refused, never sent.
        for index, item in enumerate(source):
            if not isinstance(item, Example):
                where = f"training_data[{index}]"
                raise SpecError([Problem("the Gemini API tunes from supervised examples only", field=where)])
        return [item for item in source if isinstance(item, Example)]
    from tuneport.datasets import read_examples

    return list(read_examples(source))


def _missing_credentials() -> Exception:
    from tuneport.errors import ConfigError

    return ConfigError(f"no credentials for the Gemini API: {_AUTH_HINT}", key="api_key")
