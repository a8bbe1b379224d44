"""The clients: :class:`TuningClient` (blocking) and :class:`AsyncTuningClient`.

Both drive the same backend flows.  What they add on top of the port —
capability checks before any request, spec building from keywords, paging,
and waiting — is written once in :class:`_ClientCore`; the two classes differ
only in how they do I/O and sleep.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic

from tuneport._checkpoints import (
    continued_from,
    generate_checkpoint,
    resolve_source,
    set_default_checkpoint,
    with_source,
)
from tuneport._cleanup import cleanup as cleanup_flow
from tuneport._cleanup import delete_staged, delete_with_staged
from tuneport._rebase import rebase as rebase_flow
from tuneport._spec_keys import SourcedTable, unknown_key_problems
from tuneport.errors import (
    JobFailed,
    Problem,
    SpecError,
    UnsupportedCapability,
    WaitTimeout,
)
from tuneport.models import (
    Checkpoint,
    GenerateRequest,
    Generation,
    Hyperparameters,
    JobQuery,
    JobSpec,
    JobState,
    Metrics,
    Page,
    TuningJob,
)
from tuneport.protocol import Capabilities, Flow, Maturity, Operation, TuningBackend, call
from tuneport.retry import DEFAULT_RETRY, RetryPolicy
from tuneport.waiting import Clock, PollPolicy, SystemClock

if TYPE_CHECKING:
    import httpx

    from tuneport._async_driver import AsyncDriver
    from tuneport._driver import SyncDriver
    from tuneport.catalog import Catalog
    from tuneport.cleanup import CleanupReport
    from tuneport.cost import CostEstimate

__all__ = ["AsyncTuningClient", "ProgressCallback", "StateSelection", "TuningClient"]

T = TypeVar("T")
ProgressCallback = Callable[[TuningJob], None]
#: What ``list(state=...)`` takes: a state or several, as :class:`JobState` or names.
StateSelection = JobState | str | Iterable[JobState | str] | None
log = logging.getLogger("tuneport")

_FAILED_STATES = (JobState.FAILED, JobState.EXPIRED)
#: The names a keyword or a profile's job table may give flat (``epoch_count=3``).
_HYPERPARAMETERS = frozenset(Hyperparameters.model_fields)


def spec_error(exc: pydantic.ValidationError, *, prefix: str = "") -> SpecError:
    """A :class:`SpecError` naming each invalid field of a pydantic error."""
    problems = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"] if not str(part).startswith("function-"))
        message = err["msg"]
        if not field:
            # A rule across fields (a model validator) names its field first: "checkpoint: …".
            named = _NAMED_MESSAGE.match(message)
            if named:
                field, message = named["field"], named["message"]
        problems.append(
            Problem(
                message=message,
                field=(prefix + field) if field else prefix.rstrip(".") or None,
                rule=err["type"],
            )
        )
    return SpecError(problems, summary=f"invalid {exc.title}")


_NAMED_MESSAGE = re.compile(r"(?:Value error, )?(?P<field>[a-z_]+(?:\.[a-z_]+)*): (?P<message>.+)", re.S)


def build_spec(defaults: Mapping[str, Any], fields: Mapping[str, Any]) -> JobSpec:
    """A :class:`JobSpec` from a profile's job defaults and keywords (keywords win).

    Hyperparameters may be given flat (``epoch_count=3``) or as a
    ``hyperparameters`` table; in each layer a flat one beats the table.
    An unknown key is named with where it came from (the profile's job
    table, when *defaults* is a :class:`~tuneport._spec_keys.SourcedTable`,
    or the keywords) and the key probably meant.
    """
    unknown = unknown_key_problems(
        defaults, source=getattr(defaults, "source", "the profile's job table")
    ) + unknown_key_problems(fields, source="keyword argument")
    if unknown:
        raise SpecError(unknown, summary="invalid JobSpec")
    hyper: dict[str, Any] = {}
    for layer in (defaults, fields):
        table = layer.get("hyperparameters") or {}
        if isinstance(table, Hyperparameters):
            table = table.given()
        if not isinstance(table, Mapping):
            problem = Problem(
                f"must be a table of hyperparameters, got {type(table).__name__}",
                field="hyperparameters",
                rule="dict_type",
            )
            raise SpecError([problem], summary="invalid JobSpec")
        hyper.update(table)
        hyper.update({k: v for k, v in layer.items() if k in _HYPERPARAMETERS})
    data = {k: v for k, v in {**defaults, **fields}.items() if k not in _HYPERPARAMETERS}
    if hyper:
        data["hyperparameters"] = hyper
    try:
        return JobSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise spec_error(exc) from None


class _ClientCore:
    """What both clients share: checks and decisions, no I/O."""

    def __init__(
        self,
        backend: TuningBackend,
        *,
        clock: Clock | None,
        catalog: Catalog | None = None,
        job_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.backend = backend
        #: Job-spec defaults of the profile (``[profiles.NAME.job]``), under keywords.
        # A copy, keeping a SourcedTable's origin for the messages about its keys.
        self.job_defaults: Mapping[str, Any] = (
            SourcedTable(job_defaults, source=job_defaults.source)
            if isinstance(job_defaults, SourcedTable)
            else dict(job_defaults or {})
        )
        self.clock: Clock = clock or SystemClock()
        #: Per-model facts checked before a create (``None``: capabilities only).
        self.catalog = catalog
        self._closers: list[Callable[[], None]] = []
        self._query_keyword: bool | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend.name!r})"

    @property
    def capabilities(self) -> Capabilities:
        """The backend's declared capabilities."""
        return self.backend.capabilities

    def add_closer(self, closer: Callable[[], None]) -> None:
        """Run *closer* when the client closes (e.g. stop an embedded emulator)."""
        self._closers.append(closer)

    def _run_closers(self) -> None:
        while self._closers:
            self._closers.pop()()

    def _require(self, operation: Operation) -> None:
        if not self.backend.capabilities.supports(operation):
            reason = None
            if self.backend.maturity is Maturity.SETTINGS_ONLY:
                reason = "this version of the backend holds only its registration and settings"
            raise UnsupportedCapability(self.backend.name, operation.value, reason=reason)

    def spec(self, **fields: Any) -> JobSpec:
        """A :class:`JobSpec` from keywords and the profile's job defaults (flat hyperparameters allowed)."""
        return self._make_spec(None, fields)

    @staticmethod
    def _refuse_spec_and_keywords(spec: JobSpec | None, fields: Mapping[str, Any]) -> None:
        if isinstance(spec, str):
            # create("gemini-2.5-flash", training_data=...): the positional is the spec, not the model.
            raise TypeError(
                f"create() takes a JobSpec or keywords; pass the base model as base_model={spec!r}"
            )
        if spec is not None and not isinstance(spec, JobSpec):
            raise TypeError(
                f"create() takes a JobSpec or keywords, got {type(spec).__name__} as its positional argument"
            )
        if spec is not None and fields:
            raise TypeError("pass either a JobSpec or keywords, not both")

    def _make_spec(self, spec: JobSpec | None, fields: Mapping[str, Any]) -> JobSpec:
        self._refuse_spec_and_keywords(spec, fields)
        if spec is not None:
            return spec
        return build_spec(self.job_defaults, fields)

    def _check_spec(self, spec: JobSpec, budget: Mapping[str, Any] | None = None) -> None:
        """Refuse, before any request, what the backend or the catalog rules out (reads the datasets).

        *budget* holds ``create``'s ``max_cost`` and ``on_cost`` (:func:`tuneport.cost.gate`).
        """
        from tuneport.preflight import preflight

        report = preflight(spec, backend=self.backend, catalog=self.catalog)
        if report.warnings:
            # One record for all: the CLI groups them by rule (the record carries them as data).
            log.warning("%s", _warnings_text(report.warnings), extra={PROBLEMS_ATTRIBUTE: report.warnings})
        report.raise_for_errors()
        if budget:
            from tuneport.cost import gate

            gate(report.cost, **budget)

    def _checked_spec(
        self, spec: JobSpec | None, fields: Mapping[str, Any], budget: Mapping[str, Any] | None = None
    ) -> JobSpec:
        """The spec to create, built and pre-flighted (blocking: it scans the datasets)."""
        job_spec = self._make_spec(spec, fields)
        self._check_spec(job_spec, budget)
        return job_spec

    def _create_flow(
        self, spec: JobSpec | None, fields: Mapping[str, Any], budget: Mapping[str, Any] | None = None
    ) -> Flow[TuningJob]:
        """Build and check the spec, then the backend's create: one flow, so both drivers run the checks.

        A job continuing from a tuned model first resolves it (reads only):
        its base model is what the catalog checks.  Building the spec (a first
        validation builds pydantic's validators) and scanning its datasets are
        a blocking call: the async client runs them in a worker thread, never
        on its event loop.
        """
        source, rest = continued_from(spec, fields)
        if source is not None:
            ref = yield from resolve_source(self.backend, source)
            spec, rest = with_source(ref, spec, rest, self.job_defaults)
        job_spec = yield from call(self._checked_spec, spec, rest, budget)
        return (yield from self.backend.create(job_spec))

    def _generate_flow(
        self, target: str, request: GenerateRequest, checkpoint: str | None
    ) -> Flow[Generation]:
        if checkpoint is None:
            return self.backend.generate(target, request)
        return generate_checkpoint(self.backend, target, checkpoint, request)

    def _make_generate_request(
        self, prompt: str | GenerateRequest | None, fields: Mapping[str, Any]
    ) -> GenerateRequest:
        if isinstance(prompt, GenerateRequest):
            if fields:
                raise TypeError("pass either a GenerateRequest or keywords, not both")
            return prompt
        data = dict(fields)
        if prompt is not None:
            data["contents"] = prompt
        try:
            return GenerateRequest.model_validate(data)
        except pydantic.ValidationError as exc:
            raise spec_error(exc) from None

    def _make_query(self, state: StateSelection, labels: Mapping[str, str] | None) -> JobQuery | None:
        """The portable selection of ``list(state=..., labels=...)`` (``None``: every job)."""
        if state is None and labels is None:
            return None
        if isinstance(state, Iterable) and not isinstance(state, str):
            state = tuple(state)  # a generator or any other iterable of states
        try:
            query = JobQuery.model_validate({"states": state, "labels": {} if labels is None else labels})
        except pydantic.ValidationError as exc:
            raise spec_error(exc) from None
        return None if query.is_empty else query

    def _list_flow(
        self, page_size: int | None, page_token: str | None, filter: str | None, query: JobQuery | None
    ) -> Flow[Page[TuningJob]]:
        """The backend's list of one page; with a query, only the jobs it selects.

        A backend that takes ``query`` narrows its request with it; every job is
        checked against it here all the same, so one that cannot (or an older
        backend without the keyword) still lists exactly the jobs selected.
        """
        size = self._page_size(page_size)
        if query is None:
            return self.backend.list(page_size=size, page_token=page_token, filter=filter)
        if self._list_takes_query():
            flow = self.backend.list(page_size=size, page_token=page_token, filter=filter, query=query)
        else:
            flow = self.backend.list(page_size=size, page_token=page_token, filter=filter)
        return _selected(flow, query)

    def _list_takes_query(self) -> bool:
        # Backends written before the keyword existed keep working: the client filters for them.
        if self._query_keyword is None:
            import inspect

            try:
                parameters = list(inspect.signature(self.backend.list).parameters.values())
            except (TypeError, ValueError):
                parameters = []
            self._query_keyword = any(
                p.name == "query" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters
            )
        return self._query_keyword

    def _page_size(self, page_size: int | None) -> int | None:
        cap = self.backend.capabilities.max_page_size
        if page_size is not None and page_size < 1:
            raise SpecError([Problem("must be at least 1", field="page_size")])
        if cap is not None and page_size is not None:
            return min(page_size, cap)
        return page_size


def _selected(flow: Flow[Page[TuningJob]], query: JobQuery) -> Flow[Page[TuningJob]]:
    """The page *flow* returns, keeping only the jobs *query* selects (a page may end up empty)."""
    page = yield from flow
    return Page[TuningJob](
        items=[job for job in page.items if query.matches(job)], next_page_token=page.next_page_token
    )


class _Waiter:
    """The decisions of ``wait()``: when to stop, fail, time out, or how long to pause."""

    def __init__(
        self,
        clock: Clock,
        job_id: str,
        timeout: float | None,
        poll: float | PollPolicy | None,
        progress: bool | ProgressCallback | None,
        raise_on_failure: bool,
    ) -> None:
        self.clock = clock
        self.job_id = job_id
        self.timeout = timeout
        self.schedule = PollPolicy.coerce(poll)
        self.deadline = None if timeout is None else clock.monotonic() + timeout
        self.raise_on_failure = raise_on_failure
        self.polls = 0
        self.report: ProgressCallback | None = None
        self.close: Callable[[], None] = lambda: None
        if progress is True:
            from tuneport._progress import JobProgressBar

            bar = JobProgressBar()
            self.report, self.close = bar.update, bar.close
        elif callable(progress):
            self.report = progress

    def observe(self, job: TuningJob) -> float | None:
        """Seconds to pause before the next poll, or ``None`` when *job* is final."""
        if self.report:
            self.report(job)
        if job.state.is_terminal:
            if self.raise_on_failure and job.state in _FAILED_STATES:
                raise JobFailed(job)
            return None
        pause = self.schedule.interval(self.polls)
        self.polls += 1
        if self.deadline is not None:
            remaining = self.deadline - self.clock.monotonic()
            if remaining <= 0:
                raise WaitTimeout(self.job_id, self.timeout or 0.0, job)
            pause = min(pause, remaining)
        return pause


#: The attribute of a pre-flight warning's log record that holds its problems (a tuple of ``Problem``).
PROBLEMS_ATTRIBUTE = "tuneport_problems"


def _warnings_text(problems: tuple[Problem, ...]) -> str:
    """One warning as its text; several as a count, then one per line."""
    if len(problems) == 1:
        return str(problems[0])
    return f"{len(problems)} pre-flight warnings:\n" + "\n".join(f"  {problem}" for problem in problems)


class TuningClient(_ClientCore):
    """A blocking client over one backend.  Build it with :func:`tuneport.connect`.

    Use it as a context manager (``with tuneport.connect() as client:``), or
    call :meth:`close`.  Every operation takes two optional keyword-only
    arguments: ``retry``, a :class:`~tuneport.RetryPolicy` for this call only,
    and ``timeout``, the timeout in seconds of each HTTP request of the call
    (it replaces the client's default and any the backend sets on a request;
    the budget of the whole call is ``RetryPolicy.deadline``).  ``wait``'s
    ``timeout`` is the overall time to wait instead.

    Before any request an operation checks that the backend declares it
    (``capabilities.operations``), else raises
    :class:`~tuneport.errors.UnsupportedCapability`.  An exception that is not a
    :class:`~tuneport.errors.TuneportError` and escapes the backend's code is
    raised as :class:`~tuneport.errors.BackendError`, the original as its
    ``original`` and ``__cause__``.

    Attributes:
        backend: The backend instance.
        catalog: The model catalog checked before a create
            (a :class:`~tuneport.catalog.Catalog`; ``None``: capabilities only).
        job_defaults: The profile's job defaults, merged under the keywords of
            :meth:`spec` and :meth:`create` (empty when there are none).
        clock: The clock the client sleeps on (retries, polls, a backend's pauses).
    """

    def __init__(
        self,
        backend: TuningBackend,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: Clock | None = None,
        catalog: Catalog | None = None,
        job_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(backend, clock=clock, catalog=catalog, job_defaults=job_defaults)
        from tuneport import _http
        from tuneport._driver import SyncDriver

        self._owns_http = http_client is None
        http = http_client or _http.new_sync_client(
            backend.settings.timeout, transport, verify=_http.tls_verification(backend.settings)
        )
        # The driver asks the backend for its authenticator on the first request that needs one.
        self.driver: SyncDriver = SyncDriver(http, backend, retry, self.clock)

    def __enter__(self) -> TuningClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client (when tuneport made it) and anything attached."""
        if self._owns_http:
            self.driver.http.close()
        self._run_closers()

    def _run(self, flow: Flow[T], retry: RetryPolicy | None, timeout: float | None) -> T:
        return self.driver.run(flow, retry=retry, timeout=timeout)

    def create(
        self,
        spec: JobSpec | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        max_cost: float | None = None,
        on_cost: Callable[[CostEstimate], bool | None] | None = None,
        **fields: Any,
    ) -> TuningJob:
        """Start a tuning job from a :class:`JobSpec` or from its fields as keywords.

        Hyperparameters may be given flat (``epoch_count=3``).  The spec is
        checked against the backend's capabilities before any request.
        With ``max_cost``, a job whose estimated cost (docs/cost.md) is over
        it, or cannot be estimated, raises :class:`~tuneport.cost.CostLimitExceeded`
        before any upload; ``on_cost`` sees the estimate first (returning ``False``
        stops the job with :class:`~tuneport.cost.CostNotApproved`).

        Keywords are merged over the profile's job defaults (:attr:`job_defaults`)
        and build the spec as :meth:`spec` does; a :class:`JobSpec` is used as it
        is.  A data source that is a ``str`` holding ``://`` is a URI, a tuple
        of examples is inline data, any other path a local file.  Continuing
        from a tuned model: ``tuned_model=`` (a job id, a tuned model's name or
        a :class:`TuningJob`; ``base_model=<a TuningJob>`` means the same) and
        optionally ``checkpoint=``; the client reads the tuned model first,
        fills ``base_model`` with the base it was tuned from, and refuses a
        different ``base_model`` or a checkpoint it does not have.

        Before any request the spec goes through the pre-flight checks of
        :func:`tuneport.validate` (capabilities, the model catalog, the
        backend's ``check_spec``, dataset validation); the first *kind* of
        blocking problem is raised with every problem of that kind, in the
        order of *Raises* below.  Warnings are logged on the ``tuneport``
        logger and do not block the job.

        Raises:
            TypeError: Both a ``JobSpec`` and keywords, or a positional that is
                not a ``JobSpec`` (``create("gemini-2.5-flash", ...)``).
            UnsupportedCapability: The backend cannot create jobs, run the
                method or continue tuning, or the base model cannot be tuned.
            UnsupportedParameter: A method, hyperparameter, field, data source,
                validation dataset, region or model the backend or the model
                does not accept.
            SpecError: An invalid or unknown field, a value out of the model's
                range, or what the backend's ``check_spec`` refuses.
            DatasetError: The dataset's problems, each with file, line, field
                and rule.
        """
        self._require(Operation.CREATE)
        self._refuse_spec_and_keywords(spec, fields)
        budget = {"max_cost": max_cost, "on_cost": on_cost}
        return self._run(self._create_flow(spec, fields, budget), retry, timeout)

    def get(
        self, job_id: str, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> TuningJob:
        """The job's current state."""
        self._require(Operation.GET)
        return self._run(self.backend.get(job_id), retry, timeout)

    def list_page(
        self,
        *,
        page_size: int | None = None,
        page_token: str | None = None,
        filter: str | None = None,
        state: StateSelection = None,
        labels: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> Page[TuningJob]:
        """One page of jobs, as the backend returns it (see :meth:`list` for the filters).

        With ``state`` or ``labels`` a page holds only the jobs selected: it may
        be short, even empty, and still have a next page.
        """
        self._require(Operation.LIST)
        flow = self._list_flow(page_size, page_token, filter, self._make_query(state, labels))
        return self._run(flow, retry, timeout)

    def list(
        self,
        *,
        page_size: int | None = None,
        state: StateSelection = None,
        labels: Mapping[str, str] | None = None,
        filter: str | None = None,
        limit: int | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> Iterator[TuningJob]:
        """Every job, fetching pages lazily as the iterator advances.

        ``state`` (a :class:`JobState` or its name, or several: any of them) and
        ``labels`` (every one) select jobs the same way on every backend: mapped
        to the service's filter where it has one, checked by the client where it
        has not.  ``filter`` is the service's own filter expression, passed
        through (provider-specific; a backend refuses one it cannot honour with
        :class:`~tuneport.errors.FilterError`).  ``limit`` counts selected jobs.
        Capability and argument errors are raised here, not at the first ``next()``.

        Args:
            page_size: Jobs per request: at least 1 (else ``SpecError``); a
                value above the backend's ``max_page_size`` is lowered to it.
            state: A :class:`JobState` or its name in any case, or several; a
                name that is no state is a ``SpecError`` on ``states``.
            labels: Label key → value; tuneport's own bookkeeping labels select
                nothing.
            filter: The service's filter expression; with ``state`` or
                ``labels``, both apply.
            limit: Stop after that many selected jobs.
            retry: The :class:`~tuneport.RetryPolicy` of each page's request.
            timeout: The timeout of each HTTP request, in seconds.
        """
        self._require(Operation.LIST)
        self._page_size(page_size)
        query = self._make_query(state, labels)
        return self._iterate(page_size, filter, query, limit, retry, timeout)

    def _iterate(
        self,
        page_size: int | None,
        filter: str | None,
        query: JobQuery | None,
        limit: int | None,
        retry: RetryPolicy | None,
        timeout: float | None,
    ) -> Iterator[TuningJob]:
        token: str | None = None
        seen = 0
        while limit is None or seen < limit:
            page = self._run(self._list_flow(page_size, token, filter, query), retry, timeout)
            for job in page.items:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield job
            token = page.next_page_token
            if not token:
                return

    def cancel(
        self, job_id: str, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> TuningJob:
        """Request cancellation; returns the job as it is afterwards (a finished job unchanged)."""
        self._require(Operation.CANCEL)
        return self._run(self.backend.cancel(job_id), retry, timeout)

    def delete(
        self,
        job_id: str,
        *,
        staged: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Remove what the job produced (idempotent): ``True`` if something was deleted, ``False`` if not.

        Afterwards ``get`` raises :class:`~tuneport.errors.NotFoundError`,
        ``list`` omits the job and ``generate`` raises ``NotFoundError``, on
        every backend (see the Portability page for what a backend keeps).
        With ``staged=True`` the data tuneport staged for the job goes too,
        unless another job uses it (:meth:`delete_staged`; docs/cleanup.md).
        """
        self._require(Operation.DELETE)
        if staged:
            deleted, report = self._run(delete_with_staged(self.backend, job_id), retry, timeout)
            return deleted or bool(report.removed)
        return self._run(self.backend.delete(job_id), retry, timeout)

    def delete_staged(
        self, job_id: str, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> CleanupReport:
        """Remove the data tuneport staged for the job that no other job (not deleted) uses.

        The report lists what was removed and what was kept, and why.
        """
        return self._run(delete_staged(self.backend, job_id), retry, timeout)

    def cleanup(
        self,
        older_than: dt.timedelta | str = "30d",
        *,
        apply: bool = False,
        now: dt.datetime | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> CleanupReport:
        """What tuneport staged or left behind before *older_than* ago that nothing uses.

        A dry run unless ``apply=True``: the report says what would go.
        Nothing tuneport did not create is removed (docs/cleanup.md).
        """
        return self._run(cleanup_flow(self.backend, older_than, apply, now), retry, timeout)

    def generate(
        self,
        target: str,
        prompt: str | GenerateRequest | None = None,
        *,
        checkpoint: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        **fields: Any,
    ) -> Generation:
        """Call the tuned model of *target* (a job id, or a model/endpoint name).

        With ``checkpoint``, *target* is a job and that checkpoint of its tuned
        model answers (through the endpoint serving it).

        Args:
            target: A job id, or a tuned model's or endpoint's name.
            prompt: A string (one user turn) or a whole :class:`GenerateRequest`.
            checkpoint: A checkpoint id of the job's tuned model.
            retry: A :class:`~tuneport.RetryPolicy` for this call.
            timeout: The timeout of each HTTP request, in seconds.
            **fields: The other fields of :class:`GenerateRequest`
                (``temperature=0.2``, ``max_output_tokens=16``…).

        Raises:
            TypeError: A ``GenerateRequest`` and keywords together.
            SpecError: An invalid field, or a checkpoint the job does not have
                (naming those it has).
            JobNotReady: The job has no tuned model to call yet.
            UnsupportedCapability: ``checkpoint`` on a backend that reports none.
        """
        self._require(Operation.GENERATE)
        request = self._make_generate_request(prompt, fields)
        return self._run(self._generate_flow(target, request, checkpoint), retry, timeout)

    def checkpoints(
        self, job_id: str, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> tuple[Checkpoint, ...]:
        """The checkpoints the job kept, in training order (empty where the backend reports none)."""
        return self.get(job_id, retry=retry, timeout=timeout).checkpoints

    def set_default_checkpoint(
        self,
        job_id: str,
        checkpoint: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> TuningJob:
        """Make *checkpoint* the one the job's tuned model serves; returns the job afterwards.

        Raises :class:`~tuneport.errors.UnsupportedCapability` on a backend that
        cannot (``capabilities.default_checkpoint``) and :class:`SpecError`
        naming the job's checkpoints for an id it does not have.
        """
        return self._run(set_default_checkpoint(self.backend, job_id, checkpoint), retry, timeout)

    def rebase(
        self,
        job: TuningJob | str,
        *,
        to: str,
        translate_hyperparameters: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        **overrides: Any,
    ) -> TuningJob:
        """Tune *job*'s data again on the base model *to*; returns the new job (``docs/rebase.md``).

        Where the backend has a rebase operation (vertex ``rebaseTunedModel``)
        it is used, else the job is re-created from its spec on *to*.
        ``overrides`` change only the hyperparameters (flat: ``epoch_count=4``),
        ``display_name``, ``description`` and ``labels``; the rest carries over.
        The new spec passes the pre-flight checks (catalog, capabilities) before
        any request that creates anything.  ``translate_hyperparameters`` applies
        Google's migration recipe, for the base-model pairs it covers.
        """
        self._require(Operation.GET)
        flow = rebase_flow(
            self.backend, self._check_spec, job, to, overrides, translate=translate_hyperparameters
        )
        return self._run(flow, retry, timeout)

    def metrics(
        self, job_id: str, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> Metrics:
        """The job's metric series (loss curves) as data."""
        self._require(Operation.METRICS)
        return self._run(self.backend.metrics(job_id), retry, timeout)

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll: float | PollPolicy | None = None,
        progress: bool | ProgressCallback | None = None,
        raise_on_failure: bool = True,
        retry: RetryPolicy | None = None,
    ) -> TuningJob:
        """Poll until the job reaches a terminal state and return it.

        Polls with backoff (``poll``: a fixed interval in seconds or a
        :class:`PollPolicy`).  Raises :class:`JobFailed` when the job fails or
        expires (unless ``raise_on_failure=False``) and :class:`WaitTimeout`
        after ``timeout`` seconds.  A cancelled job is returned, not raised:
        cancelling is what its owner asked for.  ``retry`` applies to each poll.

        Args:
            job_id: The job to wait for.
            timeout: The overall time to wait, in seconds; the last pause is
                shortened so a final poll happens at the deadline.  ``None``
                waits indefinitely (a job in a state that never ends, such as
                ``UNKNOWN``, is polled until then).
            poll: The pauses after the first poll, which is immediate:
                ``None`` is ``PollPolicy()`` (5 s, growing by 1.5x up to 60 s),
                a number a fixed interval in seconds.
            progress: ``True`` draws a progress bar on stderr (state, detail
                state, steps); a callable is called with every job polled, the
                last one included; ``None`` or ``False`` shows nothing.
            raise_on_failure: ``False`` returns a ``FAILED`` or ``EXPIRED`` job.
            retry: The :class:`~tuneport.RetryPolicy` of each poll; a poll's
                error, after its retries, propagates.

        Raises:
            JobFailed: The job ended ``FAILED`` or ``EXPIRED`` (the job in ``.job``).
            WaitTimeout: Still not done after ``timeout`` (the last job seen in ``.last``).
        """
        waiter = _Waiter(self.clock, job_id, timeout, poll, progress, raise_on_failure)
        try:
            while True:
                job = self.get(job_id, retry=retry)
                pause = waiter.observe(job)
                if pause is None:
                    return job
                self.clock.sleep(pause)
        finally:
            waiter.close()


class AsyncTuningClient(_ClientCore):
    """An asyncio client over one backend.  Build it with :func:`tuneport.connect_async`.

    Use it as an async context manager so its connections are closed.  It has
    the methods of :class:`TuningClient`, with the same arguments, run by the
    same backend code: each operation is a coroutine, except :meth:`list`, an
    async iterator, and ``spec``, a plain method.  ``aclose()`` closes it.
    """

    def __init__(
        self,
        backend: TuningBackend,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: Clock | None = None,
        catalog: Catalog | None = None,
        job_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(backend, clock=clock, catalog=catalog, job_defaults=job_defaults)
        from tuneport import _http
        from tuneport._async_driver import AsyncDriver

        self._owns_http = http_client is None
        timeout, verify = backend.settings.timeout, _http.tls_verification(backend.settings)
        # Built on the first request, in a worker thread (the CA bundle takes tens of ms to load);
        # credentials too are looked up on the first request that needs them, off the loop.
        http: httpx.AsyncClient | Callable[[], httpx.AsyncClient] = http_client or (
            lambda: _http.new_async_client(timeout, transport, verify=verify)
        )
        self.driver: AsyncDriver = AsyncDriver(http, backend, retry, self.clock)

    async def __aenter__(self) -> AsyncTuningClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client (when tuneport made it) and anything attached."""
        if self._owns_http and self.driver.has_http:
            await self.driver.http.aclose()
        self._run_closers()

    async def _run(self, flow: Flow[T], retry: RetryPolicy | None, timeout: float | None) -> T:
        return await self.driver.run(flow, retry=retry, timeout=timeout)

    async def create(
        self,
        spec: JobSpec | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        max_cost: float | None = None,
        on_cost: Callable[[CostEstimate], bool | None] | None = None,
        **fields: Any,
    ) -> TuningJob:
        """Start a tuning job (see :meth:`TuningClient.create`; ``on_cost`` runs in a worker thread)."""
        self._require(Operation.CREATE)
        self._refuse_spec_and_keywords(spec, fields)
        budget = {"max_cost": max_cost, "on_cost": on_cost}
        return await self._run(self._create_flow(spec, fields, budget), retry, timeout)

    async def get(
        self, job_id: str, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> TuningJob:
        """The job's current state."""
        self._require(Operation.GET)
        return await self._run(self.backend.get(job_id), retry, timeout)

    async def list_page(
        self,
        *,
        page_size: int | None = None,
        page_token: str | None = None,
        filter: str | None = None,
        state: StateSelection = None,
        labels: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> Page[TuningJob]:
        """One page of jobs (see :meth:`TuningClient.list_page`)."""
        self._require(Operation.LIST)
        flow = self._list_flow(page_size, page_token, filter, self._make_query(state, labels))
        return await self._run(flow, retry, timeout)

    def list(
        self,
        *,
        page_size: int | None = None,
        state: StateSelection = None,
        labels: Mapping[str, str] | None = None,
        filter: str | None = None,
        limit: int | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[TuningJob]:
        """Every job, as an async iterator fetching pages lazily (``async for job in client.list()``).

        The filters are those of :meth:`TuningClient.list`.  Capability and
        argument errors are raised here, not at the first iteration.
        """
        self._require(Operation.LIST)
        self._page_size(page_size)
        query = self._make_query(state, labels)
        return self._iterate(page_size, filter, query, limit, retry, timeout)

    async def _iterate(
        self,
        page_size: int | None,
        filter: str | None,
        query: JobQuery | None,
        limit: int | None,
        retry: RetryPolicy | None,
        timeout: float | None,
    ) -> AsyncIterator[TuningJob]:
        token: str | None = None
        seen = 0
        while limit is None or seen < limit:
            page = await self._run(self._list_flow(page_size, token, filter, query), retry, timeout)
            for job in page.items:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield job
            token = page.next_page_token
            if not token:
                return

    async def cancel(
        self, job_id: str, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> TuningJob:
        """Request cancellation; returns the job as it is afterwards (a finished job unchanged)."""
        self._require(Operation.CANCEL)
        return await self._run(self.backend.cancel(job_id), retry, timeout)

    async def delete(
        self,
        job_id: str,
        *,
        staged: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Remove what the job produced (idempotent): ``True`` if something was deleted.

        See :meth:`TuningClient.delete` (``staged=True``: its staged data too).
        """
        self._require(Operation.DELETE)
        if staged:
            deleted, report = await self._run(delete_with_staged(self.backend, job_id), retry, timeout)
            return deleted or bool(report.removed)
        return await self._run(self.backend.delete(job_id), retry, timeout)

    async def delete_staged(
        self, job_id: str, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> CleanupReport:
        """Remove the job's staged data no other job uses (:meth:`TuningClient.delete_staged`)."""
        return await self._run(delete_staged(self.backend, job_id), retry, timeout)

    async def cleanup(
        self,
        older_than: dt.timedelta | str = "30d",
        *,
        apply: bool = False,
        now: dt.datetime | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> CleanupReport:
        """Old staged data and leftovers nothing uses; dry unless *apply* (:meth:`TuningClient.cleanup`)."""
        return await self._run(cleanup_flow(self.backend, older_than, apply, now), retry, timeout)

    async def generate(
        self,
        target: str,
        prompt: str | GenerateRequest | None = None,
        *,
        checkpoint: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        **fields: Any,
    ) -> Generation:
        """Call the tuned model of *target*, or a ``checkpoint`` (:meth:`TuningClient.generate`)."""
        self._require(Operation.GENERATE)
        request = self._make_generate_request(prompt, fields)
        return await self._run(self._generate_flow(target, request, checkpoint), retry, timeout)

    async def checkpoints(
        self, job_id: str, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> tuple[Checkpoint, ...]:
        """The checkpoints the job kept, in training order (see :meth:`TuningClient.checkpoints`)."""
        return (await self.get(job_id, retry=retry, timeout=timeout)).checkpoints

    async def set_default_checkpoint(
        self,
        job_id: str,
        checkpoint: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> TuningJob:
        """Make *checkpoint* the one served (:meth:`TuningClient.set_default_checkpoint`)."""
        return await self._run(set_default_checkpoint(self.backend, job_id, checkpoint), retry, timeout)

    async def rebase(
        self,
        job: TuningJob | str,
        *,
        to: str,
        translate_hyperparameters: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        **overrides: Any,
    ) -> TuningJob:
        """Tune *job*'s data again on *to*; the new job (:meth:`TuningClient.rebase`)."""
        self._require(Operation.GET)
        flow = rebase_flow(
            self.backend, self._check_spec, job, to, overrides, translate=translate_hyperparameters
        )
        return await self._run(flow, retry, timeout)

    async def metrics(
        self, job_id: str, *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> Metrics:
        """The job's metric series (loss curves) as data."""
        self._require(Operation.METRICS)
        return await self._run(self.backend.metrics(job_id), retry, timeout)

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll: float | PollPolicy | None = None,
        progress: bool | ProgressCallback | None = None,
        raise_on_failure: bool = True,
        retry: RetryPolicy | None = None,
    ) -> TuningJob:
        """Poll until the job reaches a terminal state (see :meth:`TuningClient.wait`)."""
        waiter = _Waiter(self.clock, job_id, timeout, poll, progress, raise_on_failure)
        try:
            while True:
                job = await self.get(job_id, retry=retry)
                pause = waiter.observe(job)
                if pause is None:
                    return job
                await self.clock.asleep(pause)
        finally:
            waiter.close()
