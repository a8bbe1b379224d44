"""``TuningJob`` and ``Model`` replies read into the port's models (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from tuneport.models import Checkpoint, TuningMethod
from tuneport_vertex.wire_reads import base_model_of, job_from, tuned_model_ref

PARENT = "projects/p/locations/us-central1"
MODEL = f"{PARENT}/models/77@1"


def endpoint(number: int) -> str:
    return f"{PARENT}/endpoints/{number}"


def checkpoints(count: int) -> list[dict[str, Any]]:
    """``tunedModel.checkpoints``: one per epoch, each with an endpoint; numbers as strings (int64)."""
    return [
        {"checkpointId": str(n), "epoch": str(n), "step": str(n * 10), "endpoint": endpoint(n)}
        for n in range(1, count + 1)
    ]


def succeeded(**fields: Any) -> dict[str, Any]:
    return {
        "name": f"{PARENT}/tuningJobs/5",
        "state": "JOB_STATE_SUCCEEDED",
        "baseModel": "gemini-2.5-flash",
        **fields,
    }


@pytest.mark.parametrize(
    ("key", "method"),
    [
        ("supervisedTuningSpec", TuningMethod.SUPERVISED),
        ("preferenceOptimizationSpec", TuningMethod.PREFERENCE),
        ("distillationSpec", TuningMethod.DISTILLATION),
        ("fullFineTuningSpec", TuningMethod.SUPERVISED),
    ],
)
def test_the_method_is_the_spec_the_job_holds(key: str, method: TuningMethod) -> None:
    assert job_from(succeeded(**{key: {"trainingDatasetUri": "gs://b-b/t"}})).method is method


def test_a_job_without_a_known_spec_has_no_method() -> None:
    assert job_from(succeeded(veoTuningSpec={})).method is None


def test_preference_hyperparameters_and_stats_are_the_preference_specs() -> None:
    job = job_from(
        succeeded(
            preferenceOptimizationSpec={
                "hyperParameters": {"epochCount": "2", "beta": 0.25, "adapterSize": "ADAPTER_SIZE_EIGHT"}
            },
            tuningDataStats={
                "preferenceOptimizationDataStats": {
                    "tuningStepCount": "12",
                    "tuningDatasetExampleCount": "30",
                }
            },
        )
    )
    assert job.hyperparameters.given() == {"epoch_count": 2, "beta": 0.25, "adapter_size": 8}
    assert job.data_stats == {"tuningStepCount": "12", "tuningDatasetExampleCount": "30"}
    assert job.total_steps == 12


def test_distillation_reads_its_teacher_and_the_steps_of_its_training_dataset() -> None:
    running = {
        **succeeded(
            distillationSpec={
                "baseTeacherModel": "gemini-3.1-pro",
                "promptDatasetUri": "gs://b-b/p",
                "hyperParameters": {"epochCount": "1", "batchSize": "8", "learningRate": 0.001},
            },
            tuningDataStats={"distillationDataStats": {"trainingDatasetStats": {"tuningStepCount": "40"}}},
            tuningJobMetadata={"completedStepCount": "10", "completedEpochCount": "0"},
        ),
        "state": "JOB_STATE_RUNNING",
        "tuningJobState": "TUNING_JOB_STATE_TUNING",
    }
    job = job_from(running)
    assert job.teacher_model == "gemini-3.1-pro"
    assert job.hyperparameters.given() == {"epoch_count": 1, "batch_size": 8, "learning_rate": 0.001}
    assert (job.completed_steps, job.total_steps, job.progress) == (10, 40, 0.25)
    tuned_teacher = job_from(succeeded(distillationSpec={"tunedTeacherModelSource": MODEL}))
    assert tuned_teacher.teacher_model == MODEL


def test_a_continued_job_names_its_source_and_base() -> None:
    job = job_from(
        {
            "name": f"{PARENT}/tuningJobs/6",
            "state": "JOB_STATE_RUNNING",
            "preTunedModel": {"tunedModelName": MODEL, "checkpointId": "2", "baseModel": "gemini-2.5-flash"},
            "preferenceOptimizationSpec": {},
        }
    )
    assert (job.source_model, job.source_checkpoint, job.base_model) == (MODEL, "2", "gemini-2.5-flash")
    assert job.method is TuningMethod.PREFERENCE


def test_checkpoints_in_training_order_the_served_one_is_the_default() -> None:
    # "The main endpoint for the tuned model always points to the default checkpoint."
    job = job_from(
        succeeded(tunedModel={"model": MODEL, "endpoint": endpoint(2), "checkpoints": checkpoints(3)})
    )
    assert [c.id for c in job.checkpoints] == ["1", "2", "3"]
    assert job.checkpoints[0] == Checkpoint(id="1", epoch=1, step=10, endpoint=endpoint(1), is_default=False)
    assert job.default_checkpoint is not None
    assert job.default_checkpoint.id == "2"


def test_the_models_default_checkpoint_wins() -> None:
    data = succeeded(tunedModel={"model": MODEL, "endpoint": endpoint(3), "checkpoints": checkpoints(3)})
    job = job_from(data, default_checkpoint="1")
    assert [c.is_default for c in job.checkpoints] == [True, False, False]


def test_without_a_served_checkpoint_the_last_is_the_default() -> None:
    items = [{"checkpointId": "a", "epoch": 1}, {"checkpointId": "b", "epoch": 2}]
    job = job_from(succeeded(tunedModel={"model": MODEL, "checkpoints": items}))
    assert [(c.id, c.is_default, c.endpoint) for c in job.checkpoints] == [
        ("a", False, None),
        ("b", True, None),
    ]
    assert job_from(succeeded(tunedModel={"model": MODEL})).checkpoints == ()


def test_evaluation_runs_name_their_metrics_after_the_config() -> None:
    config = {
        "metrics": [
            {"bleuSpec": {}, "aggregationMetrics": ["AVERAGE"]},
            {"rougeSpec": {"rougeType": "rougeL"}},
            {"predefinedMetricSpec": {"metricSpecName": "instruction_following_v1"}},
            {"exactMatchSpec": {}, "aggregationMetrics": ["AVERAGE", "STANDARD_DEVIATION"]},
        ]
    }
    results = [
        {"aggregationMetric": "AVERAGE", "bleuMetricValue": {"score": 0.4}},
        {"aggregationMetric": "AVERAGE", "rougeMetricValue": {"score": 0.5}},
        {"aggregationMetric": "AVERAGE", "pointwiseMetricResult": {"score": 4.0}},
        {"aggregationMetric": "AVERAGE", "exactMatchMetricValue": {"score": 0.25}},
        {"aggregationMetric": "STANDARD_DEVIATION", "exactMatchMetricValue": {"score": 0.1}},
    ]
    job = job_from(
        succeeded(
            supervisedTuningSpec={"evaluationConfig": config},
            evaluateDatasetRuns=[
                {
                    "checkpointId": "1",
                    "evaluationRun": f"{PARENT}/evaluationRuns/9",
                    "evaluateDatasetResponse": {"aggregationOutput": {"aggregationResults": results}},
                },
                {"checkpointId": "2", "error": {"code": 12, "message": "pairwise needs a baseline"}},
            ],
        )
    )
    first, second = job.evaluations
    assert first.checkpoint_id == "1"
    assert first.run == f"{PARENT}/evaluationRuns/9"
    assert first.metrics == {
        "bleu": 0.4,
        "rouge_l": 0.5,
        "instruction_following_v1": 4.0,
        "exact_match": 0.25,
        "exact_match.standard_deviation": 0.1,
    }
    assert first.error is None
    assert second.metrics == {}
    assert second.error is not None
    assert (second.error.code, second.error.message) == (12, "pairwise needs a baseline")


def test_a_tuned_model_ref_reads_the_models_checkpoints_and_default() -> None:
    model = {
        "name": "projects/p/locations/us-central1/models/77",
        "defaultCheckpointId": "1",
        "checkpoints": [
            {"checkpointId": "1", "epoch": "1", "step": "5"},
            {"checkpointId": "2", "epoch": "2"},
        ],
        "labels": {"google-vertex-llm-tuning-base-model-id": "gemini-2_5-flash"},
    }
    ref = tuned_model_ref(model, name=MODEL, base_model=base_model_of(model), job_id="5")
    assert ref.model == MODEL
    assert ref.base_model == "gemini-2.5-flash"  # label values hold no dots: they come back
    assert [(c.id, c.is_default) for c in ref.checkpoints] == [("1", True), ("2", False)]
    assert ref.job_id == "5"
    assert base_model_of({"labels": {}}) is None
