"""The metrics path of a tuning job: its experiment context, TensorBoard run and time series.

Once a job runs it names ``experiment`` =
``projects/{p}/locations/{l}/metadataStores/default/contexts/tuning-experiment-{job}``.
From there (wire README §3)::

    GET  {experiment}                                  → Context, metadata.backing_tensorboard_resource = {tb}
    GET  …/metadataStores/default/contexts?filter=…    → the experiment and its run context
    GET  {tb}/experiments/{exp}/runs                   → one run, ``tuning-run``
    GET  {run}/timeSeries                              → /train_total_loss, … (eval_* with validation data)
    POST {series}:exportTensorboardTimeSeries          → every point so far, paged, by step

Each resource exists from the moment the job starts running; points appear
as steps complete (values: :mod:`.series`).  One TensorBoard serves each
project and location.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tuneport_emulator.ids import DIGITS, derive_token
from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.vertex import series
from tuneport_emulator.vertex.filters import FilterField, compile_filter
from tuneport_emulator.vertex.jobs import Status, TuningJobs, experiment_name
from tuneport_emulator.vertex.names import METADATA_STORE
from tuneport_emulator.vertex.records import TuningJob
from tuneport_emulator.wire import ApiError, bad_request, format_timestamp

__all__ = ["NAMED_FIELDS", "POINT_FIELDS", "RUN_ID", "Metrics"]

#: The TensorBoard run of every tuning experiment (its run context is ``{experiment}-tuning-run``).
RUN_ID = "tuning-run"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
DEFAULT_EXPORT_PAGE_SIZE = 1000
MAX_EXPORT_PAGE_SIZE = 10_000
_SCHEMA_VERSION = "0.0.1"
_CONTEXT_FIELDS = {
    "schema_title": FilterField("schema_title", "string"),
    "schemaTitle": FilterField("schema_title", "string"),
    "parent_contexts": FilterField("parent_contexts", "list"),
    "parentContexts": FilterField("parent_contexts", "list"),
    "display_name": FilterField("display_name", "string"),
    "displayName": FilterField("display_name", "string"),
    "create_time": FilterField("create_time", "timestamp"),
    "update_time": FilterField("update_time", "timestamp"),
}
NAMED_FIELDS = {
    "display_name": FilterField("display_name", "string"),
    "displayName": FilterField("display_name", "string"),
}
POINT_FIELDS = {
    "step": FilterField("step", "number"),
    "wall_time": FilterField("wall_time", "timestamp"),
    "wallTime": FilterField("wall_time", "timestamp"),
}
_ORDERS = {"": False, "step": False, "step asc": False, "step desc": True}


def _ts_id(record: TuningJob, name: str) -> str:
    token = derive_token(f"{record.name}/timeSeries/{name}", 19, DIGITS)
    return ("1" + token[1:]) if token[0] == "0" else token


class Metrics:
    """Contexts, runs, time series and points of every job that ran."""

    def __init__(self, jobs: TuningJobs, context: EmulatorContext) -> None:
        self._jobs = jobs
        self._store = context.store
        self._clock = context.clock

    # --- lookups (hold the lock) ---------------------------------------------------------

    def _ran(self, record: TuningJob | None, now: float) -> Status | None:
        if record is None:
            return None
        status = self._jobs.status(record, now)
        return status if status.ran else None

    def _by_experiment(self, experiment: str, now: float) -> tuple[TuningJob, Status] | None:
        record = self._jobs.record_by("experiments", experiment)
        status = self._ran(record, now)
        return None if record is None or status is None else (record, status)

    def _by_tensorboard_experiment(self, tb_experiment: str, now: float) -> tuple[TuningJob, Status]:
        tensorboard, _, experiment_id = tb_experiment.partition("/experiments/")
        parent = "/".join(tensorboard.split("/")[:4])
        context = f"{parent}/metadataStores/{METADATA_STORE}/contexts/{experiment_id}"
        found = self._by_experiment(context, now)
        if found is None or found[0].tensorboard != tensorboard:
            raise ApiError("NOT_FOUND", f"TensorboardExperiment {tb_experiment} is not found.")
        return found

    def _by_run(self, run: str, now: float) -> tuple[TuningJob, Status]:
        tb_experiment, _, run_id = run.partition("/runs/")
        if run_id != RUN_ID:
            raise ApiError("NOT_FOUND", f"TensorboardRun {run} is not found.")
        try:
            return self._by_tensorboard_experiment(tb_experiment, now)
        except ApiError:
            raise ApiError("NOT_FOUND", f"TensorboardRun {run} is not found.") from None

    def _by_series(self, time_series: str, now: float) -> tuple[TuningJob, Status, str]:
        run, _, series_id = time_series.partition("/timeSeries/")
        try:
            record, status = self._by_run(run, now)
        except ApiError:
            raise ApiError("NOT_FOUND", f"TensorboardTimeSeries {time_series} is not found.") from None
        for name in series.series_names(record.validation is not None):
            if _ts_id(record, name) == series_id:
                return record, status, name
        raise ApiError("NOT_FOUND", f"TensorboardTimeSeries {time_series} is not found.")

    # --- contexts -------------------------------------------------------------------------

    def _contexts(self, record: TuningJob, status: Status) -> list[dict[str, Any]]:
        experiment = experiment_name(record)
        started = format_timestamp(record.plan.step_time(0))
        updated = format_timestamp(status.changed)
        finished = status.end is not None
        return [
            {
                "name": experiment,
                "displayName": record.experiment_id,
                "etag": str(int(status.changed)),
                "createTime": started,
                "updateTime": updated,
                "schemaTitle": "system.Experiment",
                "schemaVersion": _SCHEMA_VERSION,
                "metadata": {
                    "experiment_deleted": False,
                    "backing_tensorboard_resource": record.tensorboard,
                },
                "description": f"Tuning experiment of {record.name}",
            },
            {
                "name": f"{experiment}-{RUN_ID}",
                "displayName": RUN_ID,
                "etag": str(int(status.changed)),
                "createTime": started,
                "updateTime": updated,
                "parentContexts": [experiment],
                "schemaTitle": "system.ExperimentRun",
                "schemaVersion": _SCHEMA_VERSION,
                "metadata": {
                    "_state": "COMPLETE" if finished else "RUNNING",  # the key the vertexai SDK reads
                    "backing_tensorboard_run": self._run_name(record),
                },
            },
        ]

    def get_context(self, name: str) -> dict[str, Any]:
        """A tuning experiment's Context, or its run's."""
        with self._store.lock:
            now = self._clock.now()
            experiment = name.removesuffix(f"-{RUN_ID}")
            found = self._by_experiment(experiment, now)
            if found is not None:
                for context in self._contexts(*found):
                    if context["name"] == name:
                        return context
            raise ApiError("NOT_FOUND", f"Context {name} is not found.")

    def _query(
        self,
        scope: str,
        size: str | None,
        token: str | None,
        filter_text: str | None,
        fields: Mapping[str, FilterField],
        *,
        default: int = DEFAULT_PAGE_SIZE,
        maximum: int = MAX_PAGE_SIZE,
    ) -> _ListQuery:
        """A list request's page size, filter and position, checked before any record is read."""
        limit = page_size(size, default=self._jobs.page_cap(default), maximum=self._jobs.page_cap(maximum))
        key = f"{scope}|{filter_text or ''}"
        return _ListQuery(
            compile_filter(filter_text, fields), decode_page_token(token, context=key), limit, key
        )

    def list_contexts(
        self, store: str, *, size: str | None, token: str | None, filter_text: str | None
    ) -> dict[str, Any]:
        """ListContextsResponse of a metadata store: the contexts of every job that ran."""
        query = self._query(store, size, token, filter_text, _CONTEXT_FIELDS)
        with self._store.lock:
            now = self._clock.now()
            found: list[dict[str, Any]] = []
            for record in self._jobs.all_jobs():
                status = self._ran(record, now)
                if status is None or not experiment_name(record).startswith(store + "/"):
                    continue
                for context in self._contexts(record, status):
                    fields = {
                        "schema_title": context["schemaTitle"],
                        "parent_contexts": context.get("parentContexts", []),
                        "display_name": context["displayName"],
                        "create_time": record.plan.step_time(0),
                        "update_time": status.changed,
                    }
                    if query.matches(fields):
                        found.append(context)
        return query.page(found, "contexts")

    # --- TensorBoard ---------------------------------------------------------------------------

    @staticmethod
    def _run_name(record: TuningJob) -> str:
        return f"{record.tensorboard}/experiments/{record.experiment_id}/runs/{RUN_ID}"

    def _run_view(self, record: TuningJob, status: Status) -> dict[str, Any]:
        return {
            "name": self._run_name(record),
            "displayName": RUN_ID,
            "createTime": format_timestamp(record.plan.step_time(0)),
            "updateTime": format_timestamp(status.changed),
            "etag": str(int(status.changed)),
        }

    def list_runs(
        self, tb_experiment: str, *, size: str | None, token: str | None, filter_text: str | None
    ) -> dict[str, Any]:
        """ListTensorboardRunsResponse: the job's one run."""
        query = self._query(tb_experiment, size, token, filter_text, NAMED_FIELDS)
        with self._store.lock:
            record, status = self._by_tensorboard_experiment(tb_experiment, self._clock.now())
            runs = [self._run_view(record, status)]
        return query.page(query.named(runs), "tensorboardRuns")

    def get_run(self, run: str) -> dict[str, Any]:
        """A TensorboardRun."""
        with self._store.lock:
            return self._run_view(*self._by_run(run, self._clock.now()))

    def _points(self, record: TuningJob, status: Status, name: str) -> list[tuple[int, float, float]]:
        """(step, wall time, value) of every point written so far."""
        plan = record.plan
        steps = (
            series.eval_steps(plan, status.steps)
            if name in series.EVAL_SERIES
            else list(range(1, status.steps + 1))
        )
        eval_tokens = 0 if record.validation is None else record.validation.output_tokens
        return [
            (
                step,
                plan.step_time(step),
                series.value(plan, name, step, step_tokens=record.step_tokens, eval_tokens=eval_tokens),
            )
            for step in steps
        ]

    def _series_view(self, record: TuningJob, status: Status, name: str) -> dict[str, Any]:
        started = record.plan.step_time(0)
        plan = record.plan
        last = (
            (series.eval_steps(plan, status.steps) or [0])[-1] if name in series.EVAL_SERIES else status.steps
        )
        view: dict[str, Any] = {
            "name": f"{self._run_name(record)}/timeSeries/{_ts_id(record, name)}",
            "displayName": f"/{name}",
            "valueType": "SCALAR",
            "createTime": format_timestamp(started),
            "updateTime": format_timestamp(plan.step_time(last) if last else started),
            "etag": str(last),
            "pluginName": "scalars",
        }
        if last:
            view["metadata"] = {
                "maxStep": last,
                "maxWallTime": format_timestamp(plan.step_time(last)),
            }
        return view

    def list_time_series(
        self, run: str, *, size: str | None, token: str | None, filter_text: str | None
    ) -> dict[str, Any]:
        """ListTensorboardTimeSeriesResponse: the run's series."""
        query = self._query(run, size, token, filter_text, NAMED_FIELDS)
        with self._store.lock:
            record, status = self._by_run(run, self._clock.now())
            views = [
                self._series_view(record, status, name)
                for name in series.series_names(record.validation is not None)
            ]
        return query.page(query.named(views), "tensorboardTimeSeries")

    def get_time_series(self, time_series: str) -> dict[str, Any]:
        """A TensorboardTimeSeries."""
        with self._store.lock:
            record, status, name = self._by_series(time_series, self._clock.now())
            return self._series_view(record, status, name)

    def export(self, time_series: str, body: dict[str, Any]) -> dict[str, Any]:
        """ExportTensorboardTimeSeriesDataResponse: one page of points."""
        order = " ".join(str(body.get("orderBy") or "").lower().replace("wall_time", "step").split())
        if order not in _ORDERS:
            raise bad_request(
                f"Invalid order_by '{body.get('orderBy')}': use step or wall_time, optionally with desc.",
                field="order_by",
            )
        raw_size = body.get("pageSize")
        query = self._query(
            f"{time_series}|{order}",
            None if raw_size is None else str(raw_size),
            body.get("pageToken"),
            body.get("filter"),
            POINT_FIELDS,
            default=DEFAULT_EXPORT_PAGE_SIZE,
            maximum=MAX_EXPORT_PAGE_SIZE,
        )
        with self._store.lock:
            record, status, name = self._by_series(time_series, self._clock.now())
            points = self._points(record, status, name)
        points = [p for p in points if query.matches({"step": p[0], "wall_time": p[1]})]
        if _ORDERS[order]:
            points.reverse()
        views = [
            {"scalar": {"value": value}, "wallTime": format_timestamp(when), "step": step}
            for step, when, value in points
        ]
        return query.page(views, "timeSeriesDataPoints")


@dataclass(frozen=True)
class _ListQuery:
    """A list request's filter and page: which items match, and which page of them to answer."""

    matches: Callable[[dict[str, Any]], bool]
    after: int
    limit: int
    key: str

    def named(self, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The views whose ``displayName`` the filter accepts."""
        return [v for v in views if self.matches({"display_name": v["displayName"]})]

    def page(self, items: list[dict[str, Any]], field: str) -> dict[str, Any]:
        """One page of ``items``, with the next token if more remain."""
        page = items[self.after : self.after + self.limit]
        result: dict[str, Any] = {}
        if page:
            result[field] = page
        if len(items) > self.after + self.limit:
            result["nextPageToken"] = encode_page_token(self.after + self.limit, context=self.key)
        return result
