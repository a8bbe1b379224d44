"""A large dataset file is checked while its job is PENDING, not inside the create.

Here every file counts as large (``BACKGROUND_CHECK_BYTES`` = 0) and the
oracle waits for a gate the test opens, so the test sees the create answer
before the check ends.  On a manual clock, reads past the processing phase
wait for the check and the job's story is the one a check in the create
tells; on a scaled clock nothing waits, and a long check makes a long
processing phase.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import BUCKET
from emulator_helpers import create_body as _gemini_body

from tuneport_emulator import Emulator, EmulatorClock
from tuneport_emulator.datasets import check as dataset_check
from tuneport_emulator.vertex import datasets as vertex_datasets
from tuneport_emulator.vertex import jobs as vertex_jobs

JOBS = "/v1beta1/projects/p/locations/us-central1/tuningJobs"
#: How long anything here may take before the test fails: generous, for a loaded 2-core machine.
WAIT = 60.0


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Every file is checked in the background, and each check waits until the gate opens."""
    opened = threading.Event()
    real = dataset_check.check_dataset

    def gated(*args: Any, **kwargs: Any) -> Any:
        assert opened.wait(WAIT), "the test never opened the gate"
        return real(*args, **kwargs)

    monkeypatch.setattr(vertex_jobs, "BACKGROUND_CHECK_BYTES", 0)
    monkeypatch.setattr(vertex_datasets, "check_dataset", gated)
    try:
        yield opened
    finally:
        opened.set()  # no check is left waiting


def _create(client: httpx.Client, uri: str, **spec: Any) -> str:
    body = {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": uri, **spec}}
    response = client.post(JOBS, json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["name"])


def _get(client: httpx.Client, name: str) -> dict[str, Any]:
    response = client.get(f"/v1beta1/{name}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _get_later(emulator: Emulator, name: str) -> tuple[threading.Thread, list[dict[str, Any]]]:
    """GET the job on a thread of its own; (the thread, [the job once answered])."""
    answers: list[dict[str, Any]] = []

    def read() -> None:
        with httpx.Client(base_url=emulator.url, timeout=WAIT) as other:
            answers.append(_get(other, name))

    thread = threading.Thread(target=read)
    thread.start()
    return thread, answers


def test_the_create_answers_before_the_check_and_reads_wait_once_processing_is_over(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str], gate: threading.Event
) -> None:
    name = _create(client, gcs())  # the gate is closed: the check cannot have run
    job = _get(client, name)
    assert job["state"] == "JOB_STATE_PENDING"
    assert job["tuningJobState"] == "TUNING_JOB_STATE_PROCESSING_DATASET"
    assert "tuningDataStats" not in job
    emulator.advance(15)
    thread, answers = _get_later(emulator, name)
    thread.join(0.5)
    assert thread.is_alive()  # processing is over: the read waits for the check
    assert not answers
    gate.set()
    thread.join(WAIT)
    stats = answers[0]["tuningDataStats"]["supervisedTuningDataStats"]
    assert stats["tuningDatasetExampleCount"] == "5"
    emulator.advance(3600)
    assert _get(client, name)["state"] == "JOB_STATE_SUCCEEDED"


def test_a_read_waiting_for_the_check_holds_up_no_other_request(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str], gate: threading.Event
) -> None:
    name = _create(client, gcs())
    emulator.advance(15)
    thread, answers = _get_later(emulator, name)
    thread.join(0.5)
    assert thread.is_alive()  # it waits for the check...
    # ... neither on the event loop nor holding the store's lock: other requests are answered meanwhile
    # (the timeout is well below the gate's, so a request held until the gate opens fails here).
    with httpx.Client(base_url=emulator.url, timeout=WAIT / 3) as other:
        assert other.get("/v1beta/tunedModels").status_code == 200
        assert other.get(f"/storage/v1/b/{BUCKET}/o").status_code == 200
        assert other.post("/v1beta/tunedModels", params={"tunedModelId": "m"}, json=_gemini_body()).is_success
    assert thread.is_alive()
    assert not answers
    gate.set()
    thread.join(WAIT)
    assert answers[0]["tuningDataStats"]["supervisedTuningDataStats"]["tuningDatasetExampleCount"] == "5"


def test_a_check_that_breaks_fails_the_job_with_internal_and_reads_still_answer(
    monkeypatch: pytest.MonkeyPatch, vertex_jsonl: Callable[..., bytes]
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the oracle broke")

    monkeypatch.setattr(vertex_jobs, "BACKGROUND_CHECK_BYTES", 0)
    monkeypatch.setattr(vertex_datasets, "check_dataset", broken)
    with Emulator(clock=EmulatorClock.manual()) as emulator:
        emulator.put_storage_object("bucket", "train.jsonl", vertex_jsonl())
        with httpx.Client(base_url=emulator.url, timeout=WAIT) as client:
            name = _create(client, "gs://bucket/train.jsonl")
            emulator.advance(15)
            for _ in range(2):  # not only the first read: every later one answers too
                job = _get(client, name)
                assert job["state"] == "JOB_STATE_FAILED"
                assert job["error"] == {"code": 13, "message": "Internal error encountered."}
                assert "tuningDataStats" not in job
            assert client.get(JOBS).status_code == 200
        errors = emulator.internal_errors
    assert len(errors) == 1  # the emulator's own bug is kept, where tests look for it
    assert errors[0]["path"] == name
    assert "the oracle broke" in errors[0]["error"]


def test_the_job_tells_the_story_a_check_in_the_create_tells(
    emulator: Emulator,
    client: httpx.Client,
    gcs: Callable[..., str],
    vertex_jsonl: Callable[..., bytes],
    gate: threading.Event,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri = gcs(vertex_jsonl([(str(i), str(i + 1)) for i in range(40)]), "forty.jsonl")
    background = _create(client, uri, hyperParameters={"epochCount": 2})
    gate.set()
    monkeypatch.setattr(vertex_jobs, "BACKGROUND_CHECK_BYTES", None)  # now in the create, as before
    gcs(vertex_jsonl([(str(i), str(i + 1)) for i in range(40)]), "forty.jsonl")  # a new generation
    inline = _create(client, uri, hyperParameters={"epochCount": 2})
    for seconds in (0, 15, 30, 60, 600, 3600):
        emulator.advance(seconds)
        one, two = _get(client, background), _get(client, inline)
        for job in (one, two):
            del job["name"], job["createTime"], job["updateTime"]
            job.pop("startTime", None), job.pop("endTime", None), job.pop("experiment", None)
            job.pop("tunedModel", None)
        assert one == two


def test_a_bad_file_checked_in_the_background_fails_the_job_as_before(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str], gate: threading.Event
) -> None:
    turns = [{"role": "user", "parts": [{"text": "q"}]}, {"role": "assistant", "parts": [{"text": "a"}]}]
    uri = gcs(json.dumps({"contents": turns}).encode() + b"\n", "bad.jsonl")
    name = _create(client, uri)
    assert _get(client, name)["state"] == "JOB_STATE_PENDING"
    gate.set()
    emulator.advance(15)
    job = _get(client, name)
    assert job["state"] == "JOB_STATE_FAILED"
    assert job["error"]["code"] == 3
    assert "line 1, field contents[1].role" in job["error"]["message"]
    assert job["endTime"] == "2024-06-01T00:00:15Z"
    assert "tuningDataStats" not in job


def test_a_cancel_during_the_check_stays_a_cancel(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str], gate: threading.Event
) -> None:
    name = _create(client, gcs(b"not json\n", "bad.jsonl"))
    assert client.post(f"/v1beta1/{name}:cancel", json={}).status_code == 200
    gate.set()
    emulator.advance(60)
    job = _get(client, name)
    assert job["state"] == "JOB_STATE_CANCELLED"
    assert job["error"]["code"] == 1


def test_saving_the_state_waits_for_the_check(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str], gate: threading.Event
) -> None:
    name = _create(client, gcs())
    gate.set()
    saved = emulator.store.snapshot()  # the records as a --state save writes them
    record = saved["sections"]["vertex"]["tuningJobs"][name]
    assert record["stats"]["tuningDatasetExampleCount"] == 5
    assert len(record["examples"]) == 5


def test_a_reset_forgets_a_job_whose_check_is_running(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str], gate: threading.Event
) -> None:
    _create(client, gcs())
    emulator.reset()
    gate.set()
    emulator.advance(60)
    assert client.get(JOBS).json() == {}


def test_on_a_scaled_clock_a_long_check_makes_a_long_processing_phase(
    gate: threading.Event, vertex_jsonl: Callable[..., bytes]
) -> None:
    with Emulator(clock=EmulatorClock.scaled(speed=1.0)) as emulator:
        emulator.put_storage_object("bucket", "train.jsonl", vertex_jsonl())
        with httpx.Client(base_url=emulator.url, timeout=WAIT) as client:
            name = _create(client, "gs://bucket/train.jsonl")
            emulator.advance(60)  # the phase is over, the check is not: nothing waits
            job = _get(client, name)
            assert job["tuningJobState"] == "TUNING_JOB_STATE_PROCESSING_DATASET"
            assert "tuningDataStats" not in job
            gate.set()
            deadline = time.monotonic() + WAIT
            while "tuningDataStats" not in job and time.monotonic() < deadline:
                threading.Event().wait(0.05)
                job = _get(client, name)
            assert job["tuningJobState"] == "TUNING_JOB_STATE_WAITING_FOR_CAPACITY"
            emulator.advance(3600)
            job = _get(client, name)
            assert job["state"] == "JOB_STATE_SUCCEEDED"
            created, started = (_seconds(job[key]) for key in ("createTime", "startTime"))
            assert started >= created + 60 + 15  # processing ended with the check; setup followed
        assert emulator.internal_errors == []


def _seconds(timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
