"""Google's documented rules for preference and distillation examples (one JSONL line each).

Preference tuning ("Prepare preference tuning data for Gemini models"): an
example is ``contents`` in the supervised format, text only, ending with a
``user`` turn, an optional ``systemInstruction``, and ``completions``: a pair
of ``{"completion": <one model turn>, "score": 0 or 1}``, one preferred
(score 1) and one dispreferred (score 0).  "The sum of maximum input and
maximum completion token counts must be <= 128K": a longer example is
refused, not truncated (131,072 tokens, the limitations table's figure).

Distillation ("Distill a Gemini model"): a prompt-only example, ``contents``
ending with a ``user`` turn and an optional ``systemInstruction``; the
teacher writes the answers.  Text only, as Google's samples are.

Both reuse the supervised walk of :mod:`.rules`; the first rule a line
breaks is its problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneport_emulator.answers import estimate_tokens
from tuneport_emulator.datasets.rules import (
    Example,
    Problem,
    Turn,
    _array,
    _Broken,
    _fields,
    _join,
    _object,
    _parts,
    _system,
    _turns,
    check_example,
)

__all__ = ["ExampleRules", "check_preference_example", "check_prompt_example", "rules_for"]

#: Checks one parsed line: ``(value, max_nesting, max_example_tokens)`` → the example or its problem.
ExampleRules = Callable[[Any, int, int], "Example | Problem"]

_TEXT_ONLY = "preference data is text only: a turn"
_PREFERENCE_TOP = {
    "contents": "contents",
    "systemInstruction": "systemInstruction",
    "system_instruction": "systemInstruction",
    "completions": "completions",
}
_PROMPT_TOP = {
    "contents": "contents",
    "systemInstruction": "systemInstruction",
    "system_instruction": "systemInstruction",
}
_COMPLETION = {"completion": "completion", "score": "score"}
_CONTENT = {"role": "role", "parts": "parts"}


def _completion(value: Any, where: str, levels: int) -> tuple[Turn, float]:
    fields = _fields(
        _object(value, where, "an object {'completion', 'score'}"),
        _COMPLETION,
        where,
        "a completion has 'completion' (a model turn) and 'score' (0 or 1)",
    )
    if "score" not in fields:
        raise _Broken(_join(where, "score"), "a completion needs a 'score' (1: preferred, 0: dispreferred)")
    score = fields["score"]
    if isinstance(score, bool) or not isinstance(score, (int, float)) or score not in (0, 1):
        raise _Broken(_join(where, "score"), f"a score is 0 (dispreferred) or 1 (preferred), got {score!r}")
    at = _join(where, "completion")
    if "completion" not in fields:
        raise _Broken(at, "a completion needs 'completion', one model turn")
    turn = _fields(
        _object(fields["completion"], at, "a turn object"), _CONTENT, at, "a turn has 'role' and 'parts'"
    )
    if turn.get("role") != "model":
        raise _Broken(
            _join(at, "role"), f"a completion is a model turn: role must be 'model', got {turn.get('role')!r}"
        )
    if "parts" not in turn:
        raise _Broken(_join(at, "parts"), "a turn needs 'parts'")
    text, _ = _parts(turn["parts"], _join(at, "parts"), text_only=True, levels=levels, what="a completion")
    return Turn("model", text), float(score)


def check_preference_example(value: Any, max_nesting: int, max_example_tokens: int) -> Example | Problem:
    """The preference example a parsed line holds, or the first documented rule it breaks."""
    try:
        fields = _fields(
            _object(value, None, "a JSON object"),
            _PREFERENCE_TOP,
            None,
            "a preference example has 'contents', 'completions' and optionally 'systemInstruction'",
        )
        if "contents" not in fields:
            raise _Broken("contents", "an example needs 'contents' (the prompt's turns)")
        system = (
            _system(fields["systemInstruction"], levels=max_nesting) if "systemInstruction" in fields else ""
        )
        turns, _ = _turns(fields["contents"], levels=max_nesting, last="user", text_only=_TEXT_ONLY)
        if "completions" not in fields:
            raise _Broken(
                "completions", "a preference example needs 'completions' (a preferred and a dispreferred one)"
            )
        raw = _array(fields["completions"], "completions", "an array of two completions")
        if len(raw) != 2:
            raise _Broken("completions", f"a preference example has exactly two completions, got {len(raw)}")
        pair = [_completion(item, f"completions[{i}]", max_nesting) for i, item in enumerate(raw)]
        if sorted(score for _, score in pair) != [0.0, 1.0]:
            raise _Broken(
                "completions",
                "the pair needs one preferred (score 1) and one dispreferred (score 0) completion",
            )
        pair.sort(key=lambda item: -item[1])  # the preferred first
        tokens = estimate_tokens(system + "".join(t.text for t in turns)) + max(
            estimate_tokens(turn.text) for turn, _ in pair
        )
        if tokens > max_example_tokens:
            raise _Broken(
                None,
                f"the example has about {tokens:,} tokens (input and longest completion); "
                f"at most {max_example_tokens:,} are allowed",
            )
    except _Broken as broken:
        return broken.problem
    return Example(system, turns, False, tuple(t for t, _ in pair), tuple(s for _, s in pair))


def check_prompt_example(value: Any, max_nesting: int, max_example_tokens: int) -> Example | Problem:
    """The distillation prompt a parsed line holds, or the first documented rule it breaks."""
    try:
        fields = _fields(
            _object(value, None, "a JSON object"),
            _PROMPT_TOP,
            None,
            "a distillation prompt has 'contents' and optionally 'systemInstruction' (no answers: "
            "the teacher writes them)",
        )
        if "contents" not in fields:
            raise _Broken("contents", "an example needs 'contents' (the prompt's turns)")
        system = (
            _system(fields["systemInstruction"], levels=max_nesting) if "systemInstruction" in fields else ""
        )
        turns, _ = _turns(
            fields["contents"],
            levels=max_nesting,
            last="user",
            text_only="distillation prompts are text only: a turn",
        )
    except _Broken as broken:
        return broken.problem
    del max_example_tokens  # the supervised rule: a long prompt is truncated, not refused
    return Example(system, turns, False)


def _supervised(value: Any, max_nesting: int, max_example_tokens: int) -> Example | Problem:
    return check_example(value, max_nesting=max_nesting)


def rules_for(kind: str) -> ExampleRules:
    """The rules of one kind of data: ``supervised``, ``preference`` or ``prompts``."""
    return {
        "supervised": _supervised,
        "preference": check_preference_example,
        "prompts": check_prompt_example,
    }[kind]
