"""Google's public sample tuning datasets exist in the emulated Cloud Storage as synthetic stand-ins.

The Vertex tuning tutorials point at ``gs://cloud-samples-data/…/sft_train_data.jsonl``
and its validation file; the emulator serves deterministic, valid files at
those paths, read-only, so the tutorials run verbatim.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from emulator_helpers import assert_error

from tuneport_emulator import Emulator, EmulatorClock
from tuneport_emulator.storage.samples import (
    SAMPLES,
    SAMPLES_BUCKET,
    TRAINING_EXAMPLES,
    VALIDATION_EXAMPLES,
    SampleDataset,
)

PARENT = "projects/p/locations/us-central1"
TRAIN = "gs://cloud-samples-data/ai-platform/generative_ai/gemini/text/sft_train_data.jsonl"
VALIDATION = "gs://cloud-samples-data/ai-platform/generative_ai/gemini/text/sft_validation_data.jsonl"


def _object_path(name: str) -> str:
    return f"/storage/v1/b/{SAMPLES_BUCKET}/o/{quote(name, safe='')}"


@pytest.mark.parametrize("dataset", SAMPLES, ids=lambda d: d.name)
def test_every_sample_path_is_a_valid_dataset_of_the_documented_size(
    client: httpx.Client, dataset: SampleDataset
) -> None:
    name = dataset.name
    resource = client.get(_object_path(name))
    assert resource.status_code == 200, resource.text
    data = client.get(_object_path(name), params={"alt": "media"}).content
    assert resource.json()["size"] == str(len(data))
    assert resource.json()["md5Hash"] == base64.b64encode(hashlib.md5(data).digest()).decode()
    lines = data.decode("utf-8").splitlines()
    expected = TRAINING_EXAMPLES if name.endswith("sft_train_data.jsonl") else VALIDATION_EXAMPLES
    assert len(lines) == expected
    for line in lines:
        example = json.loads(line)
        assert [turn["role"] for turn in example["contents"]] == ["user", "model"]
        assert example["systemInstruction"]["parts"][0]["text"]


def test_the_files_are_the_same_on_every_run() -> None:
    digests = []
    for _ in range(2):
        with (
            Emulator(clock=EmulatorClock.manual()) as emulator,
            httpx.Client(base_url=emulator.url) as client,
        ):
            body = client.get(_object_path(SAMPLES[0].name), params={"alt": "media"}).content
            digests.append(hashlib.sha256(body).hexdigest())
    assert digests[0] == digests[1]


def test_training_and_validation_examples_differ(client: httpx.Client) -> None:
    train = client.get(_object_path(SAMPLES[0].name), params={"alt": "media"}).text.splitlines()
    validation = client.get(_object_path(SAMPLES[1].name), params={"alt": "media"}).text.splitlines()
    assert not set(train) & set(validation)


def test_the_bucket_lists_them(client: httpx.Client) -> None:
    listed = client.get(
        f"/storage/v1/b/{SAMPLES_BUCKET}/o", params={"prefix": "ai-platform/generative_ai/gemini/text/"}
    ).json()
    assert [item["name"] for item in listed["items"]] == [
        "ai-platform/generative_ai/gemini/text/sft_train_data.jsonl",
        "ai-platform/generative_ai/gemini/text/sft_validation_data.jsonl",
    ]


def test_the_bucket_is_read_only(client: httpx.Client) -> None:
    upload = f"/upload/storage/v1/b/{SAMPLES_BUCKET}/o"
    media = client.post(upload, params={"uploadType": "media", "name": "mine.jsonl"}, content=b"{}")
    assert_error(media, 403, "PERMISSION_DENIED")
    resumable = client.post(upload, params={"uploadType": "resumable", "name": "mine.jsonl"})
    assert_error(resumable, 403, "PERMISSION_DENIED")
    assert_error(client.delete(_object_path(SAMPLES[0].name)), 403, "PERMISSION_DENIED")
    assert client.get(_object_path(SAMPLES[0].name)).status_code == 200


def test_the_tutorial_create_runs_verbatim(emulator: Emulator, client: httpx.Client) -> None:
    # The REST body of "Tune Gemini models with supervised fine-tuning", as documented.
    body = {
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": {"trainingDatasetUri": TRAIN, "validationDatasetUri": VALIDATION},
        "tunedModelDisplayName": "tuned_gemini",
    }
    created = client.post(f"/v1/{PARENT}/tuningJobs", json=body)
    assert created.status_code == 200, created.text
    emulator.advance(15)
    job = client.get(f"/v1/{created.json()['name']}").json()
    assert job["state"] != "JOB_STATE_FAILED", job.get("error")
    stats = job["tuningDataStats"]["supervisedTuningDataStats"]
    assert stats["tuningDatasetExampleCount"] == str(TRAINING_EXAMPLES)
    assert stats["userDatasetExamples"][0]["role"] == "user"
    emulator.advance(24 * 3600)
    assert client.get(f"/v1/{created.json()['name']}").json()["state"] == "JOB_STATE_SUCCEEDED"


def test_samples_are_not_records_and_survive_a_reset(emulator: Emulator, client: httpx.Client) -> None:
    assert client.get(_object_path(SAMPLES[0].name), params={"alt": "media"}).status_code == 200
    assert "storage" not in emulator.store.snapshot()["sections"]
    emulator.reset()
    assert client.get(_object_path(SAMPLES[0].name), params={"alt": "media"}).status_code == 200


def test_with_state_the_sample_files_are_kept_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    for _ in range(2):
        with Emulator(clock=EmulatorClock.manual(), state=path) as emulator:
            data = emulator.storage_object(SAMPLES_BUCKET, SAMPLES[0].name)
            assert data is not None
            assert data.count(b"\n") == TRAINING_EXAMPLES
    assert len([p for p in Path(f"{path}.objects").iterdir() if p.is_file()]) == 1
