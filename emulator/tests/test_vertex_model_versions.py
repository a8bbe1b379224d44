"""Model versions (#16): a continued job's tuned model is, by default, a new version of its source's model.

"For continuous tuning, if the provided tuned_model_display_name is set and
different from parent model's display name, the tuned model will have a new
parent model with version 1. Otherwise the version id will be incremented by 1
from the last version ID in the parent model" (``TunedModel.model``, discovery).
Then ``models.get`` by version or alias, ``listVersions``, ``deleteVersion``,
``mergeVersionAliases`` and ``models.delete`` of every version.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error, stage_numbers_jsonl, violated_fields

from tuneport_emulator import Emulator, EmulatorClock

CreateJob = Callable[..., httpx.Response]
DONE = 3600
SOURCE_NAME = "numbers"


def _get(client: httpx.Client, name: str, version: str = "v1") -> dict[str, Any]:
    reply = client.get(f"/{version}/{name}")
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def _continue(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    tuned_model: str,
    *,
    epochs: int = 2,
    checkpoint: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A succeeded job continuing ``tuned_model`` (supervised, ``epochs`` epochs)."""
    pre_tuned = {"tunedModelName": tuned_model, **({"checkpointId": checkpoint} if checkpoint else {})}
    created = create_job(
        baseModel=None,
        preTunedModel=pre_tuned,
        supervisedTuningSpec={
            "trainingDatasetUri": "gs://tuneport-test/train.jsonl",
            "hyperParameters": {"epochCount": epochs},
        },
        **fields,
    )
    assert created.status_code == 200, created.text
    emulator.advance(DONE)
    return _get(client, created.json()["name"])


@pytest.fixture
def source(emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]) -> str:
    """The model (``…/models/{id}``, no version) of a succeeded job of 3 epochs named "numbers"."""
    spec = {"trainingDatasetUri": gcs(), "hyperParameters": {"epochCount": 3}}
    job = create_job(supervisedTuningSpec=spec, tunedModelDisplayName=SOURCE_NAME).json()
    emulator.advance(DONE)
    model = _get(client, job["name"])["tunedModel"]["model"]
    assert model.endswith("@1")
    return str(model.removesuffix("@1"))


def _undeploy_all(emulator: Emulator, client: httpx.Client, job: dict[str, Any]) -> None:
    endpoints = {job["tunedModel"]["endpoint"], *(c["endpoint"] for c in job["tunedModel"]["checkpoints"])}
    for endpoint in endpoints:
        (deployed,) = _get(client, endpoint)["deployedModels"]
        reply = client.post(f"/v1/{endpoint}:undeployModel", json={"deployedModelId": deployed["id"]})
        assert reply.status_code == 200, reply.text
    emulator.advance(5)


def test_a_continued_job_makes_the_next_version_of_its_sources_model(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, source: str
) -> None:
    second = _continue(emulator, client, create_job, source, checkpoint="2")
    assert second["tunedModel"]["model"] == f"{source}@2"
    third = _continue(emulator, client, create_job, f"{source}@2", epochs=1)  # a version, by its id
    assert third["tunedModel"]["model"] == f"{source}@3"

    default = _get(client, source)  # no version: the default one (the first)
    assert (default["name"], default["versionId"], default["versionAliases"]) == (source, "1", ["default"])
    assert _get(client, f"{source}@default")["versionId"] == "1"
    version = _get(client, f"{source}@2", "v1beta1")
    assert version["name"] == source
    assert (version["versionId"], version["versionAliases"]) == ("2", [])
    assert version["displayName"] == SOURCE_NAME  # the model's, as the job named none
    assert version["createTime"] == default["createTime"]  # the model's; the version's is its own
    assert version["versionCreateTime"] > default["versionCreateTime"]
    # Checkpoints and the default checkpoint are the version's own (2 epochs here, 3 in version 1).
    assert [c["checkpointId"] for c in version["checkpoints"]] == ["1", "2"]
    assert version["defaultCheckpointId"] == "2"
    assert default["defaultCheckpointId"] == "3"
    # Its endpoint serves that version.
    (deployed,) = _get(client, second["tunedModel"]["endpoint"])["deployedModels"]
    assert (deployed["model"], deployed["modelVersionId"]) == (source, "2")
    # models.list shows the model once, at its default version.
    listed = client.get(f"/v1/{source.rsplit('/models/', 1)[0]}/models").json()["models"]
    assert [(m["name"], m["versionId"]) for m in listed] == [(source, "1")]
    assert_error(client.get(f"/v1/{source}@4"), 404, "NOT_FOUND")
    assert_error(client.get(f"/v1/{source}@golden"), 404, "NOT_FOUND")


def test_a_new_display_name_makes_a_new_model_the_same_one_a_version(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, source: str
) -> None:
    renamed = _continue(emulator, client, create_job, source, tunedModelDisplayName="numbers-dpo")
    model = renamed["tunedModel"]["model"]
    assert model.endswith("@1")
    assert not model.startswith(f"{source}@")
    assert _get(client, model.removesuffix("@1"))["displayName"] == "numbers-dpo"
    same = _continue(emulator, client, create_job, source, tunedModelDisplayName=SOURCE_NAME)
    assert same["tunedModel"]["model"] == f"{source}@2"


def test_a_version_has_its_own_default_checkpoint(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, source: str
) -> None:
    _continue(emulator, client, create_job, source, epochs=2)
    patched = client.patch(f"/v1/{source}@2", json={"defaultCheckpointId": "1"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["versionId"], patched.json()["defaultCheckpointId"]) == ("2", "1")
    assert _get(client, source)["defaultCheckpointId"] == "3"  # version 1 unchanged
    # A job continuing version 2 without a checkpoint starts from its default checkpoint (1).
    assert _get(client, f"{source}@2")["defaultCheckpointId"] == "1"
    error = assert_error(
        client.patch(f"/v1/{source}@2", json={"defaultCheckpointId": "3"}), 400, "INVALID_ARGUMENT"
    )
    assert violated_fields(error) == ["model.default_checkpoint_id"]


def test_list_versions_pages_filters_and_orders(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, source: str
) -> None:
    _continue(emulator, client, create_job, source, labels={"stage": "dpo"})
    _continue(emulator, client, create_job, source, epochs=1)
    listed = client.get(f"/v1/{source}:listVersions").json()
    assert [(m["name"], m["versionId"]) for m in listed["models"]] == [
        (f"{source}@1", "1"),
        (f"{source}@2", "2"),
        (f"{source}@3", "3"),
    ]
    assert "nextPageToken" not in listed
    first = client.get(f"/v1beta1/{source}:listVersions", params={"pageSize": 2}).json()
    assert [m["versionId"] for m in first["models"]] == ["1", "2"]
    rest = client.get(
        f"/v1beta1/{source}:listVersions", params={"pageSize": 2, "pageToken": first["nextPageToken"]}
    ).json()
    assert [m["versionId"] for m in rest["models"]] == ["3"]
    assert "nextPageToken" not in rest
    labelled = client.get(f"/v1/{source}:listVersions", params={"filter": 'labels.stage="dpo"'}).json()
    assert [m["versionId"] for m in labelled["models"]] == ["2"]
    newest = client.get(f"/v1/{source}:listVersions", params={"orderBy": "create_time desc"}).json()
    assert [m["versionId"] for m in newest["models"]] == ["3", "2", "1"]
    error = assert_error(
        client.get(f"/v1/{source}:listVersions", params={"orderBy": "display_name"}), 400, "INVALID_ARGUMENT"
    )
    assert violated_fields(error) == ["order_by"]
    assert_error(client.get(f"/v1/{source.rsplit('/', 1)[0]}/42:listVersions"), 404, "NOT_FOUND")


def test_delete_version_follows_googles_rules(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, source: str
) -> None:
    # The only version: refused (DeleteModel deletes a model).
    assert_error(client.delete(f"/v1/{source}@1:deleteVersion"), 400, "FAILED_PRECONDITION")
    second = _continue(emulator, client, create_job, source)
    # No version in the name.
    error = assert_error(client.delete(f"/v1/{source}:deleteVersion"), 400, "INVALID_ARGUMENT")
    assert violated_fields(error) == ["name"]
    # Deployed: refused until undeployed.
    assert_error(
        client.delete(f"/v1/{source}@2:deleteVersion"), 400, "FAILED_PRECONDITION", contains="Undeploy"
    )
    # The default version: refused ("one version of a model carries the default alias at all times").
    assert_error(
        client.delete(f"/v1/{source}@1:deleteVersion"), 400, "FAILED_PRECONDITION", contains="default"
    )
    _undeploy_all(emulator, client, second)
    operation = client.delete(f"/v1/{source}@2:deleteVersion")
    assert operation.status_code == 200, operation.text
    assert operation.json()["metadata"]["@type"].endswith("DeleteOperationMetadata")
    again = client.delete(f"/v1/{source}@2:deleteVersion")  # pending: the same operation
    assert again.json()["name"] == operation.json()["name"]
    emulator.advance(5)
    assert _get(client, operation.json()["name"])["done"] is True
    assert_error(client.get(f"/v1/{source}@2"), 404, "NOT_FOUND")
    assert _get(client, f"{source}@1")["versionId"] == "1"  # the source's version stays
    assert [m["versionId"] for m in client.get(f"/v1/{source}:listVersions").json()["models"]] == ["1"]
    # The job keeps naming its (deleted) version; the next version is 3, never 2 again.
    assert _get(client, second["name"])["tunedModel"]["model"] == f"{source}@2"
    third = _continue(emulator, client, create_job, source, epochs=1)
    assert third["tunedModel"]["model"] == f"{source}@3"


def test_merge_version_aliases_moves_the_default(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, source: str
) -> None:
    first = _get(client, client.get(f"/v1/{source}:listVersions").json()["models"][0]["name"])
    _continue(emulator, client, create_job, source)
    merged = client.post(
        f"/v1/{source}@2:mergeVersionAliases", json={"versionAliases": ["default", "golden"]}
    )
    assert merged.status_code == 200, merged.text
    assert (merged.json()["versionId"], merged.json()["versionAliases"]) == ("2", ["default", "golden"])
    assert _get(client, source)["versionId"] == "2"  # the default version moved
    assert _get(client, f"{source}@golden")["versionId"] == "2"
    assert _get(client, f"{source}@1")["versionAliases"] == []
    assert first["versionAliases"] == ["default"]
    removed = client.post(f"/v1/{source}@2:mergeVersionAliases", json={"versionAliases": ["-golden"]})
    assert removed.json()["versionAliases"] == ["default"]
    for bad in (["-default"], ["Golden"], ["12"], []):
        error = assert_error(
            client.post(f"/v1/{source}@2:mergeVersionAliases", json={"versionAliases": bad}),
            400,
            "INVALID_ARGUMENT",
        )
        assert violated_fields(error) == ["version_aliases"]
    # Version 1 is no longer the default: it can be deleted once undeployed.
    source_job = client.get("/v1/projects/p/locations/us-central1/tuningJobs").json()["tuningJobs"][0]
    _undeploy_all(emulator, client, source_job)
    assert client.delete(f"/v1/{source}@1:deleteVersion").status_code == 200
    emulator.advance(5)
    assert [m["versionId"] for m in client.get(f"/v1/{source}:listVersions").json()["models"]] == ["2"]


def test_models_delete_deletes_every_version_and_is_refused_while_one_is_deployed(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, source: str
) -> None:
    second = _continue(emulator, client, create_job, source)
    source_job = client.get("/v1/projects/p/locations/us-central1/tuningJobs").json()["tuningJobs"][0]
    _undeploy_all(emulator, client, source_job)
    assert_error(client.delete(f"/v1/{source}"), 400, "FAILED_PRECONDITION", contains="deployed")
    _undeploy_all(emulator, client, second)
    assert client.delete(f"/v1/{source}").status_code == 200
    emulator.advance(5)
    for name in (source, f"{source}@1", f"{source}@2"):
        assert_error(client.get(f"/v1/{name}"), 404, "NOT_FOUND")
    assert_error(client.get(f"/v1/{source}:listVersions"), 404, "NOT_FOUND")
    # A deleted model cannot be continued.
    gone = create_job(baseModel=None, preTunedModel={"tunedModelName": f"{source}@2"})
    assert_error(gone, 404, "NOT_FOUND")


def test_a_job_continuing_a_missing_version_or_alias_is_refused(
    client: httpx.Client, create_job: CreateJob, source: str
) -> None:
    for name in (f"{source}@2", f"{source}@golden"):
        assert_error(create_job(baseModel=None, preTunedModel={"tunedModelName": name}), 404, "NOT_FOUND")
    ok = create_job(baseModel=None, preTunedModel={"tunedModelName": f"{source}@default"})
    assert ok.status_code == 200, ok.text


def test_a_global_jobs_model_lives_in_its_region_only(
    emulator: Emulator, client: httpx.Client, gcs: Callable[..., str]
) -> None:
    body = {
        "baseModel": "qwen/qwen3-5@qwen3.5-9b",
        "supervisedTuningSpec": {"trainingDatasetUri": gcs(), "tuningMode": "TUNING_MODE_PEFT_ADAPTER"},
        "outputUri": "gs://tuneport-test/out",
    }
    created = client.post("/v1beta1/projects/p/locations/global/tuningJobs", json=body)
    assert created.status_code == 200, created.text
    emulator.advance(DONE)
    model = _get(client, created.json()["name"], "v1beta1")["tunedModel"]["model"]
    model_id = model.split("/models/", 1)[1].removesuffix("@1")
    assert "/locations/us-central1/models/" in model
    assert _get(client, f"projects/p/locations/us-central1/models/{model_id}")["versionId"] == "1"
    assert_error(client.get(f"/v1/projects/p/locations/global/models/{model_id}"), 404, "NOT_FOUND")
    assert client.get("/v1/projects/p/locations/global/models").json() == {}
    listed = client.get("/v1/projects/p/locations/us-central1/models").json()["models"]
    assert [m["name"].rsplit("/", 1)[1] for m in listed] == [model_id]


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")
def test_the_gapic_model_service_reads_lists_merges_and_deletes_versions(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, source: str
) -> None:
    """google-cloud-aiplatform's ModelServiceClient (REST transport) builds each URL and parses each reply."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform_v1

    second = _continue(emulator, client, create_job, source)
    gapic = aiplatform_v1.ModelServiceClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=emulator.url),
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )
    versions = list(gapic.list_model_versions(name=source))
    assert [(m.name, m.version_id) for m in versions] == [(f"{source}@1", "1"), (f"{source}@2", "2")]
    assert gapic.get_model(name=f"{source}@2").version_create_time > versions[0].version_create_time
    merged = gapic.merge_version_aliases(name=f"{source}@2", version_aliases=["golden"])
    assert list(merged.version_aliases) == ["golden"]
    assert gapic.get_model(name=f"{source}@golden").version_id == "2"
    _undeploy_all(emulator, client, second)
    deleting = gapic.delete_model_version(name=f"{source}@2")
    assert deleting.operation.name.startswith(f"{source}/operations/")
    emulator.advance(5)
    # (The GAPIC operations client polls /ui/{name}, a binding the emulator does not serve: read it on v1.)
    assert _get(client, deleting.operation.name)["done"] is True
    assert [m.version_id for m in gapic.list_model_versions(name=source)] == ["1"]


def test_versions_and_moved_aliases_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    parent = "projects/p/locations/us-central1"
    with Emulator(clock=EmulatorClock.manual(), state=path) as first:
        stage_numbers_jsonl(first.url)
        source = first.seed_vertex_job({"baseModel": "gemini-2.5-flash"}, parent=parent)
        model = source["tunedModel"]["model"].removesuffix("@1")
        body = {
            "preTunedModel": {"tunedModelName": model},
            "supervisedTuningSpec": {"trainingDatasetUri": "gs://tuneport-clients/train.jsonl"},
        }
        created = httpx.post(f"{first.url}/v1/{parent}/tuningJobs", json=body)
        assert created.status_code == 200, created.text
        first.advance(DONE)
        merged = httpx.post(
            f"{first.url}/v1/{model}@2:mergeVersionAliases", json={"versionAliases": ["default"]}
        )
        assert merged.status_code == 200, merged.text
        before = httpx.get(f"{first.url}/v1/{model}:listVersions").json()
    with Emulator(clock=EmulatorClock.manual(), state=path) as second:
        assert httpx.get(f"{second.url}/v1/{model}:listVersions").json() == before
        assert [m["versionAliases"] for m in before["models"]] == [[], ["default"]]
        assert httpx.get(f"{second.url}/v1/{model}").json()["versionId"] == "2"
