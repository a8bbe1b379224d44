"""Evaluation tied to a tuning job: ``evaluationConfig`` built, ``evaluateDatasetRuns`` read.

The port names metrics neutrally (:class:`~tuneport.models.EvaluationSpec`);
here they become the discovery document's ``Metric`` shapes
(``GoogleCloudAiplatformV1beta1Metric``): ``bleu`` → ``bleuSpec``,
``rouge_l`` / ``rouge_lsum`` / ``rouge_1``…``rouge_9`` → ``rougeSpec.rougeType``
(``rougeL``, ``rougeLsum``, ``rouge1``…: "Supported rouge types are
rougen[1-9], rougeL, and rougeLsum"), ``exact_match`` → ``exactMatchSpec``,
any other name → ``predefinedMetricSpec.metricSpecName``
(``instruction_following_v1``…).  A dict is the caller's own ``Metric`` and is
sent unchanged.  Each mapped metric asks for the ``AVERAGE`` aggregation, so
every result reads back as one number per metric.

Results come back per checkpoint as ``evaluateDatasetRuns[]``, whose
``evaluateDatasetResponse.aggregationOutput.aggregationResults[]`` hold one
value per metric and aggregation without the metric's name: a value is named
by its kind (``bleuMetricValue`` → the config's bleu metric…), and
model-based results (``pointwiseMetricResult``) by the model-based metrics of
the config, in order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tuneport.errors import Problem, SpecError
from tuneport.models import EvaluationRun, EvaluationSpec, JobError
from tuneport_google.proto_json import parse_int

__all__ = ["evaluation_config", "evaluation_runs", "metric_names"]

_ROUGE = re.compile(r"rouge_(?:([1-9])|(l)|(lsum))")
#: A predefined metric's name (``instruction_following_v1``, ``coherence``…).
_PREDEFINED = re.compile(r"[a-z][a-z0-9_]{0,127}")
#: Which result field answers which metric spec (computation-based metrics: one of each kind).
_RESULT_KINDS = {
    "bleuMetricValue": "bleuSpec",
    "rougeMetricValue": "rougeSpec",
    "exactMatchMetricValue": "exactMatchSpec",
    "customCodeExecutionResult": "customCodeExecutionSpec",
}
#: Metric specs whose results are ``pointwiseMetricResult`` / ``pairwiseMetricResult`` (judged by a model).
_MODEL_BASED = (
    "pointwiseMetricSpec",
    "pairwiseMetricSpec",
    "predefinedMetricSpec",
    "llmBasedMetricSpec",
    "stepBasedLlmMetricSpec",
)
_AVERAGE = ("AVERAGE", "AGGREGATION_METRIC_UNSPECIFIED", "0", "1", "")


def _metric(name: str, index: int) -> dict[str, Any]:
    """The ``Metric`` of a neutral metric name."""
    if name == "bleu":
        return {"bleuSpec": {}}
    if name == "exact_match":
        return {"exactMatchSpec": {}}
    rouge = _ROUGE.fullmatch(name)
    if rouge:
        number, _, _ = rouge.groups()
        kind = f"rouge{number}" if number else ("rougeL" if name == "rouge_l" else "rougeLsum")
        return {"rougeSpec": {"rougeType": kind}}
    if not _PREDEFINED.fullmatch(name):
        raise SpecError(
            [
                Problem(
                    f"not a metric name: {name!r} (bleu, rouge_l, rouge_lsum, rouge_1…rouge_9, exact_match, "
                    "a predefined metric such as instruction_following_v1, or a Metric as a dict)",
                    field=f"evaluation.metrics.{index}",
                    rule="bad-metric",
                )
            ],
            summary="the job spec is not accepted by vertex",
        )
    return {"predefinedMetricSpec": {"metricSpecName": name}}


def evaluation_config(spec: EvaluationSpec) -> dict[str, Any]:
    """The ``evaluationConfig`` of *spec* (metrics, output, autorater)."""
    metrics: list[dict[str, Any]] = []
    for index, metric in enumerate(spec.metrics):
        if isinstance(metric, str):
            metrics.append({**_metric(metric, index), "aggregationMetrics": ["AVERAGE"]})
        else:
            metrics.append(dict(metric))  # the caller's own Metric, unchanged
    config: dict[str, Any] = {
        "metrics": metrics,
        "outputConfig": {"gcsDestination": {"outputUriPrefix": spec.output_uri}},
    }
    autorater: dict[str, Any] = {}
    if spec.autorater_model is not None:
        autorater["autoraterModel"] = spec.autorater_model
    if spec.sampling_count is not None:
        autorater["samplingCount"] = spec.sampling_count
    if spec.flip_enabled is not None:
        autorater["flipEnabled"] = spec.flip_enabled
    if autorater:
        config["autoraterConfig"] = autorater
    return config


def _kind(metric: Mapping[str, Any]) -> str | None:
    for key in metric:
        camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), str(key))
        if camel.endswith("Spec"):
            return camel
    return None


def _name_of(metric: Mapping[str, Any], kind: str | None) -> str:
    """The neutral name of a ``Metric`` (what the user wrote, for the metrics tuneport maps)."""
    spec = metric.get(kind or "") or {}
    if kind == "bleuSpec":
        return "bleu"
    if kind == "exactMatchSpec":
        return "exact_match"
    if kind == "rougeSpec":
        rouge = str(spec.get("rougeType") or "rougeL")
        return {"rougeL": "rouge_l", "rougeLsum": "rouge_lsum"}.get(rouge, rouge.replace("rouge", "rouge_"))
    if kind == "predefinedMetricSpec" and spec.get("metricSpecName"):
        return str(spec["metricSpecName"])
    if kind is None:
        return "metric"
    return re.sub(r"(?<!^)([A-Z])", r"_\1", kind.removesuffix("MetricSpec").removesuffix("Spec")).lower()


def metric_names(config: Mapping[str, Any] | None) -> list[tuple[str | None, str]]:
    """(spec kind, neutral name) of each metric of an ``evaluationConfig``, in order."""
    metrics = (config or {}).get("metrics") or []
    named: list[tuple[str | None, str]] = []
    for metric in metrics:
        if isinstance(metric, Mapping):
            kind = _kind(metric)
            named.append((kind, _name_of(metric, kind)))
    return named


def _metrics_of(results: Sequence[Any], names: list[tuple[str | None, str]]) -> dict[str, float]:
    """One number per metric (and per aggregation other than the average)."""
    by_kind = dict(reversed(names))  # the first metric of a kind wins
    judged = [name for kind, name in names if kind in _MODEL_BASED]
    values: dict[str, float] = {}
    seen_judged: dict[str, int] = {}
    for result in results:
        if not isinstance(result, Mapping):
            continue
        aggregation = str(result.get("aggregationMetric") or "")
        for field, value in result.items():
            if not isinstance(value, Mapping):
                continue
            if field in _RESULT_KINDS:
                name = by_kind.get(_RESULT_KINDS[field], field.removesuffix("MetricValue").lower())
            elif field in ("pointwiseMetricResult", "pairwiseMetricResult"):
                order = seen_judged.get(aggregation, 0)
                seen_judged[aggregation] = order + 1
                name = judged[order] if order < len(judged) else f"model_based_{order + 1}"
            else:
                continue
            score = value.get("score")
            if isinstance(score, (int, float)) and not isinstance(score, bool):
                key = name if aggregation in _AVERAGE else f"{name}.{aggregation.lower()}"
                values[key] = float(score)
    return values


def evaluation_runs(data: Mapping[str, Any], config: Mapping[str, Any] | None) -> tuple[EvaluationRun, ...]:
    """The ``evaluateDatasetRuns`` of a ``TuningJob`` reply, metrics named by *config*'s metrics."""
    names = metric_names(config)
    runs: list[EvaluationRun] = []
    for run in data.get("evaluateDatasetRuns") or []:
        if not isinstance(run, Mapping):
            continue
        response = run.get("evaluateDatasetResponse") or {}
        results = (response.get("aggregationOutput") or {}).get("aggregationResults") or []
        error = None
        if isinstance(run.get("error"), Mapping):
            err = run["error"]
            error = JobError(message=str(err.get("message", "")), code=parse_int(err.get("code")))
        checkpoint = run.get("checkpointId")
        runs.append(
            EvaluationRun(
                checkpoint_id=str(checkpoint) if checkpoint not in (None, "") else None,
                run=run.get("evaluationRun") or run.get("operationName") or None,
                metrics=_metrics_of(results, names),
                error=error,
                raw=dict(run),
            )
        )
    return tuple(runs)
