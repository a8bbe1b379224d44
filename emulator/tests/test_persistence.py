"""``--state FILE``: every record survives a restart; the file is exclusive, versioned and checked."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from tuneport_emulator import Emulator, EmulatorClock, StateFileInUse
from tuneport_emulator.persistence import FORMAT_VERSION, StateFile, StateFileError

BASE = "models/gemini-1.5-flash-001-tuning"
PARENT = "projects/p/locations/us-central1"
#: Project "p" as Vertex names it: by its number.
NUMBERED = "projects/199785239448/locations/us-central1"
BODY = {
    "baseModel": BASE,
    "displayName": "kept",
    "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"}]}}},
}


def _emulator(path: Path) -> Emulator:
    return Emulator(clock=EmulatorClock.manual(), state=path)


def _blob_count(emulator: Emulator) -> int:
    """Large values kept outside their records: SQLite blobs, and object files beside the state file."""
    assert emulator.state_file is not None
    files = Path(f"{emulator.state_path}.objects")
    object_files = sum(1 for p in files.iterdir() if p.is_file()) if files.is_dir() else 0
    return emulator.state_file.counts()["blobs"] + object_files


def test_a_restart_keeps_models_operations_jobs_objects_and_counters(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    payload = bytes(range(256)) * 1000  # binary, above the blob threshold
    with _emulator(path) as first:
        created = httpx.post(first.url + "/v1beta/tunedModels", json=BODY).json()
        first.put_storage_object("bucket-one", "data/train.jsonl", payload)
        job = first.seed_vertex_job(
            {"baseModel": "gemini-2.5-flash"}, parent=PARENT, state="JOB_STATE_RUNNING"
        )
        first.advance(5)  # still RUNNING: one step (ceil(1 example x epochs / batch)) and post-processing
        before = first.store.snapshot()
        now = first.clock.now()
    with _emulator(path) as second:
        assert second.store.snapshot() == before
        assert second.clock.now() == now
        assert second.storage_object("bucket-one", "data/train.jsonl") == payload
        model = httpx.get(second.url + "/v1beta/" + created["metadata"]["tunedModel"]).json()
        assert model["displayName"] == "kept"
        operation = httpx.get(second.url + "/v1/" + created["name"]).json()
        assert operation["name"] == created["name"]
        assert httpx.get(f"{second.url}/v1/{job['name']}").json()["state"] == "JOB_STATE_RUNNING"
        # Counters continue: a new job gets a new name, not a recycled one.
        other = second.seed_vertex_job({"baseModel": "gemini-2.5-flash"}, parent=PARENT)
        assert other["name"] != job["name"]


def test_the_lifecycle_goes_on_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with _emulator(path) as first:
        name = httpx.post(first.url + "/v1beta/tunedModels", json=BODY).json()["metadata"]["tunedModel"]
        assert httpx.get(f"{first.url}/v1beta/{name}").json()["state"] == "CREATING"
    with _emulator(path) as second:
        second.advance(3600)
        assert httpx.get(f"{second.url}/v1beta/{name}").json()["state"] == "ACTIVE"
        assert httpx.delete(f"{second.url}/v1beta/{name}").status_code == 200
    with _emulator(path) as third:
        assert httpx.get(f"{third.url}/v1beta/{name}").status_code == 404


def test_a_resumable_upload_continues_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    chunk = 256 * 1024
    data = b"x" * chunk + b"tail"
    with _emulator(path) as first:
        first_url = first.url
        start = httpx.post(
            first.url + "/upload/storage/v1/b/bucket-one/o",
            params={"uploadType": "resumable", "name": "big.jsonl"},
            json={},
        )
        session = start.headers["Location"]
        headers = {"Content-Range": f"bytes 0-{chunk - 1}/{len(data)}"}
        assert httpx.put(session, content=data[:chunk], headers=headers).status_code == 308
    with _emulator(path) as second:
        session = session.replace(first_url, second.url)
        headers = {"Content-Range": f"bytes {chunk}-{len(data) - 1}/{len(data)}"}
        assert httpx.put(session, content=data[chunk:], headers=headers).status_code == 200
        assert second.storage_object("bucket-one", "big.jsonl") == data


def test_deleted_objects_leave_no_bytes_behind(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with _emulator(path) as emulator:
        emulator.put_storage_object("bucket-one", "a", b"a" * 100_000)
        emulator.put_storage_object("bucket-one", "b", b"b" * 100_000)
        assert _blob_count(emulator) == 2
        reply = httpx.delete(emulator.url + "/storage/v1/b/bucket-one/o/a")
        assert reply.status_code == 204
        assert _blob_count(emulator) == 1
        emulator.put_storage_object("bucket-one", "b", b"c" * 100_000)  # a new generation
        assert _blob_count(emulator) == 1
        httpx.post(emulator.url + "/_emulator/reset", json={}).raise_for_status()  # admin writes are JSON
        assert _blob_count(emulator) == 0
    with _emulator(path) as again:
        assert again.store.snapshot() == {"sections": {}, "counters": {}}


def test_a_scaled_clock_goes_on_from_where_it_was(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Emulator(clock=EmulatorClock.scaled(start=4_000_000_000.0), state=path) as first:
        first.put_storage_object("bucket-one", "x", b"1")
        stopped_at = first.clock.now()
    with Emulator(clock=EmulatorClock.manual(), state=path) as second:
        assert second.clock.now() >= stopped_at  # never backwards, downtime included


def test_a_second_emulator_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with _emulator(path), pytest.raises(StateFileInUse, match="in use by another emulator"):
        _emulator(path)
    with _emulator(path):  # released on stop
        pass


def test_a_corrupt_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateFileError, match=str(path)):
        _emulator(path)


def test_a_file_of_another_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with _emulator(path):
        pass
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    with pytest.raises(StateFileError, match="format version 99"):
        _emulator(path)


def test_a_file_of_format_version_1_is_upgraded(tmp_path: Path) -> None:
    # Version 1 kept plans as step counts and Vertex names with the project as given.
    path = tmp_path / "state.sqlite"
    plan = {
        "start": 0.0,
        "setupSeconds": 30.0,
        "stepSeconds": 6.0,
        "totalSteps": 40,
        "stepsPerEpoch": 8,
        "seed": 7,
    }
    model = {
        "id": "old", "number": 1, "operationId": "op", "fields": {"baseModel": BASE, "displayName": "kept"},
        "hyperparameters": {"learningRate": 0.001, "epochCount": 5, "batchSize": 2},
        "examples": [{"textInput": f"q{i}", "output": f"a{i}"} for i in range(15)],
        "createTime": 0.0, "updateTime": 0.0, "plan": plan, "stop": None,
    }  # fmt: skip
    job_name = f"{PARENT}/tuningJobs/1111111111111111111"
    job = {
        "name": job_name, "parent": PARENT, "id": "1111111111111111111", "number": 1,
        "fields": {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/t"}},
        "baseModel": "gemini-2.5-flash", "hyperParameters": {"epochCount": 5},
        "examples": [["ping", "pong", ""]] * 15, "stats": None, "stepTokens": 4.0, "validation": None,
        "createTime": 0.0, "plan": plan, "stop": None, "experimentId": "tuning-experiment-1",
        "tensorboard": f"{PARENT}/tensorboards/1", "model": f"{PARENT}/models/2",
        "endpoint": f"{PARENT}/endpoints/3", "deployedModelId": "4",
        "undeployTime": None, "endpointDeleteTime": None, "modelDeleteTime": None,
    }  # fmt: skip
    index = {"models": {job["model"]: job_name}, "endpoints": {job["endpoint"]: job_name}}
    state = {
        "sections": {
            "gemini": {"tunedModels": {"old": model}},
            "vertex": {
                "tuningJobs": {job_name: job},
                "index": index,
                "tensorboards": {PARENT: job["tensorboard"]},
            },
        },
        "counters": {"gemini.tunedModel": 1, "vertex.tuningJob": 1},
    }
    old = StateFile(path)
    old.load()
    old.save(state, EmulatorClock.manual())
    old.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'version'")
    with _emulator(path) as emulator:
        operation = httpx.get(f"{emulator.url}/v1beta/tunedModels/old/operations/op").json()
        assert operation["metadata"]["totalSteps"] == 38  # re-planned: ceil(15 x 5 / 2)
        numbered = f"{NUMBERED}/tuningJobs/1111111111111111111"
        for asked in (job_name, numbered):
            reply = httpx.get(f"{emulator.url}/v1/{asked}").json()
            assert reply["name"] == numbered
        done = httpx.get(f"{emulator.url}/v1/{job_name}").json()
        assert done["state"] == "JOB_STATE_SUCCEEDED"  # started at 0, the manual clock is far past its end
        assert done["tunedModel"]["endpoint"] == f"{NUMBERED}/endpoints/3"
        assert (
            httpx.get(f"{emulator.url}/v1/{PARENT}/endpoints/3").json()["name"] == f"{NUMBERED}/endpoints/3"
        )
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone() == (str(FORMAT_VERSION),)
    with _emulator(path) as again:  # the upgraded file reads as it is
        assert httpx.get(f"{again.url}/v1/{numbered}").json()["name"] == numbered


def test_typed_records_round_trip_exactly_through_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with _emulator(path) as first:
        first.seed_gemini_model(state="FAILED", progress=0.4)
        seeded = first.seed_vertex_job({"baseModel": "gemini-2.5-flash"}, parent=PARENT)
        endpoint = httpx.get(f"{first.url}/v1/{seeded['name']}").json()["tunedModel"]["endpoint"]
        deployed = httpx.get(f"{first.url}/v1/{endpoint}").json()["deployedModels"][0]["id"]
        undeploy = httpx.post(f"{first.url}/v1/{endpoint}:undeployModel", json={"deployedModelId": deployed})
        assert undeploy.status_code == 200, undeploy.text
        first.advance(10 / 3)  # a time that is not a short decimal
        before = first.store.snapshot()
        views = _views(first.url, seeded["name"], undeploy.json()["name"])
    with _emulator(path) as second:
        assert _views(second.url, seeded["name"], undeploy.json()["name"]) == views
        assert second.store.snapshot() == before
        json.dumps(before)  # rendered records are plain JSON


def _views(url: str, job: str, operation: str) -> list[object]:
    return [
        httpx.get(f"{url}/v1beta/tunedModels").json(),
        httpx.get(f"{url}/v1/{job}").json(),
        httpx.get(f"{url}/v1/{operation}").json(),
    ]


def test_a_failed_save_is_an_error_answer_and_the_file_keeps_the_last_good_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.sqlite"
    with _emulator(path) as emulator:
        emulator.put_storage_object("bucket-one", "kept", b"1")

        def broken(self: StateFile, *args: object, **kwargs: object) -> bool:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR REPLACE INTO records VALUES ('[\"half\"]', '1')")
            self._db.execute("ROLLBACK")  # what a crash in the middle of a transaction leaves
            raise StateFileError("disk full")

        monkeypatch.setattr(StateFile, "save", broken)
        reply = httpx.post(
            emulator.url + "/upload/storage/v1/b/bucket-one/o", params={"uploadType": "media", "name": "lost"}
        )
        assert reply.status_code == 500  # an answer never claims what is not on disk
        assert "disk full" in emulator.internal_errors[-1]["error"]
        monkeypatch.undo()
        emulator.store.attach_saver(None)  # and the process dies: no save on the way out
    with _emulator(path) as again:
        names = set(again.store.snapshot()["sections"]["storage"]["buckets"]["bucket-one"]["objects"])
        assert names == {"kept"}


def test_stop_releases_the_file_and_start_takes_it_back(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    emulator = _emulator(path)
    emulator.start()
    emulator.put_storage_object("bucket-one", "before", b"1")
    emulator.stop()
    assert emulator.state_file is None
    emulator.put_storage_object("bucket-one", "while-stopped", b"2")  # saved by the next start
    other = _emulator(path)  # the file is free while stopped
    assert set(other.store.snapshot()["sections"]["storage"]["buckets"]["bucket-one"]["objects"]) == {
        "before"
    }
    other.stop()
    emulator.start()
    emulator.stop()
    with _emulator(path) as again:
        objects = again.store.snapshot()["sections"]["storage"]["buckets"]["bucket-one"]["objects"]
        assert set(objects) == {"before", "while-stopped"}
