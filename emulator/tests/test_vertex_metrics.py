"""The metrics path of a Vertex job: experiment context → TensorBoard → runs → time series → points."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error

from tuneport_emulator import Emulator

PARENT = "projects/p/locations/us-central1"
#: Project "p" as Vertex names it in what it returns: by its number.
NUMBERED = "projects/199785239448/locations/us-central1"
CreateJob = Callable[..., httpx.Response]
TRAIN = ["/train_total_loss", "/train_fraction_of_correct_next_step_preds", "/train_num_predictions"]
EVAL = ["/eval_total_loss", "/eval_fraction_of_correct_next_step_preds", "/eval_num_predictions"]


def _chain(
    client: httpx.Client, job_name: str
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(context, run, time series) of a job, following the chain as the vertex backend does."""
    job = client.get(f"/v1/{job_name}").json()
    context = client.get(f"/v1/{job['experiment']}").json()
    tensorboard = context["metadata"]["backing_tensorboard_resource"]
    experiment_id = job["experiment"].rsplit("/", 1)[1]
    (run,) = client.get(f"/v1/{tensorboard}/experiments/{experiment_id}/runs").json()["tensorboardRuns"]
    series = client.get(f"/v1/{run['name']}/timeSeries").json()["tensorboardTimeSeries"]
    return context, run, series


def _export_all(client: httpx.Client, series: str, **body: Any) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    token = None
    while True:
        page = client.post(
            f"/v1/{series}:exportTensorboardTimeSeries",
            json={**body, **({"pageToken": token} if token else {})},
        ).json()
        points += page.get("timeSeriesDataPoints", [])
        token = page.get("nextPageToken")
        if not token:
            return points


@pytest.fixture
def validated(
    emulator: Emulator, create_job: CreateJob, gcs: Callable[..., str], vertex_jsonl: Callable[..., bytes]
) -> str:
    """A job with a validation set (8 examples, batch 4, 3 epochs: ceil(8 x 3 / 4) = 6 steps, 2 per epoch)."""
    pairs = [(f"question {i}", f"answer {i}") for i in range(8)]
    spec = {
        "trainingDatasetUri": gcs(vertex_jsonl(pairs), name="eight.jsonl"),
        "validationDatasetUri": gcs(name="validation.jsonl"),
        "hyperParameters": {"epochCount": 3, "batchSize": 4},
    }
    return str(create_job(supervisedTuningSpec=spec).json()["name"])


def test_the_chain_from_a_job_to_its_points(emulator: Emulator, client: httpx.Client, validated: str) -> None:
    emulator.advance(30 + 6 * 6 + 20)
    context, run, series = _chain(client, validated)
    assert context["schemaTitle"] == "system.Experiment"
    assert context["metadata"]["backing_tensorboard_resource"].startswith(f"{NUMBERED}/tensorboards/")
    assert run["displayName"] == "tuning-run"
    assert [s["displayName"] for s in series] == TRAIN + EVAL
    assert all(s["valueType"] == "SCALAR" for s in series)
    by_name = {s["displayName"]: s for s in series}
    loss = _export_all(client, by_name["/train_total_loss"]["name"])
    assert [p["step"] for p in loss] == ["1", "2", "3", "4", "5", "6"]  # int64 as strings
    values = [p["scalar"]["value"] for p in loss]
    assert values[-1] < values[0]  # decreasing, with noise
    assert loss[0]["wallTime"] == "2024-06-01T00:00:36Z"  # when step 1 finished
    accuracy = [
        p["scalar"]["value"]
        for p in _export_all(client, by_name["/train_fraction_of_correct_next_step_preds"]["name"])
    ]
    assert all(0 < a < 1 for a in accuracy)
    assert accuracy[-1] > accuracy[0]
    predictions = _export_all(client, by_name["/train_num_predictions"]["name"])
    assert all(p["scalar"]["value"] >= 1 for p in predictions)
    eval_loss = _export_all(client, by_name["/eval_total_loss"]["name"])
    assert [p["step"] for p in eval_loss] == ["2", "4", "6"]  # every epoch
    assert by_name["/train_total_loss"]["metadata"]["maxStep"] == "6"
    # Deterministic: the same values on every read.
    assert _export_all(client, by_name["/train_total_loss"]["name"]) == loss


def test_points_follow_the_progress(emulator: Emulator, client: httpx.Client, validated: str) -> None:
    job = client.get(f"/v1/{validated}").json()
    assert "experiment" not in job  # pending: no metrics yet
    emulator.advance(30 + 6 * 3)
    _, _, series = _chain(client, validated)
    by_name = {s["displayName"]: s["name"] for s in series}
    assert len(_export_all(client, by_name["/train_total_loss"])) == 3
    assert [p["step"] for p in _export_all(client, by_name["/eval_total_loss"])] == ["2"]
    client.post(f"/v1/{validated}:cancel")
    emulator.advance(3600)
    assert len(_export_all(client, by_name["/train_total_loss"])) == 3  # frozen at the cancel


def test_no_eval_series_without_validation_data(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    name = create_job().json()["name"]
    emulator.advance(3600)
    _, _, series = _chain(client, name)
    assert [s["displayName"] for s in series] == TRAIN


def test_export_paging_ordering_and_filter(emulator: Emulator, client: httpx.Client, validated: str) -> None:
    emulator.advance(3600)
    _, _, series = _chain(client, validated)
    loss = series[0]["name"]
    first = client.post(
        f"/v1/{loss}:exportTensorboardTimeSeries", json={"pageSize": 4, "orderBy": "step"}
    ).json()
    assert len(first["timeSeriesDataPoints"]) == 4
    rest = client.post(
        f"/v1/{loss}:exportTensorboardTimeSeries",
        json={"pageSize": 4, "orderBy": "step", "pageToken": first["nextPageToken"]},
    ).json()
    assert [p["step"] for p in rest["timeSeriesDataPoints"]] == ["5", "6"]
    assert "nextPageToken" not in rest
    backwards = _export_all(client, loss, orderBy="step desc")
    assert [p["step"] for p in backwards] == ["6", "5", "4", "3", "2", "1"]
    assert [p["step"] for p in _export_all(client, loss, filter="step >= 5")] == ["5", "6"]
    assert _export_all(client, loss, orderBy="wall_time")[0]["step"] == "1"
    assert_error(
        client.post(f"/v1/{loss}:exportTensorboardTimeSeries", json={"orderBy": "value"}),
        400,
        "INVALID_ARGUMENT",
    )
    assert_error(
        client.post(f"/v1/{loss}:exportTensorboardTimeSeries", json={"pageSize": 2, "pageToken": "x"}),
        400,
        "INVALID_ARGUMENT",
    )


def test_small_page_caps_page_every_list(emulator: Emulator, client: httpx.Client, validated: str) -> None:
    emulator.advance(3600)
    emulator.configure_vertex(max_page_size=4)
    _, run, _ = _chain(client, validated)
    first = client.get(f"/v1/{run['name']}/timeSeries", params={"pageSize": 1000}).json()
    assert len(first["tensorboardTimeSeries"]) == 4
    second = client.get(
        f"/v1/{run['name']}/timeSeries", params={"pageSize": 1000, "pageToken": first["nextPageToken"]}
    ).json()
    assert len(second["tensorboardTimeSeries"]) == 2
    loss = first["tensorboardTimeSeries"][0]["name"]
    page = client.post(f"/v1/{loss}:exportTensorboardTimeSeries", json={"pageSize": 10000}).json()
    assert len(page["timeSeriesDataPoints"]) == 4
    assert "nextPageToken" in page


def test_contexts_list_and_get(emulator: Emulator, client: httpx.Client, validated: str) -> None:
    emulator.advance(3600)
    job = client.get(f"/v1beta1/{validated}").json()
    experiment = job["experiment"]
    store = f"{PARENT}/metadataStores/default"
    runs = client.get(
        f"/v1/{store}/contexts",
        params={"filter": f'schema_title="system.ExperimentRun" AND parent_contexts:"{experiment}"'},
    ).json()["contexts"]
    assert [c["name"] for c in runs] == [f"{experiment}-tuning-run"]
    assert runs[0]["metadata"]["_state"] == "COMPLETE"
    assert client.get(f"/v1/{runs[0]['name']}").json() == runs[0]
    everything = client.get(f"/v1beta1/{store}/contexts").json()["contexts"]
    assert [c["schemaTitle"] for c in everything] == ["system.Experiment", "system.ExperimentRun"]
    assert_error(client.get(f"/v1/{store}/contexts/nope"), 404, "NOT_FOUND")
    assert_error(client.get(f"/v1/{PARENT}/metadataStores/other/contexts/x"), 404, "NOT_FOUND")
    assert_error(
        client.get(f"/v1/{store}/contexts", params={"filter": "colour=red"}), 400, "INVALID_ARGUMENT"
    )


def test_single_resources_and_404s(emulator: Emulator, client: httpx.Client, validated: str) -> None:
    emulator.advance(3600)
    _, run, series = _chain(client, validated)
    assert client.get(f"/v1/{run['name']}").json() == run
    assert client.get(f"/v1beta1/{series[0]['name']}").json() == series[0]
    tensorboard = run["name"].split("/experiments/")[0]
    for path in (
        f"{tensorboard}/experiments/tuning-experiment-1/runs",
        f"{run['name'][:-3]}xyz",
        f"{run['name']}/timeSeries/1",
        f"{PARENT}/tensorboards/1/experiments/{run['name'].split('/')[7]}/runs",
    ):
        assert_error(client.get(f"/v1/{path}"), 404, "NOT_FOUND")
    assert_error(
        client.post(f"/v1/{run['name']}/timeSeries/1:exportTensorboardTimeSeries", json={}), 404, "NOT_FOUND"
    )
