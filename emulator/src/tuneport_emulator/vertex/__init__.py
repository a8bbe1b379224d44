"""The Vertex AI surface (``aiplatform`` v1 and v1beta1) of the emulator.

Supervised ``tuningJobs``, the model and endpoint a job produces
(``:generateContent``, undeploy, delete), their operations, and the
metadata-context / TensorBoard routes from a job's ``experiment`` to its
loss series.  Datasets are read from the emulated Cloud Storage
(:mod:`tuneport_emulator.storage`).  See docs/emulator.md.
"""

from __future__ import annotations

from tuneport_emulator.vertex.routes import register

__all__ = ["register"]
