"""What each tuning method sends on Vertex, and which API version a create needs.

Facts from the aiplatform discovery documents (rev 20261106):

* ``supervisedTuningSpec`` (v1, v1beta1): ``hyperParameters{epochCount,
  learningRateMultiplier, adapterSize}``; v1beta1 adds ``batchSize``,
  ``learningRate`` (open models) and ``tuningMode``;
* ``preferenceOptimizationSpec`` (v1, v1beta1): ``hyperParameters{epochCount,
  learningRateMultiplier, adapterSize, beta}``, no tuning mode;
* ``distillationSpec`` (v1beta1 only): ``hyperParameters{epochCount,
  learningRateMultiplier, adapterSize, batchSize, learningRate}``, ``tuningMode``;
* ``customBaseModel`` and ``outputUri`` on the ``TuningJob``: v1beta1 only.

A create goes to ``v1`` unless its body holds one of the v1beta1-only
fields (setting ``api_version = "auto"``); ``"v1"`` refuses such a job,
naming the field, and ``"v1beta1"`` sends everything there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tuneport.errors import Problem
from tuneport.models import JobSpec, TuningMethod

__all__ = [
    "METHOD_HYPERPARAMETERS",
    "SPEC_KEYS",
    "TUNING_MODES",
    "create_version",
    "is_open_model",
    "method_problems",
    "read_version",
    "tuning_mode",
    "v1beta1_fields",
]

#: The ``TuningJob`` field holding each method's spec.
SPEC_KEYS: Mapping[TuningMethod, str] = {
    TuningMethod.SUPERVISED: "supervisedTuningSpec",
    TuningMethod.PREFERENCE: "preferenceOptimizationSpec",
    TuningMethod.DISTILLATION: "distillationSpec",
}
#: The hyperparameters of each method's ``hyperParameters`` message.
METHOD_HYPERPARAMETERS: Mapping[TuningMethod, frozenset[str]] = {
    TuningMethod.SUPERVISED: frozenset(
        {"epoch_count", "learning_rate_multiplier", "adapter_size", "batch_size", "learning_rate"}
    ),
    TuningMethod.PREFERENCE: frozenset({"epoch_count", "learning_rate_multiplier", "adapter_size", "beta"}),
    TuningMethod.DISTILLATION: frozenset(
        {"epoch_count", "learning_rate_multiplier", "adapter_size", "batch_size", "learning_rate"}
    ),
}
#: ``tuning_mode`` → the ``TuningMode`` enum value.
TUNING_MODES: Mapping[str, str] = {"adapter": "TUNING_MODE_PEFT_ADAPTER", "full": "TUNING_MODE_FULL"}
#: Methods whose spec has a ``tuningMode``.
_WITH_TUNING_MODE = (TuningMethod.SUPERVISED, TuningMethod.DISTILLATION)
#: A tuned model's resource name, optionally with a version or alias (``…/models/123@2``).
TUNED_MODEL = re.compile(
    r"projects/[A-Za-z0-9_-]{1,128}/locations/[A-Za-z0-9_-]{1,128}/models/[A-Za-z0-9_-]{1,128}(?:@[A-Za-z0-9_-]{1,128})?"
)
#: ``gs://bucket`` with an optional path: a directory (output, custom weights).
_GCS_DIRECTORY = re.compile(r"gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](?:/[^\r\n]*)?")


def is_open_model(base_model: str) -> bool:
    """Whether *base_model* is an open model's publisher id (``qwen/qwen3-5@qwen3.5-9b``).

    Open models are named ``publisher/family@version`` (Google's open-model
    tuning page), or in full ``publishers/P/models/family@version``; Gemini
    ids have no version part (``gemini-2.5-flash``,
    ``publishers/google/models/gemini-2.5-flash``).
    """
    return "/" in base_model and "@" in base_model and not base_model.startswith("projects/")


def _open_model_problems(spec: JobSpec) -> list[Problem]:
    """What only open models take, on a Gemini model; an open model without its ``output_uri``.

    ``outputUri`` is "only available and required for open source models"
    (TuningJob reference); full tuning and custom weights are theirs too.
    """
    if is_open_model(spec.base_model):
        if spec.output_uri is not None:
            return []
        why = "an open model's job needs output_uri (gs://bucket/path): Vertex writes the tuned weights there"
        return [Problem(why, field="output_uri", rule="missing")]
    full = tuning_mode(spec) == TUNING_MODES["full"]
    given = (
        ("output_uri", "output_uri", spec.output_uri is not None),
        ("custom_base_model", "custom_base_model", spec.custom_base_model is not None),
        ("tuning_mode" if spec.tuning_mode else "extras.tuning_mode", "full tuning", full),
    )
    return [
        Problem(
            f"{what} is for open models (publisher/model@version ids), not {spec.base_model}",
            field=field,
            rule="open-models-only",
        )
        for field, what, present in given
        if present
    ]


def tuning_mode(spec: JobSpec) -> str | None:
    """The ``tuningMode`` to send: ``JobSpec.tuning_mode``, else the old ``extras.tuning_mode``."""
    if spec.tuning_mode is not None:
        return TUNING_MODES[spec.tuning_mode]
    extra = spec.extras.get("tuning_mode")
    if extra is None:
        return None
    return TUNING_MODES.get(str(extra), str(extra))


def v1beta1_fields(spec: JobSpec) -> list[tuple[str, str]]:
    """``(spec field, wire field)`` of everything in *spec*'s create body that only v1beta1 has."""
    needs: list[tuple[str, str]] = []
    if spec.method is TuningMethod.DISTILLATION:
        needs.append(("method", "distillationSpec"))
    key = SPEC_KEYS[spec.method]
    if spec.method is TuningMethod.SUPERVISED:
        if spec.tuning_mode is not None:
            needs.append(("tuning_mode", f"{key}.tuningMode"))
        elif "tuning_mode" in spec.extras:
            needs.append(("extras.tuning_mode", f"{key}.tuningMode"))
        given = spec.hyperparameters.given()
        for name, wire in (("batch_size", "batchSize"), ("learning_rate", "learningRate")):
            if name in given:
                needs.append((f"hyperparameters.{name}", f"{key}.hyperParameters.{wire}"))
    if spec.custom_base_model is not None:
        needs.append(("custom_base_model", "customBaseModel"))
    if spec.output_uri is not None:
        needs.append(("output_uri", "outputUri"))
    return needs


def create_version(spec: JobSpec, setting: str) -> str:
    """The API version of *spec*'s create under the ``api_version`` *setting*."""
    if setting in ("v1", "v1beta1"):
        return setting
    return "v1beta1" if v1beta1_fields(spec) else "v1"


def read_version(setting: str) -> str:
    """The API version of reads: ``v1beta1`` (detail state, progress) unless ``v1`` is forced."""
    return "v1" if setting == "v1" else "v1beta1"


def _both(spec: JobSpec, field: str, extra: str) -> Problem | None:
    if getattr(spec, field) is not None and extra in spec.extras:
        return Problem(
            f"given twice: as {field} and as extras.{extra} (give {field} only)", field=field, rule="conflict"
        )
    return None


def method_problems(spec: JobSpec, *, api_version: str) -> list[Problem]:
    """What a ``TuningJob`` of *spec*'s method cannot carry (under the ``api_version`` setting)."""
    problems: list[Problem] = []
    accepted = METHOD_HYPERPARAMETERS[spec.method]
    for name in spec.hyperparameters.given():
        if name not in accepted:
            problems.append(
                Problem(
                    f"{spec.method} tuning on vertex takes {', '.join(sorted(accepted))}",
                    field=f"hyperparameters.{name}",
                    rule="unsupported-parameter",
                )
            )
    if spec.method not in _WITH_TUNING_MODE:
        for field in ("tuning_mode", "extras.tuning_mode"):
            if (spec.tuning_mode if field == "tuning_mode" else spec.extras.get("tuning_mode")) is not None:
                problems.append(
                    Problem(
                        f"{spec.method} tuning has no tuning mode on vertex",
                        field=field,
                        rule="unsupported-parameter",
                    )
                )
    extra_mode = spec.extras.get("tuning_mode")
    if extra_mode is not None and str(extra_mode) not in (*TUNING_MODES, *TUNING_MODES.values()):
        problems.append(
            Problem(
                "must be 'adapter', 'full', TUNING_MODE_PEFT_ADAPTER or TUNING_MODE_FULL",
                field="extras.tuning_mode",
                rule="not-a-choice",
            )
        )
    for field, extra in (
        ("encryption_key", "encryption_spec"),
        ("service_account", "service_account"),
        ("tuning_mode", "tuning_mode"),
    ):
        if (problem := _both(spec, field, extra)) is not None:
            problems.append(problem)
    if spec.tuned_model is not None and not TUNED_MODEL.fullmatch(spec.tuned_model):
        problems.append(
            Problem(
                "not a tuned model's name (projects/P/locations/L/models/ID[@VERSION]); "
                "the client resolves a job id to it",
                field="tuned_model",
                rule="bad-id",
            )
        )
    teacher = spec.teacher_model
    if teacher is not None and teacher.startswith("projects/") and not TUNED_MODEL.fullmatch(teacher):
        problems.append(
            Problem(
                "a teacher is a base model id (gemini-3.1-pro) or a tuned model's name "
                "(projects/P/locations/L/models/ID[@VERSION])",
                field="teacher_model",
                rule="bad-id",
            )
        )
    for field in ("output_uri", "custom_base_model"):
        value = getattr(spec, field)
        if value is not None and not _GCS_DIRECTORY.fullmatch(value):
            problems.append(
                Problem(
                    f"not a Cloud Storage location (gs://bucket/path): {value!r}", field=field, rule="bad-uri"
                )
            )
    if spec.evaluation is not None and not _GCS_DIRECTORY.fullmatch(spec.evaluation.output_uri):
        problems.append(
            Problem(
                "not a Cloud Storage location (gs://bucket/path)",
                field="evaluation.output_uri",
                rule="bad-uri",
            )
        )
    problems.extend(_open_model_problems(spec))
    if api_version == "v1":
        for field, wire in v1beta1_fields(spec):
            problems.append(
                Problem(
                    f'{wire} exists only in the v1beta1 API, and the profile forces api_version = "v1": '
                    'set api_version = "auto" (or "v1beta1")',
                    field=field,
                    rule="needs-v1beta1",
                )
            )
    return problems
