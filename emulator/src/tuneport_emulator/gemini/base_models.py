"""The base models the Gemini surface tunes: the historical tunable ones.

Google retired both (gemini-1.0-pro-001 on 2025-02-15, gemini-1.5-flash-001
on 2025-05-24) and has offered no tunable model on the Gemini API since; the
emulator keeps them so that pipelines can still be exercised.  The entries
are what ``GET /v1beta/models/{model}`` listed while they were served.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BASE_MODELS", "model_version"]

_TUNING_METHODS = ["generateContent", "countTokens", "createTunedModel"]

#: Model resource name -> Model (normalized JSON).
BASE_MODELS: dict[str, dict[str, Any]] = {
    "models/gemini-1.5-flash-001-tuning": {
        "name": "models/gemini-1.5-flash-001-tuning",
        "baseModelId": "gemini-1.5-flash",
        "version": "001",
        "displayName": "Gemini 1.5 Flash 001 Tuning",
        "description": "Version of Gemini 1.5 Flash that supports tuning, our fast and versatile "
        "multimodal model for scaling across diverse tasks, released in May of 2024.",
        "inputTokenLimit": 16384,
        "outputTokenLimit": 8192,
        "supportedGenerationMethods": _TUNING_METHODS,
        "temperature": 1.0,
        "maxTemperature": 2.0,
        "topP": 0.95,
        "topK": 64,
    },
    "models/gemini-1.0-pro-001": {
        "name": "models/gemini-1.0-pro-001",
        "baseModelId": "gemini-pro",
        "version": "001",
        "displayName": "Gemini 1.0 Pro 001 (Tuning)",
        "description": "The original Gemini 1.0 Pro model version that supports tuning.",
        "inputTokenLimit": 30720,
        "outputTokenLimit": 2048,
        "supportedGenerationMethods": _TUNING_METHODS,
        "temperature": 0.9,
        "topP": 1.0,
        "topK": 1,
    },
}


def model_version(base_model: str) -> str:
    """The ``modelVersion`` a tuned model of ``base_model`` reports (``gemini-1.5-flash-001``)."""
    return base_model.removeprefix("models/").removesuffix("-tuning")
