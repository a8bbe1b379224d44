"""The emulator's own dataset checks: Google's documented rules for Vertex AI supervised tuning JSONL.

Independent of tuneport's validator on purpose: the emulator is an oracle
that tuneport's tests run against, so it judges datasets by what Google
documents, with its own code.  :func:`check_dataset` streams a file line by
line (:mod:`.reader`), checks each example (:mod:`.rules`) against the
limits (:mod:`.limits`) and hands valid examples to a callback.  Where the
documented rules and tuneport's validator differ is listed in
docs/emulator.md ("Datasets").
"""

from __future__ import annotations

from tuneport_emulator.datasets.check import DatasetRole, LineProblem, Verdict, check_dataset
from tuneport_emulator.datasets.limits import VERTEX_PREFERENCE, VERTEX_SUPERVISED, DatasetLimits
from tuneport_emulator.datasets.methods import (
    ExampleRules,
    check_preference_example,
    check_prompt_example,
    rules_for,
)
from tuneport_emulator.datasets.rules import Example, Problem, Turn, check_example

__all__ = [
    "VERTEX_PREFERENCE",
    "VERTEX_SUPERVISED",
    "DatasetLimits",
    "DatasetRole",
    "ExampleRules",
    "Example",
    "LineProblem",
    "Problem",
    "Turn",
    "Verdict",
    "check_dataset",
    "check_example",
    "check_preference_example",
    "check_prompt_example",
    "rules_for",
]
