"""``tuningJobs:rebaseTunedModel``: a new job and tuned model on the successor base, as an Operation (#17)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error

from tuneport_emulator import Emulator

CreateJob = Callable[..., httpx.Response]
PARENT = "projects/p/locations/us-central1"
DONE = 3600


def _rebase(client: httpx.Client, body: dict[str, Any], version: str = "v1") -> httpx.Response:
    return client.post(f"/{version}/{PARENT}/tuningJobs:rebaseTunedModel", json=body)


def _succeeded(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, **fields: Any
) -> dict[str, Any]:
    job = create_job(**fields)
    assert job.status_code == 200, job.text
    emulator.advance(DONE)
    reply = client.get(f"/v1/{job.json()['name']}")
    assert reply.json()["state"] == "JOB_STATE_SUCCEEDED"
    return reply.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_a_tuning_job_is_rebased_onto_its_successor(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, version: str
) -> None:
    old = _succeeded(
        emulator,
        client,
        create_job,
        baseModel="gemini-2.0-flash-001",
        tunedModelDisplayName="support-bot",
        labels={"team": "ml"},
    )
    reply = _rebase(client, {"tunedModelRef": {"tuningJob": old["name"]}}, version)
    assert reply.status_code == 200, reply.text
    operation = reply.json()
    assert "done" not in operation
    assert operation["metadata"]["@type"] == (
        f"type.googleapis.com/google.cloud.aiplatform.{version}.RebaseTunedModelOperationMetadata"
    )
    assert set(operation["metadata"]["genericMetadata"]) == {"createTime", "updateTime"}
    new_name = operation["name"].split("/operations/")[0]
    assert "/tuningJobs/" in new_name
    assert new_name != old["name"]

    emulator.advance(10)
    done = client.get(f"/{version}/{operation['name']}").json()
    assert done["done"] is True
    response = done["response"]
    assert response["@type"] == f"type.googleapis.com/google.cloud.aiplatform.{version}.TuningJob"
    assert response["name"] == new_name
    assert response["baseModel"] == "gemini-2.5-flash"
    assert response["tunedModelDisplayName"] == "support-bot"
    assert response["labels"]["team"] == "ml"
    spec = response["supervisedTuningSpec"]
    assert spec["trainingDatasetUri"] == old["supervisedTuningSpec"]["trainingDatasetUri"]

    emulator.advance(DONE)
    new = client.get(f"/v1/{new_name}").json()
    assert new["state"] == "JOB_STATE_SUCCEEDED"
    assert new["tunedModel"]["model"].split("@")[0] != old["tunedModel"]["model"].split("@")[0]
    model = client.get(f"/v1/{new['tunedModel']['model']}")
    assert model.status_code == 200, model.text
    # The source is untouched.
    assert client.get(f"/v1/{old['name']}").json()["baseModel"] == "gemini-2.0-flash-001"


def test_a_tuned_model_is_rebased_with_overrides(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    old = _succeeded(
        emulator,
        client,
        create_job,
        baseModel="gemini-2.0-flash-lite-001",
        supervisedTuningSpec={
            "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
            "hyperParameters": {"epochCount": 2, "learningRateMultiplier": 1.0},
        },
    )
    body = {
        "tunedModelRef": {"tunedModel": old["tunedModel"]["model"]},
        "tuningJob": {
            "baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {"hyperParameters": {"epochCount": 4}},
        },
        "artifactDestination": {"outputUriPrefix": "gs://tuneport-test/out/"},
    }
    operation = _rebase(client, body).json()
    emulator.advance(10)
    job = client.get(f"/v1/{operation['name']}").json()["response"]
    assert job["baseModel"] == "gemini-2.5-flash"
    hyper = job["supervisedTuningSpec"]["hyperParameters"]
    assert hyper["epochCount"] == "4"
    assert hyper["learningRateMultiplier"] == 1.0


def test_errors_are_google_shaped(emulator: Emulator, client: httpx.Client, create_job: CreateJob) -> None:
    assert_error(_rebase(client, {}), 400, "INVALID_ARGUMENT", contains="tuned_model_ref")
    missing = f"{PARENT}/tuningJobs/404"
    assert_error(_rebase(client, {"tunedModelRef": {"tuningJob": missing}}), 404, "NOT_FOUND")
    assert_error(_rebase(client, {"tunedModelRef": {"pipelineJob": "x"}}), 404, "NOT_FOUND")
    running = create_job(baseModel="gemini-2.0-flash-001").json()
    assert_error(
        _rebase(client, {"tunedModelRef": {"tuningJob": running["name"]}}),
        400,
        "FAILED_PRECONDITION",
        contains="JOB_STATE_PENDING",
    )
    # 2.5 Pro has no successor the emulator tunes: the new base must be given.
    pro = _succeeded(emulator, client, create_job, baseModel="gemini-2.5-pro")
    assert_error(
        _rebase(client, {"tunedModelRef": {"tuningJob": pro["name"]}}),
        400,
        "FAILED_PRECONDITION",
        contains="no newer version",
    )
    same = {"tunedModelRef": {"tuningJob": pro["name"]}, "tuningJob": {"baseModel": "gemini-2.5-pro"}}
    assert_error(_rebase(client, same), 400, "INVALID_ARGUMENT", contains="already tuned on")
    unknown = {"tunedModelRef": {"tuningJob": pro["name"]}, "tuningJob": {"baseModel": "gemini-9-flash"}}
    assert_error(_rebase(client, unknown), 400, "INVALID_ARGUMENT")
    endpoint = {"tunedModelRef": {"tuningJob": pro["name"]}, "deployToSameEndpoint": True}
    assert_error(_rebase(client, endpoint), 501, "UNIMPLEMENTED")
    other = {"tunedModelRef": {"tuningJob": "projects/p/locations/europe-west4/tuningJobs/1"}}
    assert_error(_rebase(client, other), 400, "INVALID_ARGUMENT", contains="not a tuning job of")
    unknown_field = {"tunedModelRef": {"tuningJob": pro["name"]}, "newBase": "x"}
    assert_error(_rebase(client, unknown_field), 400, "INVALID_ARGUMENT")
    # No job was made by any refused request.
    listed = client.get(f"/v1/{PARENT}/tuningJobs").json()["tuningJobs"]
    assert len(listed) == 2


def test_a_job_that_continued_a_tuned_model_is_refused(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    first = _succeeded(emulator, client, create_job, baseModel="gemini-2.0-flash-001")
    continued = _succeeded(
        emulator,
        client,
        create_job,
        baseModel=None,
        preTunedModel={"tunedModelName": first["tunedModel"]["model"]},
    )
    assert_error(
        _rebase(client, {"tunedModelRef": {"tuningJob": continued["name"]}}),
        400,
        "FAILED_PRECONDITION",
        contains="rebase that model first",
    )


def test_google_cloud_aiplatform_rebases_through_the_emulator(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob
) -> None:
    """Google's own client sends the request and unpacks the Operation (metadata and response types)."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform_v1

    old = _succeeded(emulator, client, create_job, baseModel="gemini-2.0-flash-001")
    service = aiplatform_v1.GenAiTuningServiceClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options=ClientOptions(api_endpoint=emulator.url),
    )
    operation = service.rebase_tuned_model(
        request=aiplatform_v1.RebaseTunedModelRequest(
            parent=PARENT, tuned_model_ref=aiplatform_v1.TunedModelRef(tuning_job=old["name"])
        )
    )
    assert isinstance(operation.metadata, aiplatform_v1.RebaseTunedModelOperationMetadata)
    emulator.advance(10)
    # (The GAPIC operations client polls /ui/{name}, a binding the emulator does not serve: read it on v1.)
    done = client.get(f"/v1/{operation.operation.name}").json()
    response = {k: v for k, v in done["response"].items() if k != "@type"}
    job = aiplatform_v1.TuningJob.from_json(json.dumps(response))  # strict: unknown fields fail
    assert job.base_model == "gemini-2.5-flash"
    assert job.name == operation.operation.name.split("/operations/")[0]


def test_a_rebase_operation_survives_a_restart(tmp_path: Any, vertex_jsonl: Callable[..., bytes]) -> None:
    from tuneport_emulator import EmulatorClock

    path = tmp_path / "state.sqlite"
    body = {
        "baseModel": "gemini-2.0-flash-001",
        "supervisedTuningSpec": {"trainingDatasetUri": "gs://tuneport-test/t.jsonl"},
    }
    with Emulator(clock=EmulatorClock.manual(), state=path) as first:
        first.put_storage_object("tuneport-test", "t.jsonl", vertex_jsonl())
        job = httpx.post(f"{first.url}/v1/{PARENT}/tuningJobs", json=body).json()
        first.advance(DONE)
        rebase = {"tunedModelRef": {"tuningJob": job["name"]}}
        operation = httpx.post(f"{first.url}/v1/{PARENT}/tuningJobs:rebaseTunedModel", json=rebase).json()
    with Emulator(clock=EmulatorClock.manual(), state=path) as second:
        second.advance(10)
        done = httpx.get(f"{second.url}/v1/{operation['name']}").json()
        assert done["done"] is True
        assert done["response"]["baseModel"] == "gemini-2.5-flash"
