"""The checks of an ``evaluationConfig`` (the evaluation a tuning job runs when it succeeds).

Per the discovery document, ``metrics`` and ``outputConfig`` are required;
``autoraterConfig.samplingCount`` is 1-32.  Google's supervised-tuning page
says the evaluation "is available in the us-central1 region".  Each metric
holds one metric spec (``bleuSpec``, ``rougeSpec``, ``exactMatchSpec``,
``pointwiseMetricSpec``, ``pairwiseMetricSpec``, ``predefinedMetricSpec``,
``llmBasedMetricSpec``, ``computationBasedMetricSpec``,
``customCodeExecutionSpec``; v1beta1 also ``stepBasedLlmMetricSpec``).
"""

from __future__ import annotations

import re
from typing import Any

from tuneport_emulator.storage.objects import parse_gs_uri
from tuneport_emulator.wire import ApiError, bad_request

__all__ = [
    "AGGREGATION_METRICS",
    "EVALUATION_LOCATION",
    "MAX_SAMPLING_COUNT",
    "METRIC_SPECS",
    "aggregation_metrics",
    "check_evaluation_config",
    "metric_kind",
    "metric_spec",
]

EVALUATION_LOCATION = "us-central1"
#: ``AggregationMetric`` values (AGGREGATION_METRIC_UNSPECIFIED left out: it names none).
AGGREGATION_METRICS = (
    "AVERAGE", "MODE", "STANDARD_DEVIATION", "VARIANCE", "MINIMUM", "MAXIMUM", "MEDIAN", "PERCENTILE_P90",
    "PERCENTILE_P95", "PERCENTILE_P99",
)  # fmt: skip
#: Case-insensitive: google-genai sends ``Metric(name="rouge_l")`` as ``rougel``.
_ROUGE_TYPE = re.compile(r"rouge[1-9]|rougel|rougelsum", re.IGNORECASE)
MAX_SAMPLING_COUNT = 32
METRIC_SPECS = (
    "bleuSpec", "rougeSpec", "exactMatchSpec", "pointwiseMetricSpec", "pairwiseMetricSpec",
    "predefinedMetricSpec", "llmBasedMetricSpec", "computationBasedMetricSpec", "customCodeExecutionSpec",
    "stepBasedLlmMetricSpec",
)  # fmt: skip
_SNAKE = {
    "bleu_spec": "bleuSpec", "rouge_spec": "rougeSpec", "exact_match_spec": "exactMatchSpec",
    "pointwise_metric_spec": "pointwiseMetricSpec", "pairwise_metric_spec": "pairwiseMetricSpec",
    "predefined_metric_spec": "predefinedMetricSpec", "llm_based_metric_spec": "llmBasedMetricSpec",
    "computation_based_metric_spec": "computationBasedMetricSpec",
    "custom_code_execution_spec": "customCodeExecutionSpec",
    "step_based_llm_metric_spec": "stepBasedLlmMetricSpec",
}  # fmt: skip


def _invalid(field: str, message: str) -> ApiError:
    return bad_request(message, field=field)


def metric_kind(metric: Any) -> str | None:
    """The metric spec a metric holds (camelCase), or None.

    A null member counts as absent: google-genai dumps its metric models with
    every field, most of them null.
    """
    if not isinstance(metric, dict):
        return None
    kinds = [
        k if k in METRIC_SPECS else _SNAKE[k]
        for k, v in metric.items()
        if (k in METRIC_SPECS or k in _SNAKE) and v is not None
    ]
    return kinds[0] if len(kinds) == 1 else None


def aggregation_metrics(metric: dict[str, Any]) -> list[str]:
    """A metric's ``aggregationMetrics`` (``aggregation_metrics`` too); ``AVERAGE`` if none."""
    given = metric.get("aggregationMetrics", metric.get("aggregation_metrics"))
    return [str(m) for m in given] if isinstance(given, list) and given else ["AVERAGE"]


def metric_spec(metric: dict[str, Any], kind: str) -> dict[str, Any]:
    """The body of a metric's spec ``kind`` (camelCase name; the snake_case key is read too)."""
    snake = next((k for k, v in _SNAKE.items() if v == kind), kind)
    value = metric.get(kind, metric.get(snake))
    return value if isinstance(value, dict) else {}


def check_evaluation_config(config: dict[str, Any], path: str, location: str) -> None:
    """400 unless ``config`` (normalized) is a complete evaluation config."""
    if location != EVALUATION_LOCATION:
        raise _invalid(path, f"Evaluation of a tuning job is only available in {EVALUATION_LOCATION}.")
    metrics = config.get("metrics") or []
    if not metrics:
        raise _invalid(f"{path}.metrics", "metrics is required: at least one metric to evaluate.")
    for index, metric in enumerate(metrics):
        kind = metric_kind(metric)
        if kind is None:
            raise _invalid(
                f"{path}.metrics[{index}]",
                "A metric holds exactly one metric spec (bleu_spec, rouge_spec, exact_match_spec, "
                "pointwise_metric_spec, pairwise_metric_spec, predefined_metric_spec, "
                "llm_based_metric_spec…).",
            )
        unknown = [m for m in aggregation_metrics(metric) if m not in AGGREGATION_METRICS]
        if unknown:
            raise _invalid(
                f"{path}.metrics[{index}].aggregation_metrics",
                f"Invalid aggregation metric '{unknown[0]}'; use one of {', '.join(AGGREGATION_METRICS)}.",
            )
        rouge = metric_spec(metric, "rougeSpec")
        rouge_type = rouge.get("rougeType", rouge.get("rouge_type"))
        if kind == "rougeSpec" and rouge_type is not None and not _ROUGE_TYPE.fullmatch(str(rouge_type)):
            raise _invalid(
                f"{path}.metrics[{index}].rouge_spec.rouge_type",
                f"Invalid rouge_type '{rouge_type}'; use rouge1 to rouge9, rougeL or rougeLsum.",
            )
    prefix = ((config.get("outputConfig") or {}).get("gcsDestination") or {}).get("outputUriPrefix")
    if not prefix:
        raise _invalid(
            f"{path}.output_config.gcs_destination.output_uri_prefix",
            "output_config.gcs_destination.output_uri_prefix is required.",
        )
    if parse_gs_uri(str(prefix).rstrip("/") + "/x") is None:
        raise _invalid(
            f"{path}.output_config.gcs_destination.output_uri_prefix",
            f"output_uri_prefix must be a Cloud Storage URI (gs://bucket/path); got '{prefix}'.",
        )
    sampling = (config.get("autoraterConfig") or {}).get("samplingCount")
    if sampling is not None and not 1 <= sampling <= MAX_SAMPLING_COUNT:
        raise _invalid(
            f"{path}.autorater_config.sampling_count",
            f"sampling_count must be between 1 and {MAX_SAMPLING_COUNT}.",
        )
