"""The open models (Gemma, Llama, Qwen) Vertex tunes, and the rules their jobs follow.

Model ids are ``publisher/family@version`` (``qwen/qwen3-5@qwen3.5-9b``,
``google/gemma3@gemma-3-4b-it``, ``meta/llama3_1@llama-3.1-8b-instruct``),
optionally as ``publishers/{publisher}/models/{family}@{version}``.  The
families and sizes follow Google's open-model tuning page (Gemma 4 and 3,
MedGemma 1.5, Llama 3.1, 3.2, 3.3 and 4 Scout, Qwen 3 and 3.5); a family is
matched whatever its separators (``llama3_1``, ``llama3-1``), a version by its
size stem with an optional ``-it``, ``-pt`` or ``-instruct`` suffix.

What differs from Gemini, per the same page and the discovery document:
``outputUri`` is required ("only available and required for open source
models"), full tuning (``TUNING_MODE_FULL``, ``fullFineTuningSpec``),
``batchSize`` and ``learningRate`` are allowed, ``customBaseModel`` names
custom weights of the base model, the ``global`` location is allowed (its
jobs put their model and endpoints in a real region, ``us-central1`` here)
and CMEK on ``global`` is ``FAILED_PRECONDITION``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["OPEN_MODEL_LOCATIONS", "SERVING_REGION", "OpenModel", "resolve_open_model"]

#: Where open models are tuned ("global" is recommended).
OPEN_MODEL_LOCATIONS = frozenset(
    {"global", "us-central1", "europe-west4", "us-west1", "us-east5", "asia-southeast1"}
)
#: Where a ``global`` job's model and endpoints live (deploying needs a real region).
SERVING_REGION = "us-central1"
#: Family (separators removed) → (publisher, version stems).
_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "gemma4": ("google", ("gemma-4-e2b", "gemma-4-e4b", "gemma-4-26b-a4b", "gemma-4-31b")),
    "gemma3": ("google", ("gemma-3-1b", "gemma-3-4b", "gemma-3-12b", "gemma-3-27b")),
    "medgemma": ("google", ("medgemma-1.5-4b",)),
    "llama31": ("meta", ("llama-3.1-8b",)),
    "llama32": ("meta", ("llama-3.2-1b", "llama-3.2-3b")),
    "llama33": ("meta", ("llama-3.3-70b",)),
    "llama4": ("meta", ("llama-4-scout-17b-16e",)),
    "qwen3": ("qwen", ("qwen3-4b", "qwen3-8b", "qwen3-14b", "qwen3-32b")),
    "qwen35": ("qwen", ("qwen3.5-9b",)),
}
_SUFFIXES = ("", "-it", "-pt", "-instruct")
_ID = re.compile(r"(?:publishers/)?([a-z0-9-]+)/(?:models/)?([a-z0-9_.-]+)@([a-z0-9_.-]+)")


@dataclass(frozen=True)
class OpenModel:
    """A tunable open model."""

    #: As the client named it.
    name: str
    publisher: str
    family: str
    version: str
    #: Its output limit when served (the emulator's: Google lists 4,096-8,192 by model).
    max_output_tokens: int = 8_192


def resolve_open_model(name: str) -> OpenModel | None:
    """The open model ``name`` refers to, or None."""
    match = _ID.fullmatch(name.strip().lower())
    if match is None:
        return None
    publisher, family, version = match.groups()
    known = _FAMILIES.get(re.sub(r"[-_.]", "", family))
    if known is None or known[0] != publisher:
        return None
    if not any(version == stem + suffix for stem in known[1] for suffix in _SUFFIXES):
        return None
    return OpenModel(name, publisher, family, version)
