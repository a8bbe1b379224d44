"""Google's own clients, unmodified, against the Vertex surface.

* google-genai in Vertex mode (``v1beta1``): tune, get, list, cancel, and
  generate on the tuned endpoint.
* The ``vertexai`` SDK with its REST transport (``$alt=json;enum-encoding=int``):
  ``sft.train``, ``refresh()`` until the job has ended (it reads the
  experiment context on ``v1``), the experiment's objects (its backing
  TensorBoard, ``ExperimentRun.list`` and ``get_state``, the TensorBoard
  run's ``read_time_series_data``), ``SupervisedTuningJob.list()``,
  ``cancel()`` and ``GenerativeModel(endpoint).generate_content`` on ``v1``.

The training file is uploaded to the emulated Cloud Storage with plain HTTP first.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_helpers import stage_numbers_jsonl

from tuneport_emulator import Emulator, EmulatorClock

# The clients' own noise: api_core's Python-version notice, deprecations, "tuning is experimental".
pytestmark = pytest.mark.filterwarnings(
    "ignore::FutureWarning",
    "ignore::DeprecationWarning",
    "ignore::UserWarning",
    "ignore:The SDK's tuning implementation is experimental",
)

#: Emulator seconds per wall second: a 4-step job takes 74 emulator seconds, about 0.12 s.
FAST = 600.0
PROJECT, LOCATION = "p", "us-central1"
TRAIN_URI = "gs://tuneport-clients/train.jsonl"
POLL = 0.05
TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def _no_client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_VERTEX_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_GENAI_API_VERSION",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fast_emulator() -> Iterator[Emulator]:
    with Emulator(clock=EmulatorClock(speed=FAST)) as emu:
        stage_numbers_jsonl(emu.url)
        yield emu
        assert emu.internal_errors == []


def _number_parent(name: str) -> str:
    """The ``projects/*/locations/*`` of ``name``, checked to carry a project number, as Vertex's do."""
    parent = "/".join(name.split("/")[:4])
    assert re.fullmatch(rf"projects/\d{{12}}/locations/{LOCATION}", parent), name
    return parent


def _until(predicate: Any, refresh: Any) -> Any:
    deadline = time.monotonic() + TIMEOUT
    value = refresh()
    while not predicate(value):
        assert time.monotonic() < deadline, f"gave up waiting; last: {value}"
        time.sleep(POLL)
        value = refresh()
    return value


# --- google-genai, Vertex mode ----------------------------------------------------------------------


def test_genai_vertex_mode(fast_emulator: Emulator) -> None:
    genai = pytest.importorskip("google.genai")
    from google.genai import types
    from google.oauth2.credentials import Credentials

    client = genai.Client(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=Credentials(token="t"),
        http_options=types.HttpOptions(base_url=fast_emulator.url),
    )
    job = client.tunings.tune(
        base_model="gemini-2.0-flash-001",
        training_dataset=types.TuningDataset(gcs_uri=TRAIN_URI),
        config=types.CreateTuningJobConfig(
            epoch_count=2,
            tuned_model_display_name="numbers",
            adapter_size="ADAPTER_SIZE_FOUR",
            labels={"team": "x"},
        ),
    )
    parent = _number_parent(job.name)
    assert job.name.startswith(f"{parent}/tuningJobs/")
    assert job.state.name == "JOB_STATE_PENDING"
    done = _until(lambda j: j.has_ended, lambda: client.tunings.get(name=job.name))
    assert done.state.name == "JOB_STATE_SUCCEEDED"
    assert done.tuned_model.endpoint.startswith(f"{parent}/endpoints/")
    assert done.tuned_model.model.endswith("@1")
    assert done.tuning_data_stats.supervised_tuning_data_stats.tuning_dataset_example_count == 5
    assert done.experiment

    reply = client.models.generate_content(model=done.tuned_model.endpoint, contents="IV")
    assert reply.text == "V"
    assert reply.usage_metadata.total_token_count == 2

    second = client.tunings.tune(
        base_model="gemini-2.5-flash",
        training_dataset=types.TuningDataset(gcs_uri=TRAIN_URI),
        config=types.CreateTuningJobConfig(epoch_count=100),
    )
    client.tunings.cancel(name=second.name)
    cancelled = _until(lambda j: j.has_ended, lambda: client.tunings.get(name=second.name))
    assert cancelled.state.name == "JOB_STATE_CANCELLED"
    assert cancelled.error.code == 1

    assert [j.name for j in client.tunings.list()] == [job.name, second.name]
    assert [j.name for j in client.tunings.list(config={"page_size": 1})] == [job.name, second.name]
    log = fast_emulator.requests()
    assert all(entry["status"] < 400 for entry in log), [e for e in log if e["status"] >= 400]
    assert {entry["credentials"] for entry in log} == {"bearer", "none"}  # the upload carried none


# --- vertexai SDK (REST transport) -------------------------------------------------------------------


@pytest.fixture
def vertexai_sdk(fast_emulator: Emulator) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vertexai = pytest.importorskip("vertexai")
        from google.auth.credentials import AnonymousCredentials

        vertexai.init(
            project=PROJECT,
            location=LOCATION,
            api_endpoint=fast_emulator.url,
            api_transport="rest",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        )
    return vertexai


def test_vertexai_sdk(vertexai_sdk: Any, fast_emulator: Emulator) -> None:
    from vertexai.generative_models import GenerativeModel
    from vertexai.tuning import sft

    job = sft.train(
        source_model="gemini-2.0-flash-001",
        train_dataset=TRAIN_URI,
        validation_dataset=TRAIN_URI,
        epochs=2,
        adapter_size=4,
        tuned_model_display_name="numbers",
    )
    parent = _number_parent(job.resource_name)
    assert job.resource_name.startswith(f"{parent}/tuningJobs/")

    def refreshed() -> Any:
        job.refresh()
        return job

    _until(lambda j: j.has_ended, refreshed)
    assert job.has_succeeded
    assert job.experiment is not None  # the SDK read and validated the experiment context
    assert job.tuned_model_endpoint_name.startswith(f"{parent}/endpoints/")
    stats = job.tuning_data_statistics.supervised_tuning_data_stats
    assert stats.tuning_dataset_example_count == 5

    _experiment_reads(job)

    answer = GenerativeModel(job.tuned_model_endpoint_name).generate_content("twenty-two")
    assert answer.text == "twenty three"

    second = sft.train(source_model="gemini-2.5-flash", train_dataset=TRAIN_URI, epochs=100)
    second.cancel()

    def second_refreshed() -> Any:
        second.refresh()
        return second

    _until(lambda j: j.has_ended, second_refreshed)
    assert second.state.name == "JOB_STATE_CANCELLED"

    listed = [j.resource_name for j in sft.SupervisedTuningJob.list()]
    assert listed == [job.resource_name, second.resource_name]

    log = fast_emulator.requests()
    assert all(entry["status"] < 400 for entry in log), [e for e in log if e["status"] >= 400]
    assert all(
        entry["query"].get("$alt") == ["json;enum-encoding=int"]
        for entry in log
        if entry["route"] and "vertex" in entry["route"]
    )
    routes = {entry["route"] for entry in log}
    assert "vertex.v1.metadataStores.contexts.get" in routes
    assert "vertex.v1.endpoints.generateContent" in routes
    assert {
        "vertex.v1.tensorboards.get",
        "vertex.v1.metadataStores.executions.list",
        "vertex.v1.metadataStores.artifacts.get",
        "vertex.v1.tensorboards.batchRead",
    } <= routes


def _experiment_reads(job: Any) -> None:
    """From a job's experiment to its loss curve, through the SDK's experiment objects."""
    from google.cloud import aiplatform

    experiment = job.experiment
    board = experiment.get_backing_tensorboard_resource()
    assert board.resource_name == experiment._metadata_context.metadata["backing_tensorboard_resource"]
    assert [run.name for run in aiplatform.ExperimentRun.list(experiment=experiment)] == ["tuning-run"]
    run = aiplatform.ExperimentRun("tuning-run", experiment=experiment)
    assert run.get_state() == "COMPLETE"
    tb_run = aiplatform.TensorboardRun(f"{board.resource_name}/experiments/{experiment.name}/runs/tuning-run")
    data = tb_run.read_time_series_data()
    assert set(data) == {
        f"/{split}_{metric}"
        for split in ("train", "eval")
        for metric in ("total_loss", "fraction_of_correct_next_step_preds", "num_predictions")
    }
    loss = data["/train_total_loss"].values
    assert [point.step for point in loss] == list(range(1, len(loss) + 1))
    assert all(point.scalar.value > 0 for point in loss)
