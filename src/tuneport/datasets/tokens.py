"""Token estimates without a tokenizer.

Gemini's tokenizer is not public and the exact count needs a network call
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

from tuneport.datasets.light import LightPart

__all__ = [
    "ASCII_CHARS_PER_TOKEN",
    "FILE_PART_TOKENS",
    "NARROW_CHARS_PER_TOKEN",
    "WIDE_TOKENS_PER_CHAR",
    "estimate_tokens",
    "parts_token_weight",
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
