"""Issue #16 end to end against the embedded emulator, through the sync and the async client.

Preference and distillation jobs, continuous tuning (Google's DPO recipe:
SFT, then preference tuning from the SFT job's checkpoint), checkpoints and
the default one, a checkpoint called, evaluation results on the job, an open
model tuned on ``global``, ``delete`` removing every checkpoint's endpoint,
and the API version each request takes without configuring one.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx

import tuneport
from tuneport.models import DetailState, JobState, TuningJob, TuningMethod
from tuneport_emulator import Emulator

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # api_core's Python-version FutureWarning
    from google.cloud import aiplatform_v1

from google.protobuf import json_format

BASE = "gemini-2.5-flash"
TEACHER = "gemini-3.1-pro"
PAIRS = [("1", "2"), ("3", "4"), ("IV", "V"), ("7", "8")]
PREFERENCES = [{"prompt": i, "preferred": o, "rejected": "0"} for i, o in PAIRS]
PROMPTS = [i for i, _ in PAIRS]
OPEN_MODEL = "qwen/qwen3-5@qwen3.5-9b"


def creates(emulator: Emulator) -> list[dict[str, Any]]:
    """The create requests the emulator saw: path and body."""
    return [
        {"path": e["path"], "body": e["body"]}
        for e in emulator.requests()
        if e["method"] == "POST" and str(e["path"]).endswith("/tuningJobs")
    ]


def reads(emulator: Emulator) -> list[str]:
    """The paths of the tuning-job reads (get and list)."""
    return [
        str(e["path"])
        for e in emulator.requests()
        if e["method"] == "GET" and "/tuningJobs" in str(e["path"])
    ]


async def test_a_preference_job_runs_and_reads_back_as_one(api: Any, emulator: Emulator) -> None:
    job = await api.create(
        method="preference", base_model=BASE, training_data=PREFERENCES, beta=0.2, epoch_count=2
    )
    assert job.method is TuningMethod.PREFERENCE
    (sent,) = creates(emulator)
    assert sent["path"].startswith("/v1/")  # preference tuning is in v1
    assert sent["body"]["preferenceOptimizationSpec"]["hyperParameters"]["beta"] == 0.2
    done = await api.wait(job.id)
    assert done.state is JobState.SUCCEEDED
    assert done.method is TuningMethod.PREFERENCE
    assert done.hyperparameters.beta == 0.2
    assert done.hyperparameters.epoch_count == 2
    assert [c.epoch for c in done.checkpoints] == [1, 2]
    assert done.data_stats


async def test_the_dpo_recipe_continues_preference_tuning_from_the_sft_checkpoint(
    api: Any, emulator: Emulator
) -> None:
    """SFT on the preferred answers, then preference tuning "from the checkpoint produced from step 1"."""
    sft = await api.wait((await api.create(base_model=BASE, training_data=PAIRS, epoch_count=3)).id)
    assert [c.id for c in sft.checkpoints] == ["1", "2", "3"]
    dpo = await api.create(
        method="preference", tuned_model=sft.id, checkpoint="2", training_data=PREFERENCES, beta=0.1
    )
    body = creates(emulator)[-1]["body"]
    assert body["preTunedModel"] == {"tunedModelName": sft.tuned_model, "checkpointId": "2"}
    assert "baseModel" not in body  # the service takes it from the tuned model
    assert (dpo.source_model, dpo.source_checkpoint, dpo.base_model) == (sft.tuned_model, "2", BASE)
    done = await api.wait(dpo.id)
    assert done.state is JobState.SUCCEEDED
    assert done.source_model == sft.tuned_model
    # The same, from the job object and its tuned model's name (read back for its base).
    again = await api.create(method="preference", base_model=sft, training_data=PREFERENCES)
    assert again.source_model == sft.tuned_model
    by_name = await api.create(method="preference", tuned_model=sft.tuned_model, training_data=PREFERENCES)
    assert (by_name.source_model, by_name.base_model) == (sft.tuned_model, BASE)


async def test_a_distillation_job_learns_from_its_teacher_and_delete_removes_every_checkpoint_endpoint(
    api: Any, emulator: Emulator, http: httpx.Client
) -> None:
    job = await api.create(
        method="distillation", base_model=BASE, teacher_model=TEACHER, training_data=PROMPTS, epoch_count=2
    )
    (sent,) = creates(emulator)
    assert sent["path"].startswith("/v1beta1/")  # distillationSpec is v1beta1 only
    assert sent["body"]["distillationSpec"]["baseTeacherModel"] == TEACHER
    assert sent["body"]["distillationSpec"]["promptDatasetUri"].startswith("gs://")
    done = await api.wait(job.id)
    assert done.state is JobState.SUCCEEDED
    assert (done.method, done.teacher_model) == (TuningMethod.DISTILLATION, TEACHER)
    endpoints = {c.endpoint for c in done.checkpoints if c.endpoint}
    assert len(endpoints) == len(done.checkpoints) > 1  # every checkpoint is served
    assert await api.delete(job.id) is True
    for endpoint in [*sorted(endpoints), str(done.tuned_model).split("@")[0]]:
        assert http.get(f"/v1/{endpoint}").status_code == 404, endpoint


async def test_checkpoints_the_default_one_and_calling_one(api: Any, emulator: Emulator) -> None:
    job = await api.wait((await api.create(base_model=BASE, training_data=PAIRS, epoch_count=3)).id)
    assert job.default_checkpoint is not None
    assert job.default_checkpoint.id == "3"  # the last, served by the tuned model's endpoint
    assert [c.id for c in await api.checkpoints(job.id)] == ["1", "2", "3"]
    emulator.store.clear_requests()
    changed = await api.set_default_checkpoint(job.id, "1")
    patches = [e for e in emulator.requests() if e["method"] == "PATCH"]
    assert [(p["path"], p["query"]["updateMask"]) for p in patches] == [
        (f"/v1/{job.tuned_model}", ["defaultCheckpointId"])
    ]
    json_format.ParseDict(patches[0]["body"], aiplatform_v1.types.Model.pb()(), ignore_unknown_fields=False)
    assert [c.is_default for c in changed.checkpoints] == [True, False, False]
    assert (await api.get(job.id)).default_checkpoint.id == "1"
    (listed,) = [j for j in await api.list_all() if j.id == job.id]
    assert listed.default_checkpoint.id == "1"  # list reads it from the models it lists anyway
    first = job.checkpoint("1")
    emulator.store.clear_requests()
    answer = await api.generate(job.id, "IV", checkpoint="1")
    assert answer.text
    assert any(str(e["path"]) == f"/v1/{first.endpoint}:generateContent" for e in emulator.requests())


async def test_the_evaluation_results_are_on_the_job(api: Any) -> None:
    job = await api.create(
        base_model=BASE,
        training_data=PAIRS,
        validation_data=PAIRS[:1],  # Vertex takes at most 25% of the training bytes
        epoch_count=2,
        evaluation={
            "metrics": ["bleu", "exact_match", "rouge_l"],
            "output_uri": "gs://tuneport-staging/eval",
        },
    )
    done = await api.wait(job.id)
    assert [run.checkpoint_id for run in done.evaluations] == ["1", "2"]
    for run in done.evaluations:
        assert set(run.metrics) == {"bleu", "exact_match", "rouge_l"}
        assert all(0.0 <= value <= 1.0 for value in run.metrics.values())
        assert run.error is None


async def test_an_open_model_tunes_on_global_with_its_output_uri(
    client_settings: Any, emulator: Emulator
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        async with tuneport.connect_async(**client_settings(location="global")) as client:
            job = await client.create(
                base_model=OPEN_MODEL,
                training_data=PAIRS,
                tuning_mode="full",
                output_uri="gs://tuneport-staging/open-model",
                batch_size=4,
                learning_rate=0.0002,
                epoch_count=1,
            )
            (sent,) = creates(emulator)
            assert sent["path"] == "/v1beta1/projects/tuneport-test/locations/global/tuningJobs"
            assert sent["body"]["outputUri"] == "gs://tuneport-staging/open-model"
            assert sent["body"]["supervisedTuningSpec"]["tuningMode"] == "TUNING_MODE_FULL"
            done = await client.wait(job.id)
    assert done.state is JobState.SUCCEEDED
    assert done.hyperparameters.given() == {"epoch_count": 1, "batch_size": 4, "learning_rate": 0.0002}
    assert done.tuned_model is not None


async def test_detail_state_shows_by_default_and_a_forced_v1_reads_v1(
    client_settings: Any, emulator: Emulator
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tuneport.connect(**client_settings()) as client:
            job = client.create(base_model=BASE, training_data=PAIRS, epoch_count=2)
            assert client.get(job.id).detail_state is DetailState.PROCESSING_DATASET
            assert all(path.startswith("/v1beta1/") for path in reads(emulator))
        emulator.store.clear_requests()
        with tuneport.connect(**client_settings(api_version="v1")) as client:
            assert client.get(job.id).detail_state is None  # v1 has no tuningJobState
            assert [path.split("/")[1] for path in reads(emulator)] == ["v1"]
            assert isinstance(client.get(job.id), TuningJob)


def test_a_tuned_models_name_resolves_to_its_base_and_checkpoints(client_settings: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tuneport.connect(**client_settings()) as client:
            job = client.wait(client.create(base_model=BASE, training_data=PAIRS, epoch_count=2).id)
            ref = client._run(client.backend.resolve_tuned_model(str(job.tuned_model)), None, None)
    assert ref.model == job.tuned_model
    assert ref.base_model == BASE  # from the job named by the model's tuning label
    assert ref.job_id == job.id
    assert [(c.id, c.is_default) for c in ref.checkpoints] == [("1", False), ("2", True)]
    assert json.dumps(ref.model_dump(mode="json"))


async def test_deleting_the_source_job_keeps_the_version_a_continued_job_made(api: Any) -> None:
    """Reproduction: a continued job without a display name of its own makes version 2 of its
    source's model; deleting the source job then sent ``deleteVersion`` for the ``default``
    version, which Vertex refuses (after the endpoints were already gone)."""
    sft = await api.wait((await api.create(base_model=BASE, training_data=PAIRS, epoch_count=2)).id)
    more = await api.wait((await api.create(tuned_model=sft.id, training_data=PAIRS)).id)
    assert more.tuned_model == sft.tuned_model.replace("@1", "@2")
    assert await api.delete(sft.id) is True
    kept = await api.get(more.id)
    assert kept.tuned_model == more.tuned_model
    assert (await api.generate(more.id, "3")).text
    assert await api.delete(more.id) is True
    assert await api.list_all() == []
