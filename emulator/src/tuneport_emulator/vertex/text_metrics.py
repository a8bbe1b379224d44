"""Computation-based text metrics of one answer against its reference: exact match, BLEU, ROUGE.

Tokens are lowercase words (``\\w+``).  BLEU is sentence BLEU-4 with the
brevity penalty and add-one smoothing of the 2- to 4-gram precisions (Lin
and Och's smoothing), so that short answers do not all score 0; with
``use_effective_order`` only the orders the shorter text has are used.
ROUGE-N is the F-measure of n-gram overlap, ROUGE-L (and ``rougeLsum``,
taken as ROUGE-L) the F-measure of the longest common subsequence.
"""

from __future__ import annotations

import math
import re
from collections import Counter

__all__ = ["bleu", "exact_match", "rouge"]

_WORD = re.compile(r"\w+", re.UNICODE)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def exact_match(prediction: str, reference: str) -> float:
    """1.0 if the two texts are equal (ignoring surrounding whitespace), else 0.0."""
    return 1.0 if prediction.strip() == reference.strip() else 0.0


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu(prediction: str, reference: str, *, use_effective_order: bool = False) -> float:
    """Sentence BLEU-4 of ``prediction`` against ``reference`` (0-1)."""
    candidate, ref = _tokens(prediction), _tokens(reference)
    if not candidate or not ref:
        return 1.0 if candidate == ref else 0.0
    orders = range(1, 5)
    if use_effective_order:
        orders = range(1, min(4, len(candidate), len(ref)) + 1)
    logs = []
    for n in orders:
        grams = _ngrams(candidate, n)
        total = sum(grams.values())
        overlap = sum((grams & _ngrams(ref, n)).values())
        if n == 1:
            if overlap == 0:
                return 0.0
            logs.append(math.log(overlap / total))
        else:
            logs.append(math.log((overlap + 1) / (total + 1)))
    brevity = 1.0 if len(candidate) > len(ref) else math.exp(1 - len(ref) / len(candidate))
    return brevity * math.exp(sum(logs) / len(logs))


def _lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def _f_measure(overlap: float, predicted: int, expected: int) -> float:
    if overlap == 0 or predicted == 0 or expected == 0:
        return 0.0
    precision, recall = overlap / predicted, overlap / expected
    return 2 * precision * recall / (precision + recall)


def rouge(prediction: str, reference: str, rouge_type: str = "rougeL") -> float:
    """The ROUGE F-measure (``rouge1``…``rouge9``, ``rougeL``, ``rougeLsum``) of ``prediction`` (0-1)."""
    candidate, ref = _tokens(prediction), _tokens(reference)
    if not candidate and not ref:
        return 1.0
    kind = (rouge_type or "rougeL").lower()
    if kind in ("rougel", "rougelsum"):
        return _f_measure(_lcs(candidate, ref), len(candidate), len(ref))
    n = int(kind.removeprefix("rouge")) if re.fullmatch(r"rouge[1-9]", kind) else 1
    grams, expected = _ngrams(candidate, n), _ngrams(ref, n)
    overlap = sum((grams & expected).values())
    return _f_measure(overlap, sum(grams.values()), sum(expected.values()))
