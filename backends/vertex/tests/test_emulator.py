"""The vertex backend against the embedded emulator, every operation, through the sync and the async client.

The emulator plays Vertex AI and Cloud Storage on one loopback port; the
client's clock is linked to the emulator's (see conftest), so ``wait()`` and
the long-running operations of ``delete()`` progress without wall time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tuneport.errors import FilterError, JobFailed, JobNotReady, NotFoundError, SpecError
from tuneport.models import JobState
from tuneport_emulator import Emulator
from tuneport_vertex.wire import REQUEST_ID_LABEL

PARENT = "projects/tuneport-test/locations/us-central1"
#: How Vertex names what it returns: by project number (the emulator derives tuneport-test's).
NUMBERED = "projects/211632082905/locations/us-central1"
BUCKET = "tuneport-staging"
BASE = "gemini-2.5-flash"
NUMBERS = [("1", "2"), ("3", "4"), ("-3", "-2"), ("twenty two", "twenty three"), ("IV", "V")]


def _jsonl(pairs: list[tuple[str, str]]) -> str:
    return "".join(
        json.dumps(
            {
                "contents": [
                    {"role": "user", "parts": [{"text": i}]},
                    {"role": "model", "parts": [{"text": o}]},
                ]
            }
        )
        + "\n"
        for i, o in pairs
    )


def _routes(emulator: Emulator, prefix: str) -> list[str]:
    return [str(e["route"]) for e in emulator.requests() if str(e["route"]).startswith(prefix)]


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text(_jsonl(NUMBERS))
    return path


# --- create and staging -----------------------------------------------------------------------------


async def test_a_local_file_is_staged_once_under_its_content_hash(
    api: Any, emulator: Emulator, train_file: Path
) -> None:
    job = await api.create(
        base_model=BASE, training_data=str(train_file), display_name="numbers", epoch_count=2
    )
    assert job.backend == "vertex"
    assert job.state is JobState.PENDING
    assert job.name == f"{NUMBERED}/tuningJobs/{job.id}"
    uri = job.raw["supervisedTuningSpec"]["trainingDatasetUri"]
    assert uri.startswith(f"gs://{BUCKET}/tuneport/datasets/")
    staged = emulator.storage_object(BUCKET, uri.split("/", 3)[3])
    assert staged is not None
    # Converted to Vertex JSONL and named by the hash of what was uploaded.
    assert uri.endswith(f"/{hashlib.sha256(staged).hexdigest()}.jsonl")
    assert [json.loads(line)["contents"][1]["parts"][0]["text"] for line in staged.splitlines()] == [
        o for _, o in NUMBERS
    ]
    again = await api.create(base_model=BASE, training_data=str(train_file))
    assert again.raw["supervisedTuningSpec"]["trainingDatasetUri"] == uri
    assert again.id != job.id
    # The second create looked the object up and did not upload it again: it only refreshed
    # the object's staging time (its tuneport metadata, read by cleanup).
    assert _routes(emulator, "storage.") == [
        "storage.objects.get", "storage.objects.insert", "storage.objects.get", "storage.objects.patch",
    ]  # fmt: skip
    # The request-id label that makes creates duplicate-free is bookkeeping: in raw, not in labels.
    assert job.labels == {}
    assert set(job.raw["labels"]) == {"tuneport-request-id"}
    assert (await api.get(job.id)).labels == {}


async def test_create_from_examples_and_from_a_gs_uri(
    api: Any, emulator: Emulator, http: httpx.Client
) -> None:
    job = await api.create(
        base_model=BASE,
        training_data=NUMBERS,
        validation_data=NUMBERS[:1],  # within Vertex's share: at most 25% of the training bytes
        labels={"team": "ml"},
        epoch_count=3,
        adapter_size=8,
        learning_rate_multiplier=0.5,
    )
    spec = job.raw["supervisedTuningSpec"]
    assert spec["trainingDatasetUri"].startswith(f"gs://{BUCKET}/tuneport/datasets/")
    assert spec["validationDatasetUri"] != spec["trainingDatasetUri"]
    assert job.hyperparameters.epoch_count == 3
    assert job.hyperparameters.adapter_size == 8
    assert job.hyperparameters.learning_rate_multiplier == 0.5
    assert job.labels["team"] == "ml"
    emulator.store.clear_requests()
    emulator.put_storage_object("elsewhere", "data/train.jsonl", _jsonl(NUMBERS).encode())
    direct = await api.create(base_model=BASE, training_data="gs://elsewhere/data/train.jsonl")
    assert direct.raw["supervisedTuningSpec"]["trainingDatasetUri"] == "gs://elsewhere/data/train.jsonl"
    assert _routes(emulator, "storage.") == []  # nothing staged
    emulator.advance(3600)
    assert (await api.get(direct.id)).state is JobState.SUCCEEDED


async def test_a_large_dataset_goes_up_in_a_resumable_session(
    api: Any, emulator: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w") as stream:
        number = 0
        while stream.tell() < 9 * 1024 * 1024:  # over the 8 MiB single-request limit
            stream.write(_jsonl([(f"question {number} " + "x" * 400, f"answer {number}")]))
            number += 1
    job = await api.create(base_model=BASE, training_data=str(path), epoch_count=1)
    statuses = [
        (e["route"], e["status"]) for e in emulator.requests() if str(e["route"]).startswith("storage.")
    ]
    assert statuses == [
        ("storage.objects.get", 404),
        ("storage.objects.insert", 200),  # opens the session
        ("storage.objects.upload", 308),  # the first 8 MiB
        ("storage.objects.upload", 200),  # the rest, and the object
    ]
    uri = job.raw["supervisedTuningSpec"]["trainingDatasetUri"]
    staged = emulator.storage_object(BUCKET, uri.split("/", 3)[3])
    assert staged is not None
    assert len(staged) > 8 * 1024 * 1024
    assert uri.endswith(f"/{hashlib.sha256(staged).hexdigest()}.jsonl")  # arrived whole
    emulator.advance(15)
    assert (await api.get(job.id)).data_stats["tuningDatasetExampleCount"] == str(number)


async def test_an_invalid_spec_uploads_nothing(api: Any, emulator: Emulator, train_file: Path) -> None:
    with pytest.raises(SpecError):
        await api.create(base_model=BASE, training_data=str(train_file), display_name="x" * 129)
    with pytest.raises(SpecError):
        await api.create(
            base_model=BASE, training_data=str(train_file), extras={"tuning_mode": "TUNING_MODE_SIDEWAYS"}
        )
    assert emulator.requests() == []


# --- get, wait, list, cancel --------------------------------------------------------------------------


async def test_wait_until_succeeded(api: Any, train_file: Path) -> None:
    job = await api.create(
        base_model=BASE, training_data=str(train_file), epoch_count=2, display_name="numbers"
    )
    done = await api.wait(job.id)
    assert done.state is JobState.SUCCEEDED
    assert done.progress == 1.0
    assert done.tuned_model is not None
    assert done.tuned_model.startswith(f"{NUMBERED}/models/")
    assert done.endpoint is not None
    assert done.endpoint.startswith(f"{NUMBERED}/endpoints/")
    assert done.data_stats["tuningStepCount"] == "3"  # ceil(5 examples x 2 epochs / batch 4)
    assert done.start_time is not None
    assert done.end_time is not None
    assert done.display_name == "numbers"
    assert (await api.get(f"{PARENT}/tuningJobs/{job.id}")).id == job.id  # a full name works too
    assert (await api.get(job.name)).name == job.name  # and so does the name as returned
    with pytest.raises(NotFoundError):
        await api.get("1234567890")


async def test_detail_states_and_progress_show_by_default(
    emulator: Emulator, client_settings: Any, train_file: Path
) -> None:
    """Issue #16 point 7: reads go to v1beta1 without configuring it (tuningJobState, tuningJobMetadata)."""
    import tuneport
    from tuneport.models import DetailState

    with tuneport.connect(**client_settings()) as client:
        job = client.create(base_model=BASE, training_data=str(train_file), epoch_count=2)
        # The create went to v1 (its body needs nothing of v1beta1); every read is v1beta1.
        assert client.get(job.id).detail_state is DetailState.PROCESSING_DATASET
        emulator.advance(15)
        assert client.get(job.id).detail_state is DetailState.WAITING_FOR_CAPACITY
        emulator.advance(15 + 12)
        running = client.get(job.id)
        assert running.state is JobState.RUNNING
        assert running.detail_state is DetailState.TUNING
        assert (running.completed_steps, running.total_steps, running.progress) == (2, 3, 2 / 3)
        assert running.completed_epochs == 1


async def test_list_pages_and_filters(api: Any, emulator: Emulator, train_file: Path) -> None:
    first = await api.create(base_model=BASE, training_data=str(train_file), labels={"team": "a"})
    emulator.advance(3600)
    second = await api.create(base_model=BASE, training_data=str(train_file), labels={"team": "b"})
    third = await api.create(base_model=BASE, training_data=str(train_file))
    emulator.store.clear_requests()
    assert [j.id for j in await api.list_all(page_size=1)] == [first.id, second.id, third.id]
    assert len(_routes(emulator, "vertex.v1beta1.tuningJobs.list")) == 3  # one page each
    page = await api.list_page(page_size=2)
    assert [j.id for j in page.items] == [first.id, second.id]
    assert page.next_page_token
    succeeded = await api.list_all(filter='state="JOB_STATE_SUCCEEDED"')
    assert [j.id for j in succeeded] == [first.id]
    assert [j.id for j in await api.list_all(filter='labels.team="b"')] == [second.id]
    with pytest.raises(FilterError) as info:  # the service's 400, as the portable error naming the filter
        await api.list_page(filter="not a filter")
    assert info.value.filter == "not a filter"
    assert "must be compared with a value" in str(info.value)


async def test_portable_listing_maps_to_the_service_filter(
    api: Any, emulator: Emulator, train_file: Path
) -> None:
    """Issue #15: state and labels become tuningJobs.list's filter; the jobs are those selected."""
    first = await api.create(base_model=BASE, training_data=str(train_file), labels={"team": "a"})
    emulator.advance(3600)
    second = await api.create(base_model=BASE, training_data=str(train_file), labels={"team": "b"})
    await api.cancel(second.id)
    emulator.store.clear_requests()
    assert [j.id for j in await api.list_all(state="succeeded")] == [first.id]
    assert [j.id for j in await api.list_all(state=[JobState.CANCELLING, "cancelled"])] == [second.id]
    assert [j.id for j in await api.list_all(labels={"team": "b"})] == [second.id]
    assert await api.list_all(state="SUCCEEDED", labels={"team": "b"}) == []
    raw_and_query = await api.list_all(filter='labels.team="a"', state=["succeeded", "failed"])
    assert [j.id for j in raw_and_query] == [first.id]
    lists = [e for e in emulator.requests() if e["route"] == "vertex.v1beta1.tuningJobs.list"]
    assert [e["query"]["filter"][0] for e in lists] == [
        'state="JOB_STATE_SUCCEEDED"',
        '(state="JOB_STATE_CANCELLING" OR state="JOB_STATE_CANCELLED")',
        'labels.team="b"',
        'state="JOB_STATE_SUCCEEDED" AND labels.team="b"',
        '(labels.team="a") AND (state="JOB_STATE_SUCCEEDED" OR state="JOB_STATE_FAILED")',
    ]
    # tuneport's request-id label is bookkeeping, not one of the job's labels: it selects nothing.
    request_id = first.raw["labels"][REQUEST_ID_LABEL]
    assert await api.list_all(labels={REQUEST_ID_LABEL: request_id}) == []
    assert len(_routes(emulator, "vertex.v1beta1.tuningJobs.list")) == 5  # and costs no request


async def test_cancel(api: Any, emulator: Emulator, train_file: Path) -> None:
    job = await api.create(base_model=BASE, training_data=str(train_file), epoch_count=10)
    emulator.advance(30 + 6 * 3)
    cancelling = await api.cancel(job.id)
    assert cancelling.state is JobState.CANCELLING
    final = await api.wait(job.id)  # a cancelled job is returned, not raised
    assert final.state is JobState.CANCELLED
    assert final.error is not None
    assert final.error.code == 1
    assert final.tuned_model is None
    # Vertex answers a second :cancel with 400 FAILED_PRECONDITION: the finished job is returned unchanged.
    again = await api.cancel(job.id)
    assert (again.id, again.state) == (job.id, JobState.CANCELLED)


async def test_a_bad_training_file_fails_the_job(api: Any, emulator: Emulator) -> None:
    bad = _jsonl(NUMBERS) + json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n"
    emulator.put_storage_object("elsewhere", "bad.jsonl", bad.encode())
    job = await api.create(base_model=BASE, training_data="gs://elsewhere/bad.jsonl")
    with pytest.raises(JobFailed) as caught:
        await api.wait(job.id)
    failed = caught.value.job
    assert failed.state is JobState.FAILED
    assert failed.error is not None
    assert failed.error.code == 3
    assert "line 6" in failed.error.message
    missing = await api.create(base_model=BASE, training_data="gs://elsewhere/missing.jsonl")
    final = await api.wait(missing.id, raise_on_failure=False)
    assert "no such object" in final.error.message


# --- generate, metrics, delete ------------------------------------------------------------------------------


async def test_generate_by_job_id_and_by_endpoint(api: Any, emulator: Emulator, train_file: Path) -> None:
    job = await api.create(base_model=BASE, training_data=str(train_file))
    with pytest.raises(JobNotReady):
        await api.generate(job.id, "IV")
    done = await api.wait(job.id)
    answer = await api.generate(job.id, "IV")
    assert answer.text == "V"
    assert answer.finish_reason == "STOP"
    assert answer.usage.total_tokens == 2
    near = await api.generate(done.endpoint, "twenty-two", max_output_tokens=1, candidate_count=2)
    assert near.text == "twen"
    assert near.finish_reason == "MAX_TOKENS"
    assert near.candidates == ("twen", "twen")
    with_system = await api.generate(done.endpoint, "IV", system_instruction="Count.", temperature=0.2)
    assert with_system.text == "V"


async def test_metrics_follow_the_chain(api: Any, emulator: Emulator, train_file: Path) -> None:
    job = await api.create(
        base_model=BASE, training_data=str(train_file), validation_data=NUMBERS[:1], epoch_count=4
    )
    assert (await api.metrics(job.id)).series == {}  # not running yet: no experiment
    await api.wait(job.id)
    emulator.configure_vertex(max_page_size=3)  # forces paging on every list and export
    emulator.store.clear_requests()
    metrics = await api.metrics(job.id)
    assert set(metrics.series) == {
        "train_loss", "train_accuracy", "train_tokens", "eval_loss", "eval_accuracy", "eval_tokens",
    }  # fmt: skip
    assert metrics.native_names["train_accuracy"] == "train_fraction_of_correct_next_step_preds"
    assert metrics.native("eval_num_predictions") == metrics.series["eval_tokens"]
    loss = metrics.series["train_loss"]
    assert [p.step for p in loss] == list(range(1, 6))  # ceil(5 examples x 4 epochs / batch 4)
    assert loss[-1].value < loss[0].value
    assert all(p.time is not None for p in loss)
    assert [p.step for p in metrics.series["eval_loss"]] == [2, 3, 4, 5]  # each epoch's last step
    assert metrics.raw["tensorboard"].startswith(f"{NUMBERED}/tensorboards/")
    exports = _routes(emulator, "vertex.v1.tensorboards.experiments.runs.timeSeries.export")
    assert len(exports) == 2 + 2 + 2 + 2 + 2 + 2  # 5 train points and 4 eval points, in pages of 3
    assert len(_routes(emulator, "vertex.v1.tensorboards.experiments.runs.timeSeries.list")) == 2


async def test_delete_removes_the_endpoint_and_the_model(
    api: Any, emulator: Emulator, http: httpx.Client, train_file: Path
) -> None:
    job = await api.wait((await api.create(base_model=BASE, training_data=str(train_file))).id)
    endpoint, model = job.endpoint, job.tuned_model.split("@")[0]
    assert http.get(f"/v1/{endpoint}").status_code == 200
    emulator.store.clear_requests()
    assert await api.delete(job.id) is True
    routes = _routes(emulator, "vertex.")
    assert routes.index("vertex.v1.endpoints.undeployModel") < routes.index("vertex.v1.endpoints.delete")
    assert routes.index("vertex.v1.endpoints.delete") < routes.index("vertex.v1.models.delete")
    assert "vertex.v1.endpoints.operations.get" in routes
    assert "vertex.v1.models.operations.get" in routes
    assert http.get(f"/v1/{endpoint}").status_code == 404
    assert http.get(f"/v1/{model}").status_code == 404
    assert await api.delete(job.id) is False  # idempotent: everything is already gone
    assert await api.delete("1234567890") is False  # and an unknown job is nothing to delete
    # Vertex keeps the job's record; tuneport reads a job whose tuned model is gone as deleted.
    assert http.get(f"/v1/{PARENT}/tuningJobs/{job.id}").json()["state"] == "JOB_STATE_SUCCEEDED"
    for operation, arguments in (("get", ()), ("cancel", ()), ("metrics", ()), ("generate", ("IV",))):
        with pytest.raises(NotFoundError, match="was deleted"):
            await getattr(api, operation)(job.id, *arguments)
    assert job.id not in {j.id for j in await api.list_all()}


# --- the emulator agrees with this backend's catalog ------------------------------------------------------


def test_the_emulator_tunes_every_catalog_model_with_the_same_limits() -> None:
    from importlib import resources

    from tuneport.catalog import entries_from_toml
    from tuneport_emulator.vertex import base_models, open_models
    from tuneport_vertex.wire import ADAPTER_SIZES
    from tuneport_vertex.wire_methods import is_open_model

    text = resources.files("tuneport_vertex").joinpath("catalog.toml").read_text(encoding="utf-8")
    entries, _ = entries_from_toml(text, source="catalog.toml")
    assert entries
    for entry in entries:
        if is_open_model(entry.base_model):
            assert open_models.resolve_open_model(entry.base_model) is not None, entry.base_model
            assert set(entry.regions) == open_models.OPEN_MODEL_LOCATIONS, entry.base_model
            continue
        model = base_models.resolve_base_model(entry.base_model)
        assert model is not None, f"the emulator does not tune {entry.base_model}"
        choices = entry.hyperparameters["adapter_size"].choices
        assert choices is not None
        assert {ADAPTER_SIZES[int(size)] for size in choices} == set(model.adapter_sizes), entry.base_model
        assert entry.limits.max_example_tokens == base_models.MAX_EXAMPLE_TOKENS
        assert entry.limits.max_validation_examples == base_models.MAX_VALIDATION_EXAMPLES
        assert entry.limits.max_examples == base_models.MAX_TRAINING_EXAMPLES
        assert entry.limits.max_file_bytes == base_models.MAX_FILE_BYTES
