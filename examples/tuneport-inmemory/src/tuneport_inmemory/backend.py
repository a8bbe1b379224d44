"""The in-memory backend: settings, capabilities, the seven operations, and two optional ones.

Its "service" is a Python object (:mod:`tuneport_inmemory.service`) whose
calls block, like a vendor SDK's.  So each operation is a flow that yields
:class:`~tuneport.protocol.BlockingCall` effects instead of HTTP requests:
the sync client runs them directly, the async client in a worker thread.
An HTTP backend would yield :class:`~tuneport.protocol.HttpRequest` instead.

It runs supervised and preference tuning, continues tuning from a tuned
model or one of its checkpoints, reports a checkpoint per epoch (each
callable) and changes the default one: what a backend declares in its
:class:`~tuneport.protocol.Capabilities` to offer more than supervised tuning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from tuneport.errors import FilterError, JobNotReady, Problem, SpecError, UnsupportedCapability
from tuneport.models import (
    Checkpoint,
    DataSource,
    Example,
    GenerateRequest,
    Generation,
    Hyperparameters,
    JobError,
    JobQuery,
    JobSpec,
    JobState,
    MetricPoint,
    Metrics,
    Page,
    PreferenceExample,
    TuningJob,
    TuningMethod,
)
from tuneport.protocol import BackendSettings, BaseBackend, BlockingCall, Capabilities, Flow, Maturity, call
from tuneport_inmemory.service import InMemoryService, service

#: How the service names a checkpoint's endpoint: ``<job id>/checkpoints/<checkpoint id>``.
_CHECKPOINT = "/checkpoints/"


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
    # --8<-- [start:capabilities]
    # Capabilities are data: the client refuses whatever is not declared here before any
    # request, so each line is a promise the contract kit holds the backend to.
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        # Supervised tuning takes the number of epochs only...
        hyperparameters=frozenset({"epoch_count"}),
        # ...and the service also runs preference tuning (DPO), which takes beta besides:
        # a method not listed here (distillation) is refused as UnsupportedCapability,
        # beta on a supervised job as UnsupportedParameter.
        methods=frozenset({TuningMethod.SUPERVISED, TuningMethod.PREFERENCE}),
        method_hyperparameters={TuningMethod.PREFERENCE: frozenset({"epoch_count", "beta"})},
        # A job may start from one of this service's tuned models (or a checkpoint of it):
        # create(tuned_model=<job id>, checkpoint=...).  BaseBackend.resolve_tuned_model
        # reads the job (get), which is all this service needs: a tuned model is named
        # after its job.
        continuous_tuning=True,
        # Finished jobs list one checkpoint per epoch, each served at its own endpoint,
        # and set_default_checkpoint (below) picks the one the tuned model serves.
        checkpoints=True,
        default_checkpoint=True,
        # No optional spec fields (spec_fields) and no evaluation: the client refuses
        # output_uri, service_account, evaluation... rather than let them be dropped.
        data_sources=frozenset({"inline", "file"}),
        max_page_size=100,
    )
    # --8<-- [end:capabilities]

    @property
    def service(self) -> InMemoryService:
        settings = self.settings
        assert isinstance(settings, InMemorySettings)
        return service(settings.namespace, seconds_per_step=settings.seconds_per_step)

    def check_spec(self, spec: JobSpec) -> None:
        """Refuse in-memory examples the service cannot learn from, before any request (no I/O).

        A file's examples are checked by ``create``, which reads it.
        """
        if isinstance(spec.training_data, tuple):
            for index, example in enumerate(spec.training_data):
                _pair(example, index)

    # --8<-- [start:create]
    def create(self, spec: JobSpec) -> Flow[TuningJob]:
        # A file is read in a blocking call (file I/O never runs on an event loop).
        examples = yield from call(_read_examples, spec.training_data, spec.method)
        pairs = [_pair(example, index) for index, example in enumerate(examples)]
        epochs = spec.hyperparameters.epoch_count or 1
        data = yield from call(
            BlockingCall(
                self.service.create_job,
                spec.base_model,
                spec.display_name,
                pairs,
                epochs,
                dict(spec.labels),
                method=spec.method.value,
                beta=spec.hyperparameters.beta,
                # Continuous tuning: the client has resolved tuned_model (and checked the
                # checkpoint exists); the service starts from what that model learned.
                source_model=spec.tuned_model,
                source_checkpoint=spec.checkpoint,
            )
        )
        return _job(data)

    # --8<-- [end:create]

    # --8<-- [start:get]
    def get(self, job_id: str) -> Flow[TuningJob]:
        data = yield from call(BlockingCall(self.service.get_job, job_id))
        return _job(data)

    # --8<-- [end:get]

    def spec_of(self, job_id: str) -> Flow[JobSpec]:
        """The spec *job_id* was created from, as the service keeps it (``client.rebase`` re-creates it).

        The service keeps a job's prompt → answer pairs, epochs, names and labels: a
        supervised job's spec is whole again.  Of preference data it keeps only the
        preferred answers, so a preference job's spec cannot be told.
        """
        job = yield from self.get(job_id)
        if job.method is not TuningMethod.SUPERVISED:
            raise UnsupportedCapability(
                self.name, "spec_of", reason="the service keeps only the preferred answers of preference data"
            )
        pairs = yield from call(BlockingCall(self.service.training_pairs, job.id))
        return JobSpec(
            base_model=str(job.base_model),
            training_data=tuple(Example.from_pair(prompt, answer) for prompt, answer in pairs),
            hyperparameters=Hyperparameters(epoch_count=job.hyperparameters.epoch_count),
            display_name=job.display_name,
            labels=job.labels,
        )

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
        # The target is a job id (its tuned model serves the default checkpoint) or the
        # endpoint of one checkpoint, which generate(job, checkpoint=...) passes.
        job_id, _, checkpoint = target.partition(_CHECKPOINT)
        prompt = request.contents[-1].text
        answer = yield from call(BlockingCall(self.service.answer, job_id, prompt, checkpoint or None))
        if answer is None:
            job = yield from self.get(job_id)
            raise JobNotReady(job_id, job.state)
        text, served = answer
        return Generation(
            text=text, finish_reason="STOP", candidates=(text,), raw={"text": text, "checkpoint": served}
        )

    # --8<-- [end:generate]

    def metrics(self, job_id: str) -> Flow[Metrics]:
        losses = yield from call(BlockingCall(self.service.losses, job_id))
        points = [MetricPoint(step=step, value=value) for step, value in losses]
        # The service calls its series "loss": reported under the port's canonical name.
        return Metrics.from_native(job_id, {"loss": points}, {"loss": "train_loss"}, {"losses": losses})

    # --8<-- [start:set-default-checkpoint]
    def set_default_checkpoint(self, job_id: str, checkpoint_id: str) -> Flow[TuningJob]:
        """An optional operation (not in the protocol): declared by ``default_checkpoint=True``.

        The client looks it up by name, after checking the job has that checkpoint.
        """
        data = yield from call(BlockingCall(self.service.set_default_checkpoint, job_id, checkpoint_id))
        return _job(data)

    # --8<-- [end:set-default-checkpoint]


def _read_examples(source: DataSource, method: TuningMethod) -> tuple[object, ...]:
    """The examples of *source*: in memory already, or read from a local file (blocking)."""
    if isinstance(source, tuple):
        return source
    from tuneport.datasets import read_records

    # tuneport reads each method's file formats (preference data: Vertex's, OpenAI's, the
    # chosen/rejected shapes), so a backend never parses a dataset file itself.
    return tuple(record.example for record in read_records(source, method=method))


def _pair(example: object, index: int) -> tuple[str, str]:
    """What the service learns from one example: a prompt and the answer to give."""
    where = f"training_data[{index}]"
    if isinstance(example, PreferenceExample):
        # Preference tuning learns to give the preferred answer (the rejected one is what
        # a real service's DPO pushes away from; this simulation only needs the winner).
        if len(example.prompt) != 1 or example.system:
            raise SpecError(
                [Problem("one user turn per prompt, no system instruction", field=f"{where}.prompt")]
            )
        return example.prompt[0].text, example.preferred.text
    if isinstance(example, Example) and len(example.turns) == 2:
        return example.turns[0].text, example.turns[1].text
    raise SpecError([Problem("one input and one output per example", field=where)])


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
        tuned_model=data["tuned_model"],
        hyperparameters=Hyperparameters(epoch_count=data["epochs"], beta=data["beta"]),
        method=TuningMethod(data["method"]),
        source_model=data["source_model"],
        source_checkpoint=data["source_checkpoint"],
        checkpoints=tuple(
            Checkpoint(
                id=c["id"], epoch=c["epoch"], step=c["step"], endpoint=c["endpoint"], is_default=c["default"]
            )
            for c in data["checkpoints"]
        ),
        labels=data["labels"],
        raw=data,
    )
