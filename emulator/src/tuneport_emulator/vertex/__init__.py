"""The Vertex AI surface (``aiplatform`` v1 and v1beta1) of the emulator.

``tuningJobs`` of every method the emulator runs (supervised, preference,
distillation, full and open-model tuning: :mod:`.methods`), the model and
endpoints a job produces, one for each checkpoint (``:generateContent``,
undeploy, delete, list, ``models.patch`` of the default checkpoint:
:mod:`.checkpoints`), the model versions continued jobs make (``listVersions``,
``deleteVersion``, ``mergeVersionAliases``: :mod:`.model_versions`), its
evaluation runs (:mod:`.evaluation`), their operations, and the
metadata-context / TensorBoard routes from a job's ``experiment`` to its
loss series.  Datasets are read from the emulated Cloud Storage
(:mod:`tuneport_emulator.storage`).  See docs/emulator.md.
"""

from __future__ import annotations

from tuneport_emulator.routing import Router
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.vertex import metadata, model_list, model_version_routes, routes, tensorboard_reads

__all__ = ["register"]


def register(router: Router, context: EmulatorContext) -> None:
    """Add every Vertex AI route to ``router``: the core routes, then the reads the official clients add."""
    routes.register(router, context)
    model_list.register(router, context)
    model_version_routes.register(router, context)
    metadata.register(router, context)
    tensorboard_reads.register(router, context)
