"""Sizes of examples: characters and estimated tokens, by role and by input/output.

"Input" is everything the model reads before the answer it learns (system
instruction and every turn but the last); "output" is the last model turn.
These are the quantities the Gemini API limits (40,000 / 5,000 characters)
and the ones stats report.

Token estimates need no tokenizer.  Gemini's tokenizer is not public and the exact count needs a network call
(``countTokens``), which validation must not make.  tuneport estimates from
the text instead, by UTF-8 width class, with constants chosen from Google's
published rule of thumb and the shape of the Gemma 3 tokenizer (SentencePiece,
about 262k entries, which Google describes as Gemini 2.0's):

* ASCII characters: 4 per token (Google: "a token is about 4 characters");
* 2-byte UTF-8 characters (accented Latin, Greek, Cyrillic, Arabic, Hebrew…):
  3 per token — words of these scripts are split more finely than English;
* 3- and 4-byte characters (CJK, kana, Hangul, Thai, Indic scripts, emoji):
  0.75 tokens per character — a large vocabulary holds most common CJK
  characters and many two-character words as one token;
* a file part: 258 tokens — what Gemini charges for one image up to 384 px
  or one PDF page; larger images, longer PDFs, audio and video cost more,
  and the estimate cannot see them.

The constants are a heuristic, not a calibration: docs/datasets.md states
the error bars and where the estimate is biased.  For exact counts use the
service's ``countTokens``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from tuneport.datasets.light import (
    MODEL,
    LightExample,
    LightPart,
    LightPreference,
    LightPrompt,
    LightTurn,
    from_example,
    from_preference,
    from_prompt,
)
from tuneport.models import Example, PreferenceExample, PromptExample

__all__ = [
    "ASCII_CHARS_PER_TOKEN",
    "FILE_PART_TOKENS",
    "MAX_TOKENS_PER_BYTE",
    "NARROW_CHARS_PER_TOKEN",
    "WIDE_TOKENS_PER_CHAR",
    "ExampleSize",
    "PreferenceSize",
    "PromptSize",
    "estimate_example_tokens",
    "estimate_tokens",
    "example_token_bound",
    "example_tokens",
    "input_output_chars",
    "measure_example",
    "measure_preference",
    "measure_prompt",
    "parts_token_weight",
    "text_chars",
    "text_token_weight",
]

ASCII_CHARS_PER_TOKEN = 4.0
NARROW_CHARS_PER_TOKEN = 3.0
WIDE_TOKENS_PER_CHAR = 0.75
FILE_PART_TOKENS = 258

_ASCII_WEIGHT = 1.0 / ASCII_CHARS_PER_TOKEN
_NARROW_WEIGHT = 1.0 / NARROW_CHARS_PER_TOKEN


def text_token_weight(text: str) -> float:
    """Estimated tokens of *text* as a float (sum these, then round once)."""
    # isascii() is O(1) in CPython (a flag on the string), so ASCII text costs nothing to classify.
    if text.isascii():
        return len(text) * _ASCII_WEIGHT
    # Count each width class from two C-speed encodings instead of a per-character loop.
    ascii_count = len(text.encode("ascii", "ignore"))
    non_ascii = len(text) - ascii_count
    utf8_bytes = len(text.encode("utf-8", "surrogatepass"))
    # Each non-ASCII character takes 2 bytes, plus 1 or 2 more when it is wide.
    wide = min(non_ascii, utf8_bytes - ascii_count - 2 * non_ascii)
    narrow = non_ascii - wide
    return ascii_count * _ASCII_WEIGHT + narrow * _NARROW_WEIGHT + wide * WIDE_TOKENS_PER_CHAR


def parts_token_weight(parts: Iterable[LightPart]) -> float:
    """Estimated tokens of a sequence of parts (text and files)."""
    total = 0.0
    for part in parts:
        if isinstance(part, str):
            total += text_token_weight(part)
        else:
            total += FILE_PART_TOKENS
    return total


def estimate_tokens(text: str) -> int:
    """Estimated Gemini tokens of *text* (see the module docs for the method and error bars)."""
    return math.ceil(text_token_weight(text))


# --- example sizes ----------------------------------------------------------------------------

_MAX_CHAR_WEIGHT = max(_ASCII_WEIGHT, 1.0 / NARROW_CHARS_PER_TOKEN, WIDE_TOKENS_PER_CHAR)
# The smallest file part in JSON, {"fileData":{"mimeType":"a","fileUri":"b"}}, takes 44 bytes.
_SMALLEST_FILE_PART_BYTES = 44
#: No example's estimate exceeds this many tokens per byte of its JSON record
#: (a character takes at least one byte), so a record of n bytes has at most
#: n * MAX_TOKENS_PER_BYTE tokens: most records pass a token limit unmeasured.
MAX_TOKENS_PER_BYTE = max(_MAX_CHAR_WEIGHT, FILE_PART_TOKENS / _SMALLEST_FILE_PART_BYTES)


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


# --- preference examples and prompts ---------------------------------------------------------
#
# What is billed or limited for these is Google's to say, and it says little:
# "the sum of maximum input and maximum completion token counts must be <=
# 128K" for preference data (so the limit applies to the prompt plus the
# longer answer), and nothing for distillation prompts.  tuneport counts a
# preference example's tokens as its prompt and both answers (each answer is
# read with the prompt once), and a prompt's as the prompt alone (the
# teacher's answers are not in the file; docs/datasets.md says more).


def _parts_size(parts: tuple[LightPart, ...]) -> tuple[int, float]:
    """``(characters, token weight)`` of parts, in one walk (ASCII text inlined)."""
    chars, weight = 0, 0.0
    for part in parts:
        if type(part) is str:
            chars += len(part)
            weight += len(part) * _ASCII_WEIGHT if part.isascii() else text_token_weight(part)
        else:
            weight += FILE_PART_TOKENS
    return chars, weight


def _turns_size(turns: tuple[LightTurn, ...]) -> tuple[int, float]:
    chars, weight = 0, 0.0
    for _, parts in turns:
        more_chars, more_weight = _parts_size(parts)
        chars += more_chars
        weight += more_weight
    return chars, weight


class PromptSize(NamedTuple):
    """Characters and estimated tokens of one prompt (the system instruction included)."""

    system_chars: int
    prompt_chars: int
    system_tokens: int
    prompt_tokens: int
    #: Estimated tokens of system and prompt together.
    tokens: int


def measure_prompt(example: LightPrompt | LightPreference) -> PromptSize:
    """The sizes of a prompt (or of a preference example's prompt)."""
    system_chars, system_weight = _parts_size(example.system) if example.system else (0, 0.0)
    chars, weight = _turns_size(example.prompt)
    return PromptSize(
        system_chars=system_chars,
        prompt_chars=chars,
        system_tokens=math.ceil(system_weight),
        prompt_tokens=math.ceil(weight),
        tokens=math.ceil(system_weight + weight),
    )


class PreferenceSize(NamedTuple):
    """Characters and estimated tokens of one preference example."""

    prompt: PromptSize
    preferred_chars: int
    rejected_chars: int
    preferred_tokens: int
    rejected_tokens: int

    @property
    def tokens(self) -> int:
        """The prompt and both answers."""
        return self.prompt.tokens + self.preferred_tokens + self.rejected_tokens

    @property
    def longest_sequence_tokens(self) -> int:
        """The prompt and the longer answer: what the per-example token limit applies to."""
        return self.prompt.tokens + max(self.preferred_tokens, self.rejected_tokens)


def measure_preference(example: LightPreference) -> PreferenceSize:
    """The sizes of a preference example."""
    preferred_chars, preferred_weight = _parts_size(example.preferred)
    rejected_chars, rejected_weight = _parts_size(example.rejected)
    return PreferenceSize(
        prompt=measure_prompt(example),
        preferred_chars=preferred_chars,
        rejected_chars=rejected_chars,
        preferred_tokens=math.ceil(preferred_weight),
        rejected_tokens=math.ceil(rejected_weight),
    )


def estimate_example_tokens(example: Example | PreferenceExample | PromptExample) -> int:
    """Estimated tokens of one example of any tuning method.

    A supervised example counts all its turns; a preference example its
    prompt and both answers; a prompt the prompt alone (see the module docs).
    """
    if isinstance(example, PreferenceExample):
        return measure_preference(from_preference(example)).tokens
    if isinstance(example, PromptExample):
        return measure_prompt(from_prompt(example)).tokens
    return example_tokens(from_example(example))
