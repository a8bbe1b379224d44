"""The checks Vertex makes when ``tuningJobs.create`` arrives (synchronous 400s).

Each failure is ``INVALID_ARGUMENT`` whose message and ``BadRequest`` detail
name the field (``tuning_job.supervised_tuning_spec.hyper_parameters.epoch_count``).
What needs the dataset (its existence, its lines) is checked later, when the
job processes it, and fails the job instead (:mod:`.datasets`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from tuneport_emulator.storage.objects import parse_gs_uri
from tuneport_emulator.vertex.base_models import DEFAULT_ADAPTER_SIZE, BaseModel, resolve_base_model
from tuneport_emulator.wire import ApiError, bad_request

__all__ = [
    "DEFAULT_EPOCH_COUNT",
    "LARGE_DATASET",
    "MAX_DISPLAY_NAME_CHARS",
    "MAX_EPOCH_COUNT",
    "CreateRequest",
    "check_labels",
    "check_pre_tuned_hyperparameters",
    "default_batch_size",
    "effective_hyperparameters",
    "validate_create",
]

MAX_DISPLAY_NAME_CHARS = 128
MAX_DESCRIPTION_CHARS = 2_048
#: The emulator's defaults where the service "picks from the dataset size".
DEFAULT_EPOCH_COUNT = 5
MAX_EPOCH_COUNT = 100
#: Batch size 4, or 16 from this many examples on (as on the Gemini surface).
LARGE_DATASET = 500
MAX_LABELS = 64
_LABEL_KEY = re.compile(r"[\w-]{0,62}", re.UNICODE)
_LABEL_VALUE = re.compile(r"[\w-]{0,63}", re.UNICODE)
_KMS_KEY = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+")
_UNSUPPORTED_SPECS = (
    ("preferenceOptimizationSpec", "preference_optimization_spec"),
    ("distillationSpec", "distillation_spec"),
    ("partnerModelTuningSpec", "partner_model_tuning_spec"),
    ("veoTuningSpec", "veo_tuning_spec"),
    ("veoLoraTuningSpec", "veo_lora_tuning_spec"),
    ("fullFineTuningSpec", "full_fine_tuning_spec"),
    ("reinforcementTuningSpec", "reinforcement_tuning_spec"),
)
_ROOT = "tuning_job"
_SPEC = f"{_ROOT}.supervised_tuning_spec"
_HYPER = f"{_SPEC}.hyper_parameters"


@dataclass(frozen=True)
class CreateRequest:
    """A create request that passed the checks."""

    fields: dict[str, Any]
    #: The base model; None when tuning a tuned model (its base is looked up by the caller).
    base_model: BaseModel | None
    #: The ``tunedModelName`` of ``preTunedModel`` (tuning a tuned model again), if any.
    pre_tuned_model: str | None


def _invalid(field: str, message: str) -> ApiError:
    return bad_request(message, field=field)


def _lower_or_not_cased(text: str) -> bool:
    return text == text.lower()


def check_labels(labels: Any, field: str) -> dict[str, str]:
    """400 unless ``labels`` follow Google's label rules; the labels."""
    if not isinstance(labels, dict):
        raise _invalid(field, f"{field} must map label keys to values.")
    if len(labels) > MAX_LABELS:
        raise _invalid(field, f"At most {MAX_LABELS} labels are allowed; {len(labels)} were given.")
    for key, value in labels.items():
        if not isinstance(value, str):
            raise _invalid(f"{field}[{key}]", f"The value of label '{key}' must be a string.")
        if (
            not key
            or not key[0].isalpha()
            or not _lower_or_not_cased(key)
            or not _LABEL_KEY.fullmatch(key[1:])
        ):
            raise _invalid(
                f"{field}[{key}]",
                f"Invalid label key '{key}': keys have 1-63 characters, start with a lowercase letter, "
                "and use lowercase letters, digits, underscores and dashes.",
            )
        if not _lower_or_not_cased(value) or not _LABEL_VALUE.fullmatch(value):
            raise _invalid(
                f"{field}[{key}]",
                f"Invalid value '{value}' for label '{key}': values have at most 63 characters of "
                "lowercase letters, digits, underscores and dashes.",
            )
    return {str(k): str(v) for k, v in labels.items()}


def _dataset_uri(spec: dict[str, Any], key: str, field: str, *, required: bool) -> None:
    uri = spec.get(key)
    if not uri:
        if required:
            raise _invalid(field, f"{field} is required.")
        return
    if parse_gs_uri(str(uri)) is None:
        raise _invalid(
            field,
            f"{field} must be a Cloud Storage URI of a JSONL file (gs://bucket/object); got '{uri}'. "
            "(Vertex multimodal datasets are not emulated.)",
        )


def _check_hyperparameters(given: dict[str, Any], base: BaseModel) -> None:
    epochs = given.get("epochCount")
    if epochs is not None and not 1 <= epochs <= MAX_EPOCH_COUNT:
        raise _invalid(f"{_HYPER}.epoch_count", f"epoch_count must be between 1 and {MAX_EPOCH_COUNT}.")
    batch = given.get("batchSize")
    if batch is not None and batch < 1:
        raise _invalid(f"{_HYPER}.batch_size", "batch_size must be a positive integer.")
    for key, proto in (
        ("learningRateMultiplier", "learning_rate_multiplier"),
        ("learningRate", "learning_rate"),
    ):
        number = given.get(key)
        if number is not None and not (math.isfinite(number) and number > 0):
            raise _invalid(f"{_HYPER}.{proto}", f"{proto} must be a positive number.")
    if "learningRateMultiplier" in given and "learningRate" in given:
        raise _invalid(
            f"{_HYPER}.learning_rate", "Only one of learning_rate and learning_rate_multiplier may be set."
        )
    size = given.get("adapterSize")
    if size not in (None, "ADAPTER_SIZE_UNSPECIFIED") and size not in base.adapter_sizes:
        allowed = ", ".join(sorted(base.adapter_sizes))
        raise _invalid(
            f"{_HYPER}.adapter_size",
            f"Adapter size {size} is not supported for {base.name}; use one of {allowed}.",
        )


def validate_create(body: dict[str, Any]) -> CreateRequest:
    """The create-time checks of a normalized TuningJob."""
    for key, proto in _UNSUPPORTED_SPECS:
        if key in body:
            raise _invalid(
                f"{_ROOT}.{proto}",
                f"{proto} is not supported for Gemini models by the emulator; use supervised_tuning_spec.",
            )
    if body.get("customBaseModel"):
        raise _invalid(f"{_ROOT}.custom_base_model", "custom_base_model is only supported for open models.")
    if body.get("outputUri"):
        raise _invalid(f"{_ROOT}.output_uri", "output_uri is only supported for open models.")
    pre_tuned = body.get("preTunedModel")
    base: BaseModel | None
    if pre_tuned is not None:
        if not pre_tuned.get("tunedModelName"):
            raise _invalid(f"{_ROOT}.pre_tuned_model.tuned_model_name", "tuned_model_name is required.")
        base = None  # resolved from the tuned model by the caller
    else:
        name = body.get("baseModel")
        if not name:
            raise _invalid(f"{_ROOT}.base_model", "base_model is required.")
        base = resolve_base_model(str(name))
        if base is None:
            raise _invalid(
                f"{_ROOT}.base_model",
                f"Base model {name} is not supported for tuning. Supported: "
                + ", ".join(_supported_names())
                + ".",
            )
    spec = body.get("supervisedTuningSpec")
    if spec is None:
        raise _invalid(f"{_ROOT}.supervised_tuning_spec", "supervised_tuning_spec is required.")
    _dataset_uri(spec, "trainingDatasetUri", f"{_SPEC}.training_dataset_uri", required=True)
    _dataset_uri(spec, "validationDatasetUri", f"{_SPEC}.validation_dataset_uri", required=False)
    if spec.get("tuningMode") == "TUNING_MODE_FULL":
        raise _invalid(f"{_SPEC}.tuning_mode", "Full fine-tuning is only supported for open models.")
    display_name = body.get("tunedModelDisplayName")
    if display_name is not None and len(display_name) > MAX_DISPLAY_NAME_CHARS:
        raise _invalid(
            f"{_ROOT}.tuned_model_display_name",
            f"tuned_model_display_name has {len(display_name)} characters; at most "
            f"{MAX_DISPLAY_NAME_CHARS} are allowed.",
        )
    description = body.get("description")
    if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
        raise _invalid(
            f"{_ROOT}.description", f"description has more than {MAX_DESCRIPTION_CHARS} characters."
        )
    if "labels" in body:
        body["labels"] = check_labels(body["labels"], f"{_ROOT}.labels")
    kms = (body.get("encryptionSpec") or {}).get("kmsKeyName")
    if kms and not _KMS_KEY.fullmatch(kms):
        raise _invalid(
            f"{_ROOT}.encryption_spec.kms_key_name",
            "kms_key_name must look like projects/*/locations/*/keyRings/*/cryptoKeys/*.",
        )
    if base is not None:
        _check_hyperparameters(spec.get("hyperParameters") or {}, base)
    return CreateRequest(
        fields=body,
        base_model=base,
        pre_tuned_model=pre_tuned.get("tunedModelName") if pre_tuned is not None else None,
    )


def check_pre_tuned_hyperparameters(body: dict[str, Any], base: BaseModel) -> None:
    """The hyperparameter checks, once a pre-tuned model's base is known."""
    _check_hyperparameters(((body.get("supervisedTuningSpec") or {}).get("hyperParameters")) or {}, base)


def _supported_names() -> list[str]:
    from tuneport_emulator.vertex.base_models import BASE_MODELS

    return sorted(BASE_MODELS)


def default_batch_size(examples: int) -> int:
    """The batch size the emulator trains with when none is given."""
    return 16 if examples >= LARGE_DATASET else 4


def effective_hyperparameters(given: dict[str, Any]) -> dict[str, Any]:
    """What a job reports in ``hyperParameters``: what was given, plus the defaults it ran with."""
    result: dict[str, Any] = {"epochCount": given.get("epochCount") or DEFAULT_EPOCH_COUNT}
    if "learningRate" in given:
        result["learningRate"] = given["learningRate"]
    else:
        result["learningRateMultiplier"] = given.get("learningRateMultiplier", 1.0)
    size = given.get("adapterSize")
    result["adapterSize"] = size if size not in (None, "ADAPTER_SIZE_UNSPECIFIED") else DEFAULT_ADAPTER_SIZE
    if "batchSize" in given:
        result["batchSize"] = given["batchSize"]
    return result
