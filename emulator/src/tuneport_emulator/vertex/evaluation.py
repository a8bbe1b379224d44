"""``evaluateDatasetRuns``: the evaluation a tuning job with an ``evaluationConfig`` runs when it succeeds.

One run per exported checkpoint (:mod:`.checkpoints`), in training order:
``checkpointId``, an ``evaluationRun`` resource name
(``projects/…/locations/…/evaluationRuns/{id}``, derived from the job and the
checkpoint) and an ``evaluateDatasetResponse`` whose ``aggregationOutput``
holds one ``AggregationResult`` per metric and aggregation (the metric's
``aggregationMetrics``, by default ``AVERAGE``), and whose ``outputInfo``
names ``{outputUriPrefix}/{run id}`` (the emulator writes no files there).

The values are measured, not made up: each checkpoint answers the
evaluation examples (the validation set's first :data:`MAX_EVALUATION_EXAMPLES`,
else the training examples) as its endpoint would (:func:`.checkpoints.examples_at`),
and its answers are scored against the examples' references
(:mod:`.text_metrics`): exact match, BLEU and ROUGE as named; a
computation-based metric by its ``type``.  The emulator has no autorater, so
model-judged metrics (pointwise, predefined, LLM-based, step-based, custom
code) get a stand-in: ``1 + 4 x ROUGE-L`` on the 1-5 scale of Google's
rubrics (``autoraterConfig`` changes nothing).  A pairwise metric needs a
baseline model's answers, which the emulator cannot give: that run carries
``error`` (``UNIMPLEMENTED``) instead of a response.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any

from tuneport_emulator.answers import answer
from tuneport_emulator.ids import DIGITS, derive_token
from tuneport_emulator.vertex.checkpoints import checkpoints, examples_at
from tuneport_emulator.vertex.evaluation_config import aggregation_metrics, metric_kind, metric_spec
from tuneport_emulator.vertex.methods import training_uri
from tuneport_emulator.vertex.records import Example, TuningJob
from tuneport_emulator.vertex.text_metrics import bleu, exact_match, rouge
from tuneport_emulator.wire import RPC_CODES

__all__ = ["MAX_EVALUATION_EXAMPLES", "aggregate", "evaluation_runs", "metric_scores"]

#: The evaluation examples a run scores (the first of the validation set).
MAX_EVALUATION_EXAMPLES = 200
_JUDGED = ("pointwiseMetricSpec", "predefinedMetricSpec", "llmBasedMetricSpec", "stepBasedLlmMetricSpec")
_RESULT_FIELD = {
    "exactMatchSpec": "exactMatchMetricValue",
    "bleuSpec": "bleuMetricValue",
    "rougeSpec": "rougeMetricValue",
    "customCodeExecutionSpec": "customCodeExecutionResult",
    **dict.fromkeys(_JUDGED, "pointwiseMetricResult"),
}
_COMPUTED = {"EXACT_MATCH": "exactMatchMetricValue", "BLEU": "bleuMetricValue", "ROUGE": "rougeMetricValue"}


def _scorer(metric: dict[str, Any]) -> tuple[str, Callable[[str, str], float]] | None:
    """(result field, per-example score) of a metric; None for a pairwise metric."""
    kind = metric_kind(metric)
    spec = metric_spec(metric, kind or "")
    if kind == "pairwiseMetricSpec" or kind is None:
        return None
    if kind == "exactMatchSpec":
        return _RESULT_FIELD[kind], exact_match
    if kind == "bleuSpec":
        effective = bool(spec.get("useEffectiveOrder") or spec.get("use_effective_order"))
        return _RESULT_FIELD[kind], lambda p, r: bleu(p, r, use_effective_order=effective)
    if kind == "rougeSpec":
        rouge_type = str(spec.get("rougeType") or spec.get("rouge_type") or "rougeL")
        return _RESULT_FIELD[kind], lambda p, r: rouge(p, r, rouge_type)
    if kind == "computationBasedMetricSpec":
        computed = str(spec.get("type") or "ROUGE")
        field = _COMPUTED.get(computed, "rougeMetricValue")
        if computed == "EXACT_MATCH":
            return field, exact_match
        if computed == "BLEU":
            return field, bleu
        return field, rouge
    return _RESULT_FIELD[kind], lambda p, r: 1.0 + 4.0 * rouge(p, r)


def metric_scores(metric: dict[str, Any], pairs: list[tuple[str, str]]) -> tuple[str, list[float]] | None:
    """(result field, score of each (prediction, reference)) of one metric; None if not scorable."""
    scorer = _scorer(metric)
    if scorer is None:
        return None
    field, score = scorer
    return field, [score(prediction, reference) for prediction, reference in pairs]


def aggregate(scores: list[float], how: str) -> float:
    """One ``AggregationMetric`` of per-example scores."""
    if not scores:
        return 0.0
    ordered = sorted(scores)
    if how == "MINIMUM":
        return ordered[0]
    if how == "MAXIMUM":
        return ordered[-1]
    if how == "MEDIAN":
        return float(statistics.median(ordered))
    if how == "MODE":
        return Counter(ordered).most_common(1)[0][0]
    if how == "STANDARD_DEVIATION":
        return statistics.pstdev(ordered)
    if how == "VARIANCE":
        return statistics.pvariance(ordered)
    if how.startswith("PERCENTILE_P"):
        rank = max(1, math.ceil(int(how.removeprefix("PERCENTILE_P")) / 100 * len(ordered)))
        return ordered[rank - 1]
    return sum(ordered) / len(ordered)


def _run_id(record: TuningJob, checkpoint: str) -> str:
    token = derive_token(f"{record.name}/evaluation/{checkpoint}", 19, DIGITS)
    return ("1" + token[1:]) if token[0] == "0" else token


def evaluation_runs(record: TuningJob, config: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``evaluateDatasetRuns`` of a succeeded job (normalized)."""
    evaluated = record.evaluation_examples or record.examples
    source = record.evaluation_source or training_uri(record.fields)
    prefix = str(config["outputConfig"]["gcsDestination"]["outputUriPrefix"]).rstrip("/")
    metrics = [m for m in config.get("metrics") or [] if isinstance(m, dict)]
    runs: list[dict[str, Any]] = []
    for checkpoint in checkpoints(record):
        run_id = _run_id(record, checkpoint.id)
        run: dict[str, Any] = {
            "checkpointId": checkpoint.id,
            "evaluationRun": f"{record.parent}/evaluationRuns/{run_id}",
        }
        known = examples_at(record, checkpoint.id)
        pairs = [(_answer(known, example), example.output) for example in evaluated]
        results: list[dict[str, Any]] = []
        for metric in metrics:
            scored = metric_scores(metric, pairs)
            if scored is None:
                run["error"] = {
                    "code": RPC_CODES["UNIMPLEMENTED"],
                    "message": "Pairwise metrics compare with a baseline model's answers; the emulator "
                    "serves no base model.",
                }
                break
            field, scores = scored
            for how in aggregation_metrics(metric):
                value = round(aggregate(scores, how), 6)
                results.append({"aggregationMetric": how, field: {"score": value}})
        if "error" not in run:
            run["evaluateDatasetResponse"] = {
                "aggregationOutput": {
                    "dataset": {"gcsSource": {"uris": [source]}},
                    "aggregationResults": results,
                },
                "outputInfo": {"gcsOutputDirectory": f"{prefix}/{run_id}"},
            }
        runs.append(run)
    return runs


def _answer(known: list[Example], example: Example) -> str:
    pool = [e for e in known if e.system == example.system] or known
    return answer([(e.input, e.output) for e in pool], example.input).text
