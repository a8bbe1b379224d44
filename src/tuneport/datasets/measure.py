"""Sizes of one example: characters and estimated tokens, by role and by input/output.

"Input" is everything the model reads before the answer it learns (system
instruction and every turn but the last); "output" is the last model turn.
These are the quantities the Gemini API limits (40,000 / 5,000 characters)
and the ones stats report.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from tuneport.datasets.light import MODEL, LightExample, LightPart
from tuneport.datasets.tokens import (
    ASCII_CHARS_PER_TOKEN,
    FILE_PART_TOKENS,
    NARROW_CHARS_PER_TOKEN,
    WIDE_TOKENS_PER_CHAR,
    parts_token_weight,
    text_token_weight,
)

_ASCII_WEIGHT = 1.0 / ASCII_CHARS_PER_TOKEN
_MAX_CHAR_WEIGHT = max(_ASCII_WEIGHT, 1.0 / NARROW_CHARS_PER_TOKEN, WIDE_TOKENS_PER_CHAR)
# The smallest file part in JSON, {"fileData":{"mimeType":"a","fileUri":"b"}}, takes 44 bytes.
_SMALLEST_FILE_PART_BYTES = 44
#: No example's estimate exceeds this many tokens per byte of its JSON record
#: (a character takes at least one byte), so a record of n bytes has at most
#: n * MAX_TOKENS_PER_BYTE tokens: most records pass a token limit unmeasured.
MAX_TOKENS_PER_BYTE = max(_MAX_CHAR_WEIGHT, FILE_PART_TOKENS / _SMALLEST_FILE_PART_BYTES)

__all__ = [
    "MAX_TOKENS_PER_BYTE",
    "ExampleSize",
    "example_token_bound",
    "example_tokens",
    "input_output_chars",
    "measure_example",
    "text_chars",
]


def text_chars(parts: tuple[LightPart, ...]) -> int:
    """Characters of the text parts."""
    return sum(len(p) for p in parts if type(p) is str)


def input_output_chars(example: LightExample) -> tuple[int, int]:
    """``(input characters, output characters)`` of an example."""
    *context, (_, answer) = example.turns
    return text_chars(example.system) + sum(text_chars(parts) for _, parts in context), text_chars(answer)


def example_token_bound(example: LightExample) -> float:
    """A cheap upper bound of :func:`example_tokens` (no character is worth more than a wide one).

    Checking a token limit against this first skips the exact estimate for
    almost every example, which matters on the hot path of validation.
    """
    chars = files = 0
    for part in example.system:
        if type(part) is str:
            chars += len(part)
        else:
            files += 1
    for _, parts in example.turns:
        for part in parts:
            if type(part) is str:
                chars += len(part)
            else:
                files += 1
    return chars * _MAX_CHAR_WEIGHT + files * FILE_PART_TOKENS


def example_tokens(example: LightExample) -> int:
    """Estimated tokens of the whole example."""
    # Inlined ASCII case: this runs once per example when a token limit is set.
    weight = parts_token_weight(example.system) if example.system else 0.0
    for _, parts in example.turns:
        for part in parts:
            if type(part) is str:
                weight += len(part) * _ASCII_WEIGHT if part.isascii() else text_token_weight(part)
            else:
                weight += FILE_PART_TOKENS
    return math.ceil(weight)


class ExampleSize(NamedTuple):
    """Characters and estimated tokens of one example, per role."""

    system_chars: int
    user_chars: int
    model_chars: int
    input_chars: int
    output_chars: int
    system_tokens: int
    user_tokens: int
    model_tokens: int
    tokens: int


def measure_example(example: LightExample) -> ExampleSize:
    """Every size stats report, in one walk over the example."""
    user_chars = model_chars = 0
    user_weight = model_weight = 0.0
    for role, parts in example.turns:
        chars = text_chars(parts)
        weight = parts_token_weight(parts)
        if role is MODEL:
            model_chars += chars
            model_weight += weight
        else:
            user_chars += chars
            user_weight += weight
    system_chars = text_chars(example.system)
    system_weight = parts_token_weight(example.system)
    output_chars = text_chars(example.turns[-1][1])
    return ExampleSize(
        system_chars=system_chars,
        user_chars=user_chars,
        model_chars=model_chars,
        input_chars=system_chars + user_chars + model_chars - output_chars,
        output_chars=output_chars,
        system_tokens=math.ceil(system_weight),
        user_tokens=math.ceil(user_weight),
        model_tokens=math.ceil(model_weight),
        tokens=math.ceil(system_weight + user_weight + model_weight),
    )
