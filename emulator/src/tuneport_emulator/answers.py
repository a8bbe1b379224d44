"""How a tuned model answers: the output of the nearest training example.

The rule, in order (documented in docs/emulator.md):

1. the first training example whose input equals the prompt exactly;
2. else the first whose input equals it after case-folding and collapsing
   whitespace;
3. else the example whose input is most similar to the prompt, by
   :class:`difflib.SequenceMatcher` ratio over the first
   :data:`SIMILARITY_PREFIX` characters of both (case-folded, whitespace
   collapsed); ties go to the earliest example.

The output is then cut at the earliest stop sequence (finish reason
``STOP``) and to ``maxOutputTokens`` at :data:`CHARS_PER_TOKEN` characters per
token (finish reason ``MAX_TOKENS``).  Temperature, top-p/top-k and the seed
change nothing: answers are deterministic.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CHARS_PER_TOKEN", "SIMILARITY_PREFIX", "Answer", "answer", "estimate_tokens", "nearest_example"]

#: The token estimate: one token per 4 characters, rounded up.
CHARS_PER_TOKEN = 4
#: Similarity looks at this many leading characters (keeps long inputs cheap).
SIMILARITY_PREFIX = 2000


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` at :data:`CHARS_PER_TOKEN` characters each."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()


def nearest_example(inputs: Sequence[str], prompt: str) -> int | None:
    """Index of the training input nearest to ``prompt`` (see the module doc); None if no inputs."""
    if not inputs:
        return None
    for index, text in enumerate(inputs):
        if text == prompt:
            return index
    folded_prompt = _fold(prompt)
    folded = [_fold(text) for text in inputs]
    for index, text in enumerate(folded):
        if text == folded_prompt:
            return index
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(folded_prompt[:SIMILARITY_PREFIX])
    best_index, best_ratio = 0, -1.0
    for index, text in enumerate(folded):
        matcher.set_seq1(text[:SIMILARITY_PREFIX])
        # quick_ratio bounds ratio from above: skip what cannot beat the best.
        if matcher.quick_ratio() <= best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best_index, best_ratio = index, ratio
    return best_index


@dataclass(frozen=True)
class Answer:
    """A generated answer and why it ended."""

    text: str
    finish_reason: str  # "STOP" or "MAX_TOKENS"
    example: int | None  # index of the training example it came from


def answer(
    examples: Sequence[tuple[str, str]],
    prompt: str,
    *,
    max_output_tokens: int | None = None,
    stop_sequences: Sequence[str] = (),
) -> Answer:
    """The answer to ``prompt`` from ``(input, output)`` training pairs."""
    index = nearest_example([text for text, _ in examples], prompt)
    text = examples[index][1] if index is not None else ""
    cuts = [text.find(stop) for stop in stop_sequences if stop and stop in text]
    if cuts:
        text = text[: min(cuts)]
    if max_output_tokens is not None and max_output_tokens > 0:
        limit = max_output_tokens * CHARS_PER_TOKEN
        if len(text) > limit:
            return Answer(text[:limit], "MAX_TOKENS", index)
    return Answer(text, "STOP", index)
