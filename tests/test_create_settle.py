"""Creates slower than the client's timeout: one job per create, never more (issue #13, item 1).

The emulator holds ``tuningJobs.create`` for longer than the client's request timeout
(the job is committed when the handler runs, after the client gave up).  Before the
settle window, each ``create()`` re-sent after one quick lookup and left several jobs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tuneport
from tuneport.emulator import Emulator

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


@pytest.fixture
def slow_vertex() -> Iterator[Emulator]:
    # Every create is held 1.2 s before the handler runs: it commits after a 1.0 s client timeout.
    with Emulator(faults="*tuningJobs.create: latency=1@1.2s") as emulator:
        yield emulator


def _jobs(emulator: Emulator) -> list[dict[str, Any]]:
    response = httpx.get(f"{emulator.url}/v1/{PARENT}/tuningJobs", params={"pageSize": 1000})
    response.raise_for_status()
    return list(response.json().get("tuningJobs") or [])


def test_five_slow_creates_leave_exactly_five_jobs(slow_vertex: Emulator, dataset: Path) -> None:
    with tuneport.connect(**_vertex(slow_vertex.url, timeout=1.0)) as client:
        ids = [
            client.create(
                base_model="gemini-2.5-flash", training_data=str(dataset), display_name=f"slow-{n}"
            ).id
            for n in range(5)
        ]
    jobs = _jobs(slow_vertex)
    names = Counter(job["tunedModelDisplayName"] for job in jobs)
    assert len(jobs) == 5, names
    assert names == Counter({f"slow-{n}": 1 for n in range(5)})
    assert sorted(ids) == sorted(job["name"].rsplit("/", 1)[1] for job in jobs)
