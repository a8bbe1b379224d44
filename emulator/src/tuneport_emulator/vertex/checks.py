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
from tuneport_emulator.vertex.evaluation_config import check_evaluation_config
from tuneport_emulator.vertex.methods import (
    DISTILLATION,
    METHODS,
    SUPERVISED,
    UNSUPPORTED_SPECS,
    Method,
    method_of,
    spec_of,
)
from tuneport_emulator.vertex.open_models import OPEN_MODEL_LOCATIONS, OpenModel, resolve_open_model
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
#: Distillation runs in one region ("us-central1 only", Google's distillation page).
DISTILLATION_LOCATION = "us-central1"
#: A Gemini teacher: a model id, bare or as a publisher model.
_GEMINI_TEACHER = re.compile(
    r"(?:(?:projects/[^/]+/locations/[^/]+/)?publishers/google/models/)?gemini-[a-z0-9.-]+"
)
_ROOT = "tuning_job"
_HYPER_PATH = f"{_ROOT}.supervised_tuning_spec.hyper_parameters"


@dataclass(frozen=True)
class CreateRequest:
    """A create request that passed the checks."""

    fields: dict[str, Any]
    #: The Gemini base model; None when tuning an open model or a tuned model (looked up by the caller).
    base_model: BaseModel | None
    #: The ``tunedModelName`` of ``preTunedModel`` (tuning a tuned model again), if any.
    pre_tuned_model: str | None
    method: Method = SUPERVISED
    #: The open model tuned, if any.
    open_model: OpenModel | None = None

    @property
    def base_name(self) -> str | None:
        """The base model's name (None until a pre-tuned model's base is looked up)."""
        if self.open_model is not None:
            return self.open_model.name
        return None if self.base_model is None else self.base_model.name


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


def _check_hyperparameters(given: dict[str, Any], base: BaseModel | None, hyper: str = _HYPER_PATH) -> None:
    """The hyperparameter rules (``base`` None: an open model, which takes any adapter size)."""
    epochs = given.get("epochCount")
    if epochs is not None and not 1 <= epochs <= MAX_EPOCH_COUNT:
        raise _invalid(f"{hyper}.epoch_count", f"epoch_count must be between 1 and {MAX_EPOCH_COUNT}.")
    batch = given.get("batchSize")
    if batch is not None and batch < 1:
        raise _invalid(f"{hyper}.batch_size", "batch_size must be a positive integer.")
    for key, proto in (
        ("learningRateMultiplier", "learning_rate_multiplier"),
        ("learningRate", "learning_rate"),
    ):
        number = given.get(key)
        if number is not None and not (math.isfinite(number) and number > 0):
            raise _invalid(f"{hyper}.{proto}", f"{proto} must be a positive number.")
    if "learningRateMultiplier" in given and "learningRate" in given:
        raise _invalid(
            f"{hyper}.learning_rate", "Only one of learning_rate and learning_rate_multiplier may be set."
        )
    beta = given.get("beta")
    if beta is not None and not (math.isfinite(beta) and beta >= 0):
        raise _invalid(f"{hyper}.beta", "beta must be a non-negative number.")
    multiplier = given.get("sftLossWeightMultiplier")
    if multiplier is not None and not (math.isfinite(multiplier) and multiplier >= 0):
        raise _invalid(
            f"{hyper}.sft_loss_weight_multiplier", "sft_loss_weight_multiplier must be a non-negative number."
        )
    size = given.get("adapterSize")
    if base is None:
        return
    if size not in (None, "ADAPTER_SIZE_UNSPECIFIED") and size not in base.adapter_sizes:
        allowed = ", ".join(sorted(base.adapter_sizes))
        raise _invalid(
            f"{hyper}.adapter_size",
            f"Adapter size {size} is not supported for {base.name}; use one of {allowed}.",
        )


def _chosen_method(body: dict[str, Any], version: str) -> Method:
    for key, proto in UNSUPPORTED_SPECS:
        if key in body:
            raise _invalid(f"{_ROOT}.{proto}", f"{proto} is not supported by the emulator.")
    chosen = [m for m in METHODS if m.spec_key in body]
    if not chosen:
        names = ", ".join(m.proto for m in METHODS if version != "v1" or not m.beta_only)
        raise _invalid(f"{_ROOT}.tuning_spec", f"A tuning spec is required: one of {names}.")
    return chosen[0]  # the schema refused a second member of the oneof


def _source(body: dict[str, Any], location: str) -> tuple[BaseModel | None, OpenModel | None, str | None]:
    """(Gemini base, open model, pre-tuned model name): what the job tunes."""
    pre_tuned = body.get("preTunedModel")
    if pre_tuned is not None:
        if not pre_tuned.get("tunedModelName"):
            raise _invalid(f"{_ROOT}.pre_tuned_model.tuned_model_name", "tuned_model_name is required.")
        return None, None, str(pre_tuned["tunedModelName"])
    name = body.get("baseModel")
    if not name:
        raise _invalid(f"{_ROOT}.base_model", "base_model is required (or pre_tuned_model).")
    base = resolve_base_model(str(name))
    if base is not None:
        return base, None, None
    open_model = resolve_open_model(str(name))
    if open_model is None:
        raise _invalid(
            f"{_ROOT}.base_model",
            f"Base model {name} is not supported for tuning. Supported: "
            + ", ".join(_supported_names())
            + ", and open models named publisher/family@version (e.g. qwen/qwen3-5@qwen3.5-9b).",
        )
    return None, open_model, None


def _check_open_model(body: dict[str, Any], method: Method, model: OpenModel, location: str) -> None:
    if method.name not in ("supervised", "full", "distillation"):
        raise _invalid(method.spec_path, f"{method.proto} is not supported for the open model {model.name}.")
    if location not in OPEN_MODEL_LOCATIONS:
        raise _invalid(
            _ROOT,
            f"Open models are not tuned in {location}; use one of {', '.join(sorted(OPEN_MODEL_LOCATIONS))}.",
        )
    output = body.get("outputUri")
    if not output:
        raise _invalid(f"{_ROOT}.output_uri", "output_uri is required to tune open models.")
    for key, proto in (("outputUri", "output_uri"), ("customBaseModel", "custom_base_model")):
        value = body.get(key)
        if value and parse_gs_uri(str(value)) is None:
            raise _invalid(
                f"{_ROOT}.{proto}", f"{proto} must be a Cloud Storage URI (gs://bucket/path); got '{value}'."
            )
    if location == "global" and (body.get("encryptionSpec") or {}).get("kmsKeyName"):
        raise ApiError(
            "FAILED_PRECONDITION",
            "Customer-managed encryption keys (CMEK) are not supported for tuning jobs in the global "
            "location; use a regional location.",
        )


def _check_gemini(body: dict[str, Any], method: Method, base: BaseModel | None, location: str) -> None:
    if location == "global":
        raise _invalid(
            _ROOT, "The global location is only supported for tuning open models; use a regional location."
        )
    for key, proto in (("customBaseModel", "custom_base_model"), ("outputUri", "output_uri")):
        if body.get(key):
            raise _invalid(f"{_ROOT}.{proto}", f"{proto} is only supported for open models.")
    spec = body[method.spec_key]
    if method.name == "full":
        raise _invalid(method.spec_path, "Full fine-tuning is only supported for open models.")
    if spec.get("tuningMode") == "TUNING_MODE_FULL":
        raise _invalid(
            f"{method.spec_path}.tuning_mode", "Full fine-tuning is only supported for open models."
        )
    # batchSize and learningRate are documented for open models only; like the emulator before #16,
    # Gemini jobs keep accepting them (tuneport and its tests send batchSize on v1beta1).
    if base is not None and method.name not in base.methods:
        raise _invalid(method.spec_path, f"{method.proto} is not supported for {base.name}.")


def _check_distillation(spec: dict[str, Any], location: str) -> None:
    path = DISTILLATION.spec_path
    if location != DISTILLATION_LOCATION:
        raise _invalid(path, f"Distillation is only available in {DISTILLATION_LOCATION}.")
    teacher = spec.get("baseTeacherModel")
    if not teacher and not spec.get("tunedTeacherModelSource"):
        raise _invalid(
            f"{path}.teacher_model",
            "A teacher is required: base_teacher_model or tuned_teacher_model_source.",
        )
    if teacher and not _GEMINI_TEACHER.fullmatch(str(teacher)):
        raise _invalid(f"{path}.base_teacher_model", f"Teacher model {teacher} is not a Gemini model.")


def validate_create(
    body: dict[str, Any], *, version: str = "v1beta1", location: str = "us-central1"
) -> CreateRequest:
    """The create-time checks of a normalized TuningJob (``location``: the parent's)."""
    method = _chosen_method(body, version)
    base, open_model, pre_tuned = _source(body, location)
    if open_model is not None:
        _check_open_model(body, method, open_model, location)
    else:
        _check_gemini(body, method, base, location)
    spec = body[method.spec_key]
    path = method.spec_path
    _dataset_uri(
        spec,
        method.training_key,
        f"{path}.{_snake(method.training_key)}",
        required=method is not DISTILLATION,
    )
    if method is DISTILLATION:
        if not spec.get("promptDatasetUri") and not spec.get("trainingDatasetUri"):
            raise _invalid(f"{path}.prompt_dataset_uri", "prompt_dataset_uri is required.")
        _dataset_uri(spec, "trainingDatasetUri", f"{path}.training_dataset_uri", required=False)
        _check_distillation(spec, location)
    _dataset_uri(spec, "validationDatasetUri", f"{path}.validation_dataset_uri", required=False)
    if spec.get("evaluationConfig") is not None:
        check_evaluation_config(spec["evaluationConfig"], f"{path}.evaluation_config", location)
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
    if pre_tuned is None:
        _check_hyperparameters(spec.get("hyperParameters") or {}, base, f"{path}.hyper_parameters")
    return CreateRequest(body, base, pre_tuned, method, open_model)


def check_pre_tuned_hyperparameters(body: dict[str, Any], base: BaseModel) -> None:
    """The checks that need the base model, once a pre-tuned model's base is known."""
    method = method_of(body)
    if method.name not in base.methods:
        raise _invalid(method.spec_path, f"{method.proto} is not supported for {base.name}.")
    _check_hyperparameters(
        spec_of(body).get("hyperParameters") or {}, base, f"{method.spec_path}.hyper_parameters"
    )


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _supported_names() -> list[str]:
    from tuneport_emulator.vertex.base_models import BASE_MODELS

    return sorted(BASE_MODELS)


def default_batch_size(examples: int, method: Method = SUPERVISED) -> int:
    """The batch size the emulator trains with when none is given.

    Distillation trains on one prompt a step below :data:`LARGE_DATASET`
    examples, so that a small run still has the steps for its ten
    intermediate checkpoints.
    """
    if method is DISTILLATION and examples < LARGE_DATASET:
        return 1
    return 16 if examples >= LARGE_DATASET else 4


def effective_hyperparameters(given: dict[str, Any], *, adapter: bool = True) -> dict[str, Any]:
    """What a job reports in ``hyperParameters``: what was given, plus the defaults it ran with.

    ``adapter``: whether it trains an adapter (full tuning reports no adapter size).
    """
    result: dict[str, Any] = {"epochCount": given.get("epochCount") or DEFAULT_EPOCH_COUNT}
    if "learningRate" in given:
        result["learningRate"] = given["learningRate"]
    else:
        result["learningRateMultiplier"] = given.get("learningRateMultiplier", 1.0)
    size = given.get("adapterSize")
    if adapter:
        result["adapterSize"] = (
            size if size not in (None, "ADAPTER_SIZE_UNSPECIFIED") else DEFAULT_ADAPTER_SIZE
        )
    for key in ("batchSize", "beta", "sftLossWeightMultiplier"):
        if key in given:
            result[key] = given[key]
    return result
