"""Gemini API tuning pairs: ``{"text_input": ..., "output": ...}``.

The Gemini API tunes on single question/answer pairs of text, so a pair is
the simplest neutral example: one user turn and one model turn.  Input may
be spelled ``text_input`` or ``textInput`` (Google's frontends accept both);
``text_input`` is written, as in Google's tuning guide.
"""

from __future__ import annotations

from typing import Any

from tuneport.datasets.formats.base import DatasetFormat, FileLayout, Format, Gap, file_part_gaps
from tuneport.datasets.formats.grammar import Field, Record, Text
from tuneport.datasets.light import MODEL, USER, LightExample, part_text
from tuneport.datasets.problems import Rule

__all__ = ["GRAMMAR", "INPUT_KEYS", "OUTPUT_KEY", "GeminiFormat"]

INPUT_KEYS = ("text_input", "textInput")
OUTPUT_KEY = "output"


def _pair(text_input: str, output: str) -> LightExample:
    return LightExample((), ((USER, (text_input,)), (MODEL, (output,))))


#: A Gemini API example.  The API marks only `output` required, but an example
#: without an input teaches nothing and no other format can hold it.
GRAMMAR = Record(
    fields=(
        Field("text_input", Text(), required="an example needs 'text_input'", aliases=("textInput",)),
        Field(OUTPUT_KEY, Text(), required="an example needs 'output'"),
    ),
    build=_pair,
    what="a JSON object",
    unknown="unknown field '{key}' (a Gemini API example has 'text_input' and 'output')",
)


class GeminiFormat(Format):
    """Reads and writes Gemini API ``{text_input, output}`` pairs."""

    format = DatasetFormat.GEMINI
    grammar = GRAMMAR
    writable_layouts = frozenset({FileLayout.JSONL, FileLayout.JSON, FileLayout.CSV})
    holds_system = False

    def dump(self, example: LightExample) -> dict[str, Any]:
        (_, question), (_, answer) = example.turns
        return {"text_input": part_text(question), "output": part_text(answer)}

    def gaps(self, example: LightExample) -> list[Gap]:
        found: list[Gap] = []
        if example.system:
            found.append(
                Gap(Rule.SYSTEM_NOT_ALLOWED, "Gemini API examples have no system instruction", system=True)
            )
        if len(example.turns) != 2:
            found.append(
                Gap(
                    Rule.MULTI_TURN_NOT_ALLOWED,
                    "Gemini API examples are one question and one answer; "
                    f"this one has {len(example.turns)} turns",
                )
            )
        found += file_part_gaps(
            example, in_system=None, in_turn=lambda role, file: "Gemini API examples hold text only"
        )
        return found

    def split(self, example: LightExample) -> list[LightExample] | None:
        # One pair per user→model exchange; earlier turns are dropped (see docs/datasets.md).
        turns = example.turns
        return [LightExample((), (turns[k], turns[k + 1])) for k in range(0, len(turns) - 1, 2)]

    def field(
        self, example: LightExample, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        if turn == 0:
            return "text_input"
        if turn == 1:
            return OUTPUT_KEY
        return None
