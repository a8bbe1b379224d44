"""Preference tuning, distillation and full fine-tuning on the Vertex surface (#16).

Each method is a member of ``TuningJob``'s ``tuning_spec`` oneof; v1 knows
``preferenceOptimizationSpec`` but not ``distillationSpec`` (refused as ESF
refuses an unknown field); data is checked by each method's rules and a
job whose data breaks them fails as a supervised one does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_helpers import (
    assert_error,
    preference_jsonl,
    preference_line,
    prompts_jsonl,
    violated_fields,
)

from tuneport_emulator import Emulator

PARENT = "projects/p/locations/us-central1"
CreateJob = Callable[..., httpx.Response]
#: Long enough for any job of these tests to succeed (the manual clock moves only when told).
DONE = 3600


def _get(client: httpx.Client, name: str, version: str = "v1beta1") -> dict[str, Any]:
    reply = client.get(f"/{version}/{name}")
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def _ask(client: httpx.Client, endpoint: str, text: str) -> str:
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    reply = client.post(f"/v1/{endpoint}:generateContent", json=body)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["candidates"][0]["content"]["parts"][0]["text"])


def _preference(gcs: Callable[..., str], data: bytes | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": None,
        "preferenceOptimizationSpec": {
            "trainingDatasetUri": gcs(preference_jsonl() if data is None else data, name="pref.jsonl"),
            **spec,
        },
    }


def _distillation(gcs: Callable[..., str], **spec: Any) -> dict[str, Any]:
    return {
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": None,
        "distillationSpec": {
            "baseTeacherModel": "gemini-3.1-pro",
            "promptDatasetUri": gcs(prompts_jsonl(), name="prompts.jsonl"),
            **spec,
        },
    }


# --- preference tuning ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_a_preference_job_runs_to_a_model_that_gives_the_preferred_answers(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str], version: str
) -> None:
    fields = _preference(
        gcs, hyperParameters={"epochCount": 2, "beta": 0.2, "adapterSize": "ADAPTER_SIZE_EIGHT"}
    )
    created = create_job(version, **fields)
    assert created.status_code == 200, created.text
    job = created.json()
    assert "supervisedTuningSpec" not in job
    spec = job["preferenceOptimizationSpec"]
    assert spec["hyperParameters"] == {
        "epochCount": "2",
        "beta": 0.2,
        "adapterSize": "ADAPTER_SIZE_EIGHT",
        "learningRateMultiplier": 1.0,
    }
    emulator.advance(DONE)
    done = _get(client, job["name"], version)
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    stats = done["tuningDataStats"]
    assert set(stats) == {"preferenceOptimizationDataStats"}
    pref = stats["preferenceOptimizationDataStats"]
    assert pref["tuningDatasetExampleCount"] == "5"
    assert pref["tuningStepCount"] == "3"  # ceil(5 x 2 / 4)
    assert int(pref["totalBillableTokenCount"]) > 0
    assert pref["scoresDistribution"]["mean"] == 0.5  # one 1 and one 0 per example
    assert pref["scoreVariancePerExampleDistribution"]["max"] == 0.25
    assert pref["userDatasetExamples"][0]["completions"][0]["score"] == 1
    assert _ask(client, done["tunedModel"]["endpoint"], "IV") == "V"  # the preferred answer, not "IV"
    model = _get(client, done["tunedModel"]["model"].split("@")[0])
    assert model["labels"]["tune-type"] == "dpo"
    if version == "v1":
        assert "tuningJobState" not in done
        assert "tuningJobMetadata" not in done


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ({"contents": [{"role": "user", "parts": [{"text": "q"}]}]}, "completions", "needs 'completions'"),
        (
            {**preference_line("q", "a", "b"), "contents": [{"role": "model", "parts": [{"text": "q"}]}]},
            "contents[0].role",
            "must be 'user'",
        ),
        (
            {
                **preference_line("q", "a", "b"),
                "completions": preference_line("q", "a", "b")["completions"][:1],
            },
            "completions",
            "exactly two",
        ),
        (
            {
                **preference_line("q", "a", "b"),
                "completions": [
                    {"completion": {"role": "model", "parts": [{"text": "a"}]}, "score": 1},
                    {"completion": {"role": "model", "parts": [{"text": "b"}]}, "score": 1},
                ],
            },
            "completions",
            "one preferred (score 1) and one dispreferred (score 0)",
        ),
        (
            {
                **preference_line("q", "a", "b"),
                "completions": [
                    {"completion": {"role": "model", "parts": [{"text": "a"}]}, "score": 0.5},
                    {"completion": {"role": "model", "parts": [{"text": "b"}]}, "score": 0},
                ],
            },
            "completions[0].score",
            "0 (dispreferred) or 1",
        ),
        (
            {
                **preference_line("q", "a", "b"),
                "completions": [
                    {"completion": {"role": "user", "parts": [{"text": "a"}]}, "score": 1},
                    {"completion": {"role": "model", "parts": [{"text": "b"}]}, "score": 0},
                ],
            },
            "completions[0].completion.role",
            "model turn",
        ),
        (
            {
                "contents": [
                    {
                        "role": "user",
                        "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "gs://b/i.png"}}],
                    }
                ],
                "completions": preference_line("q", "a", "b")["completions"],
            },
            "contents[0].parts[0]",
            "text only",
        ),
        (preference_line("q" * 600_000, "a", "b"), None, "at most 131,072"),
    ],
)
def test_preference_data_that_breaks_the_rules_fails_the_job(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    line: dict[str, Any],
    field: str | None,
    words: str,
) -> None:
    good = preference_jsonl().decode()
    data = (good + json.dumps(line) + "\n").encode()
    job = create_job(**_preference(gcs, data)).json()
    emulator.advance(16)
    failed = _get(client, job["name"])
    assert failed["state"] == "JOB_STATE_FAILED"
    assert failed["error"]["code"] == 3  # INVALID_ARGUMENT, as for supervised data
    message = failed["error"]["message"]
    assert "line 6" in message
    if field is not None:
        assert f"field {field}:" in message, message
    assert words in message, message


def test_supervised_data_is_not_preference_data(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    vertex_jsonl: Any,
) -> None:
    job = create_job(**_preference(gcs, vertex_jsonl())).json()
    emulator.advance(16)
    failed = _get(client, job["name"])
    assert failed["state"] == "JOB_STATE_FAILED"
    assert "line 1" in failed["error"]["message"]


def test_a_preference_validation_set_over_1000_rows_is_at_most_30_percent(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    rows = [(f"q{i}", f"a{i}", f"b{i}") for i in range(1_001)]
    fields = _preference(gcs, preference_jsonl(rows[:1_000] * 3))  # 3,000 training rows: 30% is 900
    fields["preferenceOptimizationSpec"]["validationDatasetUri"] = gcs(
        preference_jsonl(rows), name="val.jsonl"
    )
    job = create_job(**fields).json()
    emulator.advance(16)
    failed = _get(client, job["name"])
    assert failed["state"] == "JOB_STATE_FAILED"
    assert "at most 30%" in failed["error"]["message"]
    fields["preferenceOptimizationSpec"]["validationDatasetUri"] = gcs(
        preference_jsonl(rows[:900]), name="val.jsonl"
    )
    fine = create_job(**fields).json()
    emulator.advance(16)
    assert _get(client, fine["name"])["state"] == "JOB_STATE_PENDING"


def test_preference_hyperparameters_are_checked(create_job: CreateJob, gcs: Callable[..., str]) -> None:
    error = assert_error(
        create_job(**_preference(gcs, hyperParameters={"beta": -1})), 400, "INVALID_ARGUMENT", contains="beta"
    )
    assert violated_fields(error) == ["tuning_job.preference_optimization_spec.hyper_parameters.beta"]
    error = assert_error(
        create_job(**_preference(gcs, hyperParameters={"epochCount": 0})), 400, "INVALID_ARGUMENT"
    )
    assert violated_fields(error) == ["tuning_job.preference_optimization_spec.hyper_parameters.epoch_count"]


def test_preference_is_refused_for_a_model_google_does_not_list(
    create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    fields = {**_preference(gcs), "baseModel": "gemini-2.0-flash-001"}
    error = assert_error(
        create_job(**fields), 400, "INVALID_ARGUMENT", contains="not supported for gemini-2.0"
    )
    assert violated_fields(error) == ["tuning_job.preference_optimization_spec"]


def test_exactly_one_tuning_spec(
    client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    both = {**_preference(gcs), "supervisedTuningSpec": {"trainingDatasetUri": gcs()}}
    assert_error(create_job(**both), 400, "INVALID_ARGUMENT", contains="oneof")
    error = assert_error(
        create_job(supervisedTuningSpec=None), 400, "INVALID_ARGUMENT", contains="tuning spec"
    )
    assert violated_fields(error) == ["tuning_job.tuning_spec"]


# --- distillation -----------------------------------------------------------------------------------


def test_v1_refuses_a_distillation_spec_as_an_unknown_field(
    create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    assert_error(
        create_job("v1", **_distillation(gcs)),
        400,
        "INVALID_ARGUMENT",
        contains='Unknown name "distillationSpec"',
    )


def test_a_distillation_job_makes_ten_intermediate_checkpoints_with_endpoints(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    fields = _distillation(gcs, hyperParameters={"epochCount": 3, "sftLossWeightMultiplier": 0.5})
    created = create_job(**fields)
    assert created.status_code == 200, created.text
    job = created.json()
    assert job["distillationSpec"]["hyperParameters"]["sftLossWeightMultiplier"] == 0.5  # genai sends it
    emulator.advance(DONE)
    done = _get(client, job["name"])
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    checkpoints = done["tunedModel"]["checkpoints"]
    assert [c["checkpointId"] for c in checkpoints] == [str(i) for i in range(1, 12)]
    steps = [int(c["step"]) for c in checkpoints]
    assert steps == sorted(set(steps))
    assert steps[-1] == 15  # 5 prompts x 3 epochs, one a step
    endpoints = [c["endpoint"] for c in checkpoints]
    assert len(set(endpoints)) == 11
    assert endpoints[-1] == done["tunedModel"]["endpoint"]
    stats = done["tuningDataStats"]["distillationDataStats"]["trainingDatasetStats"]
    assert stats["tuningDatasetExampleCount"] == "5"
    assert stats["tuningStepCount"] == "15"
    # A base teacher is not served by the emulator: it echoes, and the student learned that.
    assert _ask(client, done["tunedModel"]["endpoint"], "twenty two") == "twenty two"
    # An early checkpoint has seen fewer prompts than the final model.
    assert _ask(client, endpoints[0], "IV") == "1"
    assert _ask(client, endpoints[-1], "IV") == "IV"
    v1 = client.get(f"/v1/{job['name']}").json()
    assert "distillationSpec" not in v1
    assert "tuningDataStats" not in v1


def test_a_tuned_teacher_answers_for_the_student(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    teacher = create_job().json()
    emulator.advance(DONE)
    teacher_model = _get(client, teacher["name"])["tunedModel"]["model"]
    fields = _distillation(gcs, baseTeacherModel=None, tunedTeacherModelSource=teacher_model)
    fields["distillationSpec"] = {k: v for k, v in fields["distillationSpec"].items() if v is not None}
    job = create_job(**fields)
    assert job.status_code == 200, job.text
    emulator.advance(DONE)
    done = _get(client, job.json()["name"])
    assert _ask(client, done["tunedModel"]["endpoint"], "IV") == "V"  # what the teacher answers
    missing = {
        **fields["distillationSpec"],
        "tunedTeacherModelSource": "projects/p/locations/us-central1/models/9",
    }
    assert_error(create_job(supervisedTuningSpec=None, distillationSpec=missing), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ({"baseTeacherModel": None}, "tuning_job.distillation_spec.teacher_model", "teacher is required"),
        ({"baseTeacherModel": "llama-3"}, "tuning_job.distillation_spec.base_teacher_model", "not a Gemini"),
        ({"promptDatasetUri": None}, "tuning_job.distillation_spec.prompt_dataset_uri", "is required"),
        ({"tuningMode": "TUNING_MODE_FULL"}, "tuning_job.distillation_spec.tuning_mode", "open models"),
    ],
)
def test_distillation_create_checks(
    create_job: CreateJob, gcs: Callable[..., str], spec: dict[str, Any], field: str, words: str
) -> None:
    fields = _distillation(gcs, **spec)
    fields["distillationSpec"] = {k: v for k, v in fields["distillationSpec"].items() if v is not None}
    error = assert_error(create_job(**fields), 400, "INVALID_ARGUMENT", contains=words)
    assert violated_fields(error) == [field]


def test_distillation_runs_in_us_central1_only(client: httpx.Client, gcs: Callable[..., str]) -> None:
    body = _distillation(gcs)
    del body["supervisedTuningSpec"]
    reply = client.post("/v1beta1/projects/p/locations/europe-west4/tuningJobs", json=body)
    assert_error(reply, 400, "INVALID_ARGUMENT", contains="us-central1")


def test_distillation_prompts_are_checked(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    vertex_jsonl: Any,
) -> None:
    fields = _distillation(gcs)
    fields["distillationSpec"]["promptDatasetUri"] = gcs(vertex_jsonl(), name="answers.jsonl")
    job = create_job(**fields).json()
    emulator.advance(16)
    failed = _get(client, job["name"])
    assert failed["state"] == "JOB_STATE_FAILED"
    assert "must be 'user'" in failed["error"]["message"]


# --- full fine-tuning ---------------------------------------------------------------------------------


def test_full_fine_tuning_is_for_open_models(create_job: CreateJob, gcs: Callable[..., str]) -> None:
    fields = {"supervisedTuningSpec": None, "fullFineTuningSpec": {"trainingDatasetUri": gcs()}}
    error = assert_error(create_job(**fields), 400, "INVALID_ARGUMENT", contains="open models")
    assert violated_fields(error) == ["tuning_job.full_fine_tuning_spec"]
    assert_error(
        create_job("v1", **fields), 400, "INVALID_ARGUMENT", contains='Unknown name "fullFineTuningSpec"'
    )


# --- metrics -------------------------------------------------------------------------------------------


def test_a_preference_job_writes_its_loss_series_like_a_supervised_one(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    from test_vertex_metrics import _chain, _export_all

    fields = _preference(gcs, hyperParameters={"epochCount": 2})
    fields["preferenceOptimizationSpec"]["validationDatasetUri"] = gcs(preference_jsonl(), name="val.jsonl")
    job = create_job(**fields).json()
    emulator.advance(DONE)
    _, _, series = _chain(client, job["name"])
    names = sorted(s["displayName"] for s in series)
    assert names == sorted(
        [
            "/train_total_loss", "/train_fraction_of_correct_next_step_preds", "/train_num_predictions",
            "/eval_total_loss", "/eval_fraction_of_correct_next_step_preds", "/eval_num_predictions",
        ]
    )  # fmt: skip
    loss = next(s for s in series if s["displayName"] == "/train_total_loss")
    points = _export_all(client, loss["name"])
    assert [p["step"] for p in points] == ["1", "2", "3"]
    assert points[-1]["scalar"]["value"] < points[0]["scalar"]["value"]
