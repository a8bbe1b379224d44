"""The limits Vertex AI documents for supervised tuning datasets, and the emulator's own bounds.

Google's numbers ("About supervised fine-tuning for Gemini models", the
limitations table for Gemini 2.5 Flash and later): 131,072 input and output
training tokens per example, at most 5,000 validation examples, a JSONL
file of at most 1 GB, at most 1M text-only or 300K multimodal training
examples.  An example over the token limit is not refused: the service
truncates it (``truncatedExampleIndices`` in the job's data stats).

``max_line_bytes`` and ``max_nesting`` are the emulator's: Google documents
neither.  A line is one example, and an example over 131,072 tokens is
truncated anyway, so a line may hold up to 16 MiB; nesting follows
protobuf's JSON parser, which refuses input nested more than 100 levels.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["VERTEX_PREFERENCE", "VERTEX_SUPERVISED", "DatasetLimits"]


@dataclass(frozen=True)
class DatasetLimits:
    """What a dataset file may hold."""

    #: Tokens of one example (input and output) before the service truncates it.
    max_example_tokens: int
    #: Training examples in a file when every example is text only.
    max_training_examples: int
    #: Training examples in a file when some example has a file part.
    max_multimodal_training_examples: int
    #: Examples in a validation file.
    max_validation_examples: int
    #: Bytes of a dataset file.
    max_file_bytes: int
    #: Bytes of one line (the emulator's bound; Google documents none).
    max_line_bytes: int = 16 << 20
    #: Levels of JSON nesting in a line (protobuf's JSON parser allows 100).
    max_nesting: int = 100


#: Vertex AI's documented limits for supervised tuning of Gemini 2.5 and later models.
VERTEX_SUPERVISED = DatasetLimits(
    max_example_tokens=131_072,
    max_training_examples=1_000_000,
    max_multimodal_training_examples=300_000,
    max_validation_examples=5_000,
    max_file_bytes=1_000_000_000,
)

#: Preference tuning ("About preference tuning for Gemini models", limitations): 131,072 tokens per
#: example, 10M text-only training examples, a 1 GB file, at most 5,000 validation examples (and at most
#: 30 % of the training examples when there are more than 1,000: checked with both files, by the job).
VERTEX_PREFERENCE = DatasetLimits(
    max_example_tokens=131_072,
    max_training_examples=10_000_000,
    max_multimodal_training_examples=0,
    max_validation_examples=5_000,
    max_file_bytes=1_000_000_000,
)
