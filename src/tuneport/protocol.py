"""The port: the one protocol every tuning backend implements.

Each operation of a backend is written once, as a *flow*: a generator that
yields effects and receives their results, in the style of httpx's
``Auth.auth_flow``.  An effect is either an :class:`HttpRequest` (the driver
sends it and sends back an :class:`HttpResponse`) or a :class:`BlockingCall`
(the driver runs it and sends back its return value).  The flow ``return``\\ s
the operation's result.  Because a flow does no I/O itself, the same code
serves :class:`~tuneport.TuningClient` and :class:`~tuneport.AsyncTuningClient`:
the drivers own sockets, auth headers, timeouts, retries and blocking work; the
clients add pre-flight checks, paging and waiting on top.

"No I/O" includes local files: a flow that reads, converts or hashes a
dataset does it in a :class:`BlockingCall` (``yield from call(fn, *args)``),
which the sync client runs in place and the async client runs in a worker
thread, so a 1 GB dataset never stalls an event loop.  A backend that wraps a
vendor SDK (the *escape hatch*) yields ``BlockingCall`` effects for the SDK's
calls in the same way.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Literal,
    Protocol,
    TypeVar,
    overload,
    runtime_checkable,
)

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tuneport._endpoint import MAX_TIMEOUT
from tuneport._methods import TuningMethod
from tuneport.errors import APIResponseError, UnsupportedCapability

if TYPE_CHECKING:
    # Annotations only: importing the models builds pydantic schemas, which
    # resolving a backend (``open_backend``) does not need.
    from tuneport.models import (
        GenerateRequest,
        Generation,
        JobQuery,
        JobSpec,
        Metrics,
        Page,
        TunedModelRef,
        TuningJob,
    )

__all__ = [
    "Authenticator",
    "Backoff",
    "BackendSettings",
    "BaseBackend",
    "BlockingCall",
    "Capabilities",
    "Effect",
    "ErrorDetails",
    "Flow",
    "HttpRequest",
    "HttpResponse",
    "Maturity",
    "Operation",
    "Sleep",
    "TuningBackend",
    "backoff",
    "call",
    "read_error_body",
    "tuned_model_of",
    "request",
    "sleep",
]

T = TypeVar("T")
R = TypeVar("R")


# --- effects -------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request a flow wants sent.

    ``idempotent`` tells the retry policy whether re-sending is safe after
    the request may have reached the service; ``expected`` lists error
    statuses the flow handles itself (they are sent back instead of raised).
    """

    method: str
    url: str
    params: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    idempotent: bool = True
    expected: frozenset[int] = frozenset()
    authenticate: bool = True
    timeout: float | None = None


@dataclass(frozen=True)
class HttpResponse:
    """The answer to an :class:`HttpRequest`, fully read."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    url: str = ""
    # The decoded body, once decoded (the driver checks a JSON reply before the flow reads it).
    _decoded: Any = field(default=None, init=False, repr=False, compare=False)

    def json(self) -> Any:
        """The body parsed as JSON (``{}`` for an empty body).

        A body that is not JSON — cut short, or a proxy's HTML page — raises
        :class:`~tuneport.errors.APIResponseError`, never a raw decoding error.
        """
        if not self.content:
            return {}
        if self._decoded is not None:
            return self._decoded
        try:
            decoded = json.loads(self.content)
        except (ValueError, UnicodeDecodeError, RecursionError):
            content_type = self.headers.get("content-type") or self.headers.get("Content-Type")
            shown = f"{content_type} " if content_type else ""
            raise APIResponseError(
                f"HTTP {self.status_code} with a {shown}body of {len(self.content):,} bytes that is not "
                "JSON (cut short, or a proxy's page?)",
                status_code=self.status_code,
                content_type=content_type,
                url=self.url or None,
            ) from None
        object.__setattr__(self, "_decoded", decoded)
        return decoded

    @property
    def is_success(self) -> bool:
        """True for 2xx."""
        return 200 <= self.status_code < 300


@dataclass(frozen=True)
class BlockingCall(Generic[R]):
    """Blocking work to run on the flow's behalf: local file I/O, CPU-heavy steps, SDK calls.

    The sync driver calls it in place; the async driver runs it in a worker
    thread, so the event loop never waits for it.  Whatever it raises is
    thrown back into the flow, which may handle it.
    """

    fn: Callable[..., R]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> None:
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kwargs", kwargs)

    def run(self) -> R:
        """Call the function."""
        return self.fn(*self.args, **self.kwargs)


@dataclass(frozen=True)
class Sleep:
    """Pause before the next effect (polling a long-running operation).

    The driver sleeps on its clock, so tests with a manual clock run instantly
    and the async client does not block its event loop.
    """

    seconds: float


@dataclass(frozen=True)
class Backoff:
    """Pause before trying again after ``error``, as the client's retry policy says.

    For retries a flow makes itself (re-sending a create after checking that
    the first did not land): the driver sleeps the policy's delay for
    ``attempt`` and returns, or raises ``error`` when the policy gives up
    (attempts or deadline exhausted) — one policy for every retry.
    """

    error: Exception
    attempt: int


Effect = HttpRequest | BlockingCall[Any] | Sleep | Backoff


@dataclass(frozen=True)
class ErrorDetails:
    """What a service said in an error answer, read by the backend (:meth:`TuningBackend.read_error`).

    The driver builds the typed error (:class:`~tuneport.errors.APIStatusError`
    subclass by HTTP status) from it, masking every secret.
    """

    #: The service's own words.
    message: str
    #: The service's status name (Google: ``"NOT_FOUND"``), if it gives one.
    status: str | None = None
    #: The service's id of the failed request, for its support.
    request_id: str | None = None
    #: Seconds the service asked to wait before retrying.
    retry_after: float | None = None
    #: The decoded body (JSON, or the start of the text).
    body: Any = None


#: A backend operation: yields effects, receives their results, returns ``T``.
Flow = Generator[Effect, Any, T]


@runtime_checkable
class Authenticator(Protocol):
    """Supplies auth headers for requests.

    ``blocking`` says whether :meth:`headers` may do I/O (an OAuth refresh);
    the async driver then calls it in a worker thread.  :meth:`secrets` lists
    the values that must be masked wherever text is shown.

    The drivers ask the backend for its authenticator on the first request
    that needs one (in a worker thread for the async client), so finding
    credentials — which may probe a metadata server — never runs at
    ``connect()`` time or on an event loop.
    """

    blocking: bool

    def headers(self) -> Mapping[str, str]:
        """Headers to add to an authenticated request."""
        ...

    def secrets(self) -> Iterable[str]:
        """Secret values to mask in messages and logs."""
        ...


# --- capabilities as data ----------------------------------------------------------


class Operation(str, enum.Enum):
    """The operations of the port."""

    CREATE = "create"
    LIST = "list"
    GET = "get"
    CANCEL = "cancel"
    DELETE = "delete"
    GENERATE = "generate"
    METRICS = "metrics"

    def __str__(self) -> str:
        return self.value


ALL_OPERATIONS = frozenset(Operation)


class Maturity(str, enum.Enum):
    """How complete a backend is (shown by ``tuneport backends``)."""

    SETTINGS_ONLY = "settings-only"
    PREVIEW = "preview"
    STABLE = "stable"

    def __str__(self) -> str:
        return self.value


class Capabilities(BaseModel):
    """A backend's capabilities, declared as data.

    These say what the backend's code supports.  What each base model accepts
    (tunable or not, hyperparameter ranges, dataset limits, regions) is data
    of the model catalog (:mod:`tuneport.catalog`), which plugins extend
    through the ``register_catalog`` hook.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    operations: frozenset[Operation] = ALL_OPERATIONS
    #: Names of :class:`~tuneport.models.Hyperparameters` fields accepted (by every method
    #: not listed in ``method_hyperparameters``).
    hyperparameters: frozenset[str] = frozenset()
    #: Tuning methods the backend can run (:class:`~tuneport.models.TuningMethod`).
    methods: frozenset[TuningMethod] = frozenset({TuningMethod.SUPERVISED})
    #: Hyperparameters of each method, where they differ from ``hyperparameters``.
    method_hyperparameters: Mapping[TuningMethod, frozenset[str]] = Field(default_factory=dict)
    #: Optional :class:`~tuneport.models.JobSpec` fields the backend sends (``tuning_mode``,
    #: ``output_uri``, ``custom_base_model``, ``encryption_key``, ``service_account``); a spec
    #: setting another one is refused before any request.
    spec_fields: frozenset[str] = frozenset()
    #: A job can continue from a tuned model or one of its checkpoints (``JobSpec.tuned_model``).
    continuous_tuning: bool = False
    #: Jobs report checkpoints, each callable through its endpoint.
    checkpoints: bool = False
    #: The tuned model's default checkpoint can be changed (``set_default_checkpoint``).
    default_checkpoint: bool = False
    #: The service evaluates the tuned model after tuning (``JobSpec.evaluation``).
    evaluation: bool = False
    #: Kinds of training data accepted: in-memory examples, local files, URIs.
    data_sources: frozenset[Literal["inline", "file", "uri"]] = frozenset({"inline", "file"})
    validation_data: bool = False
    max_page_size: int | None = None
    #: Every success answer of the service is JSON: the drivers check each one decodes,
    #: so a body cut short or a proxy's page is retried like a 5xx (idempotent requests)
    #: or handed to the flow as an ambiguous failure (creates).
    json_replies: bool = False

    def supports(self, operation: Operation | str) -> bool:
        """Whether the backend implements *operation*."""
        return Operation(operation) in self.operations

    def hyperparameters_of(self, method: TuningMethod | str) -> frozenset[str]:
        """The hyperparameters *method* accepts (empty for a method the backend cannot run)."""
        method = TuningMethod(method)
        if method not in self.methods:
            return frozenset()
        return self.method_hyperparameters.get(method, self.hyperparameters)

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary (for ``tuneport backends --json``) that rebuilds them (``model_validate``)."""
        return {
            "operations": sorted(o.value for o in self.operations),
            "hyperparameters": sorted(self.hyperparameters),
            "methods": sorted(m.value for m in self.methods),
            "method_hyperparameters": {
                m.value: sorted(names) for m, names in sorted(self.method_hyperparameters.items())
            },
            "spec_fields": sorted(self.spec_fields),
            "continuous_tuning": self.continuous_tuning,
            "checkpoints": self.checkpoints,
            "default_checkpoint": self.default_checkpoint,
            "evaluation": self.evaluation,
            "data_sources": sorted(self.data_sources),
            "validation_data": self.validation_data,
            "max_page_size": self.max_page_size,
            "json_replies": self.json_replies,
        }


class BackendSettings(BaseModel):
    """Base of every backend's settings model.

    Unknown keys are refused (``extra="forbid"``) so that a typo in a profile
    is an error, not a silently ignored setting.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Base URL of the service, or ``"embedded"`` for the in-process emulator.
    endpoint: str | None = None
    #: The endpoint is an emulator (declared, never guessed from the address): no
    #: credentials are looked up or sent.  ``endpoint = "embedded"`` and
    #: ``TUNEPORT_EMULATOR_HOST`` set it.
    emulator: bool = False
    #: Per-request timeout in seconds, at most a day (a huge one overflows the socket's).
    timeout: float = Field(default=60.0, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _embedded_is_an_emulator(cls, data: Any) -> Any:
        # "embedded" starts an emulator: declaring it is what lets requests go without credentials.
        if isinstance(data, dict) and data.get("endpoint") == "embedded":
            return {**data, "emulator": True}
        return data

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout_is_a_number(cls, value: Any) -> Any:
        # Lax float parsing would read `timeout = true` as one second.
        if isinstance(value, bool):
            raise ValueError("must be a number of seconds, not a boolean")
        return value

    @classmethod
    def environment_defaults(cls, environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
        """Values a vendor's own environment variables supply (lowest precedence).

        Returns ``{setting: (value, variable name)}``; e.g. the gemini backend
        reads ``GEMINI_API_KEY``.  ``TUNEPORT_<SETTING>`` variables and the
        profile both win over these.
        """
        return {}


# --- the protocol ----------------------------------------------------------------------


@runtime_checkable
class TuningBackend(Protocol):
    """What every backend implements.  Each method returns a :data:`Flow`."""

    name: ClassVar[str]
    settings_model: ClassVar[type[BackendSettings]]
    maturity: ClassVar[Maturity]

    @property
    def settings(self) -> BackendSettings:
        """The validated settings this backend was built with."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """What this backend supports."""
        ...

    def authenticator(self) -> Authenticator | None:
        """How requests are authenticated (``None``: not at all).

        Called by the driver on the first request that needs it, in a worker
        thread under asyncio: it may look credentials up (files, metadata server).
        """
        ...

    def check_spec(self, spec: JobSpec) -> None:
        """Refuse what this backend cannot send (``SpecError``/``UnsupportedParameter``), doing no I/O.

        Runs before any request, as part of the pre-flight checks (and
        :func:`tuneport.validate`): after the capability and catalog checks,
        before the datasets are scanned.
        """
        ...

    def plan_create(self, spec: JobSpec) -> list[HttpRequest]:
        """The requests :meth:`create` would send, built without sending (the dry run).

        Raises :class:`~tuneport.errors.UnsupportedCapability` when the backend
        cannot describe its requests in advance.  Unlike a flow it may read
        local files (a dataset's hash names its staged copy).
        """
        ...

    def read_error(self, response: HttpResponse) -> ErrorDetails:
        """What the service said in the error answer *response* (any status ≥ 400)."""
        ...

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        """Start a tuning job."""
        ...

    def list(
        self,
        *,
        page_size: int | None,
        page_token: str | None,
        filter: str | None,
        query: JobQuery | None = None,
    ) -> Flow[Page[TuningJob]]:
        """One page of jobs.

        ``filter`` is the service's own filter, passed through (a backend refuses
        one its service cannot honour with :class:`~tuneport.errors.FilterError`,
        before any request).  ``query`` is the portable selection (states,
        labels): map it to the service's filter where it has one; the client
        checks every job returned against it anyway, so a backend may ignore
        it.  The client passes ``query`` only to backends whose ``list`` takes
        the keyword, and only when it selects something.
        """
        ...

    def get(self, job_id: str) -> Flow[TuningJob]:
        """The job's current state."""
        ...

    def cancel(self, job_id: str) -> Flow[TuningJob]:
        """Request cancellation; returns the job as it is afterwards.

        A job that has already finished is returned unchanged, never an error.
        """
        ...

    def delete(self, job_id: str) -> Flow[bool]:
        """Remove what the job produced (idempotent); ``True`` if something was deleted.

        ``False`` when there was nothing to delete (the service answered 404,
        or the job never produced anything).  Afterwards ``get`` raises
        :class:`~tuneport.errors.NotFoundError`, ``list`` omits the job and
        ``generate`` raises ``NotFoundError`` (see ``docs/portability.md``).
        """
        ...

    def generate(self, target: str, request: GenerateRequest) -> Flow[Generation]:
        """Call the tuned model (*target*: a job id or a model/endpoint name).

        The client calls a checkpoint (``generate(job, checkpoint=…)``) by
        passing that checkpoint's endpoint as *target*.
        """
        ...

    def metrics(self, job_id: str) -> Flow[Metrics]:
        """The job's metric series."""
        ...


#: Optional operations a backend may add beside the protocol's (the client looks them up by name
#: and raises :class:`~tuneport.errors.UnsupportedCapability` when a backend has none):
#:
#: * ``resolve_tuned_model(ref) -> Flow[TunedModelRef]`` — what ``create(tuned_model=ref)``
#:   continues from: *ref* is a job id of the backend or a tuned model's name.  Without it the
#:   client reads *ref* as a job id (``get``) and takes that job's tuned model.
#: * ``set_default_checkpoint(job_id, checkpoint_id) -> Flow[TuningJob]`` — which checkpoint the
#:   tuned model serves (declared by ``Capabilities.default_checkpoint``).
#: * ``spec_of(job_id) -> Flow[JobSpec]`` — the spec the job was created from, as far as the service
#:   keeps it (its data included: vertex the datasets' ``gs://`` URIs).  ``client.rebase`` needs it:
#:   it checks the new job's spec before any request, and re-creates the job from it where the
#:   backend has no ``rebase``.
#: * ``rebase(job_id, base_model, overrides) -> Flow[TuningJob]`` — the service re-tunes the job's
#:   tuned model on *base_model* (vertex ``tuningJobs:rebaseTunedModel``) and returns the new job;
#:   *overrides* holds only the JobSpec fields asked to change (``hyperparameters`` as a
#:   :class:`~tuneport.models.Hyperparameters` of the given ones, ``display_name``,
#:   ``description``, ``labels``).  See ``docs/rebase.md``.
#: * ``delete_staged(job_id) -> Flow[CleanupReport]`` — remove the data tuneport staged for the job
#:   that no other job (not deleted) uses; ``delete(job, staged=True)`` calls it after ``delete``.
#: * ``cleanup(cutoff, apply) -> Flow[CleanupReport]`` — what tuneport staged or left behind before
#:   *cutoff* (an aware datetime) that nothing uses: removed when *apply*, else only reported.
#:   Nothing tuneport did not create is removed.  See :mod:`tuneport.cleanup`, ``docs/cleanup.md``.
OPTIONAL_OPERATIONS = (
    "resolve_tuned_model",
    "set_default_checkpoint",
    "spec_of",
    "rebase",
    "delete_staged",
    "cleanup",
)


class BaseBackend:
    """Convenience base for backends: settings, capabilities, refusals.

    Subclasses set :attr:`name`, :attr:`settings_model`, :attr:`maturity`
    and override the operations they support; the others raise
    :class:`~tuneport.errors.UnsupportedCapability` when called.
    """

    name: ClassVar[str]
    settings_model: ClassVar[type[BackendSettings]] = BackendSettings
    maturity: ClassVar[Maturity] = Maturity.STABLE
    #: Declared capabilities; override in subclasses (or the property).
    declared_capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, settings: BackendSettings | None = None) -> None:
        self._settings = settings if settings is not None else self.settings_model()

    def __repr__(self) -> str:
        # Settings models mask secrets (SecretStr), so their repr is safe.
        return f"{type(self).__name__}(settings={self._settings!r})"

    @property
    def settings(self) -> BackendSettings:
        return self._settings

    @property
    def capabilities(self) -> Capabilities:
        return self.declared_capabilities

    def authenticator(self) -> Authenticator | None:
        return None

    def _unsupported(self, operation: Operation) -> UnsupportedCapability:
        reason = None
        if self.maturity is Maturity.SETTINGS_ONLY:
            reason = "this backend holds only its registration and settings so far"
        return UnsupportedCapability(self.name, operation.value, reason=reason)

    def check_spec(self, spec: JobSpec) -> None:
        """Accept every spec the pre-flight checks let through (override to refuse more)."""

    def plan_create(self, spec: JobSpec) -> list[HttpRequest]:
        """Not described in advance, unless a subclass overrides it (``tuneport.validate``)."""
        raise UnsupportedCapability(
            self.name, "plan_create", reason="this backend does not describe its requests in advance"
        )

    def read_error(self, response: HttpResponse) -> ErrorDetails:
        """The common shapes of JSON error bodies, else the text (override for a service's own)."""
        return read_error_body(response)

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        raise self._unsupported(Operation.CREATE)

    def list(
        self,
        *,
        page_size: int | None,
        page_token: str | None,
        filter: str | None,
        query: JobQuery | None = None,
    ) -> Flow[Page[TuningJob]]:
        raise self._unsupported(Operation.LIST)

    def get(self, job_id: str) -> Flow[TuningJob]:
        raise self._unsupported(Operation.GET)

    def cancel(self, job_id: str) -> Flow[TuningJob]:
        raise self._unsupported(Operation.CANCEL)

    def delete(self, job_id: str) -> Flow[bool]:
        raise self._unsupported(Operation.DELETE)

    def generate(self, target: str, request: GenerateRequest) -> Flow[Generation]:
        raise self._unsupported(Operation.GENERATE)

    def metrics(self, job_id: str) -> Flow[Metrics]:
        raise self._unsupported(Operation.METRICS)

    def resolve_tuned_model(self, ref: str) -> Flow[TunedModelRef]:
        """What continuous tuning from *ref* starts from: *ref* read as a job id of this backend.

        Backends whose tuned models have names of their own override it to
        accept those too (vertex: ``projects/…/models/…``).
        """
        job = yield from self.get(ref)
        return tuned_model_of(job)

    def set_default_checkpoint(self, job_id: str, checkpoint_id: str) -> Flow[TuningJob]:
        """Make *checkpoint_id* the one the job's tuned model serves; returns the job."""
        raise UnsupportedCapability(self.name, "set_default_checkpoint")


def tuned_model_of(job: TuningJob) -> TunedModelRef:
    """The tuned model *job* produced, as continuous tuning starts from it (``JobNotReady`` if none)."""
    from tuneport.errors import JobNotReady
    from tuneport.models import TunedModelRef

    if not job.tuned_model or not job.state.is_success:
        raise JobNotReady(job.id, job.state)
    return TunedModelRef(
        model=job.tuned_model, base_model=job.base_model, checkpoints=job.checkpoints, job_id=job.id
    )


def request(effect: HttpRequest) -> Generator[Effect, Any, HttpResponse]:
    """Yield *effect* and return the response: ``resp = yield from request(...)``.

    Gives flows a typed way to send a request (a bare ``yield`` is ``Any``).
    """
    response = yield effect
    assert isinstance(response, HttpResponse)
    return response


@overload
def call(fn: BlockingCall[R], /) -> Generator[Effect, Any, R]: ...


@overload
def call(fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Generator[Effect, Any, R]: ...


def call(fn: Callable[..., R] | BlockingCall[R], /, *args: Any, **kwargs: Any) -> Generator[Effect, Any, R]:
    """Run blocking work off the flow and return its result: ``data = yield from call(read, path)``.

    Also takes a ready :class:`BlockingCall`: ``yield from call(BlockingCall(read, path))``.
    """
    effect = fn if isinstance(fn, BlockingCall) else BlockingCall(fn, *args, **kwargs)
    result: R = yield effect
    return result


#: Keys that carry the message in the JSON error bodies of common HTTP APIs.
_MESSAGE_KEYS = ("message", "detail", "error_description", "title", "error")


def read_error_body(response: HttpResponse) -> ErrorDetails:
    """A neutral reading of an error answer: the message of a JSON body, else its text.

    Understands ``{"error": {"message": …}}``, ``{"error": "…"}``,
    ``{"message": …}``, ``{"detail": …}`` (FastAPI, RFC 9457 problem details,
    with ``title``) and plain text; a service with its own shape overrides
    :meth:`BaseBackend.read_error`.
    """
    try:
        body: Any = response.json()
    except APIResponseError:  # not JSON: the text is the message
        body = response.content.decode("utf-8", "replace")[:500]
    message = ""
    status: str | None = None
    candidates: list[Any] = [body]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        candidates.insert(0, body["error"])
    for candidate in candidates:
        if isinstance(candidate, str):
            message = candidate.strip()
        elif isinstance(candidate, dict):
            for key in _MESSAGE_KEYS:
                value = candidate.get(key)
                if isinstance(value, str) and value.strip():
                    message = value.strip()
                    break
                if isinstance(value, list) and value:  # FastAPI's validation errors
                    message = "; ".join(
                        str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in value
                    )
                    break
            if isinstance(candidate.get("status"), str):
                status = candidate["status"]
            elif isinstance(candidate.get("code"), str):
                status = candidate["code"]
        if message:
            break
    return ErrorDetails(message=message or f"HTTP {response.status_code}", status=status, body=body)


def sleep(seconds: float) -> Generator[Effect, Any, None]:
    """Pause the flow: ``yield from sleep(2.0)``."""
    yield Sleep(seconds)


def backoff(error: Exception, attempt: int) -> Generator[Effect, Any, None]:
    """Wait before retry number ``attempt`` after ``error``, or raise it when the retry policy gives up."""
    yield Backoff(error, attempt)
