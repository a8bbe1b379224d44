"""Vertex AI preference and distillation data: the supervised JSONL's turns, with answers or without.

* **Preference** (``preferenceOptimizationSpec``): ``{"systemInstruction"?,
  "contents": [turns ending with a user turn], "completions": [{"completion":
  {"role": "model", "parts": [...]}, "score": 1}, {"completion": ..., "score": 0}]}``.
  Exactly two completions, one preferred (score 1) and one rejected (score 0).
  Source: https://docs.cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-preference-tuning-prepare
* **Prompts** (``distillationSpec.promptDatasetUri``): ``{"systemInstruction"?,
  "contents": [turns ending with a user turn]}``; the teacher writes the answers.

Turns, parts and the system instruction are the supervised format's
(``vertex.py``), snake_case spellings included.
"""

from __future__ import annotations

from typing import Any

from tuneport.datasets.formats.base import DatasetFormat, PreferenceCodec, PromptCodec, check_prompt_order
from tuneport.datasets.formats.grammar import INVALID, Array, Choice, Field, Record, Report
from tuneport.datasets.formats.vertex import (
    _PARTS,
    _SYSTEM,
    _TURNS,
    _UNSUPPORTED_TOP,
    VertexFormat,
    _dump_part,
    _turn_field,
)
from tuneport.datasets.light import MODEL, LightPreference, LightPrompt
from tuneport.datasets.problems import Rule

__all__ = ["PREFERENCE_GRAMMAR", "PROMPT_GRAMMAR", "VertexPreferenceFormat", "VertexPromptFormat"]

#: One supervised codec (compiling a grammar costs a little) for both kinds of data.
_SUPERVISED = VertexFormat()


def _prompt(turns: tuple[Any, ...], report: Report) -> bool:
    return check_prompt_order(turns, report, _turn_field, str, "contents")


_CONTENTS = Field(
    "contents", _TURNS, required="an example needs 'contents' (its turns, ending with a user turn)"
)
_SYSTEM_FIELD = Field("systemInstruction", _SYSTEM, aliases=("system_instruction",), default=())

# A completion is one model turn and its score.
_COMPLETION_TURN = Record(
    fields=(
        Field(
            "role",
            Choice({"model": MODEL}, "a completion's role must be 'model', got {value!r}"),
            required="a completion needs a 'role' ('model')",
        ),
        Field("parts", _PARTS, required="a completion needs 'parts'"),
    ),
    build="parts",
    what="a turn object {'role': 'model', 'parts': [...]}",
    unknown="unknown field '{key}' (a completion has 'role' and 'parts')",
)
_COMPLETION = Record(
    fields=(
        Field("completion", _COMPLETION_TURN, required="a completion needs 'completion' (a model turn)"),
        Field(
            "score",
            Choice(
                {0: 0, 1: 1},
                "score must be 1 (preferred) or 0 (rejected), got {value!r}",
                rule=Rule.BAD_SCORE,
                kinds=(int, float),
            ),
            required="a completion needs a 'score' (1: preferred, 0: rejected)",
        ),
    ),
    what="a completion object {'completion': ..., 'score': ...}",
    unknown="unknown field '{key}' (a completion has 'completion' and 'score')",
)


def _preference(value: tuple[Any, Any, Any], report: Report) -> Any:
    system, contents, completions = value
    ok = _prompt(contents, report)
    if any(c is INVALID for c in completions):
        return INVALID
    if len(completions) != 2:
        report(
            "completions",
            Rule.COMPLETION_COUNT,
            f"a preference example has exactly two completions (score 1: preferred, score 0: rejected); "
            f"this one has {len(completions)}",
        )
        return INVALID
    (first, first_score), (second, second_score) = completions
    if first_score == second_score:
        report(
            "completions[1].score",
            Rule.BAD_SCORE,
            f"both completions score {first_score}: one must score 1 (preferred), the other 0 (rejected)",
        )
        return INVALID
    if first == second:
        report("completions[1]", Rule.IDENTICAL_COMPLETIONS, "the two completions are the same")
        return INVALID
    if not ok:
        return INVALID
    if first_score == 1:
        return LightPreference(system, contents, first, second)
    return LightPreference(system, contents, second, first, True)


#: A Vertex preference example.
PREFERENCE_GRAMMAR = Record(
    fields=(
        _SYSTEM_FIELD,
        _CONTENTS,
        Field(
            "completions",
            Array(_COMPLETION, what="an array of two completions", keep_invalid=True),
            required="a preference example needs 'completions' (a preferred and a rejected answer)",
        ),
    ),
    refine=_preference,
    what="a JSON object",
    unknown="unknown field '{key}' (expected 'contents', 'completions' and optionally 'systemInstruction')",
    unsupported=_UNSUPPORTED_TOP,
)


def _prompt_only(value: tuple[Any, Any], report: Report) -> Any:
    system, contents = value
    if not _prompt(contents, report):
        return INVALID
    return LightPrompt(system, contents)


#: A Vertex prompt (distillation).
PROMPT_GRAMMAR = Record(
    fields=(_SYSTEM_FIELD, _CONTENTS),
    refine=_prompt_only,
    what="a JSON object",
    unknown="unknown field '{key}' (a prompt has 'contents' and optionally 'systemInstruction')",
    unsupported=_UNSUPPORTED_TOP,
)


def _dump_turns(turns: Any) -> list[dict[str, Any]]:
    return [{"role": role, "parts": [_dump_part(p) for p in parts]} for role, parts in turns]


class VertexPreferenceFormat(PreferenceCodec):
    """Reads and writes Vertex AI preference tuning examples."""

    format = DatasetFormat.VERTEX
    grammar = PREFERENCE_GRAMMAR
    supervised = _SUPERVISED

    def dump(self, example: LightPreference) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if example.system:
            out["systemInstruction"] = {"parts": [_dump_part(p) for p in example.system]}
        out["contents"] = _dump_turns(example.prompt)
        preferred = {"completion": _dump_turns(((MODEL, example.preferred),))[0], "score": 1}
        rejected = {"completion": _dump_turns(((MODEL, example.rejected),))[0], "score": 0}
        out["completions"] = [rejected, preferred] if example.swapped else [preferred, rejected]
        return out

    def answer_field(self, example: LightPreference, preferred: bool, part: int | None) -> str:
        index = 0 if preferred != example.swapped else 1
        return f"completions[{index}].completion" + (f".parts[{part}]" if part is not None else "")


class VertexPromptFormat(PromptCodec):
    """Reads and writes Vertex AI prompts (distillation)."""

    format = DatasetFormat.VERTEX
    grammar = PROMPT_GRAMMAR
    supervised = _SUPERVISED
