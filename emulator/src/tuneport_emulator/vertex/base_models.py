"""The Gemini base models the Vertex surface tunes, with the limits it checks.

The current tunable models (3.5 Flash / Flash-Lite, 3.1 Flash-Lite, 2.5 Pro /
Flash / Flash-Lite, 2.0 Flash and Flash-Lite) follow Vertex's supervised tuning
page, as the vertex backend's
catalog does (a test keeps the two in step); the 1.5-002 models are the ones
Google's own clients still name in their tuning examples, kept so that those
examples run.  ``baseModel`` may be the bare name or
``publishers/google/models/{name}`` (optionally under ``projects/*/locations/*/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BASE_MODELS",
    "DEFAULT_ADAPTER_SIZE",
    "MAX_FILE_BYTES",
    "MAX_TRAINING_EXAMPLES",
    "MAX_VALIDATION_EXAMPLES",
    "BaseModel",
    "resolve_base_model",
]

#: Limits of Vertex supervised tuning (vertex backend catalog, "About supervised fine-tuning").
MAX_EXAMPLE_TOKENS = 131_072
MAX_VALIDATION_EXAMPLES = 5_000
MAX_TRAINING_EXAMPLES = 1_000_000
MAX_FILE_BYTES = 1_000_000_000
#: What a job reports when no adapter size was asked for (the service picks one; 4 is its usual pick).
DEFAULT_ADAPTER_SIZE = "ADAPTER_SIZE_FOUR"

_ALL_SIZES = frozenset(
    {
        "ADAPTER_SIZE_ONE",
        "ADAPTER_SIZE_TWO",
        "ADAPTER_SIZE_FOUR",
        "ADAPTER_SIZE_EIGHT",
        "ADAPTER_SIZE_SIXTEEN",
    }
)
_PRO_SIZES = frozenset({"ADAPTER_SIZE_ONE", "ADAPTER_SIZE_TWO", "ADAPTER_SIZE_FOUR", "ADAPTER_SIZE_EIGHT"})
_PREFERENCE = frozenset({"supervised", "preference"})
_PUBLISHER = re.compile(r"(?:projects/[^/]+/locations/[^/]+/)?publishers/google/models/([^/@]+)")


@dataclass(frozen=True)
class BaseModel:
    """A tunable base model: its adapter sizes and output limit."""

    name: str
    adapter_sizes: frozenset[str]
    max_output_tokens: int
    #: The tuning methods it takes (supervised; preference and distillation per Google's pages).
    methods: frozenset[str] = frozenset({"supervised"})


BASE_MODELS: dict[str, BaseModel] = {
    m.name: m
    for m in (
        # Gemini 3.x: supervised, with 2.5 Flash's sizes and limits (the catalog's reading; no 3.x table
        # is published).  3.1 Flash-Lite's tuned models live in us/eu (vertex/serving.py).
        BaseModel("gemini-3.5-flash", _ALL_SIZES, 65_536),
        BaseModel("gemini-3.5-flash-lite", _ALL_SIZES, 65_536),
        BaseModel("gemini-3.1-flash-lite", _ALL_SIZES, 65_536),
        BaseModel("gemini-2.5-pro", _PRO_SIZES, 65_536),
        # Preference tuning: "Gemini 2.5 Flash and Flash-Lite"; distillation: student gemini-2.5-flash.
        BaseModel("gemini-2.5-flash", _ALL_SIZES, 65_536, _PREFERENCE | {"distillation"}),
        BaseModel("gemini-2.5-flash-lite", _ALL_SIZES, 65_536, _PREFERENCE),
        BaseModel("gemini-2.0-flash-001", _ALL_SIZES, 8_192),
        BaseModel("gemini-2.0-flash-lite-001", _ALL_SIZES, 8_192),
        BaseModel("gemini-1.5-pro-002", _PRO_SIZES, 8_192),
        BaseModel("gemini-1.5-flash-002", _ALL_SIZES, 8_192),
    )
}


def resolve_base_model(name: str) -> BaseModel | None:
    """The tunable base model ``name`` refers to (bare or as a publisher model), or None."""
    match = _PUBLISHER.fullmatch(name)
    return BASE_MODELS.get(match.group(1) if match else name)
