"""The validation rules: stable ids, default severities and one-line meanings.

Rule ids are part of the public contract (scripts filter on them), so they
never change once released; docs/datasets.md lists each with its source, and
a test keeps that page and this table in step.
"""

from __future__ import annotations

import enum

__all__ = ["Rule", "Severity"]


class Severity(str, enum.Enum):
    """How bad a problem is: an error fails validation, a warning does not."""

    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


class Rule(str, enum.Enum):
    """A validation rule id (kebab-case, stable)."""

    # --- finding and reading the file
    FILE_NOT_READABLE = "file-not-readable"
    REMOTE_SOURCE = "remote-source"
    UNKNOWN_FORMAT = "unknown-format"
    MALFORMED_JSON = "malformed-json"
    MALFORMED_CSV = "malformed-csv"
    # --- the shape of one example
    BAD_TYPE = "bad-type"
    UNKNOWN_FIELD = "unknown-field"
    UNSUPPORTED_FIELD = "unsupported-field"
    MISSING_FIELD = "missing-field"
    DUPLICATE_FIELD = "duplicate-field"
    BAD_ROLE = "bad-role"
    ROLE_ORDER = "role-order"
    EMPTY_CONVERSATION = "empty-conversation"
    EMPTY_TURN = "empty-turn"
    EMPTY_TEXT = "empty-text"
    BLANK_TEXT = "blank-text"
    EMPTY_URI = "empty-uri"
    # --- what a backend, a base model or a target format accepts
    SYSTEM_NOT_ALLOWED = "system-not-allowed"
    MULTI_TURN_NOT_ALLOWED = "multi-turn-not-allowed"
    FILE_PART_NOT_ALLOWED = "file-part-not-allowed"
    MIME_TYPE_NOT_ALLOWED = "mime-type-not-allowed"
    INPUT_TOO_LONG = "input-too-long"
    OUTPUT_TOO_LONG = "output-too-long"
    EXAMPLE_TOO_LONG_TOKENS = "example-too-long-tokens"
    # --- the dataset as a whole
    EMPTY_DATASET = "empty-dataset"
    TOO_FEW_EXAMPLES = "too-few-examples"
    TOO_MANY_EXAMPLES = "too-many-examples"
    FILE_TOO_LARGE = "file-too-large"
    DUPLICATE_EXAMPLE = "duplicate-example"
    REMOTE_NOT_VALIDATED = "remote-not-validated"

    def __str__(self) -> str:
        return self.value

    @property
    def severity(self) -> Severity:
        """The severity this rule reports with."""
        return Severity.WARNING if self in _WARNINGS else Severity.ERROR


_WARNINGS = frozenset(
    {
        Rule.BLANK_TEXT,
        Rule.EXAMPLE_TOO_LONG_TOKENS,
        Rule.DUPLICATE_EXAMPLE,
        Rule.REMOTE_NOT_VALIDATED,
    }
)
