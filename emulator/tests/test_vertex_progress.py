"""v1beta1's progress fields over a job's life, and the concurrent-tuning-jobs quota (#16)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from emulator_helpers import assert_error

from tuneport_emulator import Emulator

CreateJob = Callable[..., httpx.Response]


def _get(client: httpx.Client, name: str, version: str = "v1beta1") -> dict[str, Any]:
    reply = client.get(f"/{version}/{name}")
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def _progress(client: httpx.Client, name: str) -> tuple[str, str | None, dict[str, str] | None]:
    job = _get(client, name)
    return job["state"], job.get("tuningJobState"), job.get("tuningJobMetadata")


def test_a_job_waits_for_quota_then_runs_through_every_detail_state(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    assert client.post("/_emulator/vertex:configure", json={"tuningJobQuota": 1}).status_code == 200
    spec = {"trainingDatasetUri": gcs(), "hyperParameters": {"epochCount": 2}}  # 3 steps, 68 s in all
    first = create_job(supervisedTuningSpec=spec).json()
    second = create_job(supervisedTuningSpec=spec).json()
    assert second["tuningJobState"] == "TUNING_JOB_STATE_WAITING_FOR_QUOTA"
    in_another_region = client.post(
        "/v1beta1/projects/p/locations/europe-west4/tuningJobs",
        json={"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": spec},
    ).json()
    assert in_another_region["tuningJobState"] == "TUNING_JOB_STATE_WAITING_FOR_QUOTA"  # a global quota
    assert "tuningJobState" not in client.get(f"/v1/{second['name']}").json()  # v1 has no such field
    seen: list[tuple[str, str | None]] = []
    metadata: list[dict[str, str]] = []
    for _ in range(200):
        state, detail, progress = _progress(client, second["name"])
        if not seen or seen[-1] != (state, detail):
            seen.append((state, detail))
        if progress and progress not in metadata:
            metadata.append(progress)
        if state == "JOB_STATE_SUCCEEDED":
            break
        emulator.advance(2)
    assert seen == [
        ("JOB_STATE_PENDING", "TUNING_JOB_STATE_WAITING_FOR_QUOTA"),
        ("JOB_STATE_PENDING", "TUNING_JOB_STATE_PROCESSING_DATASET"),
        ("JOB_STATE_PENDING", "TUNING_JOB_STATE_WAITING_FOR_CAPACITY"),
        ("JOB_STATE_RUNNING", "TUNING_JOB_STATE_TUNING"),
        ("JOB_STATE_RUNNING", "TUNING_JOB_STATE_POST_PROCESSING"),
        ("JOB_STATE_SUCCEEDED", None),
    ]
    assert metadata[0] == {"completedStepCount": "1"}
    assert metadata[-1] == {"completedStepCount": "3", "completedEpochCount": "2"}
    assert _get(client, first["name"])["endTime"] < _get(client, second["name"])["startTime"]
    assert _get(client, in_another_region["name"])["state"] != "JOB_STATE_SUCCEEDED"  # third in line


def test_without_a_quota_jobs_run_at_once(client: httpx.Client, create_job: CreateJob) -> None:
    create_job()
    assert create_job().json()["tuningJobState"] == "TUNING_JOB_STATE_PROCESSING_DATASET"


def test_the_quota_setting_is_checked(client: httpx.Client) -> None:
    reply = client.post("/_emulator/vertex:configure", json={"tuningJobQuota": 0})
    assert_error(reply, 400, "INVALID_ARGUMENT", contains="tuningJobQuota")
    reset = client.post("/_emulator/vertex:configure", json={"tuningJobQuota": None})
    assert reset.json()["tuningJobQuota"] is None
