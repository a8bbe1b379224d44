"""The labels Vertex puts on a model that supervised tuning made.

Found on tuned Gemini models by their users and read by Google's clients:
``tune-type`` (google-genai's tuned-model list filters on
``labels.tune-type:*``), ``google-vertex-llm-tuning-base-model-id`` (google-genai
reads it back as ``tuned_model_info.base_model``) and
``google-vertex-llm-tuning-job-id``.  ``tune-type`` is ``sft`` for supervised
tuning; for the other methods the emulator writes ``dpo``, ``distillation``
and ``full`` (Google documents no values).  Label values may not hold dots, so the
base model id has them as underscores (``gemini-2_0-flash-001``): an
inference, Google documents no value.  The job's own labels come on top.
"""

from __future__ import annotations

from tuneport_emulator.vertex.methods import method_of
from tuneport_emulator.vertex.records import TuningJob

__all__ = ["model_labels", "tuning_labels"]


def tuning_labels(record: TuningJob) -> dict[str, str]:
    """The labels tuning puts on the model of ``record``."""
    # A Gemini base is its last path segment; an open model's id is its version (family@version).
    last = record.base_model.rsplit("/", 1)[-1]
    base_id = last.split("@", 1)[1] if "@" in last and "/" in record.base_model else last.split("@", 1)[0]
    return {
        "google-vertex-llm-tuning-base-model-id": base_id.replace(".", "_").lower(),
        "google-vertex-llm-tuning-job-id": record.id,
        "tune-type": method_of(record.fields).tune_type,
    }


def model_labels(record: TuningJob) -> dict[str, str]:
    """Every label of the model of ``record``: tuning's, then the job's own."""
    return {**tuning_labels(record), **dict(record.fields.get("labels") or {})}
