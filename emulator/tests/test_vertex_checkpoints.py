"""Checkpoints with endpoints, ``models.patch`` of the default checkpoint, continuous tuning (#16)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error, preference_jsonl, violated_fields

from tuneport_emulator import Emulator

CreateJob = Callable[..., httpx.Response]
DONE = 3600


def _get(client: httpx.Client, name: str, version: str = "v1beta1") -> dict[str, Any]:
    reply = client.get(f"/{version}/{name}")
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def _ask(client: httpx.Client, endpoint: str, text: str) -> httpx.Response:
    return client.post(
        f"/v1/{endpoint}:generateContent", json={"contents": [{"role": "user", "parts": [{"text": text}]}]}
    )


@pytest.fixture
def done(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> dict[str, Any]:
    """A succeeded supervised job of 3 epochs (3 checkpoints: two endpoints of their own)."""
    spec = {"trainingDatasetUri": gcs(), "hyperParameters": {"epochCount": 3}}
    job = create_job(supervisedTuningSpec=spec).json()
    emulator.advance(DONE)
    return _get(client, job["name"])


def test_every_checkpoint_is_served_on_its_endpoint(client: httpx.Client, done: dict[str, Any]) -> None:
    checkpoints = done["tunedModel"]["checkpoints"]
    assert [(c["checkpointId"], c["epoch"]) for c in checkpoints] == [("1", "1"), ("2", "2"), ("3", "3")]
    for checkpoint in checkpoints:
        endpoint = _get(client, checkpoint["endpoint"])
        (deployed,) = endpoint["deployedModels"]
        assert deployed["checkpointId"] == checkpoint["checkpointId"]
        assert deployed["model"] == done["tunedModel"]["model"].split("@")[0]
        answer = _ask(client, checkpoint["endpoint"], "IV")
        assert answer.status_code == 200, answer.text
        assert answer.json()["candidates"][0]["content"]["parts"][0]["text"] == "V"


def test_export_last_checkpoint_only(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    spec = {
        "trainingDatasetUri": gcs(),
        "hyperParameters": {"epochCount": 3},
        "exportLastCheckpointOnly": True,
    }
    job = create_job(supervisedTuningSpec=spec).json()
    emulator.advance(DONE)
    tuned = _get(client, job["name"])["tunedModel"]
    assert tuned["checkpoints"] == [
        {"checkpointId": "3", "epoch": "3", "step": "4", "endpoint": tuned["endpoint"]}
    ]


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_models_patch_sets_the_default_checkpoint(
    client: httpx.Client, done: dict[str, Any], version: str
) -> None:
    model = done["tunedModel"]["model"].split("@")[0]
    before = _get(client, model, version)
    assert before["defaultCheckpointId"] == "3"
    assert before["checkpoints"] == [
        {"checkpointId": str(e), "epoch": str(e), "step": str(s)} for e, s in ((1, 2), (2, 3), (3, 4))
    ]
    patched = client.patch(
        f"/{version}/{model}", params={"updateMask": "defaultCheckpointId"}, json={"defaultCheckpointId": "2"}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["defaultCheckpointId"] == "2"
    assert _get(client, model, version)["defaultCheckpointId"] == "2"
    endpoint = _get(client, done["tunedModel"]["endpoint"], version)
    assert endpoint["deployedModels"][0]["checkpointId"] == "2"  # the tuned endpoint serves the default
    snake = client.patch(
        f"/{version}/{model}@1",
        params={"updateMask": "default_checkpoint_id"},
        json={"default_checkpoint_id": "1"},
    )
    assert snake.status_code == 200, snake.text
    assert snake.json()["defaultCheckpointId"] == "1"


def test_models_patch_follows_the_update_mask_rules(client: httpx.Client, done: dict[str, Any]) -> None:
    model = done["tunedModel"]["model"].split("@")[0]
    error = assert_error(
        client.patch(
            f"/v1/{model}", params={"updateMask": "defaultCheckpointId"}, json={"defaultCheckpointId": "9"}
        ),
        400,
        "INVALID_ARGUMENT",
        contains="does not exist",
    )
    assert violated_fields(error) == ["model.default_checkpoint_id"]
    error = assert_error(
        client.patch(f"/v1/{model}", json={}), 400, "INVALID_ARGUMENT", contains="update_mask"
    )
    assert violated_fields(error) == ["update_mask"]
    # google-genai's models.update sends no mask: the fields the body sets are updated.
    unmasked = client.patch(f"/v1/{model}", json={"defaultCheckpointId": "1"})
    assert unmasked.status_code == 200, unmasked.text
    assert unmasked.json()["defaultCheckpointId"] == "1"
    client.patch(f"/v1/{model}", json={"defaultCheckpointId": "3"}).raise_for_status()
    assert_error(
        client.patch(f"/v1/{model}", params={"updateMask": "versionId"}, json={}), 400, "INVALID_ARGUMENT"
    )
    renamed = client.patch(
        f"/v1/{model}",
        params={"updateMask": "displayName,labels"},
        json={"displayName": "renamed", "labels": {"stage": "prod"}, "defaultCheckpointId": "1"},
    ).json()
    assert renamed["displayName"] == "renamed"
    assert renamed["labels"]["stage"] == "prod"
    assert renamed["defaultCheckpointId"] == "3"  # not in the mask: unchanged
    assert_error(
        client.patch(f"/v1/{model.rsplit('/', 1)[0]}/123", params={"updateMask": "displayName"}, json={}),
        404,
        "NOT_FOUND",
    )


def test_deleting_removes_every_checkpoint_endpoint(
    emulator: Emulator, client: httpx.Client, done: dict[str, Any]
) -> None:
    model = done["tunedModel"]["model"].split("@")[0]
    endpoints = [c["endpoint"] for c in done["tunedModel"]["checkpoints"]]
    for endpoint in endpoints:
        deployed = _get(client, endpoint)["deployedModels"][0]["id"]
        assert (
            client.post(f"/v1/{endpoint}:undeployModel", json={"deployedModelId": deployed}).status_code
            == 200
        )
    assert_error(client.delete(f"/v1/{model}"), 400, "FAILED_PRECONDITION")  # until the undeploys are done
    emulator.advance(5)
    for endpoint in endpoints:
        assert client.delete(f"/v1/{endpoint}").status_code == 200
    assert client.delete(f"/v1/{model}").status_code == 200
    emulator.advance(5)
    for name in [*endpoints, model]:
        assert_error(client.get(f"/v1/{name}"), 404, "NOT_FOUND")
    assert_error(_ask(client, endpoints[0], "IV"), 404, "NOT_FOUND")


def test_continuous_tuning_from_a_checkpoint(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    done: dict[str, Any],
) -> None:
    model = done["tunedModel"]["model"]
    rows = [("capital of France?", "Paris.", "London.")]
    preference = {
        "trainingDatasetUri": gcs(preference_jsonl(rows), name="pref.jsonl"),
        "hyperParameters": {"beta": 0.1},
    }
    fields = {
        "baseModel": None,
        "supervisedTuningSpec": None,
        "preTunedModel": {"tunedModelName": model, "checkpointId": "1"},
        "preferenceOptimizationSpec": preference,
    }
    created = create_job(**fields)
    assert created.status_code == 200, created.text
    job = created.json()
    assert "baseModel" not in job
    assert job["preTunedModel"] == {
        "tunedModelName": model,
        "checkpointId": "1",
        "baseModel": "gemini-2.5-flash",
    }
    emulator.advance(DONE)
    continued = _get(client, job["name"])
    assert continued["state"] == "JOB_STATE_SUCCEEDED"
    endpoint = continued["tunedModel"]["endpoint"]
    for prompt, expected in (
        ("capital of France?", "Paris."),
        ("IV", "V"),
    ):  # its own, then what it continued
        answer = _ask(client, endpoint, prompt).json()
        assert answer["candidates"][0]["content"]["parts"][0]["text"] == expected

    unknown = {**fields, "preTunedModel": {"tunedModelName": model, "checkpointId": "7"}}
    error = assert_error(create_job(**unknown), 400, "INVALID_ARGUMENT", contains="1, 2, 3")
    assert violated_fields(error) == ["tuning_job.pre_tuned_model.checkpoint_id"]
    gone = {**fields, "preTunedModel": {"tunedModelName": model.rsplit("/", 1)[0] + "/42"}}
    assert_error(create_job(**gone), 404, "NOT_FOUND")
    both = {**fields, "baseModel": "gemini-2.5-flash"}
    assert_error(create_job(**both), 400, "INVALID_ARGUMENT", contains="oneof")
