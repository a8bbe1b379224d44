"""Creates slower than the client's timeout: one job per create, never more (issue #13, item 1).

The emulator holds ``tuningJobs.create`` for longer than the client's request timeout
(the job is committed when the handler runs, after the client gave up).  Before the
settle window, each ``create()`` re-sent after one quick lookup and left several jobs.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tuneport
from tuneport import RetryPolicy
from tuneport_emulator import Emulator

PARENT = "projects/tuneport-settle/locations/us-central1"


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "numbers.jsonl"
    path.write_text(
        "".join(json.dumps({"text_input": str(n), "output": str(n + 1)}) + "\n" for n in range(10)),
        encoding="utf-8",
    )
    return path


def _vertex(url: str, **settings: Any) -> dict[str, Any]:
    return {
        "backend": "vertex",
        "endpoint": url,
        "emulator": True,
        "environ": {},
        "project": "tuneport-settle",
        "location": "us-central1",
        "staging_bucket": "gs://tuneport-settle",
        **settings,
    }


@pytest.fixture(params=["slow", "latency"])
def slow_vertex(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    # slow: every create commits at once and answers 1.2 s later, after a 1.0 s client timeout.
    # latency: every create is held 1.2 s before the handler runs (its X-Server-Timeout is 60 s).
    with Emulator(faults=f"*tuningJobs.create: {request.param}=1@1.2s") as emulator:
        emulator.kind = request.param  # type: ignore[attr-defined]
        yield emulator


def _jobs(emulator: Emulator) -> list[dict[str, Any]]:
    response = httpx.get(f"{emulator.url}/v1/{PARENT}/tuningJobs", params={"pageSize": 1000})
    response.raise_for_status()
    return list(response.json().get("tuningJobs") or [])


def test_five_slow_creates_leave_exactly_five_jobs(slow_vertex: Emulator, dataset: Path) -> None:
    # slow: the backend's timeout is 1 s; latency: a per-call timeout of 1 s (the backend's is 60 s).
    per_call = slow_vertex.kind == "latency"  # type: ignore[attr-defined]
    settings = {} if per_call else {"timeout": 1.0}
    with tuneport.connect(**_vertex(slow_vertex.url, **settings)) as client:
        ids = [
            client.create(
                base_model="gemini-2.5-flash",
                training_data=str(dataset),
                display_name=f"slow-{n}",
                **({"timeout": 1.0} if per_call else {}),
            ).id
            for n in range(5)
        ]
    jobs = _jobs(slow_vertex)
    names = Counter(job["tunedModelDisplayName"] for job in jobs)
    assert len(jobs) == 5, names
    assert names == Counter({f"slow-{n}": 1 for n in range(5)})
    assert sorted(ids) == sorted(job["name"].rsplit("/", 1)[1] for job in jobs)


def test_a_create_held_past_its_server_timeout_is_abandoned_and_sent_again(dataset: Path) -> None:
    # The first attempt stalls 3 s before the service, longer than its X-Server-Timeout (1 s):
    # the service abandons it (504) and it never lands; the re-send, after the window, makes the job.
    with Emulator(faults="*tuningJobs.create: stall=1@2s") as emulator:
        with (
            tuneport.connect(
                **_vertex(emulator.url, timeout=1.0, retry=RetryPolicy(max_attempts=2))
            ) as client,
            pytest.raises(tuneport.APIError) as raised,
        ):
            client.create(base_model="gemini-2.5-flash", training_data=str(dataset), display_name="s")
        assert raised.value.client_request_id is not None
        assert raised.value.job is None
        assert _jobs(emulator) == []  # abandoned by the service: nothing landed, nothing orphaned


def test_a_job_made_twice_is_kept_once_and_the_other_cancelled(dataset: Path) -> None:
    """Two jobs with one request id (an attempt that landed after the window): one survives."""
    with Emulator() as emulator:
        with tuneport.connect(**_vertex(emulator.url, timeout=1.0)) as client:
            backend = client.backend
            from tuneport_vertex.backend import DUPLICATES_FIELD

            first = client.create(base_model="gemini-2.5-flash", training_data=str(dataset), display_name="d")
            rid = first.raw["labels"]["tuneport-request-id"]
            body = dict(first.raw)
            for key in ("name", "state", "createTime", "updateTime", "tuningJobState"):
                body.pop(key, None)
            url = f"{emulator.url}/v1/{PARENT}/tuningJobs"
            second = httpx.post(url, json=body).json()
            flow = backend._keep_one(backend.parent, rid, first)  # type: ignore[attr-defined]
            kept = client.driver.run(flow)
        assert kept.id == first.id  # the earliest
        assert [d["id"] for d in kept.raw[DUPLICATES_FIELD]] == [second["name"].rsplit("/", 1)[1]]
        assert kept.raw[DUPLICATES_FIELD][0]["cancelled"] is True
        states = {job["name"]: job["state"] for job in _jobs(emulator)}
        assert states[second["name"]] in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")
        assert states[first.name] not in (  # named as Vertex names it (by project number)
            "JOB_STATE_CANCELLING",
            "JOB_STATE_CANCELLED",
        )


def test_a_create_whose_200_body_is_broken_is_found_not_duplicated(dataset: Path) -> None:
    with Emulator(faults="*.create: html-after=1") as emulator:
        with tuneport.connect(**_vertex(emulator.url)) as client:
            job = client.create(base_model="gemini-2.5-flash", training_data=str(dataset), display_name="h")
        assert [j["name"].rsplit("/", 1)[1] for j in _jobs(emulator)] == [job.id]
        with tuneport.connect(**_gemini(emulator.url)) as client:
            model = client.create(base_model=GEMINI_MODEL, training_data=str(dataset), display_name="h")
        models = httpx.get(f"{emulator.url}/v1beta/tunedModels").json().get("tunedModels") or []
        assert [m["name"] for m in models] == [f"tunedModels/{model.id}"]


GEMINI_MODEL = "models/gemini-1.5-flash-001-tuning"


def _gemini(url: str, **settings: Any) -> dict[str, Any]:
    return {"backend": "gemini", "endpoint": url, "emulator": True, "environ": {}, "api_key": "k", **settings}


@pytest.mark.parametrize("header", [True, False])
def test_a_stalled_gemini_create_does_not_resurrect_a_deleted_model(
    dataset: Path, header: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt stalls past the client's timeout; the re-send makes the model; the owner deletes it.

    With X-Server-Timeout the service abandons the stalled attempt.  Without it (a
    service that ignored it), delete deletes again once the attempt can no longer land.
    """
    if not header:
        import tuneport_gemini.backend as gemini_backend

        monkeypatch.setattr(gemini_backend, "server_timeout_header", lambda timeout: {})
    with Emulator(faults="*tunedModels.create: stall=1@1.5s") as emulator:
        with tuneport.connect(**_gemini(emulator.url, timeout=1.0)) as client:
            # Only the first attempt stalls: the spec is changed once it has arrived.
            def spare_the_retry() -> None:
                time.sleep(0.3)
                emulator.faults.configure(None)

            threading.Thread(target=spare_the_retry).start()
            job = client.create(base_model=GEMINI_MODEL, training_data=str(dataset), display_name="r")
            client.delete(job.id)
        time.sleep(1.0)  # the stalled attempt has ended by now, one way or the other
        models = httpx.get(f"{emulator.url}/v1beta/tunedModels").json().get("tunedModels") or []
        assert models == []
