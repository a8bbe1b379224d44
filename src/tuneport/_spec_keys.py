"""Unknown job-spec keys, named with where they came from and the key meant.

A job spec's keys come from keywords (``client.create(epochs=3)``), a
profile's ``job`` table or a ``--spec`` file.  Other tools' names for the same
thing (OpenAI's ``n_epochs``) are mapped to tuneport's; anything else gets the
closest known key.  :class:`SourcedTable` carries a table's origin
(``tuneport.toml [profiles.dev.job]``) to the message that reports its keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuneport._suggest import close_matches, did_you_mean
from tuneport.errors import Problem

__all__ = ["KEY_ALIASES", "SourcedTable", "unknown_key_problems"]

#: Other tools' (and common) names of job-spec keys, to tuneport's name.
KEY_ALIASES: Mapping[str, str] = {
    "epochs": "epoch_count",
    "n_epochs": "epoch_count",
    "num_epochs": "epoch_count",
    "num_train_epochs": "epoch_count",
    "lr_multiplier": "learning_rate_multiplier",
    "learning_rate_multiplier_value": "learning_rate_multiplier",
    "lr": "learning_rate",
    "batch": "batch_size",
    "per_device_train_batch_size": "batch_size",
    "model": "base_model",
    "base": "base_model",
    "training_file": "training_data",
    "train_data": "training_data",
    "train_file": "training_data",
    "validation_file": "validation_data",
    "eval_data": "validation_data",
    "suffix": "display_name",
    "name": "display_name",
    "lora_rank": "adapter_size",
    "rank": "adapter_size",
}


class SourcedTable(dict[str, Any]):
    """A table of job-spec keys that remembers where it was written (for messages)."""

    def __init__(self, data: Mapping[str, Any], *, source: str) -> None:
        super().__init__(data)
        self.source = source


def _suggestion(key: str, known: frozenset[str]) -> str:
    alias = KEY_ALIASES.get(key) or KEY_ALIASES.get(key.lower())
    if alias in known:
        return did_you_mean([alias])
    return did_you_mean(close_matches(key, sorted(known)))


def unknown_key_problems(data: Mapping[str, Any], *, source: str) -> list[Problem]:
    """A problem for each key of *data* (and of its ``hyperparameters`` table) a job spec does not have.

    Hyperparameters may be given flat, so they are known at the top level too.
    """
    from tuneport.models import Hyperparameters, JobSpec

    hyper = frozenset(Hyperparameters.model_fields)
    top = frozenset(JobSpec.model_fields) | hyper
    problems = [
        Problem(
            f"unknown job-spec key '{key}'{_suggestion(key, top)}",
            field=key,
            source=source,
            rule="extra_forbidden",
        )
        for key in data
        if key not in top
    ]
    table = data.get("hyperparameters")
    if isinstance(table, Mapping):
        problems += [
            Problem(
                f"unknown hyperparameter '{key}'{_suggestion(str(key), hyper)}",
                field=f"hyperparameters.{key}",
                source=source,
                rule="extra_forbidden",
            )
            for key in table
            if key not in hyper
        ]
    return problems
