"""Vertex tuning jobs: their records, their time line on the emulator clock, and their views.

A job is stored once, as a typed record (:class:`~.records.TuningJob`): what
the client sent (normalized), the effective hyperparameters, the examples
and statistics of its dataset (read from the emulated Cloud Storage at
creation), the training plan (:mod:`tuneport_emulator.training`), the names
of the model, endpoint, experiment and TensorBoard it will own, and, once it
is stopped, when and why.  Its :class:`~.records.JobState` is computed from
the plan and the clock on every read, and rendered to the wire's JSON here::

    create ─15 s─ dataset processed ─15 s─ step 1 … step N ─20 s─ SUCCEEDED
    PENDING                PENDING          RUNNING      RUNNING
    (PROCESSING_DATASET)   (WAITING_FOR_    (TUNING)     (POST_PROCESSING)
                            CAPACITY)

With a ``tuningJobQuota`` set (admin), a job created while its project runs
that many jobs waits first: ``PENDING`` (``WAITING_FOR_QUOTA``) until the
earliest of them ends, and its time line starts then.  The method of a job
(:mod:`.methods`) decides which spec holds its data, its checkpoints
(:mod:`.checkpoints`), statistics (:mod:`.method_stats`) and evaluation
(:mod:`.evaluation`).

A bad dataset fails the job when processing ends (``INVALID_ARGUMENT``); a
cancel makes it ``CANCELLING`` for 10 s, then ``CANCELLED`` with
``error.code = 1``.  ``tuningDataStats`` appear once the dataset is
processed, ``experiment`` once the job runs, ``tunedModel`` (and the model
and endpoint resources) when it succeeds.
"""

from __future__ import annotations

import asyncio
import math
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tuneport_emulator import training
from tuneport_emulator.datasets import DatasetLimits
from tuneport_emulator.operations import RpcStatus
from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.schema import normalize
from tuneport_emulator.storage import Objects
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.vertex.base_models import resolve_base_model
from tuneport_emulator.vertex.checkpoints import (
    checkpoint_views,
    checkpoints,
    default_checkpoint,
    examples_at,
    make_deployments,
)
from tuneport_emulator.vertex.checks import (
    check_pre_tuned_hyperparameters,
    default_batch_size,
    effective_hyperparameters,
    validate_create,
)
from tuneport_emulator.vertex.datasets import (
    Checking,
    Dataset,
    DatasetCache,
    DatasetResult,
    read_dataset,
)
from tuneport_emulator.vertex.distillation import teacher_answers
from tuneport_emulator.vertex.evaluation import MAX_EVALUATION_EXAMPLES, evaluation_runs
from tuneport_emulator.vertex.filters import FilterField, compile_filter
from tuneport_emulator.vertex.method_stats import method_stats, preference_split_problem
from tuneport_emulator.vertex.methods import DISTILLATION, FULL, PREFERENCE, method_of, spec_of, training_uri
from tuneport_emulator.vertex.model_versions import (
    add_version,
    display_name,
    resolve,
    split_version,
    version_id,
)
from tuneport_emulator.vertex.names import METADATA_STORE, canonical_name, check_parent, numeric_id
from tuneport_emulator.vertex.records import Example, JobState, Stop, StopKind, TuningJob, Validation
from tuneport_emulator.vertex.schema import messages, prune
from tuneport_emulator.vertex.serving import home_of
from tuneport_emulator.wire import RPC_CODES, ApiError, bad_request, format_timestamp

__all__ = [
    "BACKGROUND_CHECK_BYTES",
    "CANCEL_SECONDS",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "POST_PROCESSING_SECONDS",
    "PROCESSING_SECONDS",
    "Status",
    "TuningJobs",
]

SECTION = "vertex"
#: Seconds of dataset processing (PENDING / PROCESSING_DATASET) after creation.
PROCESSING_SECONDS = 15.0
#: Seconds of post-processing (RUNNING / POST_PROCESSING) after the last step.
POST_PROCESSING_SECONDS = 20.0
#: A dataset file this large, not checked before, is checked while the job is PENDING, not in the create.
BACKGROUND_CHECK_BYTES = 8 << 20
#: The error of a job whose background check broke (the emulator's bug), in Google's words for INTERNAL.
INTERNAL_MESSAGE = "Internal error encountered."
#: Seconds between looks at a check a read waits for (the store's lock is free meanwhile).
_WAIT_POLL_SECONDS = 0.02
#: What a job continuing a tuned model keeps of that model's examples (answered after its own).
MAX_INHERITED_EXAMPLES = 10_000
#: Seconds a cancelled job stays CANCELLING.
CANCEL_SECONDS = 10.0
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: What a seeded job answers when it has no training data.
SEED_EXAMPLES = [["ping", "pong", ""]]
#: The states a seed may put a job in.
SEED_STATES = tuple(
    state.name
    for state in (
        JobState.JOB_STATE_PENDING,
        JobState.JOB_STATE_RUNNING,
        JobState.JOB_STATE_SUCCEEDED,
        JobState.JOB_STATE_FAILED,
        JobState.JOB_STATE_CANCELLING,
        JobState.JOB_STATE_CANCELLED,
    )
)
_CANCELLED_ERROR = RpcStatus(RPC_CODES["CANCELLED"], "The tuning job was cancelled.")
_JOB_STATE_VALUES = {state.name: state.value for state in JobState}
_TIMESTAMP = FilterField("create_time", "timestamp")
#: What ``tuningJobs.list`` filters on (snake_case and camelCase names).
JOB_FIELDS: dict[str, FilterField] = {
    "state": FilterField("state", "enum", _JOB_STATE_VALUES),
    "labels": FilterField("labels", "map"),
    "base_model": FilterField("base_model", "string"),
    "baseModel": FilterField("base_model", "string"),
    "tuned_model_display_name": FilterField("display_name", "string"),
    "tunedModelDisplayName": FilterField("display_name", "string"),
    "display_name": FilterField("display_name", "string"),
    "create_time": _TIMESTAMP,
    "createTime": _TIMESTAMP,
    "update_time": FilterField("update_time", "timestamp"),
    "updateTime": FilterField("update_time", "timestamp"),
}


@dataclass(frozen=True)
class Status:
    """Where a job is at some instant."""

    state: JobState
    #: v1beta1 ``tuningJobState`` (None once terminal).
    detail: str | None
    #: Completed training steps.
    steps: int
    #: When the job last changed (its ``updateTime``).
    changed: float
    #: Whether it reached RUNNING (it then has an experiment and a ``startTime``).
    ran: bool
    #: When it ended (terminal states only).
    end: float | None = None


class TuningJobs:
    """The ``tuningJobs`` collections of every project and location, over the shared store."""

    def __init__(self, context: EmulatorContext) -> None:
        self._context = context
        self._store = context.store
        self._clock = context.clock
        self._objects = Objects(context)
        #: Checked dataset files, so that jobs on one unchanged file check it once.
        self._datasets = DatasetCache()
        #: Jobs whose dataset is still being checked on a thread of its own, by name.  Hold the lock.
        self._pending: dict[str, TuningJob] = {}

    # --- records -----------------------------------------------------------------------

    def section(self) -> dict[str, Any]:
        """The surface's section of the store.  Hold the lock."""
        return self._store.section(SECTION)

    def _jobs(self) -> dict[str, TuningJob]:
        jobs = self._store.collection(SECTION, "tuningJobs", TuningJob.from_json)
        if self._pending:
            self._settle_due(jobs, self._clock.now())
        return jobs

    def _settle_due(self, jobs: dict[str, TuningJob], now: float) -> None:
        """Settle the jobs whose checks are over (or, on a manual clock, due).  Hold the lock."""
        for name, record in list(self._pending.items()):
            if jobs.get(name) is not record:
                self._pending.pop(name, None)  # reset or replaced meanwhile: nobody needs its data
            else:
                self._try_settle(record, now)

    def _try_settle(self, record: TuningJob, now: float) -> None:
        """Fill in a job's data if its check is over.  Hold the lock.

        On a manual clock the check ends with the processing phase, however
        long it takes: a read past that phase waits for it, so that tests see
        the same time line whatever the machine (the store's lock is free
        while it waits, and it never waits on the event loop: see
        :meth:`_Settle.wait`).  On a scaled clock nothing waits: the job
        stays in its processing phase until the check is over.
        """
        settle = record.settle
        if settle is None:
            return
        if self._clock.mode != "manual":
            settle(False)
        elif now >= record.create_time + PROCESSING_SECONDS:
            if isinstance(settle, _Settle) and not settle.done():
                settle.wait(self._store.lock)
            if record.settle is not None:  # (another read may have settled it meanwhile)
                record.settle(True)

    def all_jobs(self) -> list[TuningJob]:
        """Every job of every project and location, in creation order.  Hold the lock."""
        return sorted(self._jobs().values(), key=lambda job: job.number)

    def index(self, kind: str) -> dict[str, str]:
        """Resource name → job name, for ``models``, ``endpoints`` and ``experiments``.  Hold the lock."""
        indexes = self.section().setdefault("index", {})
        return indexes.setdefault(kind, {})  # type: ignore[no-any-return]

    def page_cap(self, maximum: int) -> int:
        """``maximum``, lowered by the admin ``maxPageSize`` setting (for tests of paging)."""
        with self._store.lock:
            cap = self.section().get("settings", {}).get("maxPageSize")
        return min(maximum, int(cap)) if cap else maximum

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Set surface settings (admin), each a positive integer or null to reset.

        ``maxPageSize`` caps list pages (for tests of paging); ``tuningJobQuota``
        is the number of tuning jobs a project may run at once (Google's
        concurrent-tuning-jobs quota, global to the project; default: no limit).
        """
        unknown = set(settings) - {"maxPageSize", "tuningJobQuota"}
        if unknown:
            raise bad_request(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
        for key, value in settings.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise bad_request(f"{key} must be a positive integer or null.", field=key)
        with self._store.lock:
            stored = self.section().setdefault("settings", {})
            stored.update(settings)
            return dict(stored)

    def _admission(self, parent: str, now: float) -> float | None:
        """When a job of ``parent``'s project created now gets its quota (None: at once).  Hold the lock.

        Jobs are admitted in creation order; a job holds its slot until it
        ends as planned when it is admitted (a later cancel frees nothing for
        jobs already waiting: their start is fixed when they are created).
        """
        quota = int(self.section().get("settings", {}).get("tuningJobQuota") or 0)
        if not quota:
            return None
        project = parent.split("/locations/", 1)[0]
        ends = sorted(
            end
            for record in self._jobs().values()
            if record.parent.split("/locations/", 1)[0] == project
            for end in (_busy_until(record),)
            if end > now
        )
        if len(ends) < quota:
            return None
        return ends[len(ends) - quota]

    def record(self, name: str) -> TuningJob:
        """The record of a job by full name; 404 if there is none.  Hold the lock."""
        found = self._jobs().get(name)
        if found is None:
            raise ApiError("NOT_FOUND", f"TuningJob {name} is not found.")
        return found

    def record_by(self, kind: str, name: str) -> TuningJob | None:
        """The job owning resource ``name`` of ``kind`` (see :meth:`index`), or None.  Hold the lock."""
        job = self.index(kind).get(name)
        return None if job is None else self._jobs().get(job)

    # --- the time line -------------------------------------------------------------------

    def status(self, record: TuningJob, now: float) -> Status:
        """The job's state at ``now``."""
        if record.settle is not None:
            self._try_settle(record, now)
            if record.settle is not None:
                return self._processing_status(record, now)
        processed = _processed(record)
        plan = record.plan
        created = record.create_time
        started = plan.step_time(0)
        steps_end = plan.end_time
        succeeded = steps_end + POST_PROCESSING_SECONDS
        stop = record.stop
        admitted = record.admitted_time
        if admitted is not None and now < admitted and (stop is None or now < stop.time):
            return Status(JobState.JOB_STATE_PENDING, "TUNING_JOB_STATE_WAITING_FOR_QUOTA", 0, created, False)
        if stop is not None and stop.time < succeeded and now >= stop.time:
            at = stop.time
            steps = plan.completed_steps(at)
            ran = at >= started
            if stop.kind is StopKind.FAIL:
                return Status(JobState.JOB_STATE_FAILED, None, steps, at, ran, at)
            done = at + CANCEL_SECONDS
            if now < done:
                return Status(JobState.JOB_STATE_CANCELLING, None, steps, at, ran)
            return Status(JobState.JOB_STATE_CANCELLED, None, steps, done, ran, done)
        if now >= succeeded:
            return Status(JobState.JOB_STATE_SUCCEEDED, None, plan.total_steps, succeeded, True, succeeded)
        if now >= steps_end:
            total = plan.total_steps
            return Status(
                JobState.JOB_STATE_RUNNING, "TUNING_JOB_STATE_POST_PROCESSING", total, steps_end, True
            )
        if now >= started:
            steps = plan.completed_steps(now)
            return Status(
                JobState.JOB_STATE_RUNNING, "TUNING_JOB_STATE_TUNING", steps, plan.step_time(steps), True
            )
        if now >= processed:
            return Status(
                JobState.JOB_STATE_PENDING, "TUNING_JOB_STATE_WAITING_FOR_CAPACITY", 0, created, False
            )
        return Status(JobState.JOB_STATE_PENDING, "TUNING_JOB_STATE_PROCESSING_DATASET", 0, created, False)

    @staticmethod
    def _processing_status(record: TuningJob, now: float) -> Status:
        """The state of a job whose dataset is still being checked: PENDING, unless cancelled."""
        stop = record.stop  # only a cancel can be set before the check is over
        if stop is not None and now >= stop.time:
            done = stop.time + CANCEL_SECONDS
            if now < done:
                return Status(JobState.JOB_STATE_CANCELLING, None, 0, stop.time, False)
            return Status(JobState.JOB_STATE_CANCELLED, None, 0, done, False, done)
        state = JobState.JOB_STATE_PENDING
        return Status(state, "TUNING_JOB_STATE_PROCESSING_DATASET", 0, record.create_time, False)

    def status_of(self, name: str) -> tuple[TuningJob, Status]:
        """(record, state now) of a job; 404 if unknown.  Hold the lock."""
        record = self.record(name)
        return record, self.status(record, self._clock.now())

    # --- create ------------------------------------------------------------------------

    def create(self, parent: str, body: dict[str, Any], version: str) -> dict[str, Any]:
        """Create a job from a normalized TuningJob; its view."""
        request = validate_create(body, version=version, location=parent.rsplit("/", 1)[1])
        fields = request.fields
        method = request.method
        base_name = request.base_name
        inherited: list[Example] = []
        version_of: tuple[str, str] | None = None
        if request.pre_tuned_model is not None:
            base_name, inherited, version_of = self._pre_tuned_base(request.pre_tuned_model, fields)
        assert base_name is not None
        spec = spec_of(fields)
        teacher = self._tuned_teacher(spec) if method is DISTILLATION else None
        background = BACKGROUND_CHECK_BYTES
        kind, limits = method.data_kind, method.limits
        training_data = self._read_dataset(
            training_uri(fields), "training", background, kind=kind, limits=limits
        )
        validation_data: DatasetResult | Checking | None = None
        if spec.get("validationDatasetUri"):
            validation_data = self._read_dataset(
                spec["validationDatasetUri"], "validation", background, kind=kind, limits=limits
            )
        with self._store.lock:
            record = self._new_record(
                parent,
                fields,
                base_name,
                training_data,
                validation_data,
                teacher_examples=teacher,
                version_of=version_of,
            )
            record.inherited_examples = inherited
            # The answer is the job as created (PENDING, no experiment), as Vertex's is, however long
            # the create took: the vertexai SDK breaks on an experiment in it.
            return self.view(record, record.create_time, version)

    def _tuned_teacher(self, spec: dict[str, Any]) -> list[Example] | None:
        """The examples of a distillation job's tuned teacher (None for a base teacher); 404 if gone."""
        source = spec.get("tunedTeacherModelSource")
        if not source:
            return None
        with self._store.lock:
            return list(resolve(self, canonical_name(str(source)), self._clock.now()).examples)

    def _read_dataset(
        self,
        uri: str,
        role: str,
        background_bytes: int | None = None,
        *,
        kind: str = "supervised",
        limits: DatasetLimits | None = None,
    ) -> DatasetResult | Checking:
        return read_dataset(
            self._objects,
            uri,
            role,
            cache=self._datasets,
            lock=self._store.lock,
            background_bytes=background_bytes,
            now=self._clock.now,
            kind=kind,
            limits=limits,
        )

    def _pre_tuned_base(
        self, tuned_model: str, fields: dict[str, Any]
    ) -> tuple[str, list[Example], tuple[str, str] | None]:
        """Of a job that continues a tuned model (version): its base model, what the version or its
        checkpoint knows, and (model, display name) when the job makes a new version of that model.

        It does unless the job names a display name other than the model's (see :mod:`.model_versions`).
        """
        name = canonical_name(tuned_model)
        with self._store.lock:
            now = self._clock.now()
            owner = resolve(self, name, now)
            model = split_version(name)[0]
            base_name = owner.base_model
            known = [c.id for c in checkpoints(owner)]
            checkpoint = (fields.get("preTunedModel") or {}).get("checkpointId")
            inherited = examples_at(owner, checkpoint if checkpoint in known else default_checkpoint(owner))
            default = resolve(self, model, now)
            model_display = str(default.model_updates.get("displayName") or display_name(default))
        base = resolve_base_model(base_name)
        if base is not None:
            check_pre_tuned_hyperparameters(fields, base)
        if checkpoint and checkpoint not in known:
            raise bad_request(
                f"Checkpoint {checkpoint} does not exist in {name}; its checkpoints are {', '.join(known)}.",
                field="tuning_job.pre_tuned_model.checkpoint_id",
            )
        given = fields.get("tunedModelDisplayName")
        version_of = None if given and given != model_display else (model, model_display)
        return base_name, inherited[:MAX_INHERITED_EXAMPLES], version_of

    def _new_record(
        self,
        parent: str,
        fields: dict[str, Any],
        base_name: str,
        training_data: DatasetResult | Checking,
        validation_data: DatasetResult | Checking | None,
        *,
        examples: list[list[str]] | None = None,
        teacher_examples: list[Example] | None = None,
        version_of: tuple[str, str] | None = None,
    ) -> TuningJob:
        """Build and store a job record created now.  Hold the lock.

        A dataset still being checked leaves the fields that follow from the
        data to :meth:`_apply_data`, run once the check is over (see
        :meth:`_try_settle`); until then the job is in its processing phase,
        whose view does not show them.  ``version_of``: (model, its display name) of which the
        job makes a new version, instead of a model of its own.
        """
        now = self._clock.now()
        spec = spec_of(fields)
        full = method_of(fields) is FULL or spec.get("tuningMode") == "TUNING_MODE_FULL"
        hyper = effective_hyperparameters(spec.get("hyperParameters") or {}, adapter=not full)
        # A job in "global" (open models) puts its model and endpoints in a real region, a
        # 3.1 Flash-Lite job in the multi-region that serves it (vertex/serving.py).
        home = home_of(parent, base_name)
        job_id = numeric_id(self._context.ids, "tuningJob")
        while f"{parent}/tuningJobs/{job_id}" in self._jobs():
            job_id = numeric_id(self._context.ids, "tuningJob")
        name = f"{parent}/tuningJobs/{job_id}"
        record = TuningJob(
            name=name,
            parent=parent,
            id=job_id,
            number=self._store.next_number("vertex.tuningJob"),
            fields=fields,
            base_model=base_name,
            hyper_parameters=hyper,
            examples=[],
            stats=None,
            step_tokens=0.0,
            validation=None,
            create_time=now,
            # Replaced by _apply_data (a job's steps start after setup, however many there are).
            plan=training.Plan.create(start=now, examples=1, batch_size=1, epochs=1, seed=0),
            stop=None,
            experiment_id=f"tuning-experiment-{job_id}",
            tensorboard=self._tensorboard(parent),
            model=version_of[0] if version_of else f"{home}/models/{numeric_id(self._context.ids, 'model')}",
            endpoint=f"{home}/endpoints/{numeric_id(self._context.ids, 'endpoint')}",
            deployed_model_id=numeric_id(self._context.ids, "deployedModel"),
            teacher_examples=teacher_examples,
            admitted_time=self._admission(parent, now),
        )
        if isinstance(training_data, Checking) or isinstance(validation_data, Checking):
            record.settle = self._settler(record, training_data, validation_data)
            self._pending[name] = record
        else:
            self._apply_data(record, training_data, validation_data, examples)
        self._jobs()[name] = record
        if version_of is None:
            self.index("models")[record.model] = name
        else:
            add_version(self, record.model, name)
            if not fields.get("tunedModelDisplayName"):
                record.version_display_name = version_of[1]
        self.index("endpoints")[record.endpoint] = name
        self.index("experiments")[experiment_name(record)] = name
        return record

    def _settler(
        self,
        record: TuningJob,
        training_data: DatasetResult | Checking,
        validation_data: DatasetResult | Checking | None,
    ) -> Callable[[bool], None]:
        """What fills in ``record``'s data once its checks are over (``block``: waiting for them)."""
        return _Settle(self, record, training_data, validation_data)

    def _settle_now(
        self,
        record: TuningJob,
        training_data: DatasetResult | Checking,
        validation_data: DatasetResult | Checking | None,
    ) -> None:
        """Fill in ``record``'s data from checks that are over.  Hold the lock.

        A check that raised is the emulator's own bug: it is recorded as an
        internal error (as a handler's would be) and the job fails with
        ``INTERNAL``, as a Vertex job whose data processing broke does;
        reads of the job keep answering 200.
        """
        checks = [c for c in (training_data, validation_data) if isinstance(c, Checking)]
        try:
            checked = training_data.future.result() if isinstance(training_data, Checking) else training_data
            validation = (
                validation_data.future.result() if isinstance(validation_data, Checking) else validation_data
            )
        except Exception as exc:
            self._store.record_internal_error(
                {
                    "time": format_timestamp(self._clock.now()),
                    "method": "CHECK",
                    "path": record.name,
                    "error": repr(exc),
                    "traceback": "".join(traceback.format_exception(exc, limit=-20)),
                }
            )
            self._apply_data(record, INTERNAL_MESSAGE, None, None, code="INTERNAL")
            return
        finished = max(c.finished_at or 0.0 for c in checks)
        if self._clock.mode != "manual" and finished > _processed(record):
            record.processed_time = finished  # a long check makes a long processing phase
        self._apply_data(record, checked, validation, None)

    def _apply_data(
        self,
        record: TuningJob,
        training_data: DatasetResult,
        validation_data: DatasetResult | None,
        examples: list[list[str]] | None,
        *,
        code: str = "INVALID_ARGUMENT",
    ) -> None:
        """Fill in what follows from the job's data: examples, statistics, plan, a failure (``code``)."""
        hyper = record.hyper_parameters
        method = method_of(record.fields)
        problem = next((d for d in (training_data, validation_data) if isinstance(d, str)), None)
        dataset = training_data if isinstance(training_data, Dataset) else None
        if problem is None and method is PREFERENCE:
            problem = preference_split_problem(training_data, validation_data)
        count = dataset.count if dataset is not None else len(examples or SEED_EXAMPLES)
        epochs = int(hyper["epochCount"])
        batch = int(hyper.get("batchSize") or default_batch_size(count, method))
        processed = _processed(record)
        plan = training.Plan.create(
            start=processed - PROCESSING_SECONDS,  # the steps start a setup's time after processing
            examples=count,
            batch_size=batch,
            epochs=epochs,
            seed=training.loss_seed(record.name),
        )
        output_tokens = dataset.output_tokens if dataset is not None else [1]
        record.plan = plan
        record.examples = (
            dataset.answer_examples()
            if dataset is not None
            else [Example.from_json(row) for row in examples or SEED_EXAMPLES]
        )
        if method is DISTILLATION:
            record.examples = teacher_answers(record.examples, record.teacher_examples)
        if spec_of(record.fields).get("evaluationConfig") and isinstance(validation_data, Dataset):
            held_out = validation_data.answer_examples()[:MAX_EVALUATION_EXAMPLES]
            if method is DISTILLATION:
                held_out = teacher_answers(held_out, record.teacher_examples)
            record.evaluation_examples = held_out
            record.evaluation_source = validation_data.uri
        record.teacher_examples = None
        record.stats = (
            method_stats(method, dataset, epochs=epochs, steps=plan.total_steps)
            if dataset is not None and not problem
            else None
        )
        record.step_tokens = batch * sum(output_tokens) / max(1, len(output_tokens))
        record.validation = (
            Validation(validation_data.count, sum(validation_data.output_tokens))
            if isinstance(validation_data, Dataset)
            else None
        )
        if problem is not None and record.stop is None:  # a cancel during the check stays a cancel
            error = RpcStatus(RPC_CODES[code], problem)
            record.stop = Stop(processed, StopKind.FAIL, error)
        if problem is None:
            record.deployments = make_deployments(record)
            for deployment in record.deployments:
                self.index("endpoints")[deployment.endpoint] = record.name

    def _tensorboard(self, parent: str) -> str:
        """The TensorBoard of a location (one per project and location, made on first use)."""
        boards = self.section().setdefault("tensorboards", {})
        if parent not in boards:
            boards[parent] = f"{parent}/tensorboards/{numeric_id(self._context.ids, 'tensorboard')}"
        return str(boards[parent])

    # --- read ----------------------------------------------------------------------------

    def get(self, name: str, version: str) -> dict[str, Any]:
        """The TuningJob (normalized, for ``version``)."""
        with self._store.lock:
            return self.view(self.record(name), self._clock.now(), version)

    def list_jobs(
        self, parent: str, *, size: str | None, token: str | None, filter_text: str | None, version: str
    ) -> dict[str, Any]:
        """One page of ListTuningJobsResponse, in creation order."""
        limit = page_size(
            size, default=self.page_cap(DEFAULT_PAGE_SIZE), maximum=self.page_cap(MAX_PAGE_SIZE)
        )
        predicate = compile_filter(filter_text, JOB_FIELDS)
        context = f"{parent}|{filter_text or ''}"
        after = decode_page_token(token, context=context)
        with self._store.lock:
            now = self._clock.now()
            records = sorted(
                (r for r in self._jobs().values() if r.parent == parent and r.number > after),
                key=lambda r: r.number,
            )
            page: list[TuningJob] = []
            more = False
            for record in records:
                if not predicate(self._filterable(record, now)):
                    continue
                if len(page) == limit:
                    more = True
                    break
                page.append(record)
            result: dict[str, Any] = {}
            if page:
                result["tuningJobs"] = [self.view(r, now, version) for r in page]
            if more:
                result["nextPageToken"] = encode_page_token(page[-1].number, context=context)
            return result

    def _filterable(self, record: TuningJob, now: float) -> dict[str, Any]:
        status = self.status(record, now)
        fields = record.fields
        return {
            "state": status.state.name,
            "labels": fields.get("labels") or {},
            "base_model": fields.get("baseModel") or record.base_model,
            "display_name": fields.get("tunedModelDisplayName"),
            "create_time": record.create_time,
            "update_time": status.changed,
        }

    # --- cancel --------------------------------------------------------------------------

    def cancel(self, name: str) -> None:
        """Request cancellation: CANCELLING now, CANCELLED after :data:`CANCEL_SECONDS`."""
        with self._store.lock:
            record, status = self.status_of(name)
            if status.state is JobState.JOB_STATE_CANCELLING:
                return
            if status.state.terminal:
                raise ApiError(
                    "FAILED_PRECONDITION",
                    f"Cannot cancel TuningJob {name}: it is in the final state {status.state.name}.",
                )
            record.stop = Stop(self._clock.now(), StopKind.CANCEL)

    # --- views ---------------------------------------------------------------------------

    def view(self, record: TuningJob, now: float, version: str) -> dict[str, Any]:
        """The TuningJob as ``version`` shows it (normalized: ints, enum names)."""
        status = self.status(record, now)
        fields = record.fields
        plan = record.plan
        view: dict[str, Any] = {"name": record.name}
        if "preTunedModel" in fields:
            view["preTunedModel"] = {**fields["preTunedModel"], "baseModel": record.base_model}
        else:
            view["baseModel"] = fields["baseModel"]
        method = method_of(fields)
        spec = dict(fields[method.spec_key])
        spec["hyperParameters"] = dict(record.hyper_parameters)
        view[method.spec_key] = spec
        for key in ("tunedModelDisplayName", "description", "customBaseModel", "outputUri"):
            if fields.get(key):
                view[key] = fields[key]
        view["state"] = status.state.name
        view["createTime"] = format_timestamp(record.create_time)
        if status.ran:
            view["startTime"] = format_timestamp(plan.step_time(0))
        if status.end is not None:
            view["endTime"] = format_timestamp(status.end)
        view["updateTime"] = format_timestamp(status.changed)
        stop = record.stop
        if status.state is JobState.JOB_STATE_FAILED and stop is not None and stop.error is not None:
            view["error"] = stop.error.to_json()
        elif status.state is JobState.JOB_STATE_CANCELLED:
            view["error"] = _CANCELLED_ERROR.to_json()
        if fields.get("labels"):
            view["labels"] = dict(fields["labels"])
        if status.ran:
            view["experiment"] = experiment_name(record)
        if status.state is JobState.JOB_STATE_SUCCEEDED:
            view["tunedModel"] = {
                "model": f"{record.model}@{version_id(self, record, now)}",
                "endpoint": record.endpoint,
                "checkpoints": checkpoint_views(record),
            }
            if spec.get("evaluationConfig"):
                view["evaluateDatasetRuns"] = evaluation_runs(record, spec["evaluationConfig"])
        processed = _processed(record)
        stopped_early = stop is not None and stop.time < processed
        if record.stats and now >= processed and not stopped_early:
            view["tuningDataStats"] = {method.stats_key: record.stats}
        for key in ("encryptionSpec", "serviceAccount"):
            if fields.get(key):
                view[key] = fields[key]
        if status.detail is not None:
            view["tuningJobState"] = status.detail
        metadata: dict[str, Any] = {}
        if status.steps:
            metadata["completedStepCount"] = status.steps
            epochs = plan.completed_epochs(status.steps)
            if epochs:
                metadata["completedEpochCount"] = epochs
        if metadata:
            view["tuningJobMetadata"] = metadata
        shown = prune(view, messages(version).tuning_job)
        if not shown.get("tuningDataStats"):  # a v1beta1-only method's statistics, read on v1
            shown.pop("tuningDataStats", None)
        return shown

    # --- seeding (admin) ---------------------------------------------------------------------

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a job directly in a given state (test backdoor); its v1beta1 view."""
        unknown = set(body) - {"parent", "tuningJob", "state", "progress", "error", "examples"}
        if unknown:
            raise bad_request(f"Unknown seed field(s): {', '.join(sorted(unknown))}.")
        given = body.get("parent", "projects/tuneport-emulator/locations/us-central1")
        segments = given.split("/") if isinstance(given, str) else []
        if len(segments) != 4 or segments[0] != "projects" or segments[2] != "locations":
            raise bad_request("parent must be projects/{project}/locations/{location}.", field="parent")
        parent = check_parent(segments[1], segments[3])
        job = normalize(body.get("tuningJob") or {}, messages("v1beta1").tuning_job, "tuning_job")
        job.setdefault("baseModel", "gemini-2.5-flash")
        spec = job.setdefault("supervisedTuningSpec", {})
        spec.setdefault("trainingDatasetUri", "gs://tuneport-emulator/seed.jsonl")
        state_name = body.get("state", JobState.JOB_STATE_SUCCEEDED.name)
        if state_name not in SEED_STATES:
            raise bad_request(f"state must be one of {', '.join(SEED_STATES)}.", field="state")
        state = JobState[state_name]
        progress = body.get("progress", 1.0 if state is JobState.JOB_STATE_SUCCEEDED else 0.0)
        if isinstance(progress, bool) or not isinstance(progress, (int, float)) or not 0 <= progress <= 1:
            raise bad_request("progress must be a number from 0 to 1.", field="progress")
        error = _seed_error(body.get("error"), state)
        examples = _seed_examples(body.get("examples"))
        request = validate_create(job)
        if request.base_model is None:
            raise bad_request("A seed needs baseModel, not preTunedModel.", field="tuningJob")
        data: DatasetResult | Checking
        if examples is None and self._objects.find_uri(spec["trainingDatasetUri"]) is not None:
            data = self._read_dataset(spec["trainingDatasetUri"], "training")  # here and now: no background
        else:
            data = _dataset_of(spec["trainingDatasetUri"], examples or [list(e) for e in SEED_EXAMPLES])
        with self._store.lock:
            record = self._new_record(parent, request.fields, request.base_model.name, data, None)
            record.admitted_time = None  # a seed is placed in time as asked, whatever the quota
            if (
                record.stop is not None
                and record.stop.error is not None
                and state is not JobState.JOB_STATE_FAILED
            ):
                raise bad_request(f"The seed's dataset is invalid: {record.stop.error.message}")
            _place_in_time(record, state, float(progress), error, self._clock.now())
            return self.view(record, self._clock.now(), "v1beta1")


def _processed(record: TuningJob) -> float:
    """When the job's dataset processing ends (later than the phase's end after a long check).

    A job that waited for its quota processes its dataset once admitted.
    """
    if record.processed_time is not None:
        return record.processed_time
    start = record.admitted_time if record.admitted_time is not None else record.create_time
    return start + PROCESSING_SECONDS


def _busy_until(record: TuningJob) -> float:
    """When a job stops holding a quota slot: when it ends (as planned so far)."""
    succeeded = record.plan.end_time + POST_PROCESSING_SECONDS
    stop = record.stop
    if stop is not None and stop.time < succeeded:
        return stop.time + (CANCEL_SECONDS if stop.kind is StopKind.CANCEL else 0.0)
    return succeeded


def experiment_name(record: TuningJob) -> str:
    """The metadata context of a job's experiment."""
    return f"{record.parent}/metadataStores/{METADATA_STORE}/contexts/{record.experiment_id}"


class _Settle:
    """A job's ``settle`` while its dataset is checked on a thread of its own (made by ``_settler``)."""

    def __init__(
        self,
        jobs: TuningJobs,
        record: TuningJob,
        training_data: DatasetResult | Checking,
        validation_data: DatasetResult | Checking | None,
    ) -> None:
        self._jobs = jobs
        self._record = record
        self._data = (training_data, validation_data)
        self._checks = [c for c in self._data if isinstance(c, Checking)]

    def done(self) -> bool:
        """Whether every check of the job is over."""
        return all(c.future.done() for c in self._checks)

    def wait(self, lock: Any) -> None:
        """Wait until the checks are over, with ``lock`` (the store's, held) free meanwhile.

        A read that waits must hold up nobody else: the lock is released
        while it waits (every level of it: the application may hold it too),
        and a read running inline on the event loop does not wait at all: it
        raises :class:`BlockingIOError`, and the application runs it again
        on a worker thread.
        """
        if self.done():
            return
        if _on_event_loop():
            raise BlockingIOError("a read that waits for a dataset check runs on a worker thread")
        condition = threading.Condition(lock)
        with condition:
            while not self.done():
                condition.wait(_WAIT_POLL_SECONDS)  # releases the lock while it sleeps

    def __call__(self, block: bool) -> None:
        """Fill in the job's data if its checks are over (``block``: wait for them, holding the lock)."""
        record = self._record
        if record.settle is not self:
            return  # settled already
        if not block and not self.done():
            return
        record.settle = None
        self._jobs._pending.pop(record.name, None)
        self._jobs._settle_now(record, *self._data)


def _on_event_loop() -> bool:
    """Whether this thread runs an asyncio event loop (a handler run inline by the application)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _dataset_of(uri: str, examples: list[list[str]]) -> Dataset:
    from tuneport_emulator.answers import estimate_tokens

    dataset = Dataset(uri)
    for prompt, output, system in examples:
        dataset.examples.append([prompt, output, system])
        dataset.characters += len(system) + len(prompt) + len(output)
        dataset.input_tokens.append(estimate_tokens(system + prompt))
        dataset.output_tokens.append(estimate_tokens(output))
        dataset.messages.append(2)
        if len(dataset.samples) < 3:
            dataset.samples.append(
                [
                    {"role": "user", "parts": [{"text": prompt}]},
                    {"role": "model", "parts": [{"text": output}]},
                ]
            )
    return dataset


def _seed_examples(value: Any) -> list[list[str]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise bad_request(
            'examples must be a non-empty list of {"input", "output"} objects.', field="examples"
        )
    examples: list[list[str]] = []
    for item in value:
        if (
            isinstance(item, dict)
            and isinstance(item.get("input"), str)
            and isinstance(item.get("output"), str)
        ):
            system = item.get("systemInstruction", "")
            examples.append([item["input"], item["output"], system if isinstance(system, str) else ""])
        elif isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            examples.append([item[0], item[1], ""])
        else:
            raise bad_request('Each example is {"input", "output"[, "systemInstruction"]}.', field="examples")
    return examples


def _seed_error(error: Any, state: JobState) -> RpcStatus | None:
    if error is None:
        return (
            RpcStatus(RPC_CODES["INTERNAL"], "Tuning failed.") if state is JobState.JOB_STATE_FAILED else None
        )
    if state is not JobState.JOB_STATE_FAILED:
        raise bad_request("error is only meaningful with state JOB_STATE_FAILED.", field="error")
    if (
        not isinstance(error, dict)
        or set(error) - {"code", "message"}
        or isinstance(error.get("code"), bool)
        or not isinstance(error.get("code"), int)
        or not 1 <= error["code"] <= 16
        or not isinstance(error.get("message", ""), str)
    ):
        raise bad_request('error must be {"code": 1..16, "message": "..."}.', field="error")
    return RpcStatus(error["code"], error.get("message", ""))


def _place_in_time(
    record: TuningJob, state: JobState, progress: float, error: RpcStatus | None, now: float
) -> None:
    """Move a new record into the past so that it is in ``state`` at ``now``."""
    plan = record.plan
    total = plan.total_steps
    setup, step = plan.setup_seconds, plan.step_seconds
    done = min(total - 1, math.floor(progress * total))
    running = setup + done * step + step / 2  # half-way through the next step
    stop: Stop | None = None
    if state is JobState.JOB_STATE_SUCCEEDED:
        elapsed = setup + total * step + POST_PROCESSING_SECONDS + 1.0
    elif state is JobState.JOB_STATE_PENDING:
        elapsed = PROCESSING_SECONDS / 2
    elif state is JobState.JOB_STATE_RUNNING:
        elapsed = running
    elif state is JobState.JOB_STATE_FAILED:
        elapsed = running if progress > 0 else PROCESSING_SECONDS
        stop = Stop(now, StopKind.FAIL, error)
    elif state is JobState.JOB_STATE_CANCELLING:
        elapsed = running
        stop = Stop(now, StopKind.CANCEL)
    else:  # CANCELLED
        elapsed = running + CANCEL_SECONDS
        stop = Stop(now - CANCEL_SECONDS, StopKind.CANCEL)
    start = now - elapsed
    record.plan = plan.moved_to(start)
    record.create_time = start
    record.stop = stop
