"""Cleanup of what tuneport staged (#17, point 5): delete --staged, tuneport cleanup, foreign objects left."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from tuneport.cli import commands  # noqa: F401  (registers the verbs)
from tuneport.cli.app import State, cli
from tuneport_emulator import Emulator
from tuneport_vertex.cleanup import dataset_uris

BASE = "gemini-2.5-flash"
BUCKET = "tuneport-staging"
PARENT = "projects/tuneport-test/locations/us-central1"
#: Far enough ahead that everything staged now is older than 30 days.
LATER = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31)


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "".join(
            json.dumps(
                {
                    "contents": [
                        {"role": "user", "parts": [{"text": q}]},
                        {"role": "model", "parts": [{"text": a}]},
                    ]
                }
            )
            + "\n"
            for q, a in rows
        ),
        encoding="utf-8",
    )
    return path


def _rows(tag: str, n: int = 8) -> list[tuple[str, str]]:
    return [(f"{tag} question {i}", f"{tag} answer {i}") for i in range(n)]


def _object(uri: str) -> str:
    return uri.split("/", 3)[3]


def _metadata(http: httpx.Client, uri: str) -> dict[str, str]:
    reply = http.get(f"/storage/v1/b/{BUCKET}/o/{_object(uri).replace('/', '%2F')}")
    assert reply.status_code == 200, reply.text
    return dict(reply.json().get("metadata") or {})


def _actions(report: Any) -> dict[str, tuple[str, str]]:
    return {item.resource: (item.action, item.reason) for item in report.items}


async def test_staged_objects_carry_tuneports_metadata(api: Any, http: httpx.Client, tmp_path: Path) -> None:
    job = await api.create(base_model=BASE, training_data=str(_write(tmp_path / "t.jsonl", _rows("a"))))
    uri = job.raw["supervisedTuningSpec"]["trainingDatasetUri"]
    metadata = _metadata(http, uri)
    assert metadata["tuneport-staged"] == "1"
    assert metadata["tuneport-parents"] == PARENT
    staged_at = dt.datetime.fromisoformat(metadata["tuneport-staged-at"].replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.timezone.utc) - staged_at) < dt.timedelta(minutes=5)
    assert dataset_uris(job.raw) == {uri}


async def test_delete_staged_keeps_what_another_job_uses(
    api: Any, emulator: Emulator, tmp_path: Path
) -> None:
    shared = str(_write(tmp_path / "shared.jsonl", _rows("shared")))
    own = str(_write(tmp_path / "own.jsonl", _rows("own", 1)))
    first = await api.create(base_model=BASE, training_data=shared, validation_data=own)
    second = await api.create(base_model=BASE, training_data=shared)
    shared_uri = first.raw["supervisedTuningSpec"]["trainingDatasetUri"]
    own_uri = first.raw["supervisedTuningSpec"]["validationDatasetUri"]
    await api.wait(first.id)
    await api.wait(second.id)

    assert await api.delete(first.id, staged=True) is True
    assert emulator.storage_object(BUCKET, _object(own_uri)) is None  # only the first job used it
    assert emulator.storage_object(BUCKET, _object(shared_uri)) is not None  # the second uses it

    report = await api.delete_staged(first.id)  # again: the shared one is still kept, and says why
    assert _actions(report) == {shared_uri: ("kept", f"used by job {second.id}")}
    assert report.removed == ()

    await api.delete(second.id)  # the second job is deleted: now nothing uses the shared data
    report = await api.delete_staged(first.id)
    assert _actions(report) == {shared_uri: ("removed", "used by no live job")}
    assert emulator.storage_object(BUCKET, _object(shared_uri)) is None


async def test_a_failed_job_keeps_its_data_until_it_is_deleted_with_staged(
    api: Any, emulator: Emulator, tmp_path: Path
) -> None:
    job = await api.create(base_model=BASE, training_data=str(_write(tmp_path / "t.jsonl", _rows("c"))))
    uri = job.raw["supervisedTuningSpec"]["trainingDatasetUri"]
    await api.cancel(job.id)
    report = await api.cleanup("30d", apply=True, now=LATER)
    assert _actions(report)[uri] == ("kept", f"used by job {job.id}")  # Vertex keeps the job record
    assert await api.delete(job.id, staged=True) is True  # nothing to delete but its data
    assert emulator.storage_object(BUCKET, _object(uri)) is None


async def test_cleanup_is_a_dry_run_until_applied_and_leaves_foreign_objects(
    api: Any, emulator: Emulator, tmp_path: Path
) -> None:
    old = await api.create(base_model=BASE, training_data=str(_write(tmp_path / "o.jsonl", _rows("old"))))
    live = await api.create(base_model=BASE, training_data=str(_write(tmp_path / "l.jsonl", _rows("live"))))
    old_uri = old.raw["supervisedTuningSpec"]["trainingDatasetUri"]
    live_uri = live.raw["supervisedTuningSpec"]["trainingDatasetUri"]
    await api.wait(old.id)
    await api.delete(old.id)  # its data stays behind
    foreign = "tuneport/datasets/put-there-by-hand.jsonl"
    emulator.put_storage_object(BUCKET, foreign, b"{}\n")
    foreign_uri = f"gs://{BUCKET}/{foreign}"

    recent = await api.cleanup("30d")  # everything was staged just now
    assert _actions(recent)[old_uri][0] == "kept"
    assert "after the cut-off" in _actions(recent)[old_uri][1]

    dry = await api.cleanup("30d", now=LATER)
    assert dry.applied is False
    assert _actions(dry) == {
        foreign_uri: ("kept", "not created by tuneport (no tuneport-staged metadata): left as it is"),
        live_uri: ("kept", f"used by job {live.id}"),
        old_uri: ("would-remove", "used by no live job"),
    }
    assert emulator.storage_object(BUCKET, _object(old_uri)) is not None  # a dry run removes nothing

    applied = await api.cleanup(dt.timedelta(days=30), apply=True, now=LATER)
    assert [item.resource for item in applied.removed] == [old_uri]
    assert emulator.storage_object(BUCKET, _object(old_uri)) is None
    assert emulator.storage_object(BUCKET, _object(live_uri)) is not None
    assert emulator.storage_object(BUCKET, foreign) == b"{}\n"  # never removed


async def test_an_endpoint_left_serving_nothing_is_a_leftover(
    api: Any, emulator: Emulator, http: httpx.Client, tmp_path: Path
) -> None:
    job = await api.create(base_model=BASE, training_data=str(_write(tmp_path / "t.jsonl", _rows("e"))))
    done = await api.wait(job.id)
    serving = await api.create(base_model=BASE, training_data=str(_write(tmp_path / "s.jsonl", _rows("s"))))
    serving_endpoint = (await api.wait(serving.id)).endpoint
    endpoint = done.endpoint
    deployed = http.get(f"/v1/{endpoint}").json()["deployedModels"][0]["id"]
    undeploy = http.post(f"/v1/{endpoint}:undeployModel", json={"deployedModelId": deployed})
    assert undeploy.status_code == 200, undeploy.text
    emulator.advance(60)  # the undeploy operation is done

    dry = await api.cleanup("30d", now=LATER)
    endpoints = [i for i in dry.items if i.kind == "endpoint"]
    assert [(i.resource, i.action, i.reason) for i in endpoints] == [
        (endpoint, "would-remove", "no model is deployed on it")
    ]  # the other job's serving endpoint is not a leftover
    await api.cleanup("30d", apply=True, now=LATER)
    assert http.get(f"/v1/{endpoint}").status_code == 404
    assert http.get(f"/v1/{serving_endpoint}").status_code == 200


async def test_bad_ages_are_refused_before_any_request(api: Any, emulator: Emulator) -> None:
    from tuneport.errors import SpecError

    emulator.store.clear_requests()
    with pytest.raises(SpecError, match="expected an age"):
        await api.cleanup("thirty days")
    with pytest.raises(SpecError, match="time zone"):
        await api.cleanup("30d", now=dt.datetime(2026, 1, 1))
    assert emulator.requests() == []


def test_the_cli_lists_then_removes(emulator: Emulator, client_settings: Any, tmp_path: Path) -> None:
    import tuneport

    with tuneport.connect(**client_settings()) as client:
        job = client.create(base_model=BASE, training_data=str(_write(tmp_path / "t.jsonl", _rows("cli"))))
        uri = job.raw["supervisedTuningSpec"]["trainingDatasetUri"]

    def run(*args: str) -> Any:
        result = CliRunner().invoke(cli, list(args), obj=State(connect_options=client_settings()))
        assert result.exit_code == 0, result.output
        return result

    dry = json.loads(run("--json", "cleanup", "--older-than", "0d").output)
    assert dry["applied"] is False
    assert [(i["resource"], i["action"]) for i in dry["items"]] == [(uri, "kept")]  # its job is live
    deleted = json.loads(run("--json", "delete", job.id, "--staged").output)
    assert deleted["staged"]["items"][0]["resource"] == uri
    assert deleted["staged"]["items"][0]["action"] == "removed"
    assert emulator.storage_object(BUCKET, _object(uri)) is None
    human = run("cleanup", "--older-than", "0d", "--yes").output
    assert "nothing tuneport staged or created was found" in human
    bad = CliRunner().invoke(
        cli, ["cleanup", "--older-than", "soon"], obj=State(connect_options=client_settings())
    )
    assert bad.exit_code != 0
    assert "--older-than" in bad.output


def test_data_staged_for_two_regions_is_kept_while_a_job_in_either_uses_it(
    emulator: Emulator, client_settings: Any, http: httpx.Client, tmp_path: Path
) -> None:
    import tuneport

    data = str(_write(tmp_path / "t.jsonl", _rows("regions")))
    with tuneport.connect(**client_settings()) as here:
        first = here.create(base_model=BASE, training_data=data)
    with tuneport.connect(**client_settings(location="europe-west4")) as there:
        second = there.create(base_model=BASE, training_data=data)
    uri = first.raw["supervisedTuningSpec"]["trainingDatasetUri"]
    assert second.raw["supervisedTuningSpec"]["trainingDatasetUri"] == uri  # staged once
    assert _metadata(http, uri)["tuneport-parents"] == (
        f"{PARENT},projects/tuneport-test/locations/europe-west4"
    )  # the re-use added its parent
    with tuneport.connect(**client_settings()) as here:
        report = here.delete_staged(first.id)
        assert _actions(report) == {uri: ("kept", f"used by job {second.id}")}  # a job in europe-west4
        assert emulator.storage_object(BUCKET, _object(uri)) is not None
        assert here.delete_staged("123456789").items == ()  # no such job: nothing to remove


async def test_a_large_dataset_staged_in_a_resumable_session_carries_the_metadata_too(
    api: Any, http: httpx.Client, tmp_path: Path
) -> None:
    path = tmp_path / "big.jsonl"
    rows = [(f"question {i} " + "x" * 400, f"answer {i}") for i in range(22_000)]  # over 8 MiB
    job = await api.create(base_model=BASE, training_data=str(_write(path, rows)))
    uri = job.raw["supervisedTuningSpec"]["trainingDatasetUri"]
    assert _metadata(http, uri)["tuneport-staged"] == "1"


async def test_a_staging_bucket_never_written_holds_nothing_to_clean(api: Any) -> None:
    report = await api.cleanup("0d", apply=True)
    assert (report.applied, report.items) == (True, ())
