"""Moving a tuned model to a new base model: the flow ``client.rebase(job, to=MODEL)`` runs.

When a base model retires, its tuned models retire with it; the way forward is
to tune the same data again on the successor.  The client does it in one of
two ways, chosen by what the backend offers:

* a backend with the optional ``rebase(job_id, base_model, overrides)``
  operation asks the service to do it (Vertex ``tuningJobs:rebaseTunedModel``),
  sending only what changes;
* otherwise the job is re-created: its spec (the optional ``spec_of(job_id)``
  operation: base model, method, data, hyperparameters, names and labels as
  the service keeps them) on the new base, through the backend's ``create``.

Either way the new job's spec — the old one on the new base, with the
overrides — goes through the client's pre-flight first (the catalog: is the
new base known and tunable, is its tuning cut-off past, do the hyperparameters
fit its ranges), so a refused rebase sends nothing that creates anything.  A
backend that can say neither how to rebase nor what a job was tuned on is
refused with :class:`~tuneport.errors.UnsupportedCapability`.

Hyperparameters carry over unchanged unless overridden; Google's migration
recipe (:func:`translate_hyperparameters`, for the pairs it covers) is applied
only when asked for (``translate_hyperparameters=True``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import pydantic

from tuneport.errors import JobNotReady, Problem, SpecError, UnsupportedCapability
from tuneport.models import Hyperparameters, JobSpec, TuningJob
from tuneport.protocol import Flow, Operation, TuningBackend, call

__all__ = [
    "OVERRIDABLE",
    "RECIPE_PAIRS",
    "rebase",
    "rebased_spec",
    "split_overrides",
    "translate_hyperparameters",
]

#: What a rebase may change besides the base model (flat hyperparameters too: ``epoch_count=4``).
OVERRIDABLE = frozenset({"hyperparameters", "display_name", "description", "labels"})
_HYPERPARAMETERS = frozenset(Hyperparameters.model_fields)
_PUBLISHER_PREFIX = "publishers/google/models/"
#: Google's migration recipe caps the translated learning-rate multiplier here.
MAX_TRANSLATED_MULTIPLIER = 10.0


def _bare(model: str) -> str:
    return model.removeprefix(_PUBLISHER_PREFIX)


def split_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides as JobSpec fields (flat hyperparameters gathered), checked; refuses other fields."""
    problems = [
        Problem(
            f"a rebase keeps the job's {name}: it can change only its hyperparameters, "
            "display_name, description and labels",
            field=name,
            rule="not-overridable",
        )
        for name in overrides
        if name not in OVERRIDABLE and name not in _HYPERPARAMETERS
    ]
    if problems:
        raise SpecError(problems, summary="invalid rebase")
    table = overrides.get("hyperparameters") or {}
    if isinstance(table, Hyperparameters):
        table = table.given()
    if not isinstance(table, Mapping):
        raise SpecError(
            [Problem("must be a table of hyperparameters", field="hyperparameters", rule="dict_type")],
            summary="invalid rebase",
        )
    hyper = {**table, **{k: v for k, v in overrides.items() if k in _HYPERPARAMETERS}}
    fields: dict[str, Any] = {k: v for k, v in overrides.items() if k in OVERRIDABLE - {"hyperparameters"}}
    from tuneport.client import spec_error

    try:
        if hyper:
            fields["hyperparameters"] = Hyperparameters.model_validate(hyper)
    except pydantic.ValidationError as exc:
        raise spec_error(exc, prefix="hyperparameters.") from None
    try:  # the names and labels are checked as a spec checks them
        JobSpec.model_validate({"base_model": "m", "training_data": "gs://b/o", **fields})
    except pydantic.ValidationError as exc:
        raise spec_error(exc) from None
    return fields


#: The base-model pairs Google's migration recipe translates hyperparameters for.
RECIPE_PAIRS = frozenset({("gemini-1.5-flash-002", "gemini-2.5-flash")})


def _translated_epochs(epochs: int) -> int:
    """The recipe's epochs for short-context data: 10 < e < 80 → 10 + 6·(e - 10)/70, e ≥ 80 → e/5."""
    if 10 < epochs < 80:
        return math.ceil(10 + 6 * (epochs - 10) / 70)
    if epochs >= 80:
        return math.ceil(0.2 * epochs)
    return epochs


def _short_context(stats: Mapping[str, Any]) -> bool:
    """Whether the recipe maps the epochs of data with these (Vertex supervised) statistics."""
    try:
        examples = int(stats["tuningDatasetExampleCount"])
        average = int(stats["totalBillableTokenCount"]) / examples
        longest = float(stats["userInputTokenDistribution"]["max"]) + float(
            stats["userOutputTokenDistribution"]["max"]
        )
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return False  # without the statistics the recipe's default applies: the epochs stay
    if average <= 700 and longest <= 8192 and examples < 10_000:
        return True
    return average <= 3000 and longest > 8192


def translate_hyperparameters(
    hyper: Hyperparameters, old_base: str, new_base: str, stats: Mapping[str, Any] | None
) -> Hyperparameters:
    """Google's migration recipe for *old_base* → *new_base* (only the pairs in :data:`RECIPE_PAIRS`).

    The learning-rate multiplier ``x`` becomes ``log2(1 + x)`` rounded to one
    decimal and at most 10; the epochs of short-context data (by the job's
    data statistics) shrink as :func:`_translated_epochs` says; the adapter size
    stays.  Source: ``GoogleCloudPlatform/generative-ai:
    gemini/tuning/sft_gemini_migration_recipe.ipynb@11add043``.
    """
    pair = (_bare(old_base), _bare(new_base))
    if pair not in RECIPE_PAIRS:
        known = ", ".join(f"{a} → {b}" for a, b in sorted(RECIPE_PAIRS))
        raise SpecError(
            [
                Problem(
                    f"Google publishes no migration recipe for {pair[0]} → {pair[1]} (only {known}): "
                    "leave translate_hyperparameters out and give the hyperparameters to change",
                    field="translate_hyperparameters",
                    rule="no-recipe",
                )
            ],
            summary="invalid rebase",
        )
    given = hyper.given()
    multiplier = given.get("learning_rate_multiplier")
    if multiplier is not None:
        translated = round(min(math.log2(1 + float(multiplier)), MAX_TRANSLATED_MULTIPLIER), 1)
        given["learning_rate_multiplier"] = translated
    epochs = given.get("epoch_count")
    if epochs is not None and _short_context(stats or {}):
        given["epoch_count"] = _translated_epochs(int(epochs))
    return Hyperparameters.model_validate(given)


def rebased_spec(
    old: JobSpec, job: TuningJob, to: str, fields: Mapping[str, Any], *, translate: bool
) -> JobSpec:
    """*old* on the base model *to*, with the overrides *fields* (hyperparameters merged over *old*'s)."""
    if _bare(to) == _bare(old.base_model):
        raise SpecError(
            [Problem(f"job {job.id} was tuned on {old.base_model} already: give a newer model", field="to")],
            summary="invalid rebase",
        )
    hyper = old.hyperparameters
    if translate:
        hyper = translate_hyperparameters(hyper, old.base_model, to, job.data_stats)
    override = fields.get("hyperparameters")
    if isinstance(override, Hyperparameters):
        hyper = Hyperparameters.model_validate({**hyper.given(), **override.given()})
    labels = {**old.labels, **dict(fields.get("labels") or {})}
    data = {**dict(old), **fields, "base_model": to, "hyperparameters": hyper, "labels": labels}
    try:
        return JobSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        from tuneport.client import spec_error

        raise spec_error(exc) from None


def rebase(
    backend: TuningBackend,
    check: Callable[[JobSpec], None],
    job: TuningJob | str,
    to: str,
    overrides: Mapping[str, Any],
    *,
    translate: bool = False,
) -> Flow[TuningJob]:
    """Tune *job*'s data again on *to*: the backend's ``rebase``, else a ``create`` from its spec.

    *check* is the client's pre-flight (blocking: it may read the datasets).
    """
    if not isinstance(to, str) or not to.strip() or any(c.isspace() for c in to):
        raise SpecError([Problem(f"not a model name: {to!r}", field="to")], summary="invalid rebase")
    fields = split_overrides(overrides)
    spec_of = getattr(backend, "spec_of", None)
    operation = getattr(backend, "rebase", None)
    if spec_of is None:
        raise UnsupportedCapability(
            backend.name,
            "rebase",
            reason="it can neither rebase a tuned model nor tell which data a job was tuned on (spec_of)",
        )
    if operation is None and not backend.capabilities.supports(Operation.CREATE):
        raise UnsupportedCapability(backend.name, "rebase", reason="it can neither rebase nor create a job")
    job_id = job.id if isinstance(job, TuningJob) else job
    source = yield from backend.get(job_id)
    if not (source.state.is_success and source.tuned_model):
        raise JobNotReady(source.id, source.state)
    if source.source_model:
        raise SpecError(
            [
                Problem(
                    f"job {source.id} continued the tuned model {source.source_model}: "
                    "rebase the job that made that model",
                    field="job",
                    rule="continued-job",
                )
            ],
            summary="invalid rebase",
        )
    old = yield from spec_of(source.id)
    assert isinstance(old, JobSpec)
    new_spec = rebased_spec(old, source, to, fields, translate=translate)
    yield from call(check, new_spec)  # the catalog and the backend refuse before anything is created
    if operation is not None:
        if translate:  # the service carries the old values over: send the translated ones
            fields = {**fields, "hyperparameters": new_spec.hyperparameters}
        new = yield from operation(source.id, to, fields)
    else:
        new = yield from backend.create(new_spec)
    assert isinstance(new, TuningJob)
    return new
