"""``TuningJob`` and ``Model`` replies read into the port's models (pure functions).

The method is the spec the job holds (``supervisedTuningSpec``,
``preferenceOptimizationSpec``, ``distillationSpec``); hyperparameters and
data statistics are that spec's.  Checkpoints come from
``tunedModel.checkpoints``; the default one is the tuned model's
``defaultCheckpointId`` when the model was read, else the checkpoint served
by the tuned model's own endpoint ("The main endpoint for the tuned model
always points to the default checkpoint", Google's "Use checkpoints in
supervised fine-tuning" page), else the last one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tuneport.models import (
    Checkpoint,
    Hyperparameters,
    JobError,
    JobState,
    TunedModelRef,
    TuningJob,
    TuningMethod,
)
from tuneport_google.proto_json import parse_int, parse_time
from tuneport_vertex.wire import (
    ADAPTER_BY_NAME,
    ADAPTER_TAGS,
    BACKEND,
    DETAIL_STATES,
    REQUEST_ID_LABEL,
    STATES,
)
from tuneport_vertex.wire_evaluation import evaluation_runs
from tuneport_vertex.wire_methods import SPEC_KEYS

__all__ = ["base_model_of", "checkpoints_from", "job_from", "method_of", "tuned_model_ref"]

#: Full fine-tuning (v1beta1 ``fullFineTuningSpec``) is supervised tuning of every weight.
_FULL_FINE_TUNING = "fullFineTuningSpec"
#: Labels tuning puts on the tuned model (google-genai reads the base model from the first).
BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
JOB_ID_LABEL = "google-vertex-llm-tuning-job-id"
#: Where each method's data statistics are (``tuningDataStats.<key>``).
_STATS_KEYS: Mapping[TuningMethod, str] = {
    TuningMethod.SUPERVISED: "supervisedTuningDataStats",
    TuningMethod.PREFERENCE: "preferenceOptimizationDataStats",
    TuningMethod.DISTILLATION: "distillationDataStats",
}


def _adapter_size(value: Any) -> int | None:
    if value is None:
        return None
    text = str(value)
    return ADAPTER_BY_NAME.get(text) or ADAPTER_TAGS.get(text)


def method_of(data: Mapping[str, Any]) -> TuningMethod | None:
    """The method of a ``TuningJob`` reply, from the spec it holds (``None``: none of the port's)."""
    for method, key in SPEC_KEYS.items():
        if isinstance(data.get(key), Mapping):
            return method
    if isinstance(data.get(_FULL_FINE_TUNING), Mapping):
        return TuningMethod.SUPERVISED
    return None


def _method_spec(data: Mapping[str, Any], method: TuningMethod | None) -> Mapping[str, Any]:
    if method is None:
        return {}
    spec = data.get(SPEC_KEYS[method]) or data.get(_FULL_FINE_TUNING) or {}
    return spec if isinstance(spec, Mapping) else {}


def _hyperparameters(hyper: Mapping[str, Any]) -> Hyperparameters:
    values = {
        "epoch_count": parse_int(hyper.get("epochCount")),
        "learning_rate_multiplier": hyper.get("learningRateMultiplier"),
        "adapter_size": _adapter_size(hyper.get("adapterSize")),
        "batch_size": parse_int(hyper.get("batchSize")),
        "learning_rate": hyper.get("learningRate"),
        "beta": hyper.get("beta"),
    }
    try:
        return Hyperparameters.model_validate({k: v for k, v in values.items() if v is not None})
    except ValueError:
        return Hyperparameters()


def _stats(data: Mapping[str, Any], method: TuningMethod | None) -> Mapping[str, Any]:
    """The data statistics of the job's method (distillation's are its training dataset's)."""
    all_stats = data.get("tuningDataStats") or {}
    if method is None or not isinstance(all_stats, Mapping):
        return {}
    stats = all_stats.get(_STATS_KEYS[method]) or {}
    return stats if isinstance(stats, Mapping) else {}


def _total_steps(stats: Mapping[str, Any]) -> int | None:
    total = parse_int(stats.get("tuningStepCount"))
    if total is None and isinstance(stats.get("trainingDatasetStats"), Mapping):
        total = parse_int(stats["trainingDatasetStats"].get("tuningStepCount"))
    return total


def checkpoints_from(
    items: Sequence[Any], *, default_id: str | None = None, served_endpoint: str | None = None
) -> tuple[Checkpoint, ...]:
    """Checkpoints of ``tunedModel.checkpoints`` or ``Model.checkpoints``, the default one marked."""
    read: list[tuple[str, int | None, int | None, str | None]] = []
    for item in items:
        if not isinstance(item, Mapping) or item.get("checkpointId") in (None, ""):
            continue
        endpoint = item.get("endpoint")
        read.append(
            (
                str(item["checkpointId"]),
                parse_int(item.get("epoch")),
                parse_int(item.get("step")),
                str(endpoint) if endpoint else None,
            )
        )
    if not read:
        return ()
    ids = [checkpoint_id for checkpoint_id, *_ in read]
    if default_id not in ids:
        served = [
            checkpoint_id
            for checkpoint_id, _, _, endpoint in read
            if endpoint and endpoint == served_endpoint
        ]
        default_id = served[0] if served else ids[-1]
    return tuple(
        Checkpoint(
            id=checkpoint_id,
            epoch=epoch,
            step=step,
            endpoint=endpoint,
            is_default=checkpoint_id == default_id,
        )
        for checkpoint_id, epoch, step, endpoint in read
    )


def job_from(data: Mapping[str, Any], *, default_checkpoint: str | None = None) -> TuningJob:
    """A :class:`TuningJob` from a ``TuningJob`` reply.

    *default_checkpoint* is the tuned model's ``defaultCheckpointId``, when
    the model was read.
    """
    name = str(data.get("name", ""))
    state, detail = STATES.get(str(data.get("state", "")), (JobState.UNKNOWN, None))
    v1beta1_detail = DETAIL_STATES.get(str(data.get("tuningJobState", "")))
    if v1beta1_detail is not None and not state.is_terminal:
        detail = v1beta1_detail
    method = method_of(data)
    spec = _method_spec(data, method)
    stats = _stats(data, method)
    meta = data.get("tuningJobMetadata") or {}
    completed = parse_int(meta.get("completedStepCount"))
    total = _total_steps(stats)
    progress = None
    if state.is_success:
        progress = 1.0
    elif completed is not None and total:
        progress = min(completed / total, 1.0)
    error = None
    if isinstance(data.get("error"), Mapping):
        err = data["error"]
        error = JobError(message=str(err.get("message", "")), code=parse_int(err.get("code")))
    tuned = data.get("tunedModel") or {}
    pre_tuned = data.get("preTunedModel") or {}
    teacher = spec.get("baseTeacherModel") or spec.get("tunedTeacherModelSource")
    source_checkpoint = pre_tuned.get("checkpointId")
    return TuningJob(
        id=name.rsplit("/", 1)[-1] if name else "",
        backend=BACKEND,
        name=name or None,
        display_name=data.get("tunedModelDisplayName"),
        description=data.get("description"),
        base_model=data.get("baseModel") or pre_tuned.get("baseModel"),
        state=state,
        detail_state=detail,
        progress=progress,
        completed_steps=completed,
        total_steps=total,
        completed_epochs=parse_int(meta.get("completedEpochCount")),
        create_time=parse_time(data.get("createTime")),
        start_time=parse_time(data.get("startTime")),
        end_time=parse_time(data.get("endTime")),
        update_time=parse_time(data.get("updateTime")),
        error=error,
        tuned_model=tuned.get("model"),
        endpoint=tuned.get("endpoint"),
        hyperparameters=_hyperparameters(spec.get("hyperParameters") or {}),
        method=method,
        source_model=pre_tuned.get("tunedModelName") or None,
        source_checkpoint=str(source_checkpoint) if source_checkpoint not in (None, "") else None,
        teacher_model=str(teacher) if teacher else None,
        checkpoints=checkpoints_from(
            tuned.get("checkpoints") or [],
            default_id=default_checkpoint,
            served_endpoint=tuned.get("endpoint"),
        ),
        evaluations=evaluation_runs(data, spec.get("evaluationConfig")),
        data_stats=dict(stats) or None,
        # tuneport's request id is bookkeeping: it stays in raw, out of the job's labels.
        labels={str(k): str(v) for k, v in (data.get("labels") or {}).items() if k != REQUEST_ID_LABEL},
        raw=dict(data),
    )


def base_model_of(model: Mapping[str, Any]) -> str | None:
    """The base model named by a tuned ``Model``'s labels (``None``: no tuning label).

    Label values cannot hold dots, so the id is stored with underscores
    (``gemini-2_5-flash``): they are turned back into dots, which the
    base-model ids of Gemini never hold otherwise.  An inference: Google
    documents no value; prefer the job's ``baseModel`` when the job is known.
    """
    labels = model.get("labels") or {}
    value = labels.get(BASE_MODEL_LABEL) if isinstance(labels, Mapping) else None
    return str(value).replace("_", ".") if value else None


def tuned_model_ref(
    model: Mapping[str, Any], *, name: str, base_model: str | None, job_id: str | None
) -> TunedModelRef:
    """What continuous tuning from the ``Model`` *model* (named *name*, version included) starts from."""
    default = model.get("defaultCheckpointId")
    return TunedModelRef(
        model=name,
        base_model=base_model,
        checkpoints=checkpoints_from(
            model.get("checkpoints") or [], default_id=str(default) if default else None
        ),
        job_id=job_id,
    )
