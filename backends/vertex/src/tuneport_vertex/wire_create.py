"""The ``TuningJob`` a create sends, for every tuning method (a pure function).

The body holds the method's spec (see :mod:`tuneport_vertex.wire_methods`),
and around it what every job may carry:

* the starting point: ``baseModel``, or ``preTunedModel{tunedModelName,
  checkpointId}`` when the job continues from a tuned model (continuous
  tuning; ``baseModel`` is then not sent: the service takes it from the
  tuned model);
* open models: ``customBaseModel`` and ``outputUri``;
* ``encryptionSpec{kmsKeyName}``, ``serviceAccount``, ``labels``,
  ``tunedModelDisplayName``, ``description``;
* the evaluation run after tuning: ``<spec>.evaluationConfig``.

Distillation's data is ``promptDatasetUri`` (``trainingDatasetUri`` is
deprecated there); its teacher is ``baseTeacherModel`` for a model id, or
``tunedTeacherModelSource`` for a tuned model's name.  google-genai sends
``evaluationConfig`` and ``exportLastCheckpointOnly`` in the preference and
distillation specs too, although the discovery document lists them only for
supervised tuning: Google's own client is what the service is known to
accept, so tuneport does the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuneport.models import JobSpec, TuningMethod
from tuneport_vertex.wire import ADAPTER_SIZES, check_spec
from tuneport_vertex.wire_evaluation import evaluation_config
from tuneport_vertex.wire_methods import SPEC_KEYS, tuning_mode

__all__ = ["create_body"]

#: Hyperparameter → its field in ``hyperParameters`` (all methods share the names).
_HYPER_FIELDS = (
    ("epoch_count", "epochCount"),
    ("learning_rate_multiplier", "learningRateMultiplier"),
    ("adapter_size", "adapterSize"),
    ("batch_size", "batchSize"),
    ("learning_rate", "learningRate"),
    ("beta", "beta"),
)


def _hyperparameters(spec: JobSpec) -> dict[str, Any]:
    given = spec.hyperparameters.given()
    hyper: dict[str, Any] = {}
    for name, wire in _HYPER_FIELDS:
        if name in given:
            hyper[wire] = ADAPTER_SIZES[given[name]] if name == "adapter_size" else given[name]
    return hyper


def _method_spec(spec: JobSpec, training_uri: str, validation_uri: str | None) -> dict[str, Any]:
    """The method's spec: its data, hyperparameters, teacher, tuning mode and evaluation."""
    body: dict[str, Any] = {}
    if spec.method is TuningMethod.DISTILLATION:
        teacher = str(spec.teacher_model)
        body["tunedTeacherModelSource" if teacher.startswith("projects/") else "baseTeacherModel"] = teacher
        body["promptDatasetUri"] = training_uri
    else:
        body["trainingDatasetUri"] = training_uri
    if validation_uri:
        body["validationDatasetUri"] = validation_uri
    hyper = _hyperparameters(spec)
    if hyper:
        body["hyperParameters"] = hyper
    if "export_last_checkpoint_only" in spec.extras:
        body["exportLastCheckpointOnly"] = bool(spec.extras["export_last_checkpoint_only"])
    mode = tuning_mode(spec)
    if mode is not None:
        body["tuningMode"] = mode
    if spec.evaluation is not None:
        body["evaluationConfig"] = evaluation_config(spec.evaluation)
    return body


def _encryption(spec: JobSpec) -> dict[str, Any] | None:
    if spec.encryption_key is not None:
        return {"kmsKeyName": spec.encryption_key}
    legacy = spec.extras.get("encryption_spec")
    if not legacy:
        return None
    return {"kmsKeyName": legacy} if isinstance(legacy, str) else dict(legacy)


def create_body(
    spec: JobSpec,
    *,
    training_uri: str,
    validation_uri: str | None,
    labels: Mapping[str, str],
    api_version: str = "auto",
) -> dict[str, Any]:
    """The ``TuningJob`` sent to ``POST …/tuningJobs`` (checked first: :func:`.wire.check_spec`).

    *api_version* is the profile's setting; a forced ``v1`` refuses a job
    that needs v1beta1.
    """
    check_spec(spec, api_version=api_version)
    body: dict[str, Any] = {}
    if spec.tuned_model is not None:
        pre_tuned: dict[str, Any] = {"tunedModelName": spec.tuned_model}
        if spec.checkpoint is not None:
            pre_tuned["checkpointId"] = spec.checkpoint
        body["preTunedModel"] = pre_tuned
    else:
        body["baseModel"] = spec.base_model
    body[SPEC_KEYS[spec.method]] = _method_spec(spec, training_uri, validation_uri)
    if spec.custom_base_model is not None:
        body["customBaseModel"] = spec.custom_base_model
    if spec.output_uri is not None:
        body["outputUri"] = spec.output_uri
    if spec.display_name:
        body["tunedModelDisplayName"] = spec.display_name
    if spec.description:
        body["description"] = spec.description
    if labels:
        body["labels"] = dict(labels)
    encryption = _encryption(spec)
    if encryption:
        body["encryptionSpec"] = encryption
    account = spec.service_account or spec.extras.get("service_account")
    if account:
        body["serviceAccount"] = account
    return body
