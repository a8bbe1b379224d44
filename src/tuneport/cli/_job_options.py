"""``tuneport create``'s options beyond the basics: the tuning method, continuous tuning, where the
job runs and writes, and the evaluation tied to it; and the flag that sets each JobSpec field.

Each flag maps to one JobSpec field (``--teacher`` is ``teacher_model``,
``--from`` is ``tuned_model``); the evaluation flags build the spec's
``evaluation`` table, over one given in ``--spec`` or the profile's job
table.  An error about a field names the flag that sets it, so a person
who typed the command knows what to change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from tuneport.errors import Problem

__all__ = [
    "FLAGS",
    "METHODS",
    "TUNING_MODES",
    "evaluation_fields",
    "flag_of",
    "flag_of_problem",
    "job_options",
    "named",
    "naming_flags",
]

#: TuningMethod's values, spelt out: ``tuneport --help`` does not import the models (a test holds them equal).
METHODS = ("supervised", "preference", "distillation")
#: TuningMode's values, likewise.
TUNING_MODES = ("adapter", "full")

#: JobSpec field (dotted for nested ones) → the ``tuneport create`` flag that sets it.
FLAGS: Mapping[str, str] = {
    "base_model": "--base-model",
    "training_data": "--training-data",
    "validation_data": "--validation-data",
    "method": "--method",
    "hyperparameters.epoch_count": "--epochs",
    "hyperparameters.batch_size": "--batch-size",
    "hyperparameters.learning_rate": "--learning-rate",
    "hyperparameters.learning_rate_multiplier": "--learning-rate-multiplier",
    "hyperparameters.adapter_size": "--adapter-size",
    "hyperparameters.beta": "--beta",
    "tuned_model": "--from",
    "checkpoint": "--checkpoint",
    "teacher_model": "--teacher",
    "tuning_mode": "--tuning-mode",
    "output_uri": "--output-uri",
    "custom_base_model": "--custom-base-model",
    "encryption_key": "--encryption-key",
    "service_account": "--service-account",
    "evaluation": "--eval-metric/--eval-output",
    "evaluation.metrics": "--eval-metric",
    "evaluation.output_uri": "--eval-output",
    "evaluation.autorater_model": "--autorater",
    "evaluation.sampling_count": "--eval-sampling-count",
    "display_name": "--display-name",
    "description": "--description",
    "labels": "--label",
    "extras": "--extra",
}


def flag_of(field: str | None) -> str | None:
    """The flag that sets *field* (``hyperparameters.beta`` or just ``beta``; a nested path such as
    ``evaluation.metrics.0`` finds its nearest named parent)."""
    if not field:
        return None
    parts = field.split(".")
    while parts:
        name = ".".join(parts)
        flag = FLAGS.get(name) or FLAGS.get(f"hyperparameters.{name}")
        if flag:
            return flag
        parts.pop()
    return None


F = TypeVar("F", bound=Callable[..., Any])


def job_options(command: F) -> F:
    """Add the method, continuous-tuning, placement and evaluation flags to *command*.

    Each lands in the command's keywords under its JobSpec field's name;
    the evaluation flags under ``eval_*`` names, for :func:`evaluation_fields`.
    """
    options = [
        click.option(
            "--method",
            type=click.Choice(METHODS),
            help="How the model learns: supervised (default; input/output examples), preference "
            "(DPO: a preferred and a rejected answer per prompt) or distillation (a teacher's answers "
            "to prompt-only data). See docs/tuning-methods.md.",
        ),
        click.option(
            "--beta",
            type=float,
            help="Preference tuning: weight of the KL-divergence term keeping the model near its start.",
        ),
        click.option(
            "--teacher",
            "teacher_model",
            metavar="MODEL",
            help="Distillation: the teacher, a base model id or a tuned model's name.",
        ),
        click.option(
            "--from",
            "tuned_model",
            metavar="JOB_OR_TUNED_MODEL",
            help="Continue tuning from this job's tuned model (a job id) or a tuned model's name; "
            "the base model is the one it was tuned from.",
        ),
        click.option(
            "--checkpoint",
            metavar="ID",
            help="With --from: continue from this checkpoint (default: the tuned model's default one).",
        ),
        click.option(
            "--tuning-mode",
            type=click.Choice(TUNING_MODES),
            help="Train an adapter or every weight (open models on vertex).",
        ),
        click.option(
            "--output-uri", metavar="URI", help="Where the tuned weights go (gs://…; open models on vertex)."
        ),
        click.option(
            "--custom-base-model", metavar="URI", help="Tune custom weights of the base model (gs://…)."
        ),
        click.option(
            "--encryption-key", metavar="KMS_KEY", help="Customer-managed encryption key (KMS key name)."
        ),
        click.option("--service-account", metavar="EMAIL", help="Service account the job runs as."),
        click.option(
            "--eval-metric",
            "eval_metrics",
            multiple=True,
            metavar="NAME",
            help="Evaluate the tuned model with this metric after tuning (repeatable): bleu, rouge_l, "
            "exact_match, or a predefined metric such as instruction_following_v1.",
        ),
        click.option("--eval-output", metavar="URI", help="Where the evaluation writes its output (gs://…)."),
        click.option("--autorater", metavar="MODEL", help="Judge model of model-based evaluation metrics."),
        click.option(
            "--eval-sampling-count",
            type=int,
            metavar="N",
            help="How many times the judge rates each answer (1-32).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def evaluation_fields(given: Any, options: dict[str, Any]) -> dict[str, Any] | None:
    """The spec's ``evaluation`` table: *given* (from ``--spec``), the ``eval_*`` flags over it.

    Pops the flags from *options*; ``None`` when neither gives an evaluation.
    """
    flags = {
        "metrics": tuple(options.pop("eval_metrics", ()) or ()) or None,
        "output_uri": options.pop("eval_output", None),
        "autorater_model": options.pop("autorater", None),
        "sampling_count": options.pop("eval_sampling_count", None),
    }
    chosen = {k: v for k, v in flags.items() if v is not None}
    if not chosen:
        return dict(given) if isinstance(given, Mapping) else given
    base = dict(given) if isinstance(given, Mapping) else {}
    return {**base, **chosen}


#: A field named in parentheses at the end of a message: "... a tuned model (tuned_model)".
_FIELD_AT_END = re.compile(r"\((?P<field>[a-z_]+(?:\.[a-z_]+)*)\)$")


def flag_of_problem(problem: Problem, *, in_data: bool) -> str | None:
    """The flag that would fix *problem*: ``--method`` for data of another method, else its field's
    (a dataset problem's field is the data's own, never the spec's)."""
    if problem.rule == "method-mismatch":
        return FLAGS["method"]
    return None if in_data else flag_of(problem.field)


def named(message: str, flag: str | None) -> str:
    """*message* with the flag that sets its field, unless it names the flag already."""
    return f"{message} (CLI flag {flag})" if flag and flag not in message else message


@contextmanager
def naming_flags() -> Iterator[None]:
    """Re-raise a spec, dataset or capability error, or an unsupported parameter, with the flag of
    each field it names."""
    from tuneport.errors import DatasetError, SpecError, UnsupportedCapability, UnsupportedParameter

    try:
        yield
    except (SpecError, DatasetError) as error:
        if type(error) not in (SpecError, DatasetError):  # a subclass has a constructor of its own
            raise
        in_data = isinstance(error, DatasetError)
        problems = [
            replace(p, message=named(p.message, flag_of_problem(p, in_data=in_data))) for p in error.problems
        ]
        summary = str(error).splitlines()[0]
        raise type(error)(problems, summary=summary, counts_by_rule=error.counts_by_rule) from None
    except UnsupportedCapability as error:
        # A reason that ends naming its field, "(tuned_model)", gets the flag beside it.
        at_end = _FIELD_AT_END.search(error.reason or "")
        flag = flag_of(at_end["field"]) if at_end else None
        if at_end is None or flag is None:
            raise
        reason = f"{(error.reason or '')[: at_end.start()]}({at_end['field']}, CLI flag {flag})"
        raise UnsupportedCapability(error.backend, error.capability, reason=reason) from None
    except UnsupportedParameter as error:
        flag = flag_of(error.parameter)
        if flag is None:
            raise
        raise UnsupportedParameter(
            error.backend,
            error.parameter,
            reason=named(error.reason or "not accepted", flag),
            model=error.model,
        ) from None
