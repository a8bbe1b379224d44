"""The metrics chain of a Vertex tuning job, from its experiment to every loss point.

A tuning job names an ``experiment`` (a Vertex ML Metadata context); the
context's ``backing_tensorboard_resource`` is the TensorBoard that holds the
runs; each run's time series (``/train_total_loss``…) are exported point by
point with ``:exportTensorboardTimeSeries`` (paged) — the step-exact path,
unlike ``:read`` which samples 1,000 points.

Each request goes to the host of the location in the name it reads
(:mod:`tuneport_vertex.routing`): the experiment and its TensorBoard live
where the job ran, which need not be the profile's location.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any

from tuneport.models import MetricPoint, Metrics
from tuneport.protocol import Effect, HttpRequest, request
from tuneport_google.proto_json import parse_int, parse_time
from tuneport_vertex.routing import Address

EXPORT_PAGE_SIZE = 10_000
#: Native series name (the TensorBoard display name without its ``/``) → canonical name
#: (:data:`tuneport.models.CANONICAL_SERIES`).
SERIES_NAMES = {
    f"{split}_{native}": f"{split}_{canonical}"
    for split in ("train", "eval")
    for native, canonical in (
        ("total_loss", "loss"),
        ("fraction_of_correct_next_step_preds", "accuracy"),
        ("num_predictions", "tokens"),
    )
}
_TENSORBOARD_KEY = "backing_tensorboard_resource"


#: Where a request for a resource name goes (``Router.address`` in API v1).
Addresser = Callable[[str], Address]


def collect(job: Mapping[str, Any], *, address: Addresser, job_id: str) -> Generator[Effect, Any, Metrics]:
    """Follow the chain for *job* (a ``TuningJob`` reply); *address* routes each resource name."""
    experiment = job.get("experiment")
    raw: dict[str, Any] = {"experiment": experiment}
    if not experiment:
        return Metrics(job_id=job_id, raw=raw)  # no metrics written yet
    context = (yield from request(_get(address(str(experiment))))).json()
    tensorboard = (context.get("metadata") or {}).get(_TENSORBOARD_KEY)
    raw["tensorboard"] = tensorboard
    if not tensorboard:
        return Metrics(job_id=job_id, raw=raw)
    experiment_id = str(experiment).rsplit("/", 1)[-1]
    runs = yield from _list_all(address(f"{tensorboard}/experiments/{experiment_id}/runs"), "tensorboardRuns")
    series: dict[str, list[MetricPoint]] = {}
    for run in runs:
        time_series = yield from _list_all(address(f"{run['name']}/timeSeries"), "tensorboardTimeSeries")
        for ts in time_series:
            name = str(ts.get("displayName", "")).lstrip("/")
            if not name:
                continue
            points = yield from _export(address(f"{ts['name']}:exportTensorboardTimeSeries"))
            series.setdefault(name, []).extend(points)
    raw["series"] = sorted(series)
    return Metrics.from_native(job_id, series, SERIES_NAMES, raw)


def _get(where: Address, params: Mapping[str, str | int] | None = None) -> HttpRequest:
    return HttpRequest("GET", where.url, params=dict(params or {}), headers=where.headers)


def _list_all(where: Address, key: str) -> Generator[Effect, Any, list[dict[str, Any]]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        params: dict[str, str | int] = {"pageSize": 1000}
        if token:
            params["pageToken"] = token
        data = (yield from request(_get(where, params))).json()
        items.extend(data.get(key) or [])
        token = data.get("nextPageToken") or None
        if not token:
            return items


def _export(where: Address) -> Generator[Effect, Any, list[MetricPoint]]:
    points: list[MetricPoint] = []
    token: str | None = None
    while True:
        body: dict[str, Any] = {"pageSize": EXPORT_PAGE_SIZE, "orderBy": "step"}
        if token:
            body["pageToken"] = token
        # A read despite the POST: safe to retry.
        request_ = HttpRequest("POST", where.url, json=body, headers=where.headers, idempotent=True)
        data = (yield from request(request_)).json()
        for point in data.get("timeSeriesDataPoints") or []:
            step = parse_int(point.get("step"))
            value = (point.get("scalar") or {}).get("value")
            if step is None or not isinstance(value, (int, float)):
                continue
            points.append(MetricPoint(step=step, value=float(value), time=parse_time(point.get("wallTime"))))
        token = data.get("nextPageToken") or None
        if not token:
            return points
