"""Dataset limits: what a backend and base model accept, as data.

The model catalog supplies one :class:`DatasetLimits` per backend and base
model; validation and stats read it.  Every field is optional: ``None``
means "no limit known".  The numbers live in the catalog, not here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DatasetLimits", "DatasetRole"]

#: Which dataset of a job is checked: the limits differ (e.g. Vertex caps validation sets).
DatasetRole = Literal["training", "validation"]


class DatasetLimits(BaseModel):
    """Per-example and per-dataset limits of a backend / base model.

    Example (the Gemini API's documented limits)::

        DatasetLimits(max_input_chars=40_000, max_output_chars=5_000, pairs_only=True, text_only=True)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Characters of everything before the last model turn (system instruction included).
    max_input_chars: int | None = Field(default=None, gt=0)
    #: Characters of the last model turn (the answer learned).
    max_output_chars: int | None = Field(default=None, gt=0)
    #: Estimated tokens of a whole example; longer examples are truncated by the service (a warning).
    max_example_tokens: int | None = Field(default=None, gt=0)
    #: Only single user→model pairs with no system instruction (the Gemini API).
    pairs_only: bool = False
    #: No file parts.
    text_only: bool = False
    #: MIME types file parts may have (``None``: any).
    allowed_mime_types: frozenset[str] | None = None
    #: Fewest examples in a training dataset.
    min_examples: int | None = Field(default=None, ge=0)
    #: Most examples in a training dataset.
    max_examples: int | None = Field(default=None, gt=0)
    #: Most examples in a validation dataset.
    max_validation_examples: int | None = Field(default=None, gt=0)
    #: Largest dataset file, in bytes.
    max_file_bytes: int | None = Field(default=None, gt=0)
    #: Largest validation file as a share of the training file's bytes (Vertex supervised: 0.25).
    max_validation_share_bytes: float | None = Field(default=None, gt=0)
    #: Most validation rows as a share of the training rows (Vertex preference: 0.30).
    max_validation_share_rows: float | None = Field(default=None, gt=0)
    #: The row share applies only to a validation set of more rows than this (Vertex preference: 1,000).
    validation_share_rows_over: int | None = Field(default=None, ge=0)

    @field_validator("allowed_mime_types", mode="before")
    @classmethod
    def _as_frozenset(cls, value: object) -> object:
        if isinstance(value, (list, tuple, set)):
            return frozenset(value)
        return value

    def for_role(self, role: DatasetRole) -> DatasetLimits:
        """The limits that apply to a training or a validation dataset.

        A validation dataset has no minimum size, and its maximum is the
        tighter of ``max_examples`` and ``max_validation_examples``.
        """
        if role == "training":
            return self
        caps = [n for n in (self.max_examples, self.max_validation_examples) if n is not None]
        return self.model_copy(update={"min_examples": None, "max_examples": min(caps) if caps else None})
