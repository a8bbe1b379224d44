"""The TensorBoard reads of the official clients beyond runs and series listing.

The vertexai SDK reaches a tuning job's loss curve from its experiment:
``Experiment.get_backing_tensorboard_resource()`` → ``GET tensorboards/{tb}``;
``aiplatform.TensorboardExperiment`` / ``TensorboardRun`` / ``TensorboardTimeSeries``
objects → ``GET`` and list; ``TensorboardRun.read_time_series_data()`` and
``ExperimentRun.get_time_series_data_frame()`` → ``GET {tb}:batchRead``;
``TensorboardTimeSeries`` reads → ``GET {series}:read``.  Served here, in
v1 and v1beta1:

* ``tensorboards.get`` / ``list``: the location's TensorBoard (one per
  project and location, made when its first job is created);
  ``runCount`` counts the runs of the jobs that have started.
* ``tensorboards.experiments.get`` / ``list``: one experiment per job that
  has started, named like its metadata context.
* ``timeSeries:read`` (``maxDataPoints``, ``filter``) and
  ``tensorboards:batchRead`` (``timeSeries`` repeated, every one under the
  TensorBoard asked, at most :data:`MAX_BATCH_READ`): the points of
  :mod:`.tensorboard`.  Above ``maxDataPoints`` points, Vertex samples; the
  emulator keeps evenly spaced ones, always the first and last, so the
  answer is reproducible.  Google states no default for ``maxDataPoints``:
  the emulator takes :data:`DEFAULT_MAX_DATA_POINTS`; ``-1`` reads all.
* ``timeSeries:readBlobData``: every tuning series is ``SCALAR``, so asking
  for blobs is ``INVALID_ARGUMENT`` (Google documents no answer for this
  case; the emulator's choice).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.routing import Request, Response, Router, require_json_alt
from tuneport_emulator.schema import Message, Schema, render
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.vertex.filters import compile_filter
from tuneport_emulator.vertex.jobs import TuningJobs
from tuneport_emulator.vertex.names import check_parent
from tuneport_emulator.vertex.records import TuningJob
from tuneport_emulator.vertex.schema import VERSIONS
from tuneport_emulator.vertex.tensorboard import NAMED_FIELDS, POINT_FIELDS, Metrics
from tuneport_emulator.wire import ApiError, bad_request, format_timestamp

__all__ = ["DEFAULT_MAX_DATA_POINTS", "MAX_BATCH_READ", "TensorboardReads", "register"]

#: Points a ``:read`` answers when ``maxDataPoints`` is unset.
DEFAULT_MAX_DATA_POINTS = 1000
#: Series one ``:batchRead`` may name (the vertexai SDK reads in batches of 20).
MAX_BATCH_READ = 20
#: Page sizes, as the discovery document states them.
TENSORBOARD_PAGE = (100, 100)
EXPERIMENT_PAGE = (50, 1000)
#: Export page size asked for when reading every point (the admin page cap may lower it).
_EXPORT_ALL = 10_000


def _declare(version: str) -> dict[str, Message]:
    s = Schema(f"google.cloud.aiplatform.{version}")
    tensorboard = s.message(
        "Tensorboard",
        "name string ro", "displayName string", "description string", "encryptionSpec EncryptionSpec",
        "blobStoragePathPrefix string ro", "runCount int32 ro", "createTime timestamp ro",
        "updateTime timestamp ro", "labels json", "etag string", "isDefault bool", "satisfiesPzs bool ro",
        "satisfiesPzi bool ro",
    )  # fmt: skip
    experiment = s.message(
        "TensorboardExperiment",
        "name string ro", "displayName string", "description string", "createTime timestamp ro",
        "updateTime timestamp ro", "labels json", "etag string", "source string",
    )  # fmt: skip
    s.message(
        "TimeSeriesData",
        "tensorboardTimeSeriesId string",
        "valueType TensorboardTimeSeries.ValueType",
        "values TimeSeriesDataPoint[]",
    )
    return {
        "tensorboard": tensorboard,
        "list_tensorboards": s.message(
            "ListTensorboardsResponse", "tensorboards Tensorboard[]", "nextPageToken string"
        ),
        "experiment": experiment,
        "list_experiments": s.message(
            "ListTensorboardExperimentsResponse",
            "tensorboardExperiments TensorboardExperiment[]",
            "nextPageToken string",
        ),
        "read": s.message("ReadTensorboardTimeSeriesDataResponse", "timeSeriesData TimeSeriesData"),
        "batch_read": s.message(
            "BatchReadTensorboardTimeSeriesDataResponse", "timeSeriesData TimeSeriesData[]"
        ),
    }


_MESSAGES = {version: _declare(version) for version in VERSIONS}


def _sample(points: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """At most ``limit`` points, evenly spaced, the first and last always kept (``limit`` -1: all)."""
    if limit < 0 or len(points) <= limit:
        return points
    if limit == 1:
        return points[-1:]
    last = len(points) - 1
    return [points[round(i * last / (limit - 1))] for i in range(limit)]


def _page(
    items: list[dict[str, Any]],
    size: str | None,
    token: str | None,
    key: str,
    field: str,
    bounds: tuple[int, int],
) -> dict[str, Any]:
    limit = page_size(size, default=bounds[0], maximum=bounds[1])
    after = decode_page_token(token, context=key)
    chosen = items[after : after + limit]
    result: dict[str, Any] = {}
    if chosen:
        result[field] = chosen
    if len(items) > after + limit:
        result["nextPageToken"] = encode_page_token(after + limit, context=key)
    return result


class TensorboardReads:
    """TensorBoards, TensorBoard experiments and point reads over the tuning jobs."""

    def __init__(self, jobs: TuningJobs, metrics: Metrics, context: EmulatorContext) -> None:
        self._jobs = jobs
        self._metrics = metrics
        self._store = context.store
        self._clock = context.clock

    def _capped(self, bounds: tuple[int, int]) -> tuple[int, int]:
        """(default, maximum) page sizes, lowered by the admin ``maxPageSize`` setting."""
        return self._jobs.page_cap(bounds[0]), self._jobs.page_cap(bounds[1])

    def _jobs_of(self, tensorboard: str) -> tuple[list[TuningJob], list[TuningJob]]:
        """(every job writing to ``tensorboard``, those that have started), in creation order."""
        with self._store.lock:
            now = self._clock.now()
            made = [r for r in self._jobs.all_jobs() if r.tensorboard == tensorboard]
            return made, [r for r in made if self._jobs.status(r, now).ran]

    # --- tensorboards -------------------------------------------------------------------------

    def get_tensorboard(self, name: str) -> dict[str, Any]:
        """The Tensorboard ``name``; 404 until a job of its location was created."""
        made, started = self._jobs_of(name)
        if not made:
            raise ApiError("NOT_FOUND", f"Tensorboard {name} is not found.")
        created = format_timestamp(made[0].create_time)
        updated = format_timestamp(max(r.plan.step_time(0) for r in started)) if started else created
        return {
            "name": name,
            "displayName": "Default Tensorboard",
            "blobStoragePathPrefix": f"cloud-ai-platform-tensorboard/{name.rsplit('/', 1)[-1]}",
            "runCount": len(started),
            "createTime": created,
            "updateTime": updated,
            "etag": f"{len(made)}-{len(started)}",
            "isDefault": True,
        }

    def list_tensorboards(
        self, parent: str, *, size: str | None, token: str | None, filter_text: str | None
    ) -> dict[str, Any]:
        """ListTensorboardsResponse: the location's one TensorBoard, once it exists."""
        predicate = compile_filter(filter_text, NAMED_FIELDS)
        with self._store.lock:
            names = sorted({r.tensorboard for r in self._jobs.all_jobs() if r.parent == parent})
        views = [self.get_tensorboard(n) for n in names]
        views = [v for v in views if predicate({"display_name": v["displayName"]})]
        return _page(
            views,
            size,
            token,
            f"tensorboards|{parent}|{filter_text or ''}",
            "tensorboards",
            self._capped(TENSORBOARD_PAGE),
        )

    # --- experiments --------------------------------------------------------------------------

    @staticmethod
    def _experiment_view(record: TuningJob) -> dict[str, Any]:
        started = format_timestamp(record.plan.step_time(0))
        return {
            "name": f"{record.tensorboard}/experiments/{record.experiment_id}",
            "displayName": record.experiment_id,
            "description": f"Tuning experiment of {record.name}",
            "createTime": started,
            "updateTime": started,
            "etag": started,
            "source": "vertex-ai-tuning",
        }

    def get_experiment(self, name: str) -> dict[str, Any]:
        """A TensorboardExperiment: the one of a job that has started."""
        tensorboard, _, experiment_id = name.partition("/experiments/")
        for record in self._jobs_of(tensorboard)[1]:
            if record.experiment_id == experiment_id:
                return self._experiment_view(record)
        raise ApiError("NOT_FOUND", f"TensorboardExperiment {name} is not found.")

    def list_experiments(
        self, tensorboard: str, *, size: str | None, token: str | None, filter_text: str | None
    ) -> dict[str, Any]:
        """ListTensorboardExperimentsResponse, in creation order."""
        predicate = compile_filter(filter_text, NAMED_FIELDS)
        self.get_tensorboard(tensorboard)
        views = [self._experiment_view(r) for r in self._jobs_of(tensorboard)[1]]
        views = [v for v in views if predicate({"display_name": v["displayName"]})]
        key = f"tensorboardExperiments|{tensorboard}|{filter_text or ''}"
        return _page(views, size, token, key, "tensorboardExperiments", self._capped(EXPERIMENT_PAGE))

    # --- points -------------------------------------------------------------------------------

    def read(self, time_series: str, *, max_points: str | None, filter_text: str | None) -> dict[str, Any]:
        """TimeSeriesData of one series: its points (filtered, then sampled down to ``max_points``)."""
        limit = DEFAULT_MAX_DATA_POINTS
        if max_points is not None and max_points.strip():
            try:
                limit = int(max_points)
            except ValueError:
                raise bad_request(
                    f"Invalid value at 'max_data_points' (TYPE_INT32), \"{max_points}\"",
                    field="max_data_points",
                ) from None
            if limit == 0 or limit < -1:
                raise bad_request(
                    "max_data_points must be a positive integer or -1.", field="max_data_points"
                )
        predicate = compile_filter(filter_text, POINT_FIELDS)
        view = self._metrics.get_time_series(time_series)
        points = [
            p
            for p in self._all_points(time_series)
            if predicate({"step": p["step"], "wall_time": p["wallTime"]})
        ]
        return {
            "tensorboardTimeSeriesId": time_series.rsplit("/", 1)[-1],
            "valueType": view["valueType"],
            "values": _sample(points, limit),
        }

    def _all_points(self, time_series: str) -> list[dict[str, Any]]:
        """Every point of the series, through as many export pages as the page cap makes."""
        points: list[dict[str, Any]] = []
        body: dict[str, Any] = {"pageSize": _EXPORT_ALL}
        while True:
            page = self._metrics.export(time_series, body)
            points += page.get("timeSeriesDataPoints", [])
            if "nextPageToken" not in page:
                return points
            body = {"pageSize": _EXPORT_ALL, "pageToken": page["nextPageToken"]}

    def batch_read(self, tensorboard: str, names: list[str]) -> dict[str, Any]:
        """BatchReadTensorboardTimeSeriesDataResponse: every point of each series, in the order asked."""
        if not names:
            raise bad_request("time_series is required.", field="time_series")
        if len(names) > MAX_BATCH_READ:
            raise bad_request(
                f"At most {MAX_BATCH_READ} time series can be read at once; got {len(names)}.",
                field="time_series",
            )
        for name in names:
            if not name.startswith(f"{tensorboard}/experiments/"):
                raise bad_request(
                    f"TensorboardTimeSeries {name} is not a sub resource of Tensorboard {tensorboard}.",
                    field="time_series",
                )
        self.get_tensorboard(tensorboard)
        return {"timeSeriesData": [self.read(n, max_points="-1", filter_text=None) for n in names]}

    def read_blob_data(self, time_series: str) -> None:
        """Always refused: the tuning series hold scalars, not blob sequences."""
        view = self._metrics.get_time_series(time_series)
        raise bad_request(
            f"TensorboardTimeSeries {time_series} has value type {view['valueType']}, not BLOB_SEQUENCE: "
            "it has no blobs to read.",
            field="time_series",
        )


def register(router: Router, context: EmulatorContext, metrics: Metrics | None = None) -> None:
    """Add the TensorBoard reads, in v1 and v1beta1."""
    jobs = TuningJobs(context)
    reads = TensorboardReads(jobs, metrics or Metrics(jobs, context), context)

    def parent_of(request: Request) -> str:
        return check_parent(request.params["project"], request.params["location"])

    def tensorboard_of(request: Request) -> str:
        return f"{parent_of(request)}/tensorboards/{request.params['tensorboard']}"

    def series_of(request: Request) -> str:
        p = request.params
        run = f"{tensorboard_of(request)}/experiments/{p['experiment']}/runs/{p['run']}"
        return f"{run}/timeSeries/{p['series']}"

    def reply(request: Request, kind: str, value: dict[str, Any]) -> Response:
        require_json_alt(request)
        message = _MESSAGES[request.path.split("/", 2)[1]][kind]
        return Response(render(value, message, enum_int=request.enum_int))

    def listing(request: Request) -> dict[str, str | None]:
        return {
            "size": request.param("pageSize"),
            "token": request.param("pageToken"),
            "filter_text": request.param("filter"),
        }

    def get_tensorboard(request: Request) -> Response:
        return reply(request, "tensorboard", reads.get_tensorboard(tensorboard_of(request)))

    def list_tensorboards(request: Request) -> Response:
        return reply(
            request, "list_tensorboards", reads.list_tensorboards(parent_of(request), **listing(request))
        )

    def get_experiment(request: Request) -> Response:
        name = f"{tensorboard_of(request)}/experiments/{request.params['experiment']}"
        return reply(request, "experiment", reads.get_experiment(name))

    def list_experiments(request: Request) -> Response:
        page = reads.list_experiments(tensorboard_of(request), **listing(request))
        return reply(request, "list_experiments", page)

    def batch_read(request: Request) -> Response:
        names = request.query.get("timeSeries", []) + request.query.get("time_series", [])
        return reply(request, "batch_read", reads.batch_read(tensorboard_of(request), names))

    def read(request: Request) -> Response:
        data = reads.read(
            series_of(request), max_points=request.param("maxDataPoints"), filter_text=request.param("filter")
        )
        return reply(request, "read", {"timeSeriesData": data})

    def read_blob_data(request: Request) -> Response:
        reads.read_blob_data(series_of(request))
        raise AssertionError("read_blob_data always raises")  # pragma: no cover

    page_query = ("pageSize", "pageToken", "filter", "readMask")
    series = "/experiments/{experiment}/runs/{run}/timeSeries/{series}"
    routes: list[tuple[str, Callable[[Request], Response], str, tuple[str, ...]]] = [
        ("", list_tensorboards, "tensorboards.list", page_query),
        ("/{tensorboard}", get_tensorboard, "tensorboards.get", ()),
        ("/{tensorboard}:batchRead", batch_read, "tensorboards.batchRead", ("timeSeries",)),
        ("/{tensorboard}/experiments", list_experiments, "tensorboards.experiments.list", page_query),
        ("/{tensorboard}/experiments/{experiment}", get_experiment, "tensorboards.experiments.get", ()),
        (
            "/{tensorboard}" + series + ":read", read, "tensorboards.experiments.runs.timeSeries.read",
            ("maxDataPoints", "filter"),
        ),
        (
            "/{tensorboard}" + series + ":readBlobData", read_blob_data,
            "tensorboards.experiments.runs.timeSeries.readBlobData", ("blobIds",),
        ),
    ]  # fmt: skip
    for version in VERSIONS:
        base = f"/{version}/projects/{{project}}/locations/{{location}}/tensorboards"
        for tail, handler, name, query in routes:
            router.add("GET", base + tail, handler, name=f"vertex.{version}.{name}", query=query)
