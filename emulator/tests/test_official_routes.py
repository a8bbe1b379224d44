"""Every route Google's official clients call for tuning, experiments and TensorBoard, as data.

The table lists each (method, path template) a client sends, which client and
version sends it, and what the emulator answers, as Vertex or the Gemini API
does.  Its sources: the request logs recorded from the clients (google-genai
1.20.0, 2.34.0 and 3.4.0 in both modes, the vertexai SDK of
google-cloud-aiplatform 2.7.0 with its REST transport, google-generativeai
0.8.6), and, beyond those logs, the calls the clients were seen to make
against the emulator (google-genai 2.34.0 and 3.3.0 ``models.list`` /
``models.get`` / ``models.delete`` / ``generate_content_stream`` in Vertex
mode; the vertexai SDK's experiment objects: ``job.experiment``,
``get_backing_tensorboard_resource()``, ``ExperimentRun.list`` /
``ExperimentRun(...)`` and their TensorBoard reads).  A route Google does not
serve (not in its protos or discovery documents) is listed as such: it is
unrouted and answers 404 with Google's error body, as Google's front end does.

Behaviour tests for the routes this table brought in (tuned-model list,
metadata artifacts and executions, TensorBoards, point reads) follow it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error, create_body

from tuneport_emulator import Emulator, EmulatorClock

PARENT = "projects/p/locations/us-central1"
BUCKET = "tuneport-routes"
GAPIC = {"$alt": "json;enum-encoding=int"}
GENERATE = {"contents": [{"role": "user", "parts": [{"text": "IV"}]}]}
PAIRS = [("1", "2"), ("3", "4"), ("IV", "V"), ("twenty two", "twenty three")]


@dataclass(frozen=True)
class ClientRoute:
    """A request an official client sends, and what the emulator answers."""

    method: str
    #: Formatted with the names of the world below (``{job}``, ``{endpoint}``…).
    path: str
    #: Which clients send it (G = google-genai, V = vertexai SDK, L = google-generativeai).
    clients: str
    #: The emulator's route name; None where Google serves no such method (unrouted 404).
    route: str | None
    status: int = 200
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


ROUTES: list[ClientRoute] = [
    # --- Gemini API -------------------------------------------------------------------------------------
    ClientRoute("POST", "/v1beta/tunedModels", "G 1.20/2.34 tunings.tune; L 0.8.6 create_tuned_model",
                "gemini.tunedModels.create", params={"tunedModelId": "another"}, body=create_body()),
    ClientRoute("GET", "/v1beta/{tuned}", "G 1.20/2.34 tunings.get, models.get; L get_tuned_model",
                "gemini.tunedModels.get"),
    ClientRoute("GET", "/v1beta/tunedModels", "G 1.20 tunings.list, models.list; L list_tuned_models",
                "gemini.tunedModels.list", params={"pageSize": "50"}),
    ClientRoute("PATCH", "/v1beta/{tuned}", "L update_tuned_model; G models.update",
                "gemini.tunedModels.patch", params={"updateMask": "description", **GAPIC},
                body={"description": "counts"}),
    ClientRoute("GET", "/v1beta/{operation}", "L 0.8.6 operation polling (no $alt)",
                "gemini.v1beta.operations.get"),
    ClientRoute("POST", "/v1beta/{tuned}:generateContent", "G 1.20/2.34; L GenerativeModel",
                "gemini.v1beta.tunedModels.generateContent", body=GENERATE),
    ClientRoute("POST", "/v1/{tuned}:generateContent", "G 3.4 generate_content (default v1)",
                "gemini.v1.tunedModels.generateContent", body=GENERATE),
    # A bare id becomes models/{id}: the Gemini API has no tuned model there.
    ClientRoute("POST", "/v1beta/models/numbers:generateContent", "G 1.20/2.34 bare model id",
                "gemini.v1beta.models.generateContent", 404, body=GENERATE),
    ClientRoute("POST", "/v1/models/numbers:generateContent", "G 3.4 bare model id",
                "gemini.v1.models.generateContent", 404, body=GENERATE),
    ClientRoute("DELETE", "/v1beta/tunedModels/doomed", "G 1.20/2.34 models.delete; L delete_tuned_model",
                "gemini.tunedModels.delete"),
    # Not in Google's protos: tunedModels has no :cancel, and v1 has no tuned-model CRUD.
    ClientRoute("POST", "/v1beta/{tuned}:cancel", "G 2.34 tunings.cancel", None, 404),
    ClientRoute("POST", "/v1/tunedModels", "G 3.4 tunings.tune (default v1)", None, 404, body=create_body()),
    ClientRoute("GET", "/v1/{tuned}", "G 2.34 (api_version v1), 3.4 tunings.get", None, 404),
    ClientRoute("POST", "/v1/{tuned}:cancel", "G 3.4 tunings.cancel", None, 404),
    ClientRoute("DELETE", "/v1/{tuned}", "G 3.4 models.delete", None, 404),
    # --- Vertex AI: tuning jobs and the tuned model --------------------------------------------------------
    ClientRoute("POST", f"/v1beta1/{PARENT}/tuningJobs", "G 1.20/2.34/3.4 tunings.tune; V sft.train",
                "vertex.v1beta1.tuningJobs.create", params=GAPIC,
                body={"baseModel": "gemini-2.5-flash",
                      "supervisedTuningSpec": {"trainingDatasetUri": "{train}"}}),
    ClientRoute("GET", "/v1beta1/{job}", "G tunings.get; V refresh()", "vertex.v1beta1.tuningJobs.get",
                params=GAPIC),
    ClientRoute("GET", f"/v1beta1/{PARENT}/tuningJobs", "G tunings.list; V SupervisedTuningJob.list",
                "vertex.v1beta1.tuningJobs.list",
                params={"pageSize": "1", "filter": 'state="JOB_STATE_SUCCEEDED"'}),
    ClientRoute("POST", "/v1beta1/{running}:cancel", "G 2.34/3.4 tunings.cancel; V cancel()",
                "vertex.v1beta1.tuningJobs.cancel", params=GAPIC, body={}),
    ClientRoute("GET", "/v1/{job}", "G (api_version v1) tunings.get", "vertex.v1.tuningJobs.get"),
    ClientRoute("GET", f"/v1/{PARENT}/tuningJobs", "G (api_version v1); V list through its v1 client",
                "vertex.v1.tuningJobs.list", params=GAPIC),
    ClientRoute("POST", "/v1beta1/{endpoint}:generateContent", "G generate_content(endpoint)",
                "vertex.v1beta1.endpoints.generateContent", body=GENERATE),
    ClientRoute("POST", "/v1beta1/{endpoint}:streamGenerateContent", "G 2.34/3.3 generate_content_stream",
                "vertex.v1beta1.endpoints.streamGenerateContent", params={"alt": "sse"}, body=GENERATE),
    ClientRoute("POST", "/v1/{endpoint}:generateContent", "V GenerativeModel(endpoint)",
                "vertex.v1.endpoints.generateContent", params=GAPIC, body=GENERATE),
    # google-genai turns a bare endpoint id into a publisher model, which Vertex does not have.
    ClientRoute("POST", f"/v1beta1/{PARENT}/publishers/endpoints/models/{{endpoint_id}}:generateContent",
                "G bare endpoint id", "vertex.v1beta1.publishers.models.generateContent", 404, body=GENERATE),
    ClientRoute("GET", f"/v1beta1/{PARENT}/models", "G 2.34/3.3 models.list(query_base=False)",
                "vertex.v1beta1.models.list", params={"filter": "labels.tune-type:*"}),
    ClientRoute("GET", "/v1beta1/{model}@1", "G 2.34/3.3 models.get(tuned model)",
                "vertex.v1beta1.models.get"),
    # Vertex refuses to delete a deployed model (undeploy first).
    ClientRoute("DELETE", "/v1beta1/{model}@1", "G 2.34/3.3 models.delete",
                "vertex.v1beta1.models.delete", 400),
    # Vertex has no generateContent on models/: google-genai sends it for models.generate_content(model).
    ClientRoute("POST", "/v1beta1/{model}@1:generateContent", "G 2.34/3.3 generate_content(tuned model)",
                None, 404, body=GENERATE),
    # Google-genai's gateway-mode probe of the bare base URL: nothing is served there.
    ClientRoute("GET", "/", "G 2.34/3.4 (Vertex, base_url without project)", None, 404),
    # --- Vertex AI: the experiment and its TensorBoard (vertexai SDK 2.7.0, v1) --------------------------
    ClientRoute("GET", "/v1/{experiment}", "V refresh(), job.experiment",
                "vertex.v1.metadataStores.contexts.get", params=GAPIC),
    ClientRoute("GET", f"/v1/{PARENT}/metadataStores/default/contexts", "V ExperimentRun.list",
                "vertex.v1.metadataStores.contexts.list",
                params={"filter": 'schema_title="system.ExperimentRun" AND parent_contexts:"{experiment}"'}),
    ClientRoute("GET", f"/v1/{PARENT}/metadataStores/default/executions", "V ExperimentRun.list (legacy)",
                "vertex.v1.metadataStores.executions.list",
                params={"filter": 'schema_title="system.Run" AND in_context("{experiment}")'}),
    ClientRoute("GET", "/v1/{artifact}", "V ExperimentRun(...) backing TensorBoard run",
                "vertex.v1.metadataStores.artifacts.get", params=GAPIC),
    ClientRoute("GET", f"/v1/{PARENT}/metadataStores/default/artifacts", "V Artifact.list",
                "vertex.v1.metadataStores.artifacts.list",
                params={"filter": 'schema_title="google.VertexTensorboardRun"'}),
    ClientRoute("GET", "/v1/{tensorboard}", "V Experiment.get_backing_tensorboard_resource()",
                "vertex.v1.tensorboards.get", params=GAPIC),
    ClientRoute("GET", f"/v1/{PARENT}/tensorboards", "V Tensorboard.list", "vertex.v1.tensorboards.list"),
    ClientRoute("GET", "/v1/{tensorboard}/experiments", "V TensorboardExperiment.list",
                "vertex.v1.tensorboards.experiments.list"),
    ClientRoute("GET", "/v1/{tb_experiment}", "V TensorboardExperiment(name)",
                "vertex.v1.tensorboards.experiments.get"),
    ClientRoute("GET", "/v1/{tb_experiment}/runs", "V TensorboardRun.list",
                "vertex.v1.tensorboards.experiments.runs.list"),
    ClientRoute("GET", "/v1/{run}", "V TensorboardRun(name)", "vertex.v1.tensorboards.experiments.runs.get"),
    ClientRoute("GET", "/v1/{run}/timeSeries", "V TensorboardTimeSeries.list, read_time_series_data()",
                "vertex.v1.tensorboards.experiments.runs.timeSeries.list"),
    ClientRoute("GET", "/v1/{tensorboard}:batchRead", "V TensorboardRun.read_time_series_data()",
                "vertex.v1.tensorboards.batchRead", params={"timeSeries": "{series}"}),
    ClientRoute("GET", "/v1/{series}", "V TensorboardTimeSeries(name)",
                "vertex.v1.tensorboards.experiments.runs.timeSeries.get"),
    ClientRoute("GET", "/v1/{series}:read", "V (GAPIC) read_tensorboard_time_series_data",
                "vertex.v1.tensorboards.experiments.runs.timeSeries.read"),
    ClientRoute("POST", "/v1/{series}:exportTensorboardTimeSeries", "V (GAPIC) export_…_time_series_data",
                "vertex.v1.tensorboards.experiments.runs.timeSeries.exportTensorboardTimeSeries", body={}),
    # Every tuning series is SCALAR: it has no blobs (INVALID_ARGUMENT).
    ClientRoute("GET", "/v1/{series}:readBlobData", "V (GAPIC) read_tensorboard_blob_data",
                "vertex.v1.tensorboards.experiments.runs.timeSeries.readBlobData", 400),
]  # fmt: skip


def _dataset(pairs: list[tuple[str, str]]) -> bytes:
    lines = [
        json.dumps(
            {
                "contents": [
                    {"role": "user", "parts": [{"text": i}]},
                    {"role": "model", "parts": [{"text": o}]},
                ]
            }
        )
        for i, o in pairs
    ]
    return "\n".join(lines).encode()


@dataclass
class World:
    """An emulator holding one of everything the table's paths name."""

    emulator: Emulator
    client: httpx.Client
    names: dict[str, str]


def _make_world(emulator: Emulator, client: httpx.Client) -> dict[str, str]:
    emulator.put_storage_object(BUCKET, "train.jsonl", _dataset(PAIRS))
    train = f"gs://{BUCKET}/train.jsonl"
    spec = {"trainingDatasetUri": train, "validationDatasetUri": train, "hyperParameters": {"epochCount": 2}}
    job = client.post(
        f"/v1beta1/{PARENT}/tuningJobs", json={"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": spec}
    )
    assert job.status_code == 200, job.text
    created = client.post("/v1beta/tunedModels", params={"tunedModelId": "numbers"}, json=create_body())
    assert created.status_code == 200, created.text
    doomed = client.post("/v1beta/tunedModels", params={"tunedModelId": "doomed"}, json=create_body())
    assert doomed.status_code == 200, doomed.text
    emulator.advance(100_000)
    running = client.post(
        f"/v1beta1/{PARENT}/tuningJobs", json={"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": spec}
    )
    assert running.status_code == 200, running.text

    done = client.get(f"/v1/{job.json()['name']}").json()
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    experiment = done["experiment"]
    context = client.get(f"/v1/{experiment}").json()
    tensorboard = context["metadata"]["backing_tensorboard_resource"]
    tb_experiment = f"{tensorboard}/experiments/{experiment.rsplit('/', 1)[1]}"
    (run,) = client.get(f"/v1/{tb_experiment}/runs").json()["tensorboardRuns"]
    series = client.get(f"/v1/{run['name']}/timeSeries").json()["tensorboardTimeSeries"]
    endpoint = done["tunedModel"]["endpoint"]
    return {
        "train": train,
        "job": done["name"],
        "running": running.json()["name"],
        "endpoint": endpoint,
        "endpoint_id": endpoint.rsplit("/", 1)[1],
        "model": done["tunedModel"]["model"].removesuffix("@1"),
        "experiment": experiment,
        "artifact": experiment.replace("/contexts/", "/artifacts/") + "-tuning-run-tb-run",
        "tensorboard": tensorboard,
        "tb_experiment": tb_experiment,
        "run": run["name"],
        "series": series[0]["name"],
        "tuned": "tunedModels/numbers",
        "operation": created.json()["name"],
    }


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with Emulator(clock=EmulatorClock.manual()) as emu, httpx.Client(base_url=emu.url, timeout=10) as client:
        yield World(emu, client, _make_world(emu, client))
        assert emu.internal_errors == []


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_each_client_route_answers_as_google_does(world: World, route: ClientRoute) -> None:
    names = world.names
    body = None if route.body is None else _fill(route.body, names)
    response = world.client.request(
        route.method,
        _fill(route.path, names),
        params=_fill(route.params, names),
        content=None if body is None else json.dumps(body).encode(),
        headers={"x-goog-api-key": "k", "content-type": "application/json"},
    )
    logged = world.emulator.requests()[-1]
    assert logged["route"] == route.route, (route.clients, response.text)
    assert response.status_code == route.status, (route.clients, response.text)
    if route.status >= 400:
        assert set(response.json()) == {"error"}


def test_the_new_list_routes_exist_in_both_vertex_versions() -> None:
    """The lists the clients brought in are served on v1 and v1beta1 alike (the clients mix versions)."""
    with Emulator(clock=EmulatorClock.manual()) as emu, httpx.Client(base_url=emu.url, timeout=10) as client:
        for path in (
            f"{PARENT}/models",
            f"{PARENT}/tensorboards",
            f"{PARENT}/metadataStores/default/artifacts",
        ):
            for version in ("v1", "v1beta1"):
                assert client.get(f"/{version}/{path}").status_code == 200
        routes = {e["route"] for e in emu.requests()}
        assert routes == {
            f"vertex.{v}.{name}"
            for v in ("v1", "v1beta1")
            for name in ("models.list", "tensorboards.list", "metadataStores.artifacts.list")
        }


# --- behaviour of the routes the clients brought in -------------------------------------------------------


CreateJob = Callable[..., httpx.Response]


@pytest.fixture
def two_jobs(emulator: Emulator, create_job: CreateJob, gcs: Callable[..., str]) -> list[dict[str, Any]]:
    """Two succeeded jobs (the second with a validation set and a display name), as v1 reads them."""
    first = create_job(labels={"team": "a"}).json()["name"]
    spec = {"trainingDatasetUri": gcs(), "validationDatasetUri": gcs(name="validation.jsonl")}
    second = create_job(supervisedTuningSpec=spec, tunedModelDisplayName="second").json()["name"]
    emulator.advance(100_000)
    jobs = [httpx.get(f"{emulator.url}/v1/{name}").json() for name in (first, second)]
    assert [j["state"] for j in jobs] == ["JOB_STATE_SUCCEEDED"] * 2
    return jobs


def test_models_list_holds_the_tuned_models_with_their_tuning_labels(
    client: httpx.Client, two_jobs: list[dict[str, Any]], create_job: CreateJob
) -> None:
    create_job()  # still pending: it has made no model yet
    page = client.get(f"/v1beta1/{PARENT}/models").json()
    models = [j["tunedModel"]["model"].removesuffix("@1") for j in two_jobs]
    assert [m["name"] for m in page["models"]] == models
    first = page["models"][0]
    assert first["labels"] == {
        "google-vertex-llm-tuning-base-model-id": "gemini-2_5-flash",
        "google-vertex-llm-tuning-job-id": two_jobs[0]["name"].rsplit("/", 1)[1],
        "tune-type": "sft",
        "team": "a",
    }
    assert first == client.get(f"/v1/{models[0]}").json()

    def names(**params: str) -> list[str]:
        return [m["name"] for m in client.get(f"/v1/{PARENT}/models", params=params).json().get("models", [])]

    assert names(filter="labels.tune-type:*") == models
    assert names(filter='display_name="second"') == models[1:]
    assert names(filter=f"model={models[0].rsplit('/', 1)[1]}") == models[:1]
    assert names(filter='base_model_name="gemini-2.5-flash"') == models
    assert names(filter='labels.team="a"') == models[:1]
    first_page = client.get(f"/v1/{PARENT}/models", params={"pageSize": "1"}).json()
    assert len(first_page["models"]) == 1
    rest = client.get(
        f"/v1/{PARENT}/models", params={"pageSize": "1", "pageToken": first_page["nextPageToken"]}
    )
    assert [m["name"] for m in rest.json()["models"]] == models[1:]
    assert "nextPageToken" not in rest.json()
    assert_error(client.get(f"/v1/{PARENT}/models", params={"filter": "colour=red"}), 400, "INVALID_ARGUMENT")
    assert client.get("/v1/projects/other/locations/us-central1/models").json() == {}


def test_artifacts_link_each_experiment_run_to_its_tensorboard_run(
    client: httpx.Client, two_jobs: list[dict[str, Any]]
) -> None:
    experiment = two_jobs[1]["experiment"]
    run_context = f"{experiment}-tuning-run"
    name = experiment.replace("/contexts/", "/artifacts/") + "-tuning-run-tb-run"
    artifact = client.get(f"/v1/{name}").json()
    run = client.get(f"/v1/{run_context}").json()["metadata"]["backing_tensorboard_run"]
    assert artifact["schemaTitle"] == "google.VertexTensorboardRun"
    assert artifact["metadata"] == {"resourceName": run, "vertex_experiment_tracking": True}
    assert artifact["state"] == "LIVE"
    assert artifact["uri"].endswith(f"/v1/{run}")
    assert client.get(f"/v1beta1/{name}", params=GAPIC).json()["state"] == 2  # enum numbers for GAPIC
    assert_error(client.get(f"/v1/{experiment.replace('/contexts/', '/artifacts/')}"), 404, "NOT_FOUND")

    store = experiment.rsplit("/contexts/", 1)[0]
    listed = client.get(f"/v1/{store}/artifacts").json()["artifacts"]
    assert [a["name"] for a in listed] == [
        j["experiment"].replace("/contexts/", "/artifacts/") + "-tuning-run-tb-run" for j in two_jobs
    ]

    def names(**params: str) -> list[str]:
        return [
            a["name"] for a in client.get(f"/v1/{store}/artifacts", params=params).json().get("artifacts", [])
        ]

    assert names(filter=f'in_context("{run_context}")') == [name]
    assert (
        names(filter=f'in_context("{experiment}")') == []
    )  # the run's context holds it, not the experiment's
    assert names(orderBy="create_time desc") == [a["name"] for a in reversed(listed)]
    assert_error(
        client.get(f"/v1/{store}/artifacts", params={"filter": "in_context(x)"}), 400, "INVALID_ARGUMENT"
    )
    assert_error(client.get(f"/v1/{store}/artifacts", params={"orderBy": "uri"}), 400, "INVALID_ARGUMENT")
    assert_error(client.get(f"/v1/{PARENT}/metadataStores/other/artifacts"), 404, "NOT_FOUND")


def test_executions_are_none_but_the_request_is_checked(
    client: httpx.Client, two_jobs: list[dict[str, Any]]
) -> None:
    store = two_jobs[0]["experiment"].rsplit("/contexts/", 1)[0]
    legacy_runs = f'schema_title="system.Run" AND in_context("{two_jobs[0]["experiment"]}")'
    assert client.get(f"/v1/{store}/executions", params={"filter": legacy_runs}).json() == {}
    assert_error(client.get(f"/v1/{store}/executions", params={"filter": "state=="}), 400, "INVALID_ARGUMENT")
    assert_error(client.get(f"/v1/{store}/executions/any"), 404, "NOT_FOUND")


def test_tensorboards_and_their_experiments(
    client: httpx.Client, emulator: Emulator, create_job: CreateJob
) -> None:
    assert client.get(f"/v1/{PARENT}/tensorboards").json() == {}
    name = create_job().json()["name"]
    emulator.advance(100_000)
    job = client.get(f"/v1/{name}").json()
    tensorboard = client.get(f"/v1/{job['experiment']}").json()["metadata"]["backing_tensorboard_resource"]
    board = client.get(f"/v1/{tensorboard}").json()
    assert (board["name"], board["runCount"], board["isDefault"]) == (tensorboard, 1, True)
    assert client.get(f"/v1beta1/{PARENT}/tensorboards").json()["tensorboards"] == [board]
    experiment_id = job["experiment"].rsplit("/", 1)[1]
    experiments = client.get(f"/v1/{tensorboard}/experiments").json()["tensorboardExperiments"]
    assert [e["name"] for e in experiments] == [f"{tensorboard}/experiments/{experiment_id}"]
    assert client.get(f"/v1/{experiments[0]['name']}").json() == experiments[0]
    assert_error(client.get(f"/v1/{tensorboard}/experiments/other"), 404, "NOT_FOUND")
    assert_error(client.get(f"/v1/{PARENT}/tensorboards/123"), 404, "NOT_FOUND")


def _series(client: httpx.Client, job: dict[str, Any]) -> list[dict[str, Any]]:
    tensorboard = client.get(f"/v1/{job['experiment']}").json()["metadata"]["backing_tensorboard_resource"]
    run = f"{tensorboard}/experiments/{job['experiment'].rsplit('/', 1)[1]}/runs/tuning-run"
    return list(client.get(f"/v1/{run}/timeSeries").json()["tensorboardTimeSeries"])


def test_read_and_batch_read_give_the_exported_points(
    client: httpx.Client, two_jobs: list[dict[str, Any]]
) -> None:
    series = _series(client, two_jobs[1])
    loss = series[0]["name"]
    exported = client.post(f"/v1/{loss}:exportTensorboardTimeSeries", json={}).json()["timeSeriesDataPoints"]
    assert len(exported) >= 3
    read = client.get(f"/v1/{loss}:read").json()["timeSeriesData"]
    assert read == {
        "tensorboardTimeSeriesId": loss.rsplit("/", 1)[1],
        "valueType": "SCALAR",
        "values": exported,
    }
    assert client.get(f"/v1/{loss}:read", params={"maxDataPoints": "-1"}).json()["timeSeriesData"] == read
    two = client.get(f"/v1/{loss}:read", params={"maxDataPoints": "2"}).json()["timeSeriesData"]["values"]
    assert two == [exported[0], exported[-1]]
    later = client.get(f"/v1/{loss}:read", params={"filter": "step > 1"}).json()["timeSeriesData"]["values"]
    assert later == exported[1:]
    for bad in ("0", "-2", "many"):
        assert_error(client.get(f"/v1/{loss}:read", params={"maxDataPoints": bad}), 400, "INVALID_ARGUMENT")

    tensorboard = loss.split("/experiments/", 1)[0]
    asked = [series[2]["name"], loss]
    batch = client.get(f"/v1/{tensorboard}:batchRead", params=[("timeSeries", n) for n in asked]).json()
    assert [d["tensorboardTimeSeriesId"] for d in batch["timeSeriesData"]] == [
        n.rsplit("/", 1)[1] for n in asked
    ]
    assert batch["timeSeriesData"][1]["values"] == exported
    assert_error(client.get(f"/v1/{tensorboard}:batchRead"), 400, "INVALID_ARGUMENT")
    too_many = [("timeSeries", loss)] * 21
    assert_error(client.get(f"/v1/{tensorboard}:batchRead", params=too_many), 400, "INVALID_ARGUMENT")
    elsewhere = f"{PARENT}/tensorboards/1/experiments/e/runs/r/timeSeries/1"
    assert_error(
        client.get(f"/v1/{tensorboard}:batchRead", params={"timeSeries": elsewhere}), 400, "INVALID_ARGUMENT"
    )
    assert_error(client.get(f"/v1/{loss}:readBlobData", params={"blobIds": "1"}), 400, "INVALID_ARGUMENT")
    assert_error(client.get(f"/v1/{loss.rsplit('/', 1)[0]}/9:read"), 404, "NOT_FOUND")


def test_reads_stay_whole_under_a_small_page_cap(
    emulator: Emulator, client: httpx.Client, two_jobs: list[dict[str, Any]]
) -> None:
    loss = _series(client, two_jobs[1])[0]["name"]
    whole = client.get(f"/v1/{loss}:read").json()["timeSeriesData"]["values"]
    assert len(whole) > 2
    emulator.configure_vertex(max_page_size=2)  # pages of every list and export now hold 2
    assert client.get(f"/v1/{loss}:read").json()["timeSeriesData"]["values"] == whole
    tensorboard = loss.split("/experiments/", 1)[0]
    batch = client.get(f"/v1/{tensorboard}:batchRead", params={"timeSeries": loss}).json()
    assert batch["timeSeriesData"][0]["values"] == whole


def test_the_page_cap_pages_the_new_lists(
    emulator: Emulator, client: httpx.Client, two_jobs: list[dict[str, Any]]
) -> None:
    store = two_jobs[0]["experiment"].rsplit("/contexts/", 1)[0]
    tensorboard = client.get(f"/v1/{two_jobs[0]['experiment']}").json()["metadata"][
        "backing_tensorboard_resource"
    ]
    lists = {
        f"/v1/{PARENT}/models": "models",
        f"/v1/{store}/artifacts": "artifacts",
        f"/v1/{tensorboard}/experiments": "tensorboardExperiments",
    }
    emulator.configure_vertex(max_page_size=1)
    for path, field_name in lists.items():
        first = client.get(path).json()
        assert len(first[field_name]) == 1, path
        rest = client.get(path, params={"pageToken": first["nextPageToken"]}).json()
        assert len(rest[field_name]) == 1, path
        assert "nextPageToken" not in rest
