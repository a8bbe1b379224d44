"""Open models (Gemma, Llama, Qwen) on the Vertex surface: ids, outputUri, full tuning, ``global`` (#16)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error, violated_fields

from tuneport_emulator import Emulator
from tuneport_emulator.vertex.open_models import resolve_open_model

CreateJob = Callable[..., httpx.Response]
GLOBAL = "projects/p/locations/global"
KMS = {"kmsKeyName": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"}


def _open(gcs: Callable[..., str], model: str = "qwen/qwen3-5@qwen3.5-9b", **spec: Any) -> dict[str, Any]:
    return {
        "baseModel": model,
        "outputUri": "gs://tuneport-test/out/",
        "supervisedTuningSpec": {"trainingDatasetUri": gcs(), **spec},
    }


@pytest.mark.parametrize(
    "name",
    [
        "qwen/qwen3-5@qwen3.5-9b",
        "google/gemma3@gemma-3-4b-it",
        "meta/llama3_1@llama-3.1-8b-instruct",
        "meta/llama3-2@llama-3.2-1b",
        "google/gemma4@gemma-4-26b-a4b-it",
        "publishers/qwen/models/qwen3@qwen3-32b",
        "meta/llama4@llama-4-scout-17b-16e-instruct",
    ],
)
def test_open_model_ids(name: str) -> None:
    assert resolve_open_model(name) is not None


@pytest.mark.parametrize(
    "name", ["qwen/qwen3-5@qwen3.5-10b", "meta/gemma3@gemma-3-4b", "google/gemma3", "mistral/mistral@7b"]
)
def test_unknown_open_models(name: str) -> None:
    assert resolve_open_model(name) is None


def test_an_open_model_is_tuned_in_full_in_global_with_real_region_resources(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str]
) -> None:
    body = _open(gcs, tuningMode="TUNING_MODE_FULL", hyperParameters={"batchSize": 8, "learningRate": 2e-5})
    body["labels"] = {"team": "ml"}
    body["serviceAccount"] = "tuner@p.iam.gserviceaccount.com"
    created = client.post(f"/v1beta1/{GLOBAL}/tuningJobs", json=body)
    assert created.status_code == 200, created.text
    job = created.json()
    assert job["name"].startswith("projects/199785239448/locations/global/tuningJobs/")
    assert job["outputUri"] == "gs://tuneport-test/out/"
    assert job["serviceAccount"] == "tuner@p.iam.gserviceaccount.com"
    hyper = job["supervisedTuningSpec"]["hyperParameters"]
    assert hyper == {"epochCount": "5", "learningRate": 2e-5, "batchSize": "8"}  # full tuning: no adapter
    emulator.advance(3600)
    done = client.get(f"/v1beta1/{job['name']}").json()
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    assert done["tunedModel"]["endpoint"].startswith("projects/199785239448/locations/us-central1/endpoints/")
    model = client.get(f"/v1/{done['tunedModel']['model']}").json()
    assert model["labels"]["google-vertex-llm-tuning-base-model-id"] == "qwen3_5-9b"
    assert model["labels"]["team"] == "ml"
    regional = client.get("/v1/projects/p/locations/us-central1/models").json()
    assert [m["name"] for m in regional["models"]] == [model["name"]]  # listed where it lives
    assert client.get(f"/v1/{GLOBAL}/models").json() == {}


def test_custom_weights_and_full_fine_tuning_spec(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    body = _open(gcs, model="google/gemma3@gemma-3-4b-it")
    body["customBaseModel"] = "gs://tuneport-test/weights/"
    body["fullFineTuningSpec"] = body.pop("supervisedTuningSpec")
    reply = create_job(supervisedTuningSpec=None, **body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["customBaseModel"] == "gs://tuneport-test/weights/"
    assert "adapterSize" not in reply.json()["fullFineTuningSpec"]["hyperParameters"]


@pytest.mark.parametrize(
    ("change", "code", "status", "field", "words"),
    [
        ({"outputUri": None}, 400, "INVALID_ARGUMENT", "tuning_job.output_uri", "required"),
        ({"outputUri": "/tmp/out"}, 400, "INVALID_ARGUMENT", "tuning_job.output_uri", "Cloud Storage"),
        ({"encryptionSpec": KMS}, 400, "FAILED_PRECONDITION", None, "CMEK"),
    ],
)
def test_open_model_rules(
    client: httpx.Client,
    gcs: Callable[..., str],
    change: dict[str, Any],
    code: int,
    status: str,
    field: str | None,
    words: str,
) -> None:
    body = {**_open(gcs), **change}
    body = {k: v for k, v in body.items() if v is not None}
    error = assert_error(
        client.post(f"/v1beta1/{GLOBAL}/tuningJobs", json=body), code, status, contains=words
    )
    if field is not None:
        assert violated_fields(error) == [field]


def test_cmek_is_fine_in_a_region(client: httpx.Client, gcs: Callable[..., str]) -> None:
    body = {**_open(gcs), "encryptionSpec": KMS}
    reply = client.post("/v1beta1/projects/p/locations/us-central1/tuningJobs", json=body)
    assert reply.status_code == 200, reply.text


def test_global_is_for_open_models_only(client: httpx.Client, gcs: Callable[..., str]) -> None:
    body = {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": gcs()}}
    assert_error(
        client.post(f"/v1beta1/{GLOBAL}/tuningJobs", json=body),
        400,
        "INVALID_ARGUMENT",
        contains="open models",
    )


def test_gemini_refuses_the_open_model_fields(create_job: CreateJob) -> None:
    error = assert_error(create_job(outputUri="gs://b/o"), 400, "INVALID_ARGUMENT", contains="open models")
    assert violated_fields(error) == ["tuning_job.output_uri"]
    error = assert_error(create_job(customBaseModel="gs://b/w"), 400, "INVALID_ARGUMENT")
    assert violated_fields(error) == ["tuning_job.custom_base_model"]


def test_v1_knows_no_open_model_fields(client: httpx.Client, gcs: Callable[..., str]) -> None:
    reply = client.post("/v1/projects/p/locations/us-central1/tuningJobs", json=_open(gcs))
    assert_error(reply, 400, "INVALID_ARGUMENT", contains='Unknown name "outputUri"')


def test_preference_is_not_offered_for_open_models(client: httpx.Client, gcs: Callable[..., str]) -> None:
    body = _open(gcs)
    body["preferenceOptimizationSpec"] = body.pop("supervisedTuningSpec")
    assert_error(
        client.post(f"/v1beta1/{GLOBAL}/tuningJobs", json=body),
        400,
        "INVALID_ARGUMENT",
        contains="not supported",
    )


def test_an_open_model_student_may_be_distilled_in_full(
    client: httpx.Client, gcs: Callable[..., str]
) -> None:
    from emulator_helpers import prompts_jsonl

    body = {
        "baseModel": "google/gemma3@gemma-3-4b-it",
        "outputUri": "gs://tuneport-test/out/",
        "distillationSpec": {
            "baseTeacherModel": "gemini-2.5-pro",
            "promptDatasetUri": gcs(prompts_jsonl(), name="prompts.jsonl"),
            "tuningMode": "TUNING_MODE_FULL",  # "only available for open source models"
        },
    }
    reply = client.post("/v1beta1/projects/p/locations/us-central1/tuningJobs", json=body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["distillationSpec"]["tuningMode"] == "TUNING_MODE_FULL"
