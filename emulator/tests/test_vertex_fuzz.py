"""Random and mutated bodies on the Vertex and Cloud Storage routes never get a 5xx, and leave valid state."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneport_emulator import Emulator, EmulatorClock

PARENT = "projects/p/locations/us-central1"
FIELD_NAMES = [
    "baseModel", "supervisedTuningSpec", "trainingDatasetUri", "validationDatasetUri", "hyperParameters",
    "epochCount", "adapterSize", "learningRateMultiplier", "batchSize", "labels", "tunedModelDisplayName",
    "preTunedModel", "encryptionSpec", "contents", "parts", "text", "role", "generationConfig",
    "candidateCount", "maxOutputTokens", "systemInstruction", "deployedModelId", "pageSize", "pageToken",
    "orderBy", "filter", "state", "@type", "",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["gs://tuneport-test/train.jsonl", "ADAPTER_SIZE_FOUR", "4", "NaN", "step desc", "*"]),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)
VALID_JOB = {
    "baseModel": "gemini-2.5-flash",
    "supervisedTuningSpec": {
        "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
        "hyperParameters": {"epochCount": "2", "adapterSize": 2},
    },
    "labels": {"team": "ml"},
}


@pytest.fixture(scope="module")
def targets() -> Iterator[tuple[Emulator, httpx.Client, dict[str, str]]]:
    """An emulator with a succeeded job, a client to it, and the paths to fuzz."""
    with Emulator(clock=EmulatorClock.manual()) as emu, httpx.Client(base_url=emu.url) as http:
        turns = [{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}]
        emu.put_storage_object("tuneport-test", "train.jsonl", json.dumps({"contents": turns}).encode())
        job = emu.seed_vertex_job(
            {"supervisedTuningSpec": {"trainingDatasetUri": "gs://tuneport-test/train.jsonl"}}, parent=PARENT
        )
        experiment = job["experiment"]
        context = http.get(f"/v1/{experiment}").json()
        tensorboard = context["metadata"]["backing_tensorboard_resource"]
        run = http.get(f"/v1/{tensorboard}/experiments/{experiment.rsplit('/', 1)[1]}/runs").json()
        series = http.get(f"/v1/{run['tensorboardRuns'][0]['name']}/timeSeries").json()
        paths = {
            "create": f"/v1beta1/{PARENT}/tuningJobs",
            "generate": f"/v1/{job['tunedModel']['endpoint']}:generateContent",
            "undeploy": f"/v1/{job['tunedModel']['endpoint']}:undeployModel",
            "export": f"/v1/{series['tensorboardTimeSeries'][0]['name']}:exportTensorboardTimeSeries",
            "cancel": f"/v1/{job['name']}:cancel",
        }
        yield emu, http, paths
        assert emu.internal_errors == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(["create", "generate", "undeploy", "export", "cancel"]), body=json_values)
def test_random_bodies(targets: tuple[Emulator, httpx.Client, dict[str, str]], route: str, body: Any) -> None:
    _, http, paths = targets
    response = http.post(paths[route], json=body)
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")


def _mutate(value: Any, path: list[int], replacement: Any) -> Any:
    if not path or not isinstance(value, (dict, list)) or not value:
        return replacement
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    key, child = items[path[0] % len(items)]
    value[key] = _mutate(child, path[1:], replacement)
    return value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(st.integers(0, 10), max_size=5), replacement=json_values)
def test_mutated_valid_jobs(
    targets: tuple[Emulator, httpx.Client, dict[str, str]], path: list[int], replacement: Any
) -> None:
    _, http, paths = targets
    body = _mutate(copy.deepcopy(VALID_JOB), path, replacement)
    response = http.post(paths["create"], json=body)
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        name = response.json()["name"]
        assert http.get(f"/v1/{name}").status_code == 200
        assert http.get(f"/v1beta1/{name}").status_code == 200
        listed = http.get(f"/v1beta1/{PARENT}/tuningJobs", params={"filter": "labels:team"})
        assert listed.status_code == 200
