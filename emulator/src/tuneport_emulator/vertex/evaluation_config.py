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

from typing import Any

from tuneport_emulator.storage.objects import parse_gs_uri
from tuneport_emulator.wire import ApiError, bad_request

__all__ = [
    "EVALUATION_LOCATION",
    "METRIC_SPECS",
    "MAX_SAMPLING_COUNT",
    "check_evaluation_config",
    "metric_kind",
]

EVALUATION_LOCATION = "us-central1"
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
    """The metric spec a metric holds (camelCase), or None."""
    if not isinstance(metric, dict):
        return None
    kinds = [k if k in METRIC_SPECS else _SNAKE[k] for k in metric if k in METRIC_SPECS or k in _SNAKE]
    return kinds[0] if len(kinds) == 1 else None


def check_evaluation_config(config: dict[str, Any], path: str, location: str) -> None:
    """400 unless ``config`` (normalized) is a complete evaluation config."""
    if location != EVALUATION_LOCATION:
        raise _invalid(path, f"Evaluation of a tuning job is only available in {EVALUATION_LOCATION}.")
    metrics = config.get("metrics") or []
    if not metrics:
        raise _invalid(f"{path}.metrics", "metrics is required: at least one metric to evaluate.")
    for index, metric in enumerate(metrics):
        if metric_kind(metric) is None:
            raise _invalid(
                f"{path}.metrics[{index}]",
                "A metric holds exactly one metric spec (bleu_spec, rouge_spec, exact_match_spec, "
                "pointwise_metric_spec, pairwise_metric_spec, predefined_metric_spec, "
                "llm_based_metric_spec…).",
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
