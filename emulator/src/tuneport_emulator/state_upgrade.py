"""Reading state files of an earlier format version: their records rewritten in today's layout.

Version 1 (before typed records) differs from version 2 in two ways:

* a training plan counted steps per epoch (``totalSteps``, ``stepsPerEpoch``);
  it now keeps what the count is computed from (``examples``, ``batchSize``,
  ``epochs``), so a job of a version-1 file is re-planned with today's step
  count (``ceil(examples x epochs / batch)``) from the same start;
* Vertex names kept the project as the request gave it; they now carry the
  project number (:func:`~tuneport_emulator.vertex.names.project_number`), so
  every resource name of the Vertex section (keys and values, but not the
  fields the client sent) is rewritten.

Cloud Storage records of version 1 are converted by the storage surface
itself when it first reads them.
"""

from __future__ import annotations

import copy
from typing import Any

from tuneport_emulator.vertex.checks import default_batch_size
from tuneport_emulator.vertex.names import canonical_name

__all__ = ["UPGRADABLE_VERSIONS", "upgrade_state"]

#: Format versions :func:`upgrade_state` reads.
UPGRADABLE_VERSIONS = frozenset({"1"})


def upgrade_state(state: dict[str, Any], version: str) -> dict[str, Any]:
    """``state`` (``{"sections", "counters"}``) of format ``version``, in today's layout (a copy)."""
    if version not in UPGRADABLE_VERSIONS:
        raise ValueError(f"format version {version} cannot be upgraded")
    upgraded = copy.deepcopy(state)
    sections = upgraded.get("sections", {})
    for model in sections.get("gemini", {}).get("tunedModels", {}).values():
        hyper = model.get("hyperparameters") or {}
        model["plan"] = _plan(
            model["plan"], len(model["examples"]), hyper.get("batchSize"), hyper.get("epochCount")
        )
    vertex = sections.get("vertex")
    if vertex is not None:
        sections["vertex"] = _renamed(vertex)
        for job in sections["vertex"].get("tuningJobs", {}).values():
            hyper = job.get("hyperParameters") or {}
            count = len(job["examples"])
            batch = hyper.get("batchSize") or default_batch_size(count)
            job["plan"] = _plan(job["plan"], count, batch, hyper.get("epochCount"))
    return upgraded


def _plan(old: dict[str, Any], examples: int, batch: Any, epochs: Any) -> dict[str, Any]:
    """A version-2 plan from a version-1 one and the record's figures."""
    return {
        "start": old["start"],
        "examples": max(1, examples),
        "batchSize": max(1, int(batch or 1)),
        "epochs": max(1, int(epochs or 1)),
        "seed": old["seed"],
        "setupSeconds": old["setupSeconds"],
        "stepSeconds": old["stepSeconds"],
    }


def _renamed(value: Any) -> Any:
    """``value`` with every Vertex resource name carrying its project number (client fields kept)."""
    if isinstance(value, dict):
        return {
            canonical_name(key): (item if key == "fields" else _renamed(item)) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_renamed(item) for item in value]
    if isinstance(value, str) and value.startswith("projects/"):
        return canonical_name(value)
    return value
