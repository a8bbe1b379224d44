"""Resumable staging against the emulator, sync and async: a lost answer, a short store (issue #13)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tuneport_emulator import Emulator
from tuneport_emulator.faults import FaultInjector
from tuneport_emulator.storage import objects as storage_objects

BASE = "gemini-2.5-flash"
BUCKET = "tuneport-staging"
UPLOAD_PATH = f"/upload/storage/v1/b/{BUCKET}/o"
ROUTE = "storage.objects.upload"


def _write_big(path: Path) -> Path:
    with path.open("w") as stream:
        number = 0
        while stream.tell() < 9 * 1024 * 1024:  # over 8 MiB: two chunks
            turns = [
                {"role": "user", "parts": [{"text": f"question {number} " + "x" * 400}]},
                {"role": "model", "parts": [{"text": f"answer {number}"}]},
            ]
            stream.write(json.dumps({"contents": turns}) + "\n")
            number += 1
    return path


def _seed_faulting_only(occurrence: int, kind: str, following: int = 6) -> str:
    """A fault spec that hits the ``occurrence``-th upload PUT only (among the first ``following``)."""
    for seed in range(100_000):
        spec = f"seed={seed}; {ROUTE}: {kind}=0.5"
        injector = FaultInjector(spec)
        kinds = [injector.decide("PUT", UPLOAD_PATH, ROUTE).kind for _ in range(following)]
        if kinds == [kind if i == occurrence else None for i in range(following)]:
            return spec
    raise AssertionError("no seed found")


@pytest.fixture
def ranges(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The Content-Range of every resumable PUT the emulator applies (the log omits 8 MiB bodies)."""
    seen: list[str | None] = []
    real = storage_objects.Objects.upload_chunk

    def spy(self: Any, upload_id: str, content_range: str | None, data: bytes, **options: Any) -> Any:
        seen.append(content_range)
        return real(self, upload_id, content_range, data, **options)

    monkeypatch.setattr(storage_objects.Objects, "upload_chunk", spy)
    return seen


def _staged(emulator: Emulator, job: Any) -> bytes:
    uri = job.raw["supervisedTuningSpec"]["trainingDatasetUri"]
    data = emulator.storage_object(BUCKET, uri.split("/", 3)[3])
    assert data is not None
    assert uri.endswith(f"/{hashlib.sha256(data).hexdigest()}.jsonl")  # arrived whole
    return data


@pytest.mark.parametrize("kind", ["reset-after", "503-after"])
async def test_the_lost_answer_to_the_last_chunk_is_recovered(
    api: Any, emulator: Emulator, tmp_path: Path, kind: str, ranges: list[str | None]
) -> None:
    path = _write_big(tmp_path / "big.jsonl")
    emulator.configure_faults(_seed_faulting_only(1, kind))  # the last chunk's answer is lost
    job = await api.create(base_model=BASE, training_data=str(path), epoch_count=1)
    size = len(_staged(emulator, job))  # whole: named by its hash (converted to Vertex JSONL)
    assert ranges == [
        f"bytes 0-{8 * 1024 * 1024 - 1}/{size}",
        f"bytes {8 * 1024 * 1024}-{size - 1}/{size}",  # committed, its answer lost
        f"bytes */{size}",  # the status query: done, here is the object
    ]
    statuses = [(e["status"], e.get("fault")) for e in emulator.requests() if e["route"] == ROUTE]
    assert statuses[1][1] == kind
    assert statuses[-1] == (200, None)


async def test_a_short_store_is_resumed_from_the_reported_range(
    api: Any, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cloud Storage may persist less than a chunk carries; the 308's Range says how much."""
    path = _write_big(tmp_path / "big.jsonl")
    real = storage_objects.Objects.upload_chunk
    short = 3 * storage_objects.CHUNK_GRANULARITY
    calls = []

    def store_less(self: Any, upload_id: str, content_range: str | None, data: bytes, **options: Any) -> Any:
        calls.append(content_range)
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range or "")
        if len(calls) == 1 and match:  # the first chunk: keep all but the last 768 KiB
            first, last, total = (int(g) for g in match.groups())
            return real(self, upload_id, f"bytes {first}-{last - short}/{total}", data[:-short], **options)
        return real(self, upload_id, content_range, data, **options)

    monkeypatch.setattr(storage_objects.Objects, "upload_chunk", store_less)
    job = await api.create(base_model=BASE, training_data=str(path), epoch_count=1)
    size, stored = len(_staged(emulator, job)), 8 * 1024 * 1024 - short
    assert calls == [
        f"bytes 0-{8 * 1024 * 1024 - 1}/{size}",
        f"bytes {stored}-{size - 1}/{size}",  # from the Range, re-sending the 768 KiB not stored
    ]
