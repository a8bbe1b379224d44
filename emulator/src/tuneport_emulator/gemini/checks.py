"""The checks the Gemini API makes when a create (or patch) request arrives.

Each failure is a synchronous 400 INVALID_ARGUMENT whose message and
``BadRequest`` detail name the field (``tuned_model.display_name``,
``…examples[2].output``); an unknown base model is 404 NOT_FOUND.  The
per-example size limits are not checked here: the service applies them when
training begins, and the job fails instead (:func:`dataset_problem`).
"""

from __future__ import annotations

import math
import re
from typing import Any

from tuneport_emulator.gemini.base_models import BASE_MODELS
from tuneport_emulator.gemini.schema import TUNED_MODEL
from tuneport_emulator.wire import ApiError, bad_request

__all__ = [
    "DEFAULT_EPOCH_COUNT",
    "LARGE_DATASET",
    "MAX_DISPLAY_NAME_CHARS",
    "MAX_INPUT_CHARS",
    "MAX_OUTPUT_CHARS",
    "MUTABLE_FIELDS",
    "TUNED_MODEL_ID",
    "check_id",
    "check_mutable",
    "dataset_problem",
    "mask_path",
    "validate_create",
]

#: The id pattern of ``CreateTunedModelRequest.tuned_model_id``.
TUNED_MODEL_ID = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?")
MAX_DISPLAY_NAME_CHARS = 40
#: Per-example limits of the Gemini API (characters).
MAX_INPUT_CHARS = 40_000
MAX_OUTPUT_CHARS = 5_000
DEFAULT_EPOCH_COUNT = 5
#: The protos say the default batch size is "4 or 16" and the default learning
#: rate "0.001 or 0.0002" depending on the dataset size; the emulator switches
#: to the second value at this many examples.
LARGE_DATASET = 500
#: The fields a patch may change.
MUTABLE_FIELDS = ("displayName", "description", "temperature", "topP", "topK", "readerProjectNumbers")
_CREATE = "CreateTunedModelRequest"


def _not_specified(path: str) -> ApiError:
    # The wording of the Gemini API's request validation.
    leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
    return bad_request(f"* {_CREATE}.{path}: {leaf} is not specified", field=path)


def _invalid(path: str, message: str) -> ApiError:
    return bad_request(f"* {_CREATE}.{path}: {message}", field=path)


def check_id(model_id: str) -> None:
    """400 unless ``model_id`` is a valid ``tuned_model_id``."""
    if not TUNED_MODEL_ID.fullmatch(model_id):
        raise bad_request(
            f"Invalid tuned_model_id '{model_id}': it must match [a-z]([a-z0-9-]{{0,38}}[a-z0-9])? "
            "(1-40 characters: lowercase letters, digits and hyphens, starting with a letter).",
            field="tuned_model_id",
        )


def check_mutable(fields: dict[str, Any], *, prefix: str) -> None:
    """400 if a patchable field (display name, sampling defaults) has a bad value."""
    name = fields.get("displayName")
    if name is not None and len(name) > MAX_DISPLAY_NAME_CHARS:
        raise _invalid(
            f"{prefix}.display_name",
            f"display_name has {len(name)} characters; at most {MAX_DISPLAY_NAME_CHARS} are allowed",
        )
    temperature = fields.get("temperature")
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        raise _invalid(f"{prefix}.temperature", "temperature must be in [0.0, 2.0]")
    top_p = fields.get("topP")
    if top_p is not None and not 0.0 <= top_p <= 1.0:
        raise _invalid(f"{prefix}.top_p", "top_p must be in [0.0, 1.0]")
    top_k = fields.get("topK")
    if top_k is not None and top_k < 0:
        raise _invalid(f"{prefix}.top_k", "top_k must not be negative")


def validate_create(body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]], dict[str, Any]]:
    """The create-time checks; returns (model fields, examples, effective hyperparameters)."""
    if "tunedModelSource" in body:
        raise _invalid(
            "tuned_model.tuned_model_source",
            "tuning a tuned model is not supported for Gemini base models; set base_model",
        )
    base = body.get("baseModel")
    if not base:
        raise _not_specified("tuned_model.base_model")
    if not base.startswith("models/"):
        raise _invalid("tuned_model.base_model", f"'{base}' is not a model name (expected models/{{model}})")
    if base not in BASE_MODELS:
        raise ApiError(
            "NOT_FOUND",
            f"{base} is not found for API version v1beta, or is not supported for createTunedModel. "
            "Call ListModels to see the list of available models and their supported methods.",
        )
    fields = {k: body[k] for k in ("baseModel", *MUTABLE_FIELDS) if k in body}
    check_mutable(fields, prefix="tuned_model")
    task = body.get("tuningTask")
    if task is None:
        raise _not_specified("tuned_model.tuning_task")
    data = task.get("trainingData")
    if data is None:
        raise _not_specified("tuned_model.tuning_task.training_data")
    raw_examples = (data.get("examples") or {}).get("examples") or []
    if not raw_examples:
        raise _not_specified("tuned_model.tuning_task.training_data.examples.examples")
    examples: list[dict[str, str]] = []
    for index, example in enumerate(raw_examples):
        text_input, output = example.get("textInput"), example.get("output")
        if not text_input or not output:
            path = f"tuned_model.tuning_task.training_data.examples.examples[{index}]"
            raise _not_specified(f"{path}.text_input" if not text_input else f"{path}.output")
        examples.append({"textInput": text_input, "output": output})
    return fields, examples, _hyperparameters(task.get("hyperparameters") or {}, len(examples))


def _hyperparameters(given: dict[str, Any], count: int) -> dict[str, Any]:
    path = "tuned_model.tuning_task.hyperparameters"
    for name, proto in (("epochCount", "epoch_count"), ("batchSize", "batch_size")):
        if name in given and given[name] < 1:
            raise _invalid(f"{path}.{proto}", f"{proto} must be a positive integer")
    for name, proto in (
        ("learningRate", "learning_rate"),
        ("learningRateMultiplier", "learning_rate_multiplier"),
    ):
        if name in given and not (given[name] > 0 and math.isfinite(given[name])):
            raise _invalid(f"{path}.{proto}", f"{proto} must be a positive number")
    large = count >= LARGE_DATASET
    result: dict[str, Any] = {}
    if "learningRateMultiplier" in given:
        result["learningRateMultiplier"] = given["learningRateMultiplier"]
    else:
        result["learningRate"] = given.get("learningRate", 0.0002 if large else 0.001)
    result["epochCount"] = given.get("epochCount", DEFAULT_EPOCH_COUNT)
    result["batchSize"] = given.get("batchSize", 16 if large else 4)
    return result


def dataset_problem(examples: list[dict[str, str]]) -> str | None:
    """The first example over the per-example limits, described; None if all fit."""
    for index, example in enumerate(examples):
        if len(example["textInput"]) <= MAX_INPUT_CHARS and len(example["output"]) <= MAX_OUTPUT_CHARS:
            continue
        where = f"training_data.examples.examples[{index}]"
        if len(example["textInput"]) > MAX_INPUT_CHARS:
            return (
                f"{where}.text_input has {len(example['textInput']):,} characters; "
                f"the limit is {MAX_INPUT_CHARS:,} per example."
            )
        if len(example["output"]) > MAX_OUTPUT_CHARS:
            return (
                f"{where}.output has {len(example['output']):,} characters; "
                f"the limit is {MAX_OUTPUT_CHARS:,} per example."
            )
    return None


def mask_path(path: str) -> str:
    """The camelCase field of an ``update_mask`` path; 400 if it is unknown or not patchable."""
    name = path.strip()
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
    if camel in MUTABLE_FIELDS:
        return camel
    if camel in TUNED_MODEL.fields or camel.split(".", 1)[0] in TUNED_MODEL.fields:
        raise bad_request(
            f"update_mask path '{name}' cannot be updated (it is immutable or output-only).",
            field="update_mask",
        )
    raise bad_request(f"update_mask path '{name}' is not a field of TunedModel.", field="update_mask")
