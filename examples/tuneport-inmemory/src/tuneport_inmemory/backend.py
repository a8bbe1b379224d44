"""The in-memory backend: settings, capabilities, and the seven operations.

Its "service" is a Python object (:mod:`tuneport_inmemory.service`) whose
calls block, like a vendor SDK's.  So each operation is a flow that yields
:class:`~tuneport.protocol.BlockingCall` effects instead of HTTP requests:
the sync client runs them directly, the async client in a worker thread.
An HTTP backend would yield :class:`~tuneport.protocol.HttpRequest` instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from tuneport.errors import FilterError, JobNotReady, Problem, SpecError
from tuneport.models import (
    DataSource,
    Example,
    GenerateRequest,
    Generation,
    JobError,
    JobQuery,
    JobSpec,
    JobState,
    MetricPoint,
    Metrics,
    Page,
    TuningJob,
)
from tuneport.protocol import BackendSettings, BaseBackend, BlockingCall, Capabilities, Flow, Maturity, call
from tuneport_inmemory.service import InMemoryService, service


class InMemorySettings(BackendSettings):
    """Which in-memory service to use (``extra="forbid"`` comes from ``BackendSettings``)."""

    namespace: str = Field(default="default", min_length=1)
    #: Service seconds per training step, when this client creates the namespace's service.
    seconds_per_step: float = Field(default=1.0, gt=0, allow_inf_nan=False)


class InMemoryBackend(BaseBackend):
    """Tuning jobs in memory: the template for a backend plugin."""

    name: ClassVar[str] = "inmemory"
    settings_model: ClassVar[type[BackendSettings]] = InMemorySettings
    maturity: ClassVar[Maturity] = Maturity.STABLE
    # Capabilities are data: all seven operations, one hyperparameter, examples in memory or a file.
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        hyperparameters=frozenset({"epoch_count"}),
        data_sources=frozenset({"inline", "file"}),
        max_page_size=100,
    )

    @property
    def service(self) -> InMemoryService:
        settings = self.settings
        assert isinstance(settings, InMemorySettings)
        return service(settings.namespace, seconds_per_step=settings.seconds_per_step)

    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        # A file is read in a blocking call (file I/O never runs on an event loop).
        examples = yield from call(_read_examples, spec.training_data)
        pairs = []
        for index, example in enumerate(examples):
            if len(example.turns) != 2:
                raise SpecError(
                    [Problem("one input and one output per example", field=f"training_data[{index}]")]
                )
            pairs.append((example.turns[0].text, example.turns[1].text))
        epochs = spec.hyperparameters.epoch_count or 1
        data = yield from call(
            BlockingCall(
                self.service.create_job, spec.base_model, spec.display_name, pairs, epochs, dict(spec.labels)
            )
        )
        return _job(data)

    # --8<-- [start:get]
    def get(self, job_id: str) -> Flow[TuningJob]:
        data = yield from call(BlockingCall(self.service.get_job, job_id))
        return _job(data)

    # --8<-- [end:get]

    def list(
        self,
        *,
        page_size: int | None,
        page_token: str | None,
        filter: str | None,
        query: JobQuery | None = None,
    ) -> Flow[Page[TuningJob]]:
        """One page; the service selects by state and labels itself, and has no filter language."""
        if filter:
            raise FilterError(self.name, filter, "the in-memory service has no filter language")
        offset = int(page_token or 0)
        states = frozenset(s.value for s in query.states) if query else frozenset()
        labels = dict(query.labels) if query else {}
        items, following = yield from call(
            BlockingCall(self.service.list_jobs, offset, page_size or 20, states, labels)
        )
        return Page[TuningJob](
            items=[_job(item) for item in items],
            next_page_token=None if following is None else str(following),
        )

    def cancel(self, job_id: str) -> Flow[TuningJob]:
        data = yield from call(BlockingCall(self.service.cancel_job, job_id))
        return _job(data)

    def delete(self, job_id: str) -> Flow[bool]:
        deleted = yield from call(BlockingCall(self.service.delete_job, job_id))
        return deleted

    # --8<-- [start:generate]
    def generate(self, target: str, request: GenerateRequest) -> Flow[Generation]:
        prompt = request.contents[-1].text
        text = yield from call(BlockingCall(self.service.answer, target, prompt))
        if text is None:
            job = yield from self.get(target)
            raise JobNotReady(target, job.state)
        return Generation(text=text, finish_reason="STOP", candidates=(text,), raw={"text": text})

    # --8<-- [end:generate]

    def metrics(self, job_id: str) -> Flow[Metrics]:
        losses = yield from call(BlockingCall(self.service.losses, job_id))
        points = [MetricPoint(step=step, value=value) for step, value in losses]
        # The service calls its series "loss": reported under the port's canonical name.
        return Metrics.from_native(job_id, {"loss": points}, {"loss": "train_loss"}, {"losses": losses})


def _read_examples(source: DataSource) -> tuple[Example, ...]:
    """The examples of *source*: in memory already, or read from a local file (blocking)."""
    if isinstance(source, tuple):
        return source
    from tuneport.datasets import read_examples

    return tuple(read_examples(source))


def _job(data: dict[str, Any]) -> TuningJob:
    """The port's job from the service's record."""
    state = JobState(data["state"])
    progress = 1.0 if state is JobState.SUCCEEDED else data["steps_done"] / data["steps"]
    return TuningJob(
        id=data["id"],
        backend=InMemoryBackend.name,
        display_name=data["display_name"],
        base_model=data["base_model"],
        state=state,
        progress=min(progress, 1.0),
        completed_steps=data["steps_done"],
        total_steps=data["steps"],
        create_time=datetime.fromisoformat(data["created"]),
        error=JobError(message=data["error"]) if data["error"] else None,
        labels=data["labels"],
        raw=data,
    )
