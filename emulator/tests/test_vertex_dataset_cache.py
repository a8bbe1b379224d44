"""Vertex tuning jobs on one dataset file: checked once while unchanged, again once rewritten."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tuneport_emulator import Emulator
from tuneport_emulator.datasets import check as dataset_check
from tuneport_emulator.vertex import datasets as vertex_datasets
from tuneport_emulator.vertex.datasets import Dataset, DatasetCache

JOBS = "/v1beta1/projects/p/locations/us-central1/tuningJobs"


def _create(client: httpx.Client, uri: str, **spec: Any) -> str:
    """Create a job on ``uri`` (the file is not staged again, unlike the ``create_job`` fixture's)."""
    body = {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": uri, **spec}}
    response = client.post(JOBS, json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["name"])


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the dataset files the oracle checks (one entry per check)."""
    counted: list[int] = []
    real = dataset_check.check_dataset

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(vertex_datasets, "check_dataset", counting)
    return counted


def _job(client: httpx.Client, name: str) -> dict[str, Any]:
    response = client.get(f"/v1beta1/{name}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _stats(client: httpx.Client, name: str) -> dict[str, Any]:
    return _job(client, name)["tuningDataStats"]["supervisedTuningDataStats"]  # type: ignore[no-any-return]


def test_jobs_on_an_unchanged_file_check_it_once(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str], checks: list[int]
) -> None:
    uri = gcs()
    first = _create(client, uri, hyperParameters={"epochCount": 2})
    second = _create(client, uri, hyperParameters={"epochCount": 7})
    assert len(checks) == 1
    emulator.advance(15)
    one, two = _stats(client, first), _stats(client, second)
    assert one["tuningDatasetExampleCount"] == two["tuningDatasetExampleCount"] == "5"
    # What depends on the job is the job's own.
    assert int(one["totalBillableTokenCount"]) * 7 == int(two["totalBillableTokenCount"]) * 2
    assert one["tuningStepCount"] != two["tuningStepCount"]
    assert one["userInputTokenDistribution"] == two["userInputTokenDistribution"]


def test_a_rewritten_file_is_checked_again(
    emulator: Emulator,
    client: httpx.Client,
    gcs: Callable[..., str],
    vertex_jsonl: Callable[..., bytes],
    checks: list[int],
) -> None:
    uri = gcs(vertex_jsonl(), "data.jsonl")
    good = _create(client, uri)
    turns = [{"role": "user", "parts": [{"text": "q"}]}, {"role": "assistant", "parts": [{"text": "a"}]}]
    gcs(json.dumps({"contents": turns}).encode() + b"\n", "data.jsonl")
    bad = _create(client, uri)
    gcs(vertex_jsonl([("1", "2"), ("3", "4")]), "data.jsonl")
    other = _create(client, uri)
    gcs(vertex_jsonl([("1", "2"), ("3", "4")]), "data.jsonl")  # the same bytes, a new generation
    again = _create(client, uri)
    assert len(checks) == 4
    emulator.advance(15)
    assert _job(client, good)["state"] == "JOB_STATE_PENDING"
    failed = _job(client, bad)
    assert failed["state"] == "JOB_STATE_FAILED"
    assert "'assistant'" in failed["error"]["message"]
    assert _stats(client, other)["tuningDatasetExampleCount"] == "2"
    assert _stats(client, again) == _stats(client, other)


def test_the_same_bytes_as_training_and_validation_are_checked_for_each_role(
    client: httpx.Client, gcs: Callable[..., str], checks: list[int]
) -> None:
    uri = gcs()
    _create(client, uri, validationDatasetUri=uri)
    _create(client, uri, validationDatasetUri=uri)
    assert len(checks) == 2  # the roles' limits differ: one check for each, then none


def test_a_missing_file_is_not_remembered(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str]
) -> None:
    uri = "gs://tuneport-test/later.jsonl"
    missing = _create(client, uri)
    gcs(name="later.jsonl")
    found = _create(client, uri)
    emulator.advance(15)
    assert _job(client, missing)["state"] == "JOB_STATE_FAILED"
    assert _job(client, found)["state"] == "JOB_STATE_PENDING"


def test_the_cache_is_bounded_in_entries_and_memory() -> None:
    cache = DatasetCache(max_entries=2, max_weight=10_000)
    small = [Dataset(f"gs://b/{i}") for i in range(3)]
    for i, dataset in enumerate(small):
        cache.put(("training", i), dataset)
    assert len(cache) == 2
    assert cache.get(("training", 0)) is None  # the least recently used went first
    assert cache.get(("training", 2)) is small[2]
    big = Dataset("gs://b/big")
    big.examples = [["x" * 10, "y", ""]] * 200
    assert big.weight > 10_000
    cache.put(("training", "big"), big)
    assert cache.get(("training", "big")) is None  # alone over the bound: not kept
    assert len(cache) == 2
