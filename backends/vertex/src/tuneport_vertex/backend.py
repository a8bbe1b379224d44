"""The vertex backend class.

This release holds the registration, settings and declared capabilities; the
operations on the ``tuningJobs`` REST surface arrive with their own issue,
and until then the backend reports itself as ``settings-only``.
"""

from __future__ import annotations

from typing import ClassVar

from tuneport.protocol import BackendSettings, BaseBackend, Capabilities, Maturity
from tuneport_vertex.settings import VertexSettings


class VertexBackend(BaseBackend):
    """Vertex AI ``tuningJobs`` (GCS JSONL datasets; adapter size, LR multiplier, epochs)."""

    name: ClassVar[str] = "vertex"
    settings_model: ClassVar[type[BackendSettings]] = VertexSettings
    maturity: ClassVar[Maturity] = Maturity.SETTINGS_ONLY
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset(),
        hyperparameters=frozenset({"epoch_count", "learning_rate_multiplier", "adapter_size"}),
        data_sources=frozenset({"inline", "file", "uri"}),
        validation_data=True,
    )
