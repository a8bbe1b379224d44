"""Vertex ``tuningJobs``: create, the time line, get, list (paging, filter), cancel, datasets, seeding."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error, violated_fields

from tuneport_emulator import Emulator, EmulatorClock, EmulatorError

PARENT = "projects/p/locations/us-central1"
#: How Vertex names what it returns: with the project number (project "p"'s, as the emulator derives it).
NUMBERED = "projects/199785239448/locations/us-central1"
JOBS = f"/v1beta1/{PARENT}/tuningJobs"
INT = {"$alt": "json;enum-encoding=int"}
CreateJob = Callable[..., httpx.Response]


def _get(client: httpx.Client, name: str, version: str = "v1beta1") -> dict[str, Any]:
    response = client.get(f"/{version}/{name}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# --- create and the time line ------------------------------------------------------------------


def test_create_returns_the_job_itself(create_job: CreateJob) -> None:
    response = create_job(tunedModelDisplayName="numbers", description="d", labels={"team": "ml"})
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["name"].startswith(f"{NUMBERED}/tuningJobs/")
    job_id = job["name"].rsplit("/", 1)[1]
    assert job_id.isdigit()
    assert len(job_id) == 19
    assert job["state"] == "JOB_STATE_PENDING"
    assert job["tuningJobState"] == "TUNING_JOB_STATE_PROCESSING_DATASET"
    assert job["baseModel"] == "gemini-2.5-flash"
    assert job["tunedModelDisplayName"] == "numbers"
    assert job["labels"] == {"team": "ml"}
    assert job["createTime"] == job["updateTime"] == "2024-06-01T00:00:00Z"
    hyper = job["supervisedTuningSpec"]["hyperParameters"]
    assert hyper == {"epochCount": "5", "learningRateMultiplier": 1.0, "adapterSize": "ADAPTER_SIZE_FOUR"}
    for absent in ("startTime", "endTime", "experiment", "tunedModel", "tuningDataStats", "error"):
        assert absent not in job


def test_the_job_moves_through_its_states(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    # 5 examples, batch 4, 2 epochs: ceil(5 x 2 / 4) = 3 steps; epoch 1 ends in step 2.
    name = create_job(supervisedTuningSpec={
        "trainingDatasetUri": "gs://tuneport-test/train.jsonl", "hyperParameters": {"epochCount": "2"}
    }).json()["name"]  # fmt: skip
    emulator.advance(15)
    job = _get(client, name)
    assert (job["state"], job["tuningJobState"]) == (
        "JOB_STATE_PENDING",
        "TUNING_JOB_STATE_WAITING_FOR_CAPACITY",
    )
    stats = job["tuningDataStats"]["supervisedTuningDataStats"]
    assert stats["tuningDatasetExampleCount"] == "5"
    assert stats["tuningStepCount"] == "3"
    assert "experiment" not in job
    emulator.advance(15 + 6)
    job = _get(client, name)
    assert (job["state"], job["tuningJobState"]) == ("JOB_STATE_RUNNING", "TUNING_JOB_STATE_TUNING")
    assert job["startTime"] == "2024-06-01T00:00:30Z"
    assert job["tuningJobMetadata"] == {"completedStepCount": "1"}
    assert job["experiment"].startswith(f"{NUMBERED}/metadataStores/default/contexts/tuning-experiment-")
    emulator.advance(6)
    assert _get(client, name)["tuningJobMetadata"] == {"completedStepCount": "2", "completedEpochCount": "1"}
    emulator.advance(12)
    job = _get(client, name)
    assert (job["state"], job["tuningJobState"]) == ("JOB_STATE_RUNNING", "TUNING_JOB_STATE_POST_PROCESSING")
    assert "tunedModel" not in job
    emulator.advance(20)
    job = _get(client, name)
    assert job["state"] == "JOB_STATE_SUCCEEDED"
    assert "tuningJobState" not in job
    assert job["endTime"] == job["updateTime"] == "2024-06-01T00:01:08Z"  # 30 + 3 x 6 + 20 s
    tuned = job["tunedModel"]
    assert tuned["model"].startswith(f"{NUMBERED}/models/")
    assert tuned["model"].endswith("@1")
    assert tuned["endpoint"].startswith(f"{NUMBERED}/endpoints/")
    first_endpoint = tuned["checkpoints"][0]["endpoint"]  # every checkpoint has an endpoint (#16)
    assert first_endpoint.startswith(f"{NUMBERED}/endpoints/")
    assert first_endpoint != tuned["endpoint"]
    assert tuned["checkpoints"] == [
        {"checkpointId": "1", "epoch": "1", "step": "2", "endpoint": first_endpoint},
        {"checkpointId": "2", "epoch": "2", "step": "3", "endpoint": tuned["endpoint"]},
    ]


# --- names: the project number ------------------------------------------------------------------


def test_names_carry_the_project_number_and_either_form_finds_them(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    job = create_job().json()
    assert job["name"].startswith(f"{NUMBERED}/tuningJobs/")
    job_id = job["name"].rsplit("/", 1)[1]
    by_id = client.get(f"/v1beta1/{PARENT}/tuningJobs/{job_id}").json()
    by_number = client.get(f"/v1beta1/{NUMBERED}/tuningJobs/{job_id}").json()
    assert by_id == by_number == job
    for parent in (PARENT, NUMBERED):  # one collection, listed under either form
        listed = client.get(f"/v1/{parent}/tuningJobs").json()["tuningJobs"]
        assert [j["name"] for j in listed] == [job["name"]]
    emulator.advance(3600)
    done = client.get(f"/v1/{PARENT}/tuningJobs/{job_id}").json()
    assert done["experiment"].startswith(f"{NUMBERED}/metadataStores/default/contexts/")
    for name in (done["tunedModel"]["model"], done["tunedModel"]["endpoint"]):
        assert name.startswith(f"{NUMBERED}/")
    endpoint_id = done["tunedModel"]["endpoint"].rsplit("/", 1)[1]
    endpoint = client.get(f"/v1/{PARENT}/endpoints/{endpoint_id}").json()
    assert endpoint["name"] == done["tunedModel"]["endpoint"]
    assert endpoint["deployedModels"][0]["model"].startswith(f"{NUMBERED}/models/")
    model_id = done["tunedModel"]["model"].split("/")[-1].removesuffix("@1")
    assert client.get(f"/v1/{PARENT}/models/{model_id}").json()["name"] == f"{NUMBERED}/models/{model_id}"
    # Continuing a tuned model named with the project id finds it too.
    again = create_job(preTunedModel={"tunedModelName": f"{PARENT}/models/{model_id}"}, baseModel=None)
    assert again.status_code == 200, again.text
    assert again.json()["name"].startswith(f"{NUMBERED}/tuningJobs/")


def test_a_project_number_is_its_own_number(create_job: CreateJob, client: httpx.Client) -> None:
    number = "projects/123456789012/locations/europe-west4"
    dataset = create_job().json()["supervisedTuningSpec"]["trainingDatasetUri"]  # staged by the fixture
    body = {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": dataset}}
    job = client.post(f"/v1/{number}/tuningJobs", json=body).json()
    assert job["name"].startswith(f"{number}/tuningJobs/")
    assert client.get(f"/v1/{job['name']}").json()["name"] == job["name"]
    assert client.get(f"/v1/{number}/tuningJobs").json()["tuningJobs"][0]["name"] == job["name"]
    # Another project (id or number) does not see it.
    assert_error(
        client.get(f"/v1/projects/q/locations/europe-west4/tuningJobs/{job['name'][-19:]}"), 404, "NOT_FOUND"
    )


def test_project_numbers_are_derived_stably_from_the_id() -> None:
    from tuneport_emulator.vertex.names import project_number

    # Fixed figures: the derivation is documented and must not change between releases.
    assert project_number("p") == "199785239448"
    assert project_number("my-project") == "502595432720"
    assert project_number("123456789012") == "123456789012"
    numbers = {project_number(f"project-{i}") for i in range(1000)}
    assert len(numbers) == 1000
    assert all(len(n) == 12 and n.isdigit() and n[0] != "0" for n in numbers)


def test_a_seed_names_its_job_with_the_project_number(emulator: Emulator) -> None:
    job = emulator.seed_vertex_job(parent=PARENT)
    assert job["name"].startswith(f"{NUMBERED}/tuningJobs/")
    assert job["tunedModel"]["endpoint"].startswith(f"{NUMBERED}/endpoints/")


def test_v1_leaves_out_v1beta1_fields(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    name = create_job(supervisedTuningSpec={
        "trainingDatasetUri": "gs://tuneport-test/train.jsonl", "hyperParameters": {"batchSize": 2},
    }).json()["name"]  # fmt: skip
    emulator.advance(40)
    beta, v1 = _get(client, name), _get(client, name, "v1")
    assert beta["tuningJobState"] == "TUNING_JOB_STATE_TUNING"
    assert beta["supervisedTuningSpec"]["hyperParameters"]["batchSize"] == "2"
    assert "tuningJobState" not in v1
    assert "tuningJobMetadata" not in v1
    assert "batchSize" not in v1["supervisedTuningSpec"]["hyperParameters"]
    assert v1["name"] == beta["name"]


def test_enum_encoding_int_and_numbers_in_requests(create_job: CreateJob) -> None:
    # What the vertexai SDK sends: enums as numbers, int64 as strings (adapterSize 4 is SIXTEEN).
    body = {
        "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
        "hyperParameters": {"epochCount": "4", "learningRateMultiplier": 1.0, "adapterSize": 4},
    }
    job = create_job(supervisedTuningSpec=body, params=INT).json()
    assert job["state"] == 2
    assert job["tuningJobState"] == 2
    assert job["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == 4
    named = create_job(supervisedTuningSpec=body).json()
    assert named["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == "ADAPTER_SIZE_SIXTEEN"


def test_snake_case_and_output_only_fields_are_accepted(create_job: CreateJob) -> None:
    response = create_job(
        supervisedTuningSpec=None,
        supervised_tuning_spec={"training_dataset_uri": "gs://tuneport-test/train.jsonl"},
        tuned_model_display_name="snake",
        state="JOB_STATE_SUCCEEDED",
        createTime="2020-01-01T00:00:00Z",
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "JOB_STATE_PENDING"
    assert response.json()["tunedModelDisplayName"] == "snake"


# --- refused at create ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "contains"),
    [
        ({"baseModel": "gemini-9"}, "tuning_job.base_model", "not supported for tuning"),
        ({"baseModel": None}, "tuning_job.base_model", "required"),
        ({"tunedModelDisplayName": "x" * 129}, "tuning_job.tuned_model_display_name", "at most 128"),
        ({"labels": {"Team": "x"}}, "tuning_job.labels[Team]", "Invalid label key"),
        ({"labels": {"team": "X"}}, "tuning_job.labels[team]", "Invalid value"),
        ({"labels": {"team": 5}}, "tuning_job.labels[team]", "must be a string"),
        ({"supervisedTuningSpec": {}}, "tuning_job.supervised_tuning_spec.training_dataset_uri", "required"),
        (
            {"supervisedTuningSpec": {"trainingDatasetUri": "https://x/y.jsonl"}},
            "tuning_job.supervised_tuning_spec.training_dataset_uri",
            "gs://",
        ),
        (
            {
                "supervisedTuningSpec": {
                    "trainingDatasetUri": "gs://b-b/x",
                    "hyperParameters": {"epochCount": 0},
                }
            },
            "tuning_job.supervised_tuning_spec.hyper_parameters.epoch_count",
            "between 1 and 100",
        ),
        (
            {
                "baseModel": "gemini-2.5-pro",
                "supervisedTuningSpec": {
                    "trainingDatasetUri": "gs://b-b/x",
                    "hyperParameters": {"adapterSize": "ADAPTER_SIZE_SIXTEEN"},
                },
            },
            "tuning_job.supervised_tuning_spec.hyper_parameters.adapter_size",
            "not supported for gemini-2.5-pro",
        ),
        (
            {
                "supervisedTuningSpec": {
                    "trainingDatasetUri": "gs://b-b/x",
                    "hyperParameters": {"learningRate": 0.1, "learningRateMultiplier": 1.0},
                }
            },
            "tuning_job.supervised_tuning_spec.hyper_parameters.learning_rate",
            "Only one",
        ),
        (
            {"supervisedTuningSpec": {"trainingDatasetUri": "gs://b-b/x", "tuningMode": "TUNING_MODE_FULL"}},
            "tuning_job.supervised_tuning_spec.tuning_mode",
            "open models",
        ),
        (
            {"distillationSpec": {}, "supervisedTuningSpec": None},
            "tuning_job.distillation_spec.prompt_dataset_uri",
            "is required",
        ),
        ({"encryptionSpec": {"kmsKeyName": "my-key"}}, "tuning_job.encryption_spec.kms_key_name", "keyRings"),
    ],
)
def test_create_checks(create_job: CreateJob, fields: dict[str, Any], field: str, contains: str) -> None:
    error = assert_error(create_job(**fields), 400, "INVALID_ARGUMENT", contains=contains)
    assert violated_fields(error) == [field]


def test_unknown_fields_and_wrong_types_use_esf_wording(create_job: CreateJob) -> None:
    spec = {"trainingDatasetUri": "gs://tuneport-test/train.jsonl", "hyperParameters": {"epochs": 3}}
    error = assert_error(create_job(supervisedTuningSpec=spec), 400, "INVALID_ARGUMENT")
    assert error["message"] == (
        'Invalid JSON payload received. Unknown name "epochs" at '
        "'tuning_job.supervised_tuning_spec.hyper_parameters': Cannot find field."
    )
    bad_type = {
        "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
        "hyperParameters": {"epochCount": 5.5},
    }
    assert_error(create_job(supervisedTuningSpec=bad_type), 400, "INVALID_ARGUMENT", contains="TYPE_INT64")
    # batchSize and learningRate exist only in v1beta1.
    v1_only = {"trainingDatasetUri": "gs://tuneport-test/train.jsonl", "hyperParameters": {"batchSize": 2}}
    assert_error(
        create_job("v1", supervisedTuningSpec=v1_only), 400, "INVALID_ARGUMENT", contains='"batchSize"'
    )
    two_sources = create_job(preTunedModel={"tunedModelName": f"{PARENT}/models/1"})
    assert_error(two_sources, 400, "INVALID_ARGUMENT", contains="oneof field 'source_model' is already set")


def test_nothing_is_created_by_a_refused_request(client: httpx.Client, create_job: CreateJob) -> None:
    create_job(baseModel="gemini-9")
    assert client.get(JOBS).json() == {}


# --- datasets ---------------------------------------------------------------------------------------


def test_a_missing_training_file_fails_the_job(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    name = create_job(supervisedTuningSpec={"trainingDatasetUri": "gs://tuneport-test/none.jsonl"}).json()[
        "name"
    ]
    assert _get(client, name)["state"] == "JOB_STATE_PENDING"  # found out while processing the dataset
    emulator.advance(15)
    job = _get(client, name)
    assert job["state"] == "JOB_STATE_FAILED"
    assert job["error"]["code"] == 3
    assert "gs://tuneport-test/none.jsonl" in job["error"]["message"]
    assert job["endTime"] == "2024-06-01T00:00:15Z"
    assert "tuningDataStats" not in job
    emulator.advance(3600)
    assert "experiment" not in _get(client, name)


def test_an_invalid_line_fails_the_job_naming_it(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    vertex_jsonl: Callable[..., bytes],
) -> None:
    turns = [{"role": "user", "parts": [{"text": "q"}]}, {"role": "assistant", "parts": [{"text": "a"}]}]
    bad = vertex_jsonl() + json.dumps({"contents": turns}).encode() + b"\n"
    uri = gcs(bad, "bad.jsonl")
    name = create_job(supervisedTuningSpec={"trainingDatasetUri": uri}).json()["name"]
    emulator.advance(15)
    error = _get(client, name)["error"]
    assert error["code"] == 3
    assert "line 6" in error["message"]
    assert "contents[1].role" in error["message"]
    assert "'assistant'" in error["message"]


@pytest.mark.parametrize(
    ("data", "contains"),
    [
        (b"", "holds no examples"),
        (b'[{"contents": []}]', "JSON Lines"),
        (b'{"text_input": "a", "output": "b"}\n', "unknown field 'text_input'"),
    ],
)
def test_bad_files(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    data: bytes,
    contains: str,
) -> None:
    name = create_job(supervisedTuningSpec={"trainingDatasetUri": gcs(data, "f.jsonl")}).json()["name"]
    emulator.advance(15)
    job = _get(client, name)
    assert job["state"] == "JOB_STATE_FAILED"
    assert contains in job["error"]["message"]


def test_a_bad_validation_file_fails_the_job(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    spec = {
        "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
        "validationDatasetUri": "gs://tuneport-test/v.jsonl",
    }
    name = create_job(supervisedTuningSpec=spec).json()["name"]
    emulator.advance(15)
    assert "validation dataset gs://tuneport-test/v.jsonl" in _get(client, name)["error"]["message"]


def test_data_stats(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    vertex_jsonl: Callable[..., bytes],
) -> None:
    uri = gcs(
        vertex_jsonl([("12345678", "abcd"), ("1234", "abcdefgh"), ("1", "a")], system="Answer."), "s.jsonl"
    )
    name = create_job(
        supervisedTuningSpec={"trainingDatasetUri": uri, "hyperParameters": {"epochCount": 3}}
    ).json()["name"]
    emulator.advance(15)
    stats = _get(client, name)["tuningDataStats"]["supervisedTuningDataStats"]
    assert stats["tuningDatasetExampleCount"] == "3"
    assert stats["tuningStepCount"] == "3"  # ceil(3 / 4) x 3
    # The system instruction "Answer." (7 characters) counts with each example's input.
    assert stats["totalTuningCharacterCount"] == str((15 + 4) + (11 + 8) + (8 + 1))
    inputs = stats["userInputTokenDistribution"]
    assert inputs["min"] == 2.0  # "Answer.1": 8 characters, 2 tokens at 4 characters a token
    assert inputs["max"] == 4.0  # "Answer.12345678": 15 characters, 4 tokens
    assert inputs["sum"] == "9"
    assert stats["userOutputTokenDistribution"]["sum"] == "4"
    assert stats["totalBillableTokenCount"] == str(3 * (9 + 4))  # every token, every epoch
    assert stats["userMessagePerExampleDistribution"]["mean"] == 2.0
    assert stats["userDatasetExamples"][0] == {"role": "user", "parts": [{"text": "12345678"}]}


# --- get, list, filters, paging ---------------------------------------------------------------


def test_get_unknown_job_is_404(client: httpx.Client) -> None:
    assert_error(client.get(f"{JOBS}/123"), 404, "NOT_FOUND", contains="is not found")
    assert_error(client.get(f"/v1/{PARENT}/tuningJobs/123"), 404, "NOT_FOUND")


def test_jobs_belong_to_their_project_and_location(client: httpx.Client, create_job: CreateJob) -> None:
    name = create_job().json()["name"]
    job_id = name.rsplit("/", 1)[1]
    assert_error(
        client.get(f"/v1/projects/other/locations/us-central1/tuningJobs/{job_id}"), 404, "NOT_FOUND"
    )
    assert client.get("/v1/projects/p/locations/europe-west4/tuningJobs").json() == {}


def test_list_pages_in_creation_order(client: httpx.Client, create_job: CreateJob) -> None:
    names = [create_job().json()["name"] for _ in range(5)]
    seen: list[str] = []
    token = None
    while True:
        params = {"pageSize": "2", **({"pageToken": token} if token else {})}
        page = client.get(JOBS, params=params).json()
        seen += [j["name"] for j in page["tuningJobs"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert seen == names
    assert_error(client.get(JOBS, params={"pageToken": "garbage"}), 400, "INVALID_ARGUMENT")
    other = client.get(
        JOBS,
        params={
            "pageToken": client.get(JOBS, params={"pageSize": 1}).json()["nextPageToken"],
            "filter": "state=JOB_STATE_PENDING",
        },
    )
    assert_error(other, 400, "INVALID_ARGUMENT", contains="different parameters")


def test_list_filters(emulator: Emulator, client: httpx.Client, create_job: CreateJob) -> None:
    done = create_job(labels={"team": "a", "tuneport-request-id": "r1"}).json()["name"]
    emulator.advance(3600)
    running = create_job(labels={"team": "b"}).json()["name"]
    plain = create_job().json()["name"]

    def names(flt: str, version: str = "v1beta1") -> list[str]:
        response = client.get(f"/{version}/{PARENT}/tuningJobs", params={"filter": flt})
        assert response.status_code == 200, response.text
        return [j["name"] for j in response.json().get("tuningJobs", [])]

    assert names('state="JOB_STATE_SUCCEEDED"') == [done]
    assert names("state=JOB_STATE_SUCCEEDED", "v1") == [done]
    assert names("state=4") == [done]
    assert names("state!=JOB_STATE_SUCCEEDED") == [running, plain]
    assert names('labels.team="b"') == [running]
    assert names("labels.team:*") == [done, running]
    assert names("labels:team AND NOT labels.team=a") == [running]
    assert names('labels.tuneport-request-id="r1"') == [done]
    assert names('state=JOB_STATE_SUCCEEDED OR labels.team="b"') == [done, running]
    assert names('-labels.team:* AND base_model="gemini-2.5-flash"') == [plain]
    assert names('create_time>"2024-06-01T00:30:00Z"') == [running, plain]


@pytest.mark.parametrize(
    "flt",
    [
        "state=",
        "state=DONE",
        "colour=red",
        "labels.team",
        "(state=JOB_STATE_FAILED",
        "state<JOB_STATE_FAILED",
        "just words",
    ],
)
def test_bad_filters_are_400(client: httpx.Client, flt: str) -> None:
    error = assert_error(
        client.get(JOBS, params={"filter": flt}), 400, "INVALID_ARGUMENT", contains="Invalid filter"
    )
    assert violated_fields(error) == ["filter"]


def test_admin_page_cap(emulator: Emulator, client: httpx.Client, create_job: CreateJob) -> None:
    for _ in range(3):
        create_job()
    emulator.configure_vertex(max_page_size=2)
    assert len(client.get(JOBS).json()["tuningJobs"]) == 2
    assert client.post("/_emulator/vertex:configure", json={"maxPageSize": None}).json() == {
        "maxPageSize": None
    }
    assert len(client.get(JOBS).json()["tuningJobs"]) == 3
    assert_error(client.post("/_emulator/vertex:configure", json={"maxPageSize": 0}), 400, "INVALID_ARGUMENT")
    with pytest.raises(EmulatorError):
        emulator.configure_vertex(max_page_size=-1)


# --- cancel --------------------------------------------------------------------------------------


def test_cancel_a_running_job(emulator: Emulator, client: httpx.Client, create_job: CreateJob) -> None:
    name = create_job().json()["name"]
    emulator.advance(30 + 6 * 3 + 1)
    cancelled = client.post(f"/v1beta1/{name}:cancel")  # google-genai sends no body
    assert cancelled.status_code == 200
    assert cancelled.json() == {}
    job = _get(client, name)
    assert job["state"] == "JOB_STATE_CANCELLING"
    assert job["tuningJobMetadata"]["completedStepCount"] == "3"
    assert client.post(f"/v1/{name}:cancel", json={}).status_code == 200  # again: no change
    emulator.advance(10)
    job = _get(client, name)
    assert job["state"] == "JOB_STATE_CANCELLED"
    assert job["error"] == {"code": 1, "message": "The tuning job was cancelled."}
    assert job["endTime"] == "2024-06-01T00:00:59Z"
    assert job["tuningJobMetadata"]["completedStepCount"] == "3"  # frozen where it stopped
    emulator.advance(3600)
    assert _get(client, name)["state"] == "JOB_STATE_CANCELLED"
    assert "tunedModel" not in _get(client, name)
    refused = client.post(f"/v1/{name}:cancel")
    assert_error(refused, 400, "FAILED_PRECONDITION", contains="final state JOB_STATE_CANCELLED")


def test_cancel_while_pending_never_runs(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    name = create_job().json()["name"]
    client.post(f"/v1/{name}:cancel")
    emulator.advance(3600)
    job = _get(client, name)
    assert job["state"] == "JOB_STATE_CANCELLED"
    assert "experiment" not in job
    assert "startTime" not in job
    assert_error(client.post(f"{JOBS}/42:cancel"), 404, "NOT_FOUND")


# --- seeding ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "progress"),
    [
        ("JOB_STATE_SUCCEEDED", None),
        ("JOB_STATE_RUNNING", 0.5),
        ("JOB_STATE_PENDING", None),
        ("JOB_STATE_FAILED", 0.5),
        ("JOB_STATE_CANCELLING", 0.2),
        ("JOB_STATE_CANCELLED", 0.2),
    ],
)
def test_seed_in_any_state(
    emulator: Emulator, client: httpx.Client, state: str, progress: float | None
) -> None:
    job = emulator.seed_vertex_job(
        {"tunedModelDisplayName": "seeded"}, parent=PARENT, state=state, progress=progress
    )
    assert job["state"] == state
    assert _get(client, job["name"])["state"] == state
    if state == "JOB_STATE_RUNNING":
        assert int(job["tuningJobMetadata"]["completedStepCount"]) > 0
    if state == "JOB_STATE_FAILED":
        assert job["error"]["code"] == 13


def test_seed_over_http_and_refusals(client: httpx.Client) -> None:
    seeded = client.post(
        "/_emulator/vertex/tuningJobs:seed",
        json={"parent": PARENT, "state": "JOB_STATE_FAILED", "error": {"code": 3, "message": "bad data"}},
    )
    assert seeded.status_code == 200, seeded.text
    assert seeded.json()["error"] == {"code": 3, "message": "bad data"}
    for body in (
        {"state": "DONE"},
        {"progress": 2},
        {"colour": 1},
        {"state": "JOB_STATE_RUNNING", "error": {}},
    ):
        assert_error(client.post("/_emulator/vertex/tuningJobs:seed", json=body), 400, "INVALID_ARGUMENT")


def test_seed_with_examples_answers_from_them(emulator: Emulator, client: httpx.Client) -> None:
    job = emulator.seed_vertex_job(parent=PARENT, examples=[("hello", "world")])
    reply = client.post(
        f"/v1/{job['tunedModel']['endpoint']}:generateContent",
        json={"contents": [{"role": "user", "parts": [{"text": "hello"}]}]},
    )
    assert reply.json()["candidates"][0]["content"]["parts"][0]["text"] == "world"
    with pytest.raises(EmulatorError, match="INVALID_ARGUMENT"):
        emulator.seed_vertex_job({"baseModel": "gemini-9"})


class _SlowCreateClock(EmulatorClock):
    """A manual clock that moves an hour each time it is read: a create that takes long under load."""

    moving = False

    def now(self) -> float:
        if self.moving:  # advance() reads the time itself
            return super().now()
        self.moving = True
        try:
            return self.advance(3600)
        finally:
            self.moving = False


def test_create_returns_the_job_as_created_however_long_the_create_took(
    vertex_jsonl: Callable[..., bytes],
) -> None:
    # Vertex's create answers with the new job, PENDING: never with a start time or an experiment.
    # The vertexai SDK relies on it (an experiment in create's answer makes sft.train raise
    # AttributeError '_experiment'), which the emulator broke whenever a create outlasted the
    # job's set-up time on a loaded machine (seen in CI with the scaled clock).
    with Emulator(clock=_SlowCreateClock.manual()) as emu, httpx.Client(base_url=emu.url, timeout=30) as http:
        emu.put_storage_object("tuneport-test", "train.jsonl", vertex_jsonl())
        body = {
            "baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {"trainingDatasetUri": "gs://tuneport-test/train.jsonl"},
        }
        job = http.post(f"/v1/{PARENT}/tuningJobs", json=body).json()
        later = _get(http, job["name"], "v1")
    assert job["state"] == "JOB_STATE_PENDING", job
    for absent in ("startTime", "endTime", "experiment", "tunedModel"):
        assert absent not in job
    assert job["createTime"] == job["updateTime"]
    assert later["state"] != "JOB_STATE_PENDING"  # the clock did move: the job ran since
