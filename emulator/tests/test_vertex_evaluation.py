"""``evaluationConfig`` and ``evaluateDatasetRuns``: the evaluation a succeeded job carries (#16)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error, preference_jsonl, violated_fields

from tuneport_emulator import Emulator
from tuneport_emulator.vertex.evaluation import aggregate
from tuneport_emulator.vertex.text_metrics import bleu, exact_match, rouge

CreateJob = Callable[..., httpx.Response]
OUTPUT = {"gcsDestination": {"outputUriPrefix": "gs://tuneport-test/eval/"}}
SPEC = "tuning_job.supervised_tuning_spec.evaluation_config"


def _config(*metrics: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"metrics": list(metrics), "outputConfig": OUTPUT, **more}


def _job(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    spec: dict[str, Any],
    key: str = "supervisedTuningSpec",
) -> dict[str, Any]:
    created = create_job(**{"supervisedTuningSpec": None, key: spec})
    assert created.status_code == 200, created.text
    emulator.advance(3600)
    done = client.get(f"/v1/{created.json()['name']}").json()
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    return done  # type: ignore[no-any-return]


def test_each_checkpoint_is_evaluated_on_the_validation_set(
    emulator: Emulator,
    client: httpx.Client,
    create_job: CreateJob,
    gcs: Callable[..., str],
    vertex_jsonl: Any,
) -> None:
    validation = gcs(
        vertex_jsonl([("IV", "V"), ("3", "five"), ("twenty two", "twenty four")]), name="val.jsonl"
    )
    config = _config(
        {"exactMatchSpec": {}, "aggregationMetrics": ["AVERAGE", "MAXIMUM"]},
        {"bleuSpec": {}},
        {"rougeSpec": {"rougeType": "rougeL"}},
        {"pointwiseMetricSpec": {"metricPromptTemplate": "Rate {response}"}},
        autoraterConfig={"autoraterModel": "gemini-2.5-pro", "samplingCount": 4, "flipEnabled": True},
    )
    spec = {
        "trainingDatasetUri": gcs(),
        "validationDatasetUri": validation,
        "hyperParameters": {"epochCount": 2},
        "evaluationConfig": config,
    }
    done = _job(emulator, client, create_job, spec)
    runs = done["evaluateDatasetRuns"]
    assert [r["checkpointId"] for r in runs] == ["1", "2"]
    assert len({r["evaluationRun"] for r in runs}) == 2
    assert all(
        r["evaluationRun"].startswith("projects/199785239448/locations/us-central1/evaluationRuns/")
        for r in runs
    )
    response = runs[-1]["evaluateDatasetResponse"]
    run_id = runs[-1]["evaluationRun"].rsplit("/", 1)[1]
    assert response["outputInfo"] == {"gcsOutputDirectory": f"gs://tuneport-test/eval/{run_id}"}
    output = response["aggregationOutput"]
    assert output["dataset"] == {"gcsSource": {"uris": [validation]}}
    results = output["aggregationResults"]
    # The model answers "V", "4" and "twenty three": one exact match in three.
    assert results[0] == {"aggregationMetric": "AVERAGE", "exactMatchMetricValue": {"score": 0.333333}}
    assert results[1] == {"aggregationMetric": "MAXIMUM", "exactMatchMetricValue": {"score": 1.0}}
    assert results[2]["aggregationMetric"] == "AVERAGE"
    assert 0 < results[2]["bleuMetricValue"]["score"] < 1
    assert results[3]["rougeMetricValue"]["score"] == 0.5  # (1 + 0 + 1/2) / 3
    assert results[4]["pointwiseMetricResult"]["score"] == 3.0  # the autorater stand-in: 1 + 4 x ROUGE-L


def test_without_a_validation_set_the_training_examples_are_evaluated(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    spec = {
        "trainingDatasetUri": gcs(preference_jsonl(), name="pref.jsonl"),
        "evaluationConfig": _config({"exactMatchSpec": {}}),
    }
    done = _job(emulator, client, create_job, spec, key="preferenceOptimizationSpec")
    runs = done["evaluateDatasetRuns"]
    assert len(runs) == 5  # one per epoch
    for run in runs:
        (result,) = run["evaluateDatasetResponse"]["aggregationOutput"]["aggregationResults"]
        assert result["exactMatchMetricValue"]["score"] == 1.0  # the preferred answers, learned


def test_pairwise_metrics_end_in_an_error_per_run(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    spec = {
        "trainingDatasetUri": gcs(),
        "hyperParameters": {"epochCount": 1},
        "evaluationConfig": _config({"pairwiseMetricSpec": {"metricPromptTemplate": "Which is better?"}}),
    }
    (run,) = _job(emulator, client, create_job, spec)["evaluateDatasetRuns"]
    assert run["error"]["code"] == 12
    assert "evaluateDatasetResponse" not in run


def test_no_runs_before_success(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    spec = {"trainingDatasetUri": gcs(), "evaluationConfig": _config({"bleuSpec": {}})}
    job = create_job(supervisedTuningSpec=spec).json()
    emulator.advance(40)
    assert "evaluateDatasetRuns" not in client.get(f"/v1/{job['name']}").json()


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"outputConfig": OUTPUT}, f"{SPEC}.metrics", "metrics is required"),
        (
            {"metrics": [{"bleuSpec": {}}]},
            f"{SPEC}.output_config.gcs_destination.output_uri_prefix",
            "required",
        ),
        (
            {"metrics": [{"bleuSpec": {}}], "outputConfig": {"gcsDestination": {"outputUriPrefix": "/tmp"}}},
            f"{SPEC}.output_config.gcs_destination.output_uri_prefix",
            "Cloud Storage",
        ),
        (
            _config({"bleuSpec": {}}, autoraterConfig={"samplingCount": 33}),
            f"{SPEC}.autorater_config.sampling_count",
            "1 and 32",
        ),
        (_config({"aggregationMetrics": ["AVERAGE"]}), f"{SPEC}.metrics[0]", "exactly one metric spec"),
        (
            _config({"bleuSpec": {}, "rougeSpec": {}}),
            f"{SPEC}.metrics[0]",
            "exactly one metric spec",
        ),
        (
            _config({"bleuSpec": {}, "aggregationMetrics": ["MEAN"]}),
            f"{SPEC}.metrics[0].aggregation_metrics",
            "Invalid aggregation metric 'MEAN'",
        ),
        (
            _config({"rougeSpec": {"rougeType": "rougeX"}}),
            f"{SPEC}.metrics[0].rouge_spec.rouge_type",
            "Invalid rouge_type",
        ),
    ],
)
def test_evaluation_config_checks(
    create_job: CreateJob, gcs: Callable[..., str], config: dict[str, Any], field: str, words: str
) -> None:
    spec = {"trainingDatasetUri": gcs(), "evaluationConfig": config}
    error = assert_error(create_job(supervisedTuningSpec=spec), 400, "INVALID_ARGUMENT", contains=words)
    assert violated_fields(error) == [field]


def test_evaluation_runs_in_us_central1_only(client: httpx.Client, gcs: Callable[..., str]) -> None:
    body = {
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": {"trainingDatasetUri": gcs(), "evaluationConfig": _config({"bleuSpec": {}})},
    }
    reply = client.post("/v1/projects/p/locations/europe-west4/tuningJobs", json=body)
    assert_error(reply, 400, "INVALID_ARGUMENT", contains="us-central1")


def test_the_text_metrics() -> None:
    assert exact_match(" V ", "V") == 1.0
    assert exact_match("v", "V") == 0.0
    assert bleu("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(1.0)
    assert bleu("dog", "the cat sat on the mat") == 0.0
    assert 0 < bleu("the cat sat", "the cat sat on the mat") < 1  # brevity penalty
    assert rouge("the cat sat", "the cat sat on the mat") == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert rouge("a b c", "c b a", "rouge1") == 1.0
    assert rouge("a b c", "c b a", "rougeL") == pytest.approx(1 / 3)
    assert aggregate([1.0, 0.0, 0.0, 1.0], "VARIANCE") == 0.25
    assert aggregate([3.0, 1.0, 2.0], "MEDIAN") == 2.0
    assert aggregate([1.0, 2.0, 3.0, 4.0], "PERCENTILE_P90") == 4.0


def test_metrics_as_google_genai_sends_them(
    emulator: Emulator, client: httpx.Client, create_job: CreateJob, gcs: Callable[..., str]
) -> None:
    """snake_case keys, every other spec null, ``rougel`` in lowercase."""
    nulls = {"bleu_spec": None, "exact_match_spec": None, "pointwise_metric_spec": None}
    metric = {**nulls, "rouge_spec": {"rouge_type": "rougel"}, "aggregation_metrics": ["AVERAGE", "MEDIAN"]}
    spec = {
        "trainingDatasetUri": gcs(),
        "hyperParameters": {"epochCount": 1},
        "evaluationConfig": _config(metric),
    }
    (run,) = _job(emulator, client, create_job, spec)["evaluateDatasetRuns"]
    results = run["evaluateDatasetResponse"]["aggregationOutput"]["aggregationResults"]
    assert results == [
        {"aggregationMetric": "AVERAGE", "rougeMetricValue": {"score": 1.0}},
        {"aggregationMetric": "MEDIAN", "rougeMetricValue": {"score": 1.0}},
    ]
