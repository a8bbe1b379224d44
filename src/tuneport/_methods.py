"""The tuning methods of the port (a module of its own: capabilities name them without the models)."""

from __future__ import annotations

import enum

__all__ = ["TuningMethod"]


class TuningMethod(str, enum.Enum):
    """How a job tunes the model, provider-neutral (``JobSpec.method``).

    * ``supervised`` — learn the model turns of examples (SFT; Vertex
      ``supervisedTuningSpec``, the Gemini API's ``tuningTask``);
    * ``preference`` — learn to prefer one answer over another (DPO; Vertex
      ``preferenceOptimizationSpec``), with ``beta``;
    * ``distillation`` — learn a teacher model's answers to prompts (Vertex
      ``distillationSpec``; prompt-only data).

    Reinforcement tuning (Vertex ``reinforcementTuningSpec``) is not a member
    yet; it will be one more value here, declared per backend and model like
    the others, so nothing that reads a method needs to change shape.
    """

    SUPERVISED = "supervised"
    PREFERENCE = "preference"
    DISTILLATION = "distillation"

    def __str__(self) -> str:
        return self.value
