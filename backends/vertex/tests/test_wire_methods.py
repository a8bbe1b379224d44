"""What the vertex backend sends for each tuning method, and the API version each create takes (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from tuneport.errors import SpecError
from tuneport.models import EvaluationSpec, JobSpec
from tuneport_vertex import VertexBackend, VertexSettings
from tuneport_vertex.wire_create import create_body
from tuneport_vertex.wire_evaluation import evaluation_config

BASE = "gemini-2.5-flash"
TRAIN = "gs://tuneport-staging/train.jsonl"
VALIDATION = "gs://tuneport-staging/validation.jsonl"
TUNED = "projects/my-project/locations/us-central1/models/123@1"
OPEN_MODEL = "qwen/qwen3-5@qwen3.5-9b"
OUTPUT = "gs://tuneport-staging/open-model-output"


def backend(**overrides: Any) -> VertexBackend:
    return VertexBackend(
        VertexSettings(
            project="my-project",
            endpoint="http://127.0.0.1:1",
            staging_bucket="gs://tuneport-staging",
            **overrides,
        )
    )


def planned(spec: JobSpec, **settings: Any) -> tuple[str, dict[str, Any]]:
    """(API version, body) of the create *spec* makes."""
    (request,) = backend(**settings).plan_create(spec)
    version = request.url.split("/")[3]
    assert request.json is not None
    body = dict(request.json)
    body.pop("labels")  # tuneport's request id, checked elsewhere
    return version, body


def spec(**fields: Any) -> JobSpec:
    return JobSpec.model_validate({"base_model": BASE, "training_data": TRAIN, **fields})


def refused(job: JobSpec, **settings: Any) -> list[str]:
    """The fields the problems of refusing *job* name."""
    with pytest.raises(SpecError) as info:
        backend(**settings).plan_create(job)
    return [problem.field or "" for problem in info.value.problems]


# --- each method's body -------------------------------------------------------------------------------


def test_supervised_goes_to_v1_with_its_spec() -> None:
    version, body = planned(
        spec(
            validation_data=VALIDATION,
            hyperparameters={"epoch_count": 2, "learning_rate_multiplier": 0.5, "adapter_size": 4},
        )
    )
    assert version == "v1"
    assert body == {
        "baseModel": BASE,
        "supervisedTuningSpec": {
            "trainingDatasetUri": TRAIN,
            "validationDatasetUri": VALIDATION,
            "hyperParameters": {
                "epochCount": 2,
                "learningRateMultiplier": 0.5,
                "adapterSize": "ADAPTER_SIZE_FOUR",
            },
        },
    }


def test_preference_sends_its_spec_with_beta_in_v1() -> None:
    version, body = planned(
        spec(
            method="preference",
            validation_data=VALIDATION,
            hyperparameters={"epoch_count": 1, "beta": 0.1, "adapter_size": 8},
            extras={"export_last_checkpoint_only": True},
        )
    )
    assert version == "v1"  # preferenceOptimizationSpec is in v1 too
    assert body == {
        "baseModel": BASE,
        "preferenceOptimizationSpec": {
            "trainingDatasetUri": TRAIN,
            "validationDatasetUri": VALIDATION,
            "hyperParameters": {"epochCount": 1, "beta": 0.1, "adapterSize": "ADAPTER_SIZE_EIGHT"},
            "exportLastCheckpointOnly": True,
        },
    }


@pytest.mark.parametrize(
    ("teacher", "field"),
    [("gemini-3.1-pro", "baseTeacherModel"), (TUNED, "tunedTeacherModelSource")],
    ids=["a base model", "a tuned model"],
)
def test_distillation_sends_prompts_and_its_teacher_in_v1beta1(teacher: str, field: str) -> None:
    version, body = planned(
        spec(
            method="distillation",
            teacher_model=teacher,
            hyperparameters={"epoch_count": 3},
            tuning_mode="adapter",
        )
    )
    assert version == "v1beta1"  # distillationSpec is v1beta1 only
    assert body == {
        "baseModel": BASE,
        "distillationSpec": {
            field: teacher,
            # promptDatasetUri, not the deprecated trainingDatasetUri
            "promptDatasetUri": TRAIN,
            "hyperParameters": {"epochCount": 3},
            "tuningMode": "TUNING_MODE_PEFT_ADAPTER",
        },
    }


def test_continuing_from_a_tuned_model_sends_pre_tuned_model_not_base_model() -> None:
    version, body = planned(spec(tuned_model=TUNED, checkpoint="2", method="preference"))
    assert version == "v1"
    assert body["preTunedModel"] == {"tunedModelName": TUNED, "checkpointId": "2"}
    assert "baseModel" not in body
    _, without_checkpoint = planned(spec(tuned_model=TUNED))
    assert without_checkpoint["preTunedModel"] == {"tunedModelName": TUNED}


def test_an_open_model_job_goes_to_v1beta1_with_its_fields() -> None:
    version, body = planned(
        spec(
            base_model=OPEN_MODEL,
            tuning_mode="full",
            output_uri=OUTPUT,
            custom_base_model="gs://tuneport-staging/weights",
            hyperparameters={"epoch_count": 1, "batch_size": 8, "learning_rate": 0.0002},
        ),
        location="global",
    )
    assert version == "v1beta1"
    assert body == {
        "baseModel": OPEN_MODEL,
        "supervisedTuningSpec": {
            "trainingDatasetUri": TRAIN,
            "hyperParameters": {"epochCount": 1, "batchSize": 8, "learningRate": 0.0002},
            "tuningMode": "TUNING_MODE_FULL",
        },
        "customBaseModel": "gs://tuneport-staging/weights",
        "outputUri": OUTPUT,
    }


def test_encryption_key_and_service_account_are_spec_fields_and_the_old_extras_still_work() -> None:
    key = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
    account = "tuner@my-project.iam.gserviceaccount.com"
    _, body = planned(spec(encryption_key=key, service_account=account, display_name="n", description="d"))
    assert body["encryptionSpec"] == {"kmsKeyName": key}
    assert body["serviceAccount"] == account
    assert (body["tunedModelDisplayName"], body["description"]) == ("n", "d")
    _, old = planned(spec(extras={"encryption_spec": key, "service_account": account}))
    assert (old["encryptionSpec"], old["serviceAccount"]) == (body["encryptionSpec"], account)
    assert refused(spec(encryption_key=key, extras={"encryption_spec": key})) == ["encryption_key"]
    assert refused(spec(service_account=account, extras={"service_account": account})) == ["service_account"]


def test_labels_are_sent_with_the_request_id() -> None:
    (request,) = backend(labels={"team": "ml"}).plan_create(spec(labels={"run": "7"}))
    assert request.json is not None
    assert request.json["labels"] == {"team": "ml", "run": "7", "tuneport-request-id": "<request id>"}


# --- the API version -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"method": "distillation", "teacher_model": "gemini-3.1-pro"}, ["method"]),
        ({"tuning_mode": "adapter"}, ["tuning_mode"]),
        ({"extras": {"tuning_mode": "TUNING_MODE_PEFT_ADAPTER"}}, ["extras.tuning_mode"]),
        ({"base_model": OPEN_MODEL, "output_uri": OUTPUT}, ["output_uri"]),
        (
            {"base_model": OPEN_MODEL, "output_uri": OUTPUT, "custom_base_model": "gs://b-b/w"},
            ["custom_base_model", "output_uri"],
        ),
        (
            {"base_model": OPEN_MODEL, "output_uri": OUTPUT, "hyperparameters": {"batch_size": 4}},
            ["hyperparameters.batch_size", "output_uri"],
        ),
        (
            {"base_model": OPEN_MODEL, "output_uri": OUTPUT, "hyperparameters": {"learning_rate": 0.1}},
            ["hyperparameters.learning_rate", "output_uri"],
        ),
    ],
)
def test_a_forced_v1_refuses_what_only_v1beta1_has_naming_the_field(
    fields: dict[str, Any], named: list[str]
) -> None:
    job = spec(**fields)
    with pytest.raises(SpecError) as info:
        backend(api_version="v1").plan_create(job)
    assert sorted(p.field or "" for p in info.value.problems) == named
    assert all(p.rule == "needs-v1beta1" for p in info.value.problems)
    assert 'api_version = "v1"' in str(info.value)
    for setting in ("auto", "v1beta1"):
        assert planned(job, api_version=setting)[0] == "v1beta1"


def test_a_forced_v1beta1_sends_every_create_there() -> None:
    assert planned(spec(), api_version="v1beta1")[0] == "v1beta1"
    assert planned(spec(method="preference"), api_version="v1beta1")[0] == "v1beta1"


# --- refused before any request ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"method": "preference", "hyperparameters": {"batch_size": 4}}, ["hyperparameters.batch_size"]),
        ({"hyperparameters": {"beta": 0.1}}, ["hyperparameters.beta"]),
        ({"method": "preference", "tuning_mode": "adapter"}, ["tuning_mode"]),
        ({"tuning_mode": "full"}, ["tuning_mode"]),  # full tuning is for open models
        ({"output_uri": OUTPUT}, ["output_uri"]),  # "only available … for open source models"
        ({"custom_base_model": "gs://b-b/w"}, ["custom_base_model"]),
        ({"base_model": OPEN_MODEL}, ["output_uri"]),  # … "and required"
        ({"base_model": OPEN_MODEL, "output_uri": "/tmp/out"}, ["output_uri"]),
        ({"tuned_model": "my-job-id"}, ["tuned_model"]),
        ({"method": "distillation", "teacher_model": "projects/p/models"}, ["teacher_model"]),
        ({"extras": {"tuning_mode": "SIDEWAYS"}}, ["extras.tuning_mode"]),
        ({"tuning_mode": "adapter", "extras": {"tuning_mode": "TUNING_MODE_PEFT_ADAPTER"}}, ["tuning_mode"]),
        (
            {"evaluation": {"metrics": ["bleu", "Not A Metric"], "output_uri": "gs://b-b/eval"}},
            ["evaluation.metrics.1"],
        ),
        ({"evaluation": {"metrics": ["bleu"], "output_uri": "s3://b/eval"}}, ["evaluation.output_uri"]),
    ],
)
def test_what_vertex_cannot_carry_is_refused_naming_the_field(
    fields: dict[str, Any], named: list[str]
) -> None:
    assert refused(spec(**fields)) == named


# --- evaluation -----------------------------------------------------------------------------------------


def test_neutral_metric_names_map_to_the_discovery_metric_shapes() -> None:
    own = {"pointwiseMetricSpec": {"metricPromptTemplate": "Rate {response}"}}
    config = evaluation_config(
        EvaluationSpec(
            metrics=(
                "bleu",
                "rouge_l",
                "rouge_lsum",
                "rouge_2",
                "exact_match",
                "instruction_following_v1",
                own,
            ),
            output_uri="gs://b-b/eval",
            autorater_model="gemini-2.5-pro",
            sampling_count=4,
            flip_enabled=True,
        )
    )
    average = {"aggregationMetrics": ["AVERAGE"]}
    assert config == {
        "metrics": [
            {"bleuSpec": {}, **average},
            {"rougeSpec": {"rougeType": "rougeL"}, **average},
            {"rougeSpec": {"rougeType": "rougeLsum"}, **average},
            {"rougeSpec": {"rougeType": "rouge2"}, **average},
            {"exactMatchSpec": {}, **average},
            {"predefinedMetricSpec": {"metricSpecName": "instruction_following_v1"}, **average},
            own,  # a dict is the caller's Metric, sent unchanged
        ],
        "outputConfig": {"gcsDestination": {"outputUriPrefix": "gs://b-b/eval"}},
        "autoraterConfig": {"autoraterModel": "gemini-2.5-pro", "samplingCount": 4, "flipEnabled": True},
    }


@pytest.mark.parametrize("method", ["supervised", "preference"])
def test_the_evaluation_goes_in_the_methods_spec(method: str) -> None:
    evaluation = {"metrics": ["bleu"], "output_uri": "gs://b-b/eval"}
    _, body = planned(spec(method=method, evaluation=evaluation))
    key = {"supervised": "supervisedTuningSpec", "preference": "preferenceOptimizationSpec"}[method]
    assert body[key]["evaluationConfig"]["outputConfig"] == {
        "gcsDestination": {"outputUriPrefix": "gs://b-b/eval"}
    }


def test_create_body_checks_the_spec_itself() -> None:
    with pytest.raises(SpecError):
        create_body(spec(hyperparameters={"beta": 1.0}), training_uri=TRAIN, validation_uri=None, labels={})


# --- where the job runs ------------------------------------------------------------------------------------


def test_evaluation_runs_only_in_us_central1_and_cmek_not_on_global() -> None:
    evaluation = {"metrics": ["bleu"], "output_uri": "gs://b-b/eval"}
    assert refused(spec(evaluation=evaluation), location="europe-west4") == ["evaluation"]
    assert planned(spec(evaluation=evaluation))[0] == "v1"  # us-central1
    key = "projects/p/locations/global/keyRings/r/cryptoKeys/k"
    open_job = spec(base_model=OPEN_MODEL, output_uri=OUTPUT, encryption_key=key)
    assert refused(open_job, location="global") == ["encryption_key"]
    legacy = spec(base_model=OPEN_MODEL, output_uri=OUTPUT, extras={"encryption_spec": key})
    assert refused(legacy, location="global") == ["extras.encryption_spec"]
    assert planned(open_job, location="us-central1")[0] == "v1beta1"
