"""The gemini backend class.

This release holds the registration, settings and declared capabilities; the
operations on the ``tunedModels`` REST surface arrive with their own issue,
and until then the backend reports itself as ``settings-only``.
"""

from __future__ import annotations

from typing import ClassVar

from tuneport.protocol import BackendSettings, BaseBackend, Capabilities, Maturity
from tuneport_gemini.settings import GeminiSettings


class GeminiBackend(BaseBackend):
    """Gemini API ``tunedModels`` (inline examples; batch size, learning rate, epochs)."""

    name: ClassVar[str] = "gemini"
    settings_model: ClassVar[type[BackendSettings]] = GeminiSettings
    maturity: ClassVar[Maturity] = Maturity.SETTINGS_ONLY
    declared_capabilities: ClassVar[Capabilities] = Capabilities(
        operations=frozenset(),
        hyperparameters=frozenset({"epoch_count", "batch_size", "learning_rate", "learning_rate_multiplier"}),
        data_sources=frozenset({"inline", "file"}),
        validation_data=False,
        max_page_size=1000,
    )
